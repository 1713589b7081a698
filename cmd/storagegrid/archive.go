package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/archive"
	"github.com/storagegrid/storagegrid/archive/adesim"
	"github.com/storagegrid/storagegrid/audit"
	"github.com/storagegrid/storagegrid/internal/atomicfile"
	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/flock"
)

// manualStep is the runbook's last step, which only the Grid Manager can do.
const manualStep = "In the Grid Manager, go to Archive Node > ARC > Retrieve > Configuration, " +
	"select Reset Request Failure Count, and click Apply Changes."

func archiveCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "archive",
		Usage: "recover objects an Archive Node can no longer retrieve from tape",
		Description: "Automates the runbook for permanently unavailable archived objects: find failed\n" +
			"retrievals (ARCE ARUN/GERR) in the audit logs, confirm them in TSM, cancel the\n" +
			"retrievals and declare the objects lost through the ARC service's ADE console.\n\n" +
			"   storagegrid archive recover --node-id 13959984 --verify-tsm\n" +
			"   storagegrid archive tsm-check 498D8A1F681F05B3\n" +
			"   storagegrid archive cancel 498D8A1F681F05B3",
		Subcommands: []*cli.Command{
			archiveRecoverCommand(g),
			archiveCancelCommand(g),
			archiveObjectLostCommand(g),
			archiveTSMCheckCommand(g),
			archiveJournalCommand(g),
			archiveADESimCommand(g),
		},
	}
}

// consoleOptions are the flags of every command that talks to the ADE console.
type consoleOptions struct {
	ade            string
	connectTimeout time.Duration
	timeout        time.Duration
}

func consoleFlags(o *consoleOptions) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ade", Destination: &o.ade,
			Usage: "ADE console `HOST:PORT` (default: archive.ade in storagegrid.toml, 127.0.0.1:1409)"},
		&cli.DurationFlag{Name: "connect-timeout", Value: 10 * time.Second, Destination: &o.connectTimeout,
			Usage: "give up connecting (and waiting for the first prompt) after `DURATION`"},
		&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Destination: &o.timeout,
			Usage: "give up on a command's reply after `DURATION`"},
	}
}

func (o *consoleOptions) resolve(g *globals) (archive.ConsoleOptions, error) {
	s, err := g.settings()
	if err != nil {
		return archive.ConsoleOptions{}, err
	}
	addr := o.ade
	if addr == "" {
		addr = s.Archive.ADE
	}
	if o.connectTimeout <= 0 || o.timeout <= 0 {
		return archive.ConsoleOptions{}, fail.Usagef("--connect-timeout and --timeout must be positive")
	}
	prompt, err := regexp.Compile(s.Archive.PromptPattern)
	if err != nil {
		return archive.ConsoleOptions{}, fail.Usagef("archive.prompt_pattern: %v", err)
	}
	return archive.ConsoleOptions{Addr: addr, Prompt: prompt, ConnectTimeout: o.connectTimeout, CommandTimeout: o.timeout}, nil
}

// dialer opens console sessions for an Executor.
func dialer(co archive.ConsoleOptions) func(context.Context) (archive.Session, error) {
	return func(ctx context.Context) (archive.Session, error) { return archive.Dial(ctx, co) }
}

// cbidArgs parses the positional CBIDs; nothing is sent when one is bad.
func cbidArgs(c *cli.Context) ([]archive.CBID, error) {
	if c.NArg() == 0 {
		return nil, fail.Usagef("no CBID given (see '%s --help')", c.Command.HelpName)
	}
	ids, err := archive.ParseCBIDs(c.Args().Slice())
	if err != nil {
		return nil, fail.Usagef("%v; nothing sent", err)
	}
	return ids, nil
}

func nodeIDFlag(dst *string) *cli.StringFlag {
	return &cli.StringFlag{Name: "node-id", Destination: dst,
		Usage: "the Archive Node's `ID` (audit field ANID; Grid Manager: Archive Node > ARC > Target > Overview)"}
}

// parseNodeID checks --node-id. urfave's Required would report a missing
// flag as a plain failure (exit 1), so it is checked here as a usage error.
func parseNodeID(s string) (string, error) {
	if s == "" {
		return "", fail.Usagef("--node-id is required: the Archive Node's ID, e.g. --node-id 13959984")
	}
	id, err := archive.ParseNodeID(s)
	if err != nil {
		return "", fail.Usagef("--node-id: %v", err)
	}
	return id, nil
}

// itemsErr classifies a run over n items of which failed did not succeed.
func itemsErr(failed, n int, what string) error {
	switch {
	case failed == 0:
		return nil
	case failed < n:
		return fail.Partialf("%d of %d %s failed", failed, n, what)
	}
	return fmt.Errorf("all %d %s failed", n, what)
}

// ---- cancel

type cancelOptions struct {
	console consoleOptions
	cbids   []archive.CBID
}

type cancelResult struct {
	CBID      archive.CBID `json:"cbid"`
	Cancelled *int         `json:"cancelled,omitempty"`
	Error     string       `json:"error,omitempty"`
}

func archiveCancelCommand(g *globals) *cli.Command {
	o := &cancelOptions{}
	return &cli.Command{
		Name:      "cancel",
		Usage:     "cancel the retrieval requests of objects (/proc/BRTR/cancel -c CBID)",
		ArgsUsage: "CBID...",
		Description: "Sends the runbook's `/proc/BRTR/cancel -c CBID` for each CBID over one console\n" +
			"session and reports how many requests each cancelled: 1 when the tape was the only\n" +
			"source, 0 when another copy serves the retrieval. CBIDs are 16 hex digits (0x\n" +
			"optional); all are checked before anything is sent. Cancelling twice is harmless.\n\n" +
			"   storagegrid archive cancel 498D8A1F681F05B3 0xc1d172940e6c7e12",
		Flags: consoleFlags(&o.console),
		Action: func(c *cli.Context) error {
			ids, err := cbidArgs(c)
			if err != nil {
				return err
			}
			o.cbids = ids
			return runCancel(c.Context, g, o)
		},
	}
}

func runCancel(ctx context.Context, g *globals, o *cancelOptions) error {
	co, err := o.console.resolve(g)
	if err != nil {
		return err
	}
	con, err := archive.Dial(ctx, co)
	if err != nil {
		return err
	}
	defer con.Close()
	results := make([]cancelResult, 0, len(o.cbids))
	failed := 0
	var stop error
	for _, id := range o.cbids {
		r := cancelResult{CBID: id}
		if stop != nil {
			r.Error = "not sent: " + stop.Error()
		} else if n, err := archive.Cancel(ctx, con, id); err != nil {
			r.Error = err.Error()
			var ce *archive.ConsoleError
			if errors.As(err, &ce) {
				stop = err // the session is spent
			}
		} else {
			r.Cancelled = &n
		}
		if r.Error != "" {
			failed++
		}
		results = append(results, r)
	}
	if g.jsonOutput() {
		if err := g.printJSON(results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			if r.Cancelled != nil {
				g.printf("%s: %s\n", r.CBID, requests(*r.Cancelled))
			} else {
				g.printf("%s: FAILED: %s\n", r.CBID, r.Error)
			}
		}
	}
	return itemsErr(failed, len(results), "cancels")
}

func requests(n int) string { return plural(n, "request") + " cancelled" }

// plural counts n things: "1 object", "2 objects".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// ---- object-lost

type objectLostOptions struct {
	console consoleOptions
	nodeID  string
	cbids   []archive.CBID
}

func archiveObjectLostCommand(g *globals) *cli.Command {
	o := &objectLostOptions{}
	return &cli.Command{
		Name:      "object-lost",
		Usage:     "declare objects' copies on an Archive Node lost (/proc/CMSI/Object_Lost CBID NODE_ID)",
		ArgsUsage: "CBID...",
		Description: "Sends `/proc/CMSI/Object_Lost CBID NODE_ID` for each CBID. Success is only the\n" +
			"reply `CLOC_LOST_ANS returned result 'SUCS'`; any other result code is a failure\n" +
			"naming the code. Every command is recorded in the node's recovery journal under\n" +
			"/var/lib/storagegrid/archive, shared with `archive recover`: a CBID that already got\n" +
			"SUCS is never sent again, and one whose reply was lost is refused unless --force\n" +
			"(global) says you checked that it did not take effect. Cancel the retrieval first\n" +
			"(`archive cancel`), or let `archive recover` do both.\n\n" +
			"   storagegrid archive object-lost --node-id 13959984 498D8A1F681F05B3",
		Flags: append(consoleFlags(&o.console), nodeIDFlag(&o.nodeID)),
		Action: func(c *cli.Context) error {
			ids, err := cbidArgs(c)
			if err != nil {
				return err
			}
			if o.nodeID, err = parseNodeID(o.nodeID); err != nil {
				return err
			}
			o.cbids = ids
			return runObjectLost(c.Context, g, o)
		},
	}
}

func runObjectLost(ctx context.Context, g *globals, o *objectLostOptions) error {
	co, err := o.console.resolve(g)
	if err != nil {
		return err
	}
	j, unlock, err := openJournal(ctx, g, o.nodeID, false)
	if err != nil {
		return err
	}
	defer unlock()
	var retry []archive.CBID
	if g.force {
		retry = o.cbids
	}
	items := archive.PlanObjectLost(o.cbids, o.nodeID, j, retry)
	var held []string
	for _, it := range items {
		if it.Action == archive.ActHold {
			held = append(held, string(it.CBID))
		}
	}
	if len(held) > 0 {
		return fail.Refusedf("Object_Lost for %s was sent before and its reply never came back; nothing sent. "+
			"Check the objects in the Grid Manager, then record that it took effect with "+
			"'storagegrid archive journal --node-id %s --mark-lost CBID', or resend with --force",
			strings.Join(held, ", "), o.nodeID)
	}
	ex := &archive.Executor{NodeID: o.nodeID, Journal: j, Dial: dialer(co)}
	sum, err := ex.Execute(ctx, items)
	if perr := printResults(g, sum); err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	if sum.Count(archive.OutUnknown) > 0 {
		g.warnf("some Object_Lost replies never came back; see 'storagegrid archive journal --help' before resending")
	}
	return sum.Err()
}

// printResults prints a run's per-object outcomes (text) or the summary (JSON).
func printResults(g *globals, sum archive.Summary) error {
	if g.jsonOutput() {
		return g.printJSON(sum)
	}
	for _, r := range sum.Results {
		g.printf("%s\n", resultLine(r))
	}
	return nil
}

func resultLine(r archive.Result) string {
	var parts []string
	if r.Cancelled != nil {
		parts = append(parts, requests(*r.Cancelled))
	}
	switch r.Outcome {
	case archive.OutLost:
		parts = append(parts, "CLOC_LOST_ANS returned result 'SUCS'")
	case archive.OutAlreadyLost:
		parts = append(parts, "already declared lost (journal); nothing sent")
	default:
		parts = append(parts, strings.ToUpper(string(r.Outcome))+": "+r.Error)
	}
	return string(r.CBID) + ": " + strings.Join(parts, "; ")
}

// journalPath is node nodeID's journal: where it is under --root, and
// how the host spells it.
func journalPath(g *globals, nodeID string) (path, show string) {
	show = archive.JournalDir + "/" + archive.JournalName(nodeID)
	return g.root.Join(show), show
}

// openJournal locks node nodeID's recovery and opens its journal for
// writing; one recovery per node at a time, across processes. A read-only
// journal (dry runs, listings) needs no lock and creates nothing.
func openJournal(ctx context.Context, g *globals, nodeID string, readOnly bool) (*archive.Journal, func(), error) {
	path, show := journalPath(g, nodeID)
	if readOnly {
		j, err := archive.LoadJournal(path, show, nodeID)
		return j, func() {}, err
	}
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	lock, err := flock.Acquire(lctx, g.root.Join("/run/storagegrid/lock"), "archive-"+nodeID)
	if err != nil {
		return nil, nil, fail.Refusedf("another archive command for node %s is running (%v)", nodeID, err)
	}
	j, err := archive.OpenJournal(path, show, nodeID)
	if err != nil {
		lock.Unlock()
		return nil, nil, err
	}
	return j, func() { j.Close(); lock.Unlock() }, nil
}

// ---- tsm-check

type tsmCheckOptions struct {
	days   int
	volume string
	cbids  []archive.CBID
}

type tsmCheckReport struct {
	Volume  string                 `json:"volume,omitempty"`
	Objects []archive.ContentEntry `json:"objects,omitempty"`
	Checks  []archive.Evidence     `json:"checks,omitempty"`
}

func archiveTSMCheckCommand(g *globals) *cli.Command {
	o := &tsmCheckOptions{}
	return &cli.Command{
		Name:      "tsm-check",
		Usage:     "confirm in TSM that objects are permanently unavailable",
		ArgsUsage: "CBID... | --volume NAME",
		Description: "Runs dsmadmc (archive.dsmadmc in storagegrid.toml) as in the runbook:\n" +
			"`query actlog begindate=-DAYS search=CBID` for each CBID, reporting whether an\n" +
			"ANR0548W / data integrity error names it; or, for a whole tape,\n" +
			"`query content VOLUME`, listing each object's volume ID, CBID and Archive Node ID\n" +
			"(the filespace). The admin password is read from archive.dsmadmc.password_file and\n" +
			"given to dsmadmc's password prompt on its standard input: it never appears in the\n" +
			"process list, the environment, logs or errors.\n" +
			"Exit status: 0 when every CBID is confirmed, 4 when some are not.\n\n" +
			"   storagegrid archive tsm-check --days 7 498D8A1F681F05B3\n" +
			"   storagegrid archive tsm-check --volume A00001L4",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "days", Value: 1, Destination: &o.days, Usage: "search the activity log of the last `N` days"},
			&cli.StringFlag{Name: "volume", Destination: &o.volume, Usage: "list the objects on the TSM volume `NAME` instead"},
		},
		Action: func(c *cli.Context) error {
			if (c.NArg() == 0) == (o.volume == "") {
				return fail.Usagef("give CBIDs or --volume, not both or neither (see '%s --help')", c.Command.HelpName)
			}
			if o.volume == "" {
				ids, err := cbidArgs(c)
				if err != nil {
					return err
				}
				o.cbids = ids
			}
			return runTSMCheck(c.Context, g, o)
		},
	}
}

func newTSM(g *globals) (*archive.TSM, error) {
	s, err := g.settings()
	if err != nil {
		return nil, err
	}
	d := s.Archive.Dsmadmc
	if d.AdminID == "" || d.PasswordFile == "" {
		return nil, fail.Usagef("set archive.dsmadmc.admin_id and archive.dsmadmc.password_file in storagegrid.toml (the ARC service's TSM administrator)")
	}
	t, err := archive.NewTSM(g.root.Join(d.Path), d.AdminID, g.root.Join(d.PasswordFile))
	if err != nil {
		return nil, fail.With(fail.Usage, fmt.Errorf("%w (file %s)", err, d.PasswordFile))
	}
	return t, nil
}

func runTSMCheck(ctx context.Context, g *globals, o *tsmCheckOptions) error {
	t, err := newTSM(g)
	if err != nil {
		return err
	}
	rep := tsmCheckReport{Volume: o.volume}
	if o.volume != "" {
		if rep.Objects, err = t.Content(ctx, o.volume); err != nil {
			return err
		}
		return printTSMReport(g, rep)
	}
	unconfirmed := 0
	for _, id := range o.cbids {
		ev, err := t.Check(ctx, id, o.days)
		if err != nil {
			return err
		}
		if !ev.Confirmed {
			unconfirmed++
		}
		rep.Checks = append(rep.Checks, ev)
	}
	if err := printTSMReport(g, rep); err != nil {
		return err
	}
	if unconfirmed > 0 {
		return fail.Partialf("%d of %d CBIDs not confirmed by the TSM activity log", unconfirmed, len(o.cbids))
	}
	return nil
}

func printTSMReport(g *globals, rep tsmCheckReport) error {
	if g.jsonOutput() {
		return g.printJSON(rep)
	}
	if rep.Volume != "" {
		g.printf("%d objects on TSM volume %s\n", len(rep.Objects), rep.Volume)
		tw := tabwriter.NewWriter(g.out(), 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "Volume-ID\tCBID\tNode-ID\tTSM-Node")
		for _, e := range rep.Objects {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.VolumeID, e.CBID, e.NodeID, e.NodeName)
		}
		return tw.Flush()
	}
	for _, ev := range rep.Checks {
		g.printf("%s: %s\n", ev.CBID, evidenceLine(ev))
	}
	return nil
}

func evidenceLine(ev archive.Evidence) string {
	for _, e := range ev.Entries {
		if e.CBID == ev.CBID && e.IntegrityError {
			return fmt.Sprintf("confirmed: %s data integrity error at %s (session %s, node %s, file space %s, volume %s)",
				e.MessageID, e.Date, e.Session, e.Node, e.Filespace, e.VolumeID)
		}
	}
	return fmt.Sprintf("not confirmed: no data integrity error naming it in the last %d days of the activity log (%d other entries)",
		ev.Days, len(ev.Entries))
}

// ---- recover

type recoverOptions struct {
	console   consoleOptions
	nodeID    string
	auditDir  string
	since     string
	verifyTSM bool
	dryRun    bool
	yes       bool
	retry     []archive.CBID
}

// recoverReport is the JSON form of a recovery.
type recoverReport struct {
	NodeID     string           `json:"node_id"`
	AuditDir   string           `json:"audit_dir"`
	Plan       []archive.Item   `json:"plan"`
	DryRun     bool             `json:"dry_run,omitempty"`
	Run        *archive.Summary `json:"run,omitempty"`
	ManualStep string           `json:"manual_step,omitempty"`
}

func archiveRecoverCommand(g *globals) *cli.Command {
	o := &recoverOptions{}
	var retry cli.StringSlice
	return &cli.Command{
		Name:  "recover",
		Usage: "find failed retrievals in the audit logs, then cancel them and declare the objects lost",
		Description: "The whole runbook for objects an Archive Node cannot retrieve:\n" +
			"  1. failed ARCE messages (RSLT ARUN or GERR) of --node-id in the audit logs, reduced to\n" +
			"     unique CBIDs;\n" +
			"  2. with --verify-tsm, only CBIDs that the TSM activity log shows with a data integrity\n" +
			"     error (see 'archive tsm-check') go on;\n" +
			"  3. on a terminal the list is shown and you are asked to confirm; otherwise --yes is\n" +
			"     required (exit 5 without it);\n" +
			"  4. for each CBID: /proc/BRTR/cancel -c CBID, then /proc/CMSI/Object_Lost CBID NODE_ID.\n\n" +
			"Every command is journaled (fsynced before it is sent and after its reply) in\n" +
			"/var/lib/storagegrid/archive/recover-NODE_ID.jsonl, so a rerun skips what succeeded and\n" +
			"never sends Object_Lost twice for a CBID that got SUCS. When an Object_Lost was sent but\n" +
			"its reply never came (connection dropped, process killed), its outcome is unknown and\n" +
			"reruns do not resend it: check the object in the Grid Manager, then either record that\n" +
			"it took effect ('archive journal --mark-lost CBID') or resend it (--retry-unknown CBID).\n" +
			"The remaining manual step, resetting the Request Failures count in the Grid Manager, is\n" +
			"printed at the end.\n\n" +
			"   storagegrid archive recover --node-id 13959984 --since 7d --verify-tsm\n" +
			"   storagegrid archive recover --node-id 13959984 --dry-run\n" +
			"   storagegrid archive recover --node-id 13959984 --yes     # from a script",
		Flags: append(consoleFlags(&o.console),
			nodeIDFlag(&o.nodeID),
			&cli.StringFlag{Name: "audit-dir", Value: audit.DefaultDir, Destination: &o.auditDir,
				Usage: "audit log `DIR` (audit.log, yyyy-mm-dd.txt, yyyy-mm-dd.txt.gz)"},
			&cli.StringFlag{Name: "since", Destination: &o.since,
				Usage: "only failures at or after `TIME` (2024-05-01, 2024-05-01T10:00:00Z, or 24h / 7d ago)"},
			&cli.BoolFlag{Name: "verify-tsm", Destination: &o.verifyTSM,
				Usage: "send only for CBIDs the TSM activity log confirms (runs dsmadmc)"},
			&cli.BoolFlag{Name: "dry-run", Destination: &o.dryRun, Usage: "show the plan; send nothing, write nothing"},
			&cli.StringSliceFlag{Name: "retry-unknown", Destination: &retry,
				Usage: "resend Object_Lost for `CBID` although its earlier outcome is unknown (after checking it did not take effect)"},
		),
		Action: func(c *cli.Context) error {
			var err error
			if c.NArg() > 0 {
				return fail.Usagef("recover takes no arguments (see '%s --help')", c.Command.HelpName)
			}
			if o.nodeID, err = parseNodeID(o.nodeID); err != nil {
				return err
			}
			if o.retry, err = archive.ParseCBIDs(retry.Value()); err != nil {
				return fail.Usagef("--retry-unknown: %v", err)
			}
			o.yes = g.yes
			return runRecover(c.Context, g, o)
		},
	}
}

func runRecover(ctx context.Context, g *globals, o *recoverOptions) error {
	co, err := o.console.resolve(g)
	if err != nil {
		return err
	}
	targets, err := failedRetrievals(ctx, g, o)
	if err != nil {
		return err
	}
	j, unlock, err := openJournal(ctx, g, o.nodeID, o.dryRun)
	if err != nil {
		return err
	}
	defer unlock()
	rep := recoverReport{NodeID: o.nodeID, AuditDir: o.auditDir, DryRun: o.dryRun,
		Plan: archive.Plan(targets, o.nodeID, j, o.retry)}
	if o.verifyTSM {
		if err := verifyPlan(ctx, g, rep.Plan); err != nil {
			return err
		}
	}
	if !g.jsonOutput() {
		printPlan(g.out(), rep)
	}
	if o.dryRun || len(rep.Plan) == 0 {
		if g.jsonOutput() {
			return g.printJSON(rep)
		}
		if o.dryRun {
			g.printf("Dry run: nothing sent.\n")
		}
		return nil
	}
	if err := confirmPlan(g, o, rep, co.Addr); err != nil {
		return err
	}
	return executePlan(ctx, g, o, j, co, rep)
}

func verifyPlan(ctx context.Context, g *globals, plan []archive.Item) error {
	t, err := newTSM(g)
	if err != nil {
		return err
	}
	return archive.Verify(ctx, t, plan, time.Now())
}

// confirmPlan asks before anything is sent, unless nothing would be.
func confirmPlan(g *globals, o *recoverOptions, rep recoverReport, addr string) error {
	sends := 0
	for _, it := range rep.Plan {
		if it.Sends() {
			sends++
		}
	}
	if sends == 0 {
		return nil
	}
	if g.jsonOutput() && !o.yes {
		printPlan(g.stderr, rep) // stdout is for the JSON; the operator still sees the list
	}
	q := fmt.Sprintf("Send cancel and Object_Lost for %s to the ADE console at %s?", plural(sends, "object"), addr)
	return confirm(g, o.yes, q)
}

func executePlan(ctx context.Context, g *globals, o *recoverOptions, j *archive.Journal, co archive.ConsoleOptions, rep recoverReport) error {
	ex := &archive.Executor{NodeID: o.nodeID, Journal: j, Dial: dialer(co)}
	if !g.jsonOutput() {
		ex.Progress = func(r archive.Result) { g.printf("%s\n", resultLine(r)) }
	}
	sum, runErr := ex.Execute(ctx, rep.Plan)
	rep.Run = &sum
	if sum.Count(archive.OutLost)+sum.Count(archive.OutAlreadyLost) > 0 {
		rep.ManualStep = manualStep
	}
	if g.jsonOutput() {
		if err := g.printJSON(rep); err != nil {
			return err
		}
	} else {
		printSummary(g, rep)
	}
	if runErr != nil {
		return runErr
	}
	return sum.Err()
}

func printPlan(w io.Writer, rep recoverReport) {
	if len(rep.Plan) == 0 {
		fmt.Fprintf(w, "No failed retrievals (ARCE with ARUN or GERR) for Archive Node %s in %s.\n", rep.NodeID, rep.AuditDir)
		return
	}
	failures := 0
	for _, it := range rep.Plan {
		failures += it.Failures
	}
	fmt.Fprintf(w, "Failed retrievals of Archive Node %s in %s: %s (%s)\n",
		rep.NodeID, rep.AuditDir, plural(len(rep.Plan), "object"), plural(failures, "ARCE message"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CBID\tVolume-ID\tResult\tFailures\tFirst-Failure\tJournal\tAction")
	for _, it := range rep.Plan {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", it.CBID, it.VolumeID, it.Result, it.Failures,
			it.Time.UTC().Format(time.RFC3339), it.Progress.Status, it.Action)
	}
	tw.Flush()
}

func printSummary(g *globals, rep recoverReport) {
	s := rep.Run
	g.printf("Summary: %d declared lost, %d already lost, %d unknown, %d failed, %d unconfirmed, %d not attempted.\n",
		s.Count(archive.OutLost), s.Count(archive.OutAlreadyLost), s.Count(archive.OutUnknown),
		s.Count(archive.OutFailed), s.Count(archive.OutUnconfirmed), s.Count(archive.OutNotAttempted))
	g.printf("Journal: %s\n", s.Journal)
	for _, r := range s.Results {
		if r.Outcome == archive.OutUnknown {
			g.printf("Outcome unknown for %s: check the object in the Grid Manager, then run\n"+
				"  storagegrid archive journal --node-id %s --mark-lost %s     # if it took effect\n"+
				"  storagegrid archive recover --node-id %s --retry-unknown %s # if it did not\n",
				r.CBID, rep.NodeID, r.CBID, rep.NodeID, r.CBID)
		}
	}
	if rep.ManualStep != "" {
		g.printf("Remaining manual step: %s\n", rep.ManualStep)
	}
}

// confirm asks on a terminal; elsewhere it requires --yes, because a
// script must not declare objects lost by accident.
func confirm(g *globals, yes bool, question string) error {
	if yes {
		return nil
	}
	f, ok := g.stdin.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return fail.Refusedf("standard input is not a terminal: nothing sent; pass --yes to send without confirmation")
	}
	return ask(g.stdin, g.stderr, question)
}

func ask(in io.Reader, out io.Writer, question string) error {
	fmt.Fprintf(out, "%s [y/N] ", question)
	line, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return fail.Refusedf("not confirmed: nothing sent")
}

// failedRetrievals reads the failed ARCE messages of the node from the
// audit logs. Unreadable files or malformed lines are warned about and
// the rest used: a rerun picks up what was missed.
func failedRetrievals(ctx context.Context, g *globals, o *recoverOptions) ([]archive.Target, error) {
	node, err := archive.ParseNodeID(o.nodeID)
	if err != nil {
		return nil, fail.With(fail.Usage, err)
	}
	var anid uint32
	fmt.Sscan(node, &anid)
	f := audit.Filter{Types: []string{"ARCE"}, Results: []string{"ARUN", "GERR"}, NodeID: anid}
	if o.since != "" {
		if f.Since, err = audit.ParseTime(o.since, time.Now()); err != nil {
			return nil, fail.Usagef("--since: %v", err)
		}
	}
	var targets []archive.Target
	_, err = audit.Scan(ctx, audit.ScanOptions{
		Dir: g.root.Join(o.auditDir), Filter: f, Name: g.root.Strip,
		OnError: func(err error) { g.warnf("%v", err) },
	}, func(m audit.Message) error {
		id, err := archive.ParseCBID(m.CBID)
		if err != nil {
			g.warnf("%s:%d: ARCE message without a usable CBID: %v", m.File, m.Line, err)
			return nil
		}
		targets = append(targets, archive.Target{CBID: id, NodeID: node, VolumeID: m.Value("VLID"),
			Result: m.Result, Time: m.Time, Source: fmt.Sprintf("%s:%d", m.File, m.Line)})
		return nil
	})
	if err != nil && fail.KindOf(err) != fail.Partial {
		return nil, fmt.Errorf("reading audit logs in %s: %w", o.auditDir, err)
	}
	if err != nil {
		g.warnf("%v; using the messages that could be read", err)
	}
	return targets, nil
}

// ---- journal

type journalOptions struct {
	nodeID   string
	markLost []archive.CBID
}

func archiveJournalCommand(g *globals) *cli.Command {
	o := &journalOptions{}
	var mark cli.StringSlice
	return &cli.Command{
		Name:  "journal",
		Usage: "show a node's recovery journal, or record that an Object_Lost took effect",
		Description: "Shows what the recovery journal of an Archive Node says about each object:\n" +
			"pending, cancelled, failed, unknown (Object_Lost sent, reply lost) or lost (SUCS).\n" +
			"After an unknown outcome, check the object in the Grid Manager; if the Object_Lost\n" +
			"did take effect, record it with --mark-lost so no rerun sends it again.\n\n" +
			"   storagegrid archive journal --node-id 13959984\n" +
			"   storagegrid archive journal --node-id 13959984 --mark-lost 498D8A1F681F05B3",
		Flags: []cli.Flag{
			nodeIDFlag(&o.nodeID),
			&cli.StringSliceFlag{Name: "mark-lost", Destination: &mark,
				Usage: "record that Object_Lost for `CBID` took effect (after checking)"},
		},
		Action: func(c *cli.Context) error {
			var err error
			if o.nodeID, err = parseNodeID(o.nodeID); err != nil {
				return err
			}
			if o.markLost, err = archive.ParseCBIDs(mark.Value()); err != nil {
				return fail.Usagef("--mark-lost: %v", err)
			}
			return runJournal(c.Context, g, o)
		},
	}
}

func runJournal(ctx context.Context, g *globals, o *journalOptions) error {
	j, unlock, err := openJournal(ctx, g, o.nodeID, len(o.markLost) == 0)
	if err != nil {
		return err
	}
	defer unlock()
	for _, id := range o.markLost {
		if err := j.MarkLost(id); err != nil {
			return err
		}
	}
	all := j.All()
	if g.jsonOutput() {
		return g.printJSON(all)
	}
	g.printf("Journal %s: %s\n", j.Path(), plural(len(all), "object"))
	if len(all) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(g.out(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CBID\tStatus\tCancelled\tObject_Lost-Sent\tResult\tLast-Error")
	for _, p := range all {
		cancelled := "-"
		if p.Cancelled != nil {
			cancelled = fmt.Sprint(*p.Cancelled)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", p.CBID, p.Status, cancelled, p.LostSends, dash(p.Result), dash(p.LastError))
	}
	return tw.Flush()
}

// ---- adesim (hidden: tests and the demo)

type adesimOptions struct {
	listen, nodeID, addrFile, record string
	results, faults                  []string
	negotiate, echo                  bool
}

func archiveADESimCommand(g *globals) *cli.Command {
	o := &adesimOptions{}
	var results, faults cli.StringSlice
	return &cli.Command{
		Name:   "adesim",
		Hidden: true,
		Usage:  "run a simulated ADE console (for tests and the demo)",
		Description: "Serves a simulated ARC ADE console until interrupted. Faults: KIND[:MATCH[:TIMES]]\n" +
			"with KIND close, garbage, noprompt, hang or slow (reply after 1h), MATCH a substring\n" +
			"of the command (empty: at connect).\n\n" +
			"   storagegrid archive adesim --listen 127.0.0.1:0 --addr-file /tmp/ade.addr",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:1409", Destination: &o.listen, Usage: "listen on `ADDR` (port 0: any free port)"},
			&cli.StringFlag{Name: "node-id", Value: "13959984", Destination: &o.nodeID, Usage: "node `ID` shown in the prompt"},
			&cli.StringFlag{Name: "addr-file", Destination: &o.addrFile, Usage: "write the listening address to `FILE`"},
			&cli.StringFlag{Name: "record", Destination: &o.record, Usage: "append every event as a JSON line to `FILE`"},
			&cli.StringSliceFlag{Name: "result", Destination: &results, Usage: "answer Object_Lost for a CBID with a code: `CBID=CODE`"},
			&cli.StringSliceFlag{Name: "fault", Destination: &faults, Usage: "misbehave: `KIND[:MATCH[:TIMES]]`"},
			&cli.BoolFlag{Name: "negotiate", Destination: &o.negotiate, Usage: "open with telnet option negotiation"},
			&cli.BoolFlag{Name: "echo", Destination: &o.echo, Usage: "echo commands back"},
		},
		Action: func(c *cli.Context) error {
			o.results, o.faults = results.Value(), faults.Value()
			return runADESim(c.Context, g, o)
		},
	}
}

func runADESim(ctx context.Context, g *globals, o *adesimOptions) error {
	cfg := adesim.Config{NodeID: o.nodeID, Negotiate: o.negotiate, Echo: o.echo, Results: map[string]string{}}
	for _, r := range o.results {
		id, code, ok := strings.Cut(r, "=")
		c, err := archive.ParseCBID(id)
		if !ok || err != nil || code == "" {
			return fail.Usagef("--result %q: want CBID=CODE", r)
		}
		cfg.Results[string(c)] = code
	}
	for _, f := range o.faults {
		fault, err := adesim.ParseFault(f)
		if err != nil {
			return fail.Usagef("--fault: %v", err)
		}
		cfg.Faults = append(cfg.Faults, fault)
	}
	if o.record != "" {
		f, err := os.OpenFile(o.record, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.Record = f
	}
	s, err := adesim.Start(o.listen, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if o.addrFile != "" {
		if err := atomicfile.Write(o.addrFile, []byte(s.Addr()+"\n"), 0o644); err != nil {
			return err
		}
	}
	g.printf("adesim: simulated ADE console listening on %s\n", s.Addr())
	<-ctx.Done()
	return nil
}
