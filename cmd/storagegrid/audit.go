//go:build !agentonly

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/audit"
	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/when"
)

func init() {
	register(30, auditCommand)
}

func auditCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "search, follow, explain and sum the grid's audit logs",
		Description: "Reads the audit logs of an admin node (" + audit.DefaultDir + "): audit.log,\n" +
			"yyyy-mm-dd.txt[.N] and yyyy-mm-dd.txt.gz, oldest first. To find the retrievals an\n" +
			"archive node failed, as the archive-recovery runbook does with grep:\n" +
			"   storagegrid audit scan --type ARCE --result ARUN,GERR --since 7d\n\n" +
			"A message may be wrapped over several lines, as when pasted from a document: a line\n" +
			"that starts no message (no timestamp, no \"[AUDT\") continues an unclosed one, and\n" +
			"the line break is removed (documents wrap inside words and values too).",
		Subcommands: []*cli.Command{auditScanCommand(g), auditFollowCommand(g), auditExplainCommand(g), auditSumCommand(g)},
	}
}

// listFlag collects a repeatable flag; with split set each value may also
// hold a comma-separated list.
type listFlag struct {
	values []string
	split  bool
}

func (l *listFlag) Set(v string) error {
	if !l.split {
		l.values = append(l.values, v)
		return nil
	}
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			l.values = append(l.values, s)
		}
	}
	return nil
}

func (l *listFlag) String() string { return strings.Join(l.values, ",") }

// auditFilterOptions are the filter flags every audit command takes.
type auditFilterOptions struct {
	types, results, cbids listFlag
	fields                listFlag
	nodeID                uint
	since, until          string
	strict                bool
}

func (o *auditFilterOptions) flags() []cli.Flag {
	o.types.split, o.results.split, o.cbids.split = true, true, true
	return []cli.Flag{
		&cli.GenericFlag{Name: "type", Value: &o.types, Usage: "message `TYPES` (ATYP), comma-separated or repeated, e.g. ARCE"},
		&cli.GenericFlag{Name: "result", Value: &o.results, Usage: "result `CODES` (RSLT), e.g. ARUN,GERR"},
		&cli.UintFlag{Name: "node-id", Destination: &o.nodeID, Usage: "node `ID` (ANID) that wrote the message"},
		&cli.GenericFlag{Name: "cbid", Value: &o.cbids, Usage: "object `CBID` (16 hex digits, 0x optional); repeatable"},
		&cli.GenericFlag{Name: "field", Value: &o.fields, Usage: "`ATTR=VALUE` the message must hold; repeatable"},
		&cli.StringFlag{Name: "since", Destination: &o.since, Usage: "messages at or after `TIME`: ago (24h, 7d, 1.5d), RFC 3339, or a UTC date and time (2024-05-01 10:30)"},
		&cli.StringFlag{Name: "until", Destination: &o.until, Usage: "messages before `TIME` (same forms as --since)"},
		&cli.BoolFlag{Name: "strict", Destination: &o.strict, Usage: "parse every line and report every malformed one (slower)"},
	}
}

func (o *auditFilterOptions) filter() (audit.Filter, error) {
	if o.nodeID > 1<<32-1 {
		return audit.Filter{}, fail.Usagef("--node-id %d: out of range", o.nodeID)
	}
	f := audit.Filter{Types: o.types.values, Results: o.results.values, NodeID: uint32(o.nodeID), CBIDs: o.cbids.values}
	for _, c := range o.cbids.values {
		if _, err := audit.ParseCBID(c); err != nil {
			return f, fail.Usagef("--cbid: %v", err)
		}
	}
	for _, s := range o.fields.values {
		fm, err := audit.ParseFieldMatch(s)
		if err != nil {
			return f, fail.Usagef("--field: %v", err)
		}
		f.Fields = append(f.Fields, fm)
	}
	now := time.Now()
	for _, t := range []struct {
		flag, arg string
		dst       *time.Time
	}{{"since", o.since, &f.Since}, {"until", o.until, &f.Until}} {
		if t.arg == "" {
			continue
		}
		v, err := when.Parse(t.arg, now)
		if err != nil {
			return f, fail.Usagef("--%s: %v", t.flag, err)
		}
		*t.dst = v
	}
	return f, nil
}

// errorPrinter prints scan problems as warnings, the first few malformed
// messages individually: a garbage file must not flood the terminal.
func (g *globals) errorPrinter() func(error) {
	const shown = 10
	n := 0
	return func(err error) {
		if _, ok := err.(*audit.LineError); ok {
			if n++; n > shown {
				if n == shown+1 {
					g.warnf("further malformed messages not shown")
				}
				return
			}
		}
		g.warnf("%v", err)
	}
}

// scanOptions builds the library options for the given files (or the
// directory when none).
func (g *globals) scanOptions(o *auditFilterOptions, dir string, files []string) (audit.ScanOptions, error) {
	f, err := o.filter()
	if err != nil {
		return audit.ScanOptions{}, err
	}
	// Paths typed on the command line are read and printed as typed; the
	// default directory is the host's, under --root, printed as spelt.
	opts := audit.ScanOptions{Dir: dir, Files: files, Stdin: g.stdin, Filter: f, Strict: o.strict, OnError: g.errorPrinter()}
	if dir == "" && len(files) == 0 {
		opts.Dir = g.root.Join(audit.DefaultDir)
		opts.Name = func(p string) string { return g.root.Strip(p) }
	}
	return opts, nil
}

type auditScanOptions struct {
	filter auditFilterOptions
	dir    string
	cbids  bool
}

func auditScanCommand(g *globals) *cli.Command {
	o := &auditScanOptions{}
	return &cli.Command{
		Name:      "scan",
		Usage:     "find messages in the audit logs",
		ArgsUsage: "[FILE|DIR|-]...",
		Description: "Reads FILES (plain or gzip; - is stdin; a directory means its logs) or, without\n" +
			"them, every log in --dir, oldest first, and prints the messages that pass the filters:\n" +
			"a table (TIME TYPE RESULT CBID VLID NODE), --output json (an array) or ndjson (one\n" +
			"object a line). Failed archive retrievals of one node in the last week, as CBIDs:\n" +
			"   storagegrid audit scan --type ARCE --result ARUN,GERR --node-id 13959984 --since 7d --cbids\n\n" +
			"A truncated or corrupt file is named with the byte where it is damaged, what was read\n" +
			"before that counts, the others are still read, and the exit code is 4; so it is for\n" +
			"malformed messages (file:line is printed).",
		Flags: append(o.filter.flags(),
			&cli.StringFlag{Name: "dir", Destination: &o.dir, Usage: "audit log `DIR` (default " + audit.DefaultDir + ")"},
			&cli.BoolFlag{Name: "cbids", Destination: &o.cbids, Usage: "print only the unique CBIDs, one a line (for piping)"},
		),
		Action: func(c *cli.Context) error {
			opts, err := g.scanOptions(&o.filter, o.dir, c.Args().Slice())
			if err != nil {
				return err
			}
			p := g.messagePrinter(bufio.NewWriterSize(g.out(), 64<<10), o.cbids)
			_, err = audit.Scan(c.Context, opts, p.print)
			return finishOutput(p, err)
		},
	}
}

// messagePrinter streams messages as a table, a JSON array, NDJSON, or
// unique CBIDs, without holding them in memory (only the CBID set grows).
type messagePrinter struct {
	w       *bufio.Writer
	format  string
	cbids   bool
	seen    map[string]bool
	started bool
	flush   bool // flush after every message (follow)
}

func (g *globals) messagePrinter(w *bufio.Writer, cbids bool) *messagePrinter {
	return &messagePrinter{w: w, format: g.output, cbids: cbids, seen: map[string]bool{}}
}

const tableFormat = "%-27s %-4s %-6s %-16s %-10s %s\n"

func (p *messagePrinter) print(m audit.Message) error {
	switch {
	case p.cbids:
		return p.printCBID(m.CBID)
	case p.format != "text":
		return p.item(m)
	}
	if !p.started {
		p.started = true
		fmt.Fprintf(p.w, tableFormat, "TIME", "TYPE", "RESULT", "CBID", "VLID", "NODE")
	}
	node := ""
	if m.NodeID != 0 {
		node = fmt.Sprint(m.NodeID)
	}
	fmt.Fprintf(p.w, tableFormat, m.Time.UTC().Format(audit.JSONTimeLayout), dash(m.Type), dash(m.Result),
		dash(m.CBID), dash(m.Value("VLID")), dash(node))
	return p.done()
}

func (p *messagePrinter) printCBID(cbid string) error {
	if cbid == "" || p.seen[cbid] {
		return nil
	}
	p.seen[cbid] = true
	if p.format == "text" {
		fmt.Fprintln(p.w, cbid)
		return p.done()
	}
	return p.item(cbid)
}

// item writes v as one NDJSON line or one element of a streamed JSON array.
func (p *messagePrinter) item(v any) error {
	if p.format == "ndjson" {
		if err := json.NewEncoder(p.w).Encode(v); err != nil {
			return err
		}
		return p.done()
	}
	b, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		return err
	}
	sep := ",\n  "
	if !p.started {
		sep = "[\n  "
	}
	p.started = true
	p.w.WriteString(sep)
	p.w.Write(b)
	return p.done()
}

// done flushes when every message must show at once (follow); otherwise
// a write error surfaces at finish, bufio keeping the first.
func (p *messagePrinter) done() error {
	if p.flush {
		return p.w.Flush()
	}
	return nil
}

// finish closes a JSON array (an empty one when nothing matched) and
// flushes.
func (p *messagePrinter) finish() error {
	if p.format == "json" {
		if p.started {
			p.w.WriteString("\n]\n")
		} else {
			p.w.WriteString("[]\n")
		}
	}
	return p.w.Flush()
}

type auditFollowOptions struct {
	filter    auditFilterOptions
	file      string
	fromStart bool
	poll      time.Duration
}

func auditFollowCommand(g *globals) *cli.Command {
	o := &auditFollowOptions{}
	return &cli.Command{
		Name:  "follow",
		Usage: "print new messages of the live audit log as they are written",
		Description: "Like tail -F on " + audit.DefaultDir + "/" + audit.LiveName + " with the filters of scan; keeps\n" +
			"going when the grid rotates the log each day. Stop with Ctrl-C. For example:\n" +
			"   storagegrid audit follow --type ARCE --result ARUN,GERR\n" +
			"Output as for scan; with --output json or ndjson, one object a line.",
		Flags: append(o.filter.flags(),
			&cli.StringFlag{Name: "file", Destination: &o.file, Value: audit.DefaultDir + "/" + audit.LiveName, Usage: "live log `FILE`"},
			&cli.BoolFlag{Name: "from-start", Destination: &o.fromStart, Usage: "print the messages already in the log first"},
			&cli.DurationFlag{Name: "poll", Destination: &o.poll, Value: 250 * time.Millisecond, Usage: "how often to look for new data (`DURATION`)"},
		),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return fail.Usagef("follow takes no arguments; use --file")
			}
			f, err := o.filter.filter()
			if err != nil {
				return err
			}
			p := g.messagePrinter(bufio.NewWriter(g.out()), false)
			p.flush = true
			if p.format == "json" {
				p.format = "ndjson" // a stream has no end to close an array at
			}
			// --file typed is taken as typed; the default is the
			// host's live log, under --root, printed as spelt.
			fo := audit.FollowOptions{Path: o.file, Filter: f, FromStart: o.fromStart, Poll: o.poll,
				OnError: g.errorPrinter(), OnFollow: func(found bool) { g.announceFollow(o, found) }}
			if !c.IsSet("file") {
				fo.Path, fo.Name = g.root.Join(o.file), func(p string) string { return g.root.Strip(p) }
			}
			return audit.Follow(c.Context, fo, p.print)
		},
	}
}

// announceFollow says on stderr what follow reads from now on: every line
// written after this line is printed goes through the filters.
func (g *globals) announceFollow(o *auditFollowOptions, found bool) {
	if g.quiet {
		return
	}
	switch {
	case !found:
		fmt.Fprintf(g.stderr, "storagegrid: waiting for %s to appear, then following it (Ctrl-C stops)\n", o.file)
	case o.fromStart:
		fmt.Fprintf(g.stderr, "storagegrid: following %s from its start (Ctrl-C stops)\n", o.file)
	default:
		fmt.Fprintf(g.stderr, "storagegrid: following %s: new messages from now on (Ctrl-C stops)\n", o.file)
	}
}

type auditExplainOptions struct {
	filter   auditFilterOptions
	withTime bool
	long     bool
}

func auditExplainCommand(g *globals) *cli.Command {
	o := &auditExplainOptions{}
	return &cli.Command{
		Name:      "explain",
		Usage:     "describe audit messages in plain words, one short line each, as NetApp's audit-explain",
		ArgsUsage: "[FILE|-]...",
		Description: "Reads FILES (plain or gzip; - or none is standard input) and prints one line per\n" +
			"message in the format of the grid's audit-explain: the type and its documented title,\n" +
			"what an S3 or Swift operation acted on, the object's CBID, a result other than SUCS and\n" +
			"the processing time in microseconds:\n" +
			"   $ grep SPUT audit.log | storagegrid audit explain\n" +
			"   SPUT S3 PUT object bucket1/part1.txt tenant:92484777680322627870  cbid:9DCB157394F99FE5 usec:101485\n" +
			"--long prints every attribute instead; -t puts the time first. No form prints an S3\n" +
			"access key (S3AK) or a credential header of the logged request headers (HTRH).\n" +
			"With --output json or ndjson, each message (without those) carries its \"explanation\".",
		Flags: append(o.filter.flags(),
			&cli.BoolFlag{Name: "time", Aliases: []string{"t"}, Destination: &o.withTime, Usage: "start each line with the message time"},
			&cli.BoolFlag{Name: "long", Destination: &o.long, Usage: "describe every attribute of each message"}),
		Action: func(c *cli.Context) error {
			opts, err := g.scanOptions(&o.filter, "", g.filesOrStdin(c.Args().Slice()))
			if err != nil {
				return err
			}
			explain := audit.Explain
			if o.long {
				explain = audit.ExplainLong
			}
			p := g.messagePrinter(bufio.NewWriterSize(g.out(), 64<<10), false)
			_, err = audit.Scan(c.Context, opts, func(m audit.Message) error {
				line := explain(&m)
				if g.jsonOutput() {
					return p.item(explained{Explanation: line, Message: audit.Redact(m)})
				}
				if o.withTime {
					line = m.Time.UTC().Format(audit.JSONTimeLayout) + " " + line
				}
				fmt.Fprintln(p.w, line)
				return nil
			})
			return finishOutput(p, err)
		},
	}
}

// filesOrStdin is the files a command reads: those named, or standard
// input (with a word on the terminal, where it would otherwise seem to
// hang).
func (g *globals) filesOrStdin(files []string) []string {
	if len(files) > 0 {
		return files
	}
	if f, ok := g.stdin.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		g.warnf("reading audit messages from standard input (end with Ctrl-D; name FILES to read them)")
	}
	return []string{"-"}
}

// explained is a message with its explanation, for JSON output.
type explained struct {
	Explanation string        `json:"explanation"`
	Message     audit.Message `json:"message"`
}

// finishOutput completes the output; the scan's error comes first.
func finishOutput(p *messagePrinter, err error) error {
	if ferr := p.finish(); err == nil {
		err = ferr
	}
	return err
}

type auditSumOptions struct {
	filter   auditFilterOptions
	size     bool
	long     bool
	byTime   string
	byObject bool
	byBucket bool
}

func auditSumCommand(g *globals) *cli.Command {
	o := &auditSumOptions{}
	return &cli.Command{
		Name:      "sum",
		Usage:     "count operations and their times or sizes, as NetApp's audit-sum",
		ArgsUsage: "[FILE|-]...",
		Description: "Reads FILES (plain or gzip; - or none is standard input) and prints, in the layout\n" +
			"of the grid's audit-sum, how many S3, Swift and ILM operations (ARCT ASCT IDEL SDEL\n" +
			"SGET SHEA SPUT WDEL WGET WHEA WPUT, or the --type given) there are and the minimum,\n" +
			"maximum and average of their processing time (TIME):\n" +
			"   $ grep SPUT audit.log | storagegrid audit sum -go\n" +
			"     message group           count     min(sec)        max(sec)    average(sec)\n" +
			"     =============           =====     ========        ========    ============\n" +
			"     SPUT.bucket                 1        0.125           0.125           0.125\n" +
			"     SPUT.object                12        0.025           1.019           0.236\n" +
			"Options as audit-sum's: -s object sizes (CSIZ, MB) instead of times; -l the totals\n" +
			"and the 10 slowest operations of each group; -gt PERIOD groups by time (15M, 1H,\n" +
			"1D), -go bucket and object operations apart, -gb by bucket. Types without TIME\n" +
			"(IDEL) show only the count (null in JSON). A sum checks each line where it looks\n" +
			"(timestamp, brackets, attribute names and types, the values it counts) and steps\n" +
			"over the rest, as a filtered scan skips lines that cannot match; --strict checks\n" +
			"every value and reports each malformed line.",
		Flags: append(o.filter.flags(),
			&cli.BoolFlag{Name: "size", Aliases: []string{"s"}, Destination: &o.size, Usage: "sum object sizes (CSIZ, in MB) instead of times"},
			&cli.BoolFlag{Name: "long", Aliases: []string{"l"}, Destination: &o.long, Usage: "print each group's totals and its 10 slowest (largest) operations"},
			&cli.StringFlag{Name: "group-by-time", Aliases: []string{"gt"}, Destination: &o.byTime, Usage: "group by time `PERIOD`: a number and S, M, H or D (15M, 1H)"},
			&cli.BoolFlag{Name: "group-by-object", Aliases: []string{"go"}, Destination: &o.byObject, Usage: "bucket and object operations apart (TYPE.bucket, TYPE.object)"},
			&cli.BoolFlag{Name: "group-by-bucket", Aliases: []string{"gb"}, Destination: &o.byBucket, Usage: "group by bucket (TYPE.BUCKET)"},
		),
		Action: func(c *cli.Context) error {
			sopts := audit.SumOptions{Size: o.size, ByObject: o.byObject, ByBucket: o.byBucket}
			if o.long {
				sopts.Long = 10
			}
			if o.byTime != "" {
				d, err := audit.ParsePeriod(o.byTime)
				if err != nil {
					return fail.Usagef("-gt: %v", err)
				}
				sopts.ByTime = d
			}
			for _, t := range o.filter.types.values {
				sopts.Types = append(sopts.Types, strings.ToUpper(t))
			}
			opts, err := g.scanOptions(&o.filter, "", g.filesOrStdin(c.Args().Slice()))
			if err != nil {
				return err
			}
			sum := audit.NewSum(sopts)
			_, err = sum.Scan(c.Context, opts)
			if c.Context.Err() != nil {
				return err
			}
			if perr := g.printSum(sum); err == nil {
				err = perr
			}
			return err
		},
	}
}

// sumGroup is the JSON form of one audit sum group: times in seconds,
// sizes in MB; null when no operation of the group had one.
type sumGroup struct {
	Group   string            `json:"group"`
	Count   int               `json:"count"`
	Min     *float64          `json:"min"`
	Max     *float64          `json:"max"`
	Average *float64          `json:"average"`
	Slowest []audit.Operation `json:"slowest,omitempty"`
}

func (g *globals) printSum(sum *audit.Sum) error {
	if !g.jsonOutput() {
		w := bufio.NewWriter(g.out())
		if err := sum.Write(w); err != nil {
			return err
		}
		return w.Flush()
	}
	groups := sum.Groups()
	out := make([]sumGroup, len(groups))
	for i, r := range groups {
		out[i] = sumGroup{Group: r.Name, Count: r.Count, Slowest: r.Slowest}
		if r.Measured > 0 {
			mn, mx, avg := r.Min, r.Max, r.Average()
			out[i].Min, out[i].Max, out[i].Average = &mn, &mx, &avg
		}
	}
	return g.printJSON(out)
}
