package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/flock"
	"github.com/storagegrid/storagegrid/model"
	"github.com/storagegrid/storagegrid/wire"
)

func modelCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "model",
		Usage: "the fleet model server: ingest from agents, inventory, history, impact, what-if checks",
		Description: "One model server keeps the cross-layer model of the fleet that every host's agent\n" +
			"feeds. Before maintenance, ask it:\n" +
			"   storagegrid model ok-to-stop dc1-h3\n" +
			"   storagegrid model check-migrate DC1-S3 --to dc1-h4\n" +
			"Both exit 5 and list every blocker when the change is not safe.",
		Subcommands: []*cli.Command{
			modelServeCommand(g),
			modelHostsCommand(g),
			modelNodesCommand(g),
			modelChangesCommand(g),
			modelStateCommand(g),
			modelImpactCommand(g),
			modelCheckMigrateCommand(g),
			modelOkToStopCommand(g),
			modelMetricsCommand(g),
			modelIngestCommand(g),
			modelBackupCommand(g),
			modelRestoreCommand(g),
			modelCompactCommand(g),
		},
	}
}

// clientFlags are the flags of every command that talks to a server.
func clientFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "server", Usage: "model server `URL` (http://HOST:PORT or unix:/PATH; default: model.server, else model.listen)"},
		&cli.DurationFlag{Name: "wait", Usage: "wait up to `DURATION` for the server to accept connections"},
	}
}

// modelClient makes the client for a command's --server and --wait.
func (g *globals) modelClient(c *cli.Context) (*model.Client, error) {
	s, err := g.settings()
	if err != nil {
		return nil, err
	}
	cl, err := model.ClientFor(s.Model, g.root, c.String("server"))
	if err != nil {
		return nil, err
	}
	if d := c.Duration("wait"); d > 0 {
		if err := cl.WaitReady(c.Context, d); err != nil {
			return nil, fmt.Errorf("model server not ready after %s: %w", d, err)
		}
	}
	return cl, nil
}

// exactArgs returns exactly n positional arguments, or a usage error.
func (g *globals) exactArgs(c *cli.Context, n int, names string) ([]string, error) {
	args := c.Args().Slice()
	if len(args) != n {
		return nil, fail.Usagef("%s needs %s (see '%s --help')", c.Command.HelpName, names, c.Command.HelpName)
	}
	return args, nil
}

// modelQuery runs one client call and prints its answer: as JSON, or
// through text.
func modelQuery[T any](g *globals, c *cli.Context, call func(*model.Client) (T, error), text func(T) error) error {
	cl, err := g.modelClient(c)
	if err != nil {
		return err
	}
	v, err := call(cl)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(v)
	}
	return text(v)
}

// when parses the time flag name; empty gives the zero time.
func when(name, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := model.ParseWhen(v, now)
	if err != nil {
		return t, fail.Usagef("--%s: %v", name, err)
	}
	return t, nil
}

// ---- serve ----

type modelServeOptions struct {
	listen, db, tokens string
}

func modelServeCommand(g *globals) *cli.Command {
	o := &modelServeOptions{}
	return &cli.Command{
		Name:      "serve",
		Usage:     "run the model server",
		UsageText: "storagegrid model serve [--listen ADDR] [--db PATH] [--tokens FILE]",
		Description: "Serves the ingest endpoint for agents and the query API until interrupted.\n" +
			"Agents authenticate with a bearer token per host, listed as \"HOST TOKEN\" lines\n" +
			"in the tokens file (mode 0600; SIGHUP reloads it). Example:\n" +
			"   storagegrid model serve --listen 10.0.0.5:9470\n" +
			"Retention runs every model.compact_every.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Destination: &o.listen, Usage: "`ADDR` to listen on, HOST:PORT or unix:/PATH (default model.listen)"},
			&cli.StringFlag{Name: "db", Destination: &o.db, Usage: "database `PATH` (default model.db)"},
			&cli.StringFlag{Name: "tokens", Destination: &o.tokens, Usage: "host tokens `FILE` (default model.tokens_file)"},
		},
		Action: func(c *cli.Context) error { return g.modelServe(c.Context, o) },
	}
}

func (g *globals) modelServe(ctx context.Context, o *modelServeOptions) error {
	s, err := g.settings()
	if err != nil {
		return err
	}
	m := s.Model
	dbPath, tokensPath, listen, shown := g.root.Join(m.DB), g.root.Join(m.TokensFile), m.Listen, m.Listen
	if path, ok := strings.CutPrefix(listen, "unix:"); ok {
		listen = "unix:" + g.root.Join(path)
	}
	// Paths given as flags are taken as typed, like --config.
	dbPath, tokensPath, listen, shown = orFlag(o.db, dbPath), orFlag(o.tokens, tokensPath), orFlag(o.listen, listen), orFlag(o.listen, shown)

	lock, err := lockStore(ctx, dbPath)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	tokens, err := model.LoadTokens(tokensPath)
	if err != nil {
		return err
	}
	cfg := model.Config{Tokens: tokens, StaleAfter: m.StaleAfter.Duration, CompactEvery: m.CompactEvery.Duration,
		Retention: model.Retention{History: m.HistoryRetention.Duration, Metrics: m.MetricsRetention.Duration}}
	if m.QueryTokenFile != "" {
		if cfg.QueryToken, err = model.ReadTokenFile(g.root.Join(m.QueryTokenFile)); err != nil {
			return err
		}
	}
	store, err := model.OpenSQLite(ctx, dbPath)
	if err != nil {
		return err
	}
	defer store.Close()
	cfg.Store = store
	srv, err := model.NewServer(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := model.Listen(listen)
	if err != nil {
		return fmt.Errorf("model serve: %w", err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	g.printf("Model server listening on %s (database %s, %d host tokens)\n", shown, g.root.Strip(dbPath), tokens.Len())
	go g.serveSignals(ctx, srv, tokensPath)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("model serve: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shut); err != nil {
		return fmt.Errorf("model serve: shutting down: %w", err)
	}
	g.printf("Model server stopped\n")
	return nil
}

func orFlag(flag, dflt string) string {
	if flag != "" {
		return flag
	}
	return dflt
}

// serveSignals reloads the tokens on SIGHUP and reports compactions.
func (g *globals) serveSignals(ctx context.Context, srv *model.Server, tokensPath string) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			t, err := model.LoadTokens(tokensPath)
			if err != nil {
				g.warnf("keeping the old tokens: %v", err)
				continue
			}
			srv.SetTokens(t)
			g.printf("Reloaded %d host tokens\n", t.Len())
		case err := <-srv.Compactions:
			if err != nil {
				g.warnf("compaction: %v", err)
			}
		}
	}
}

// lockStore takes the lock that says a process owns the database: the
// server while it runs, restore and compact while they work. It lives
// beside the database so that it guards that file wherever it is.
func lockStore(ctx context.Context, dbPath string) (*flock.Lock, error) {
	try, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	l, err := flock.Acquire(try, filepath.Dir(dbPath), filepath.Base(dbPath))
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fail.Refusedf("model store %s is in use (is 'storagegrid model serve' running on it?)", dbPath)
	}
	return l, err
}

// ---- hosts, nodes ----

func modelHostsCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:        "hosts",
		Usage:       "list the hosts the model knows",
		UsageText:   "storagegrid model hosts [--server URL]",
		Description: "Lists every host with its last report, its nodes, devices and links.\nA host silent for longer than model.stale_after is marked stale.\nExample:\n   storagegrid model hosts --server http://model.example:9470",
		Flags:       clientFlags(),
		Action: func(c *cli.Context) error {
			return modelQuery(g, c, func(cl *model.Client) ([]model.HostSummary, error) { return cl.Hosts(c.Context) }, g.printHosts)
		},
	}
}

func (g *globals) printHosts(hosts []model.HostSummary) error {
	return g.table("Host\tLast-Seen\tNodes\tDevices\tLinks\tAddresses", len(hosts), func(i int) string {
		h := hosts[i]
		seen := h.LastSeen.UTC().Format(time.RFC3339)
		if h.Stale {
			seen += " (stale)"
		}
		return fmt.Sprintf("%s\t%s\t%s\t%d\t%d\t%d", h.Host, seen, listOrDash(h.Nodes), h.Devices, h.Links, h.Addresses)
	})
}

func listOrDash(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

// table prints a header and n rows through a tabwriter.
func (g *globals) table(header string, n int, row func(int) string) error {
	if g.quiet {
		return nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for i := 0; i < n; i++ {
		fmt.Fprintln(tw, row(i))
	}
	return tw.Flush()
}

type modelNodesOptions struct{ host string }

func modelNodesCommand(g *globals) *cli.Command {
	o := &modelNodesOptions{}
	return &cli.Command{
		Name:        "nodes",
		Usage:       "list the grid nodes: where they run, their type, site and run state",
		UsageText:   "storagegrid model nodes [--host HOST] [--server URL]",
		Description: "Example:\n   storagegrid model nodes --host dc1-h3",
		Flags:       append(clientFlags(), &cli.StringFlag{Name: "host", Destination: &o.host, Usage: "only the nodes on `HOST`"}),
		Action: func(c *cli.Context) error {
			return modelQuery(g, c, func(cl *model.Client) ([]model.Node, error) { return cl.Nodes(c.Context, o.host) },
				func(nodes []model.Node) error {
					return g.table("Name\tHost\tType\tSite\tRun-State", len(nodes), func(i int) string {
						n := nodes[i]
						return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", n.Name, n.Host, n.Type, n.Site, n.RunState)
					})
				})
		},
	}
}

// ---- changes, state ----

type modelChangesOptions struct {
	since, until, host, kind string
	limit                    int
}

func modelChangesCommand(g *globals) *cli.Command {
	o := &modelChangesOptions{}
	return &cli.Command{
		Name:      "changes",
		Usage:     "list what changed in the fleet, field by field",
		UsageText: "storagegrid model changes --since WHEN [--until WHEN] [--host HOST] [--kind KIND] [--limit N]",
		Description: "WHEN is a duration ago (30m, 1h, 7d), an RFC 3339 time or a local\n" +
			"YYYY-MM-DD HH:MM. Example, what changed on a host before an incident:\n" +
			"   storagegrid model changes --since 2h --host dc1-h3",
		Flags: append(clientFlags(),
			&cli.StringFlag{Name: "since", Destination: &o.since, Usage: "from `WHEN` (required)"},
			&cli.StringFlag{Name: "until", Destination: &o.until, Usage: "up to `WHEN` (default now)"},
			&cli.StringFlag{Name: "host", Destination: &o.host, Usage: "only `HOST`"},
			&cli.StringFlag{Name: "kind", Destination: &o.kind, Usage: "only entities of `KIND` (host, node, blockdev, link, address, route)"},
			&cli.IntFlag{Name: "limit", Destination: &o.limit, Usage: "at most `N` changes"},
		),
		Action: func(c *cli.Context) error {
			if o.since == "" {
				return fail.Usagef("changes needs --since WHEN (see '%s --help')", c.Command.HelpName)
			}
			now := time.Now()
			q := model.ChangeQuery{Host: o.host, Kind: wire.Kind(o.kind), Limit: o.limit}
			var err error
			if q.Since, err = when("since", o.since, now); err != nil {
				return err
			}
			if q.Until, err = when("until", o.until, now); err != nil {
				return err
			}
			return modelQuery(g, c, func(cl *model.Client) ([]model.Change, error) { return cl.Changes(c.Context, q) },
				func(changes []model.Change) error {
					for _, ch := range changes {
						g.printf("%s %s %s %s %s: %s\n", ch.Time.UTC().Format(time.RFC3339), ch.Host, ch.Op, ch.Kind, ch.ID, describeFields(ch))
					}
					return nil
				})
		},
	}
}

// describeFields writes a change's fields as "mtu 1500 -> 9000, ...";
// additions and removals list the values they added or took away.
func describeFields(ch model.Change) string {
	parts := make([]string, 0, len(ch.Fields))
	for _, f := range ch.Fields {
		switch {
		case ch.Op == model.OpAdded:
			parts = append(parts, f.Field+"="+*f.To)
		case ch.Op == model.OpRemoved:
			parts = append(parts, f.Field+"="+*f.From)
		default:
			parts = append(parts, fmt.Sprintf("%s %s -> %s", f.Field, valueOr(f.From), valueOr(f.To)))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func valueOr(v *string) string {
	if v == nil {
		return "(unset)"
	}
	return *v
}

type modelStateOptions struct{ at, host, kind string }

func modelStateCommand(g *globals) *cli.Command {
	o := &modelStateOptions{}
	return &cli.Command{
		Name:      "state",
		Usage:     "print every entity as it is now, or as it was at a past time",
		UsageText: "storagegrid model state [--at WHEN] [--host HOST] [--kind KIND]",
		Description: "Reconstructs the model from its history. Example, the host as it was\n" +
			"before last night's change:\n" +
			"   storagegrid model state --at '2024-06-10 02:00' --host dc1-h3",
		Flags: append(clientFlags(),
			&cli.StringFlag{Name: "at", Destination: &o.at, Usage: "as at `WHEN` (default now)"},
			&cli.StringFlag{Name: "host", Destination: &o.host, Usage: "only `HOST`"},
			&cli.StringFlag{Name: "kind", Destination: &o.kind, Usage: "only entities of `KIND`"},
		),
		Action: func(c *cli.Context) error {
			at, err := when("at", o.at, time.Now())
			if err != nil {
				return err
			}
			return modelQuery(g, c, func(cl *model.Client) (model.State, error) {
				st, err := cl.State(c.Context, at, o.host)
				st.Entities = slices.DeleteFunc(st.Entities, func(e model.Entity) bool { return o.kind != "" && string(e.Kind) != o.kind })
				return st, err
			}, func(st model.State) error {
				for _, e := range st.Entities {
					g.printf("%s %s %s %s\n", e.Host, e.Kind, e.ID, fieldList(e.Fields))
				}
				return nil
			})
		},
	}
}

func fieldList(f map[string]string) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + f[k]
	}
	return strings.Join(keys, " ")
}

// ---- impact, what-ifs ----

func modelImpactCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "impact",
		Usage:     "list everything that depends on a host, device, LUN or interface",
		UsageText: "storagegrid model impact ENTITY",
		Description: "ENTITY is host/HOST, link/HOST/IFACE, blockdev/HOST/DEV (DEV may be a path such as\n" +
			"/dev/mapper/x), wwid/WWID, node/NAME, or a bare host or node name. Example:\n" +
			"   storagegrid model impact link/dc1-h3/bond0",
		Flags: clientFlags(),
		Action: func(c *cli.Context) error {
			args, err := g.exactArgs(c, 1, "one ENTITY")
			if err != nil {
				return err
			}
			return modelQuery(g, c, func(cl *model.Client) (model.Impact, error) { return cl.Impact(c.Context, args[0]) },
				func(im model.Impact) error {
					g.printf("Impact of %s: %d dependents, nodes: %s\n", im.Subject, len(im.Affected), listOrDash(im.Nodes))
					for _, a := range im.Affected {
						g.printf("%s%s (via %s)\n", strings.Repeat("  ", a.Depth), a.Ref, a.Via)
					}
					return nil
				})
		},
	}
}

type modelCheckMigrateOptions struct{ to string }

func modelCheckMigrateCommand(g *globals) *cli.Command {
	o := &modelCheckMigrateOptions{}
	return &cli.Command{
		Name:      "check-migrate",
		Usage:     "check whether a node may move to another host",
		UsageText: "storagegrid model check-migrate NODE --to HOST",
		Description: "Forks the model, moves the node and evaluates every rule: the target sees\n" +
			"each of the node's block devices by WWID and path, has every interface the\n" +
			"node needs, keeps one storage node per host, does not end up with every node\n" +
			"of a type of the site, has the memory, and no other node is out of service.\n" +
			"Exits 5 listing every blocker when the move is not safe. Example:\n" +
			"   storagegrid model check-migrate DC1-S3 --to dc1-h4",
		Flags: append(clientFlags(), &cli.StringFlag{Name: "to", Destination: &o.to, Usage: "target `HOST` (required)"}),
		Action: func(c *cli.Context) error {
			args, err := g.exactArgs(c, 1, "one NODE")
			if err != nil {
				return err
			}
			if o.to == "" {
				return fail.Usagef("check-migrate needs --to HOST (see '%s --help')", c.Command.HelpName)
			}
			cl, err := g.modelClient(c)
			if err != nil {
				return err
			}
			v, err := cl.CheckMigrate(c.Context, args[0], o.to)
			if err != nil {
				return err
			}
			return g.printVerdict(v, fmt.Sprintf("Checking migration of node %s from %s to %s...", v.Node, v.From, v.To))
		},
	}
}

func modelOkToStopCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "ok-to-stop",
		Usage:     "check whether a host may be taken down now",
		UsageText: "storagegrid model ok-to-stop HOST",
		Description: "Forks the model, stops every node on the host and evaluates every rule:\n" +
			"no other node is already out of service, each node type keeps a running\n" +
			"instance elsewhere, each site keeps a majority of its storage nodes.\n" +
			"Exits 5 listing every blocker when it is not safe. Example:\n" +
			"   storagegrid model ok-to-stop dc1-h3 && sudo reboot",
		Flags: clientFlags(),
		Action: func(c *cli.Context) error {
			args, err := g.exactArgs(c, 1, "one HOST")
			if err != nil {
				return err
			}
			cl, err := g.modelClient(c)
			if err != nil {
				return err
			}
			v, err := cl.OkToStop(c.Context, args[0])
			if err != nil {
				return err
			}
			return g.printVerdict(v, fmt.Sprintf("Checking whether host %s may stop...", v.Host))
		},
	}
}

// printVerdict prints a verdict like the runbook's checks: the line with
// PASSED, or without it and one ERROR pair per blocker. JSON is printed
// either way; a blocked verdict exits 5.
func (g *globals) printVerdict(v model.Verdict, line string) error {
	if g.jsonOutput() {
		if err := g.printJSON(v); err != nil {
			return err
		}
		return v.Err()
	}
	if v.Safe {
		g.printf("%s PASSED\n", line)
		return nil
	}
	g.printf("%s\n", line)
	for _, b := range v.Blockers {
		g.printf("  ERROR: %s\n         %s\n", b.Rule, b.Message)
	}
	return v.Err()
}

// ---- metrics ----

type modelMetricsOptions struct{ host, prefix, since string }

func modelMetricsCommand(g *globals) *cli.Command {
	o := &modelMetricsOptions{}
	return &cli.Command{
		Name:      "metrics",
		Usage:     "print the latest metric values, and one-minute roll-ups",
		UsageText: "storagegrid model metrics [--host HOST] [--prefix NAME] [--since WHEN]",
		Description: "Example, one host's load over the last quarter hour:\n" +
			"   storagegrid model metrics --host dc1-h3 --prefix node_load --since 15m",
		Flags: append(clientFlags(),
			&cli.StringFlag{Name: "host", Destination: &o.host, Usage: "only `HOST`"},
			&cli.StringFlag{Name: "prefix", Destination: &o.prefix, Usage: "only series whose name starts with `NAME`"},
			&cli.StringFlag{Name: "since", Destination: &o.since, Usage: "with the roll-ups since `WHEN`"},
		),
		Action: func(c *cli.Context) error {
			since, err := when("since", o.since, time.Now())
			if err != nil {
				return err
			}
			q := model.MetricQuery{Host: o.host, Prefix: o.prefix, Since: since}
			return modelQuery(g, c, func(cl *model.Client) ([]model.Series, error) { return cl.Metrics(c.Context, q) },
				func(series []model.Series) error {
					for _, s := range series {
						g.printf("%s %s %s %s\n", s.Host, s.Name, wire.FormatValue(s.Value), s.Time.UTC().Format(time.RFC3339))
						for _, r := range s.Minutes {
							g.printf("  %s n=%d min=%s mean=%s max=%s\n", r.Minute.Format("15:04"), r.Count,
								wire.FormatValue(r.Min), wire.FormatValue(r.Mean), wire.FormatValue(r.Max))
						}
					}
					return nil
				})
		},
	}
}

// ---- ingest ----

type modelIngestOptions struct{ tokenFile string }

func modelIngestCommand(g *globals) *cli.Command {
	o := &modelIngestOptions{}
	return &cli.Command{
		Name:      "ingest",
		Usage:     "send saved wire batches (NDJSON, gzip or not) to the server as their host's agent",
		UsageText: "storagegrid model ingest --token-file FILE BATCH...",
		Description: "Checks each file against the wire schema, then posts it with the host's\n" +
			"token, as the agent would; replays are de-duplicated by the server. For\n" +
			"replaying spooled batches and testing a deployment. Example:\n" +
			"   storagegrid model ingest --token-file /etc/storagegrid/agent/token batch.ndjson.gz",
		Flags: append(clientFlags(), &cli.StringFlag{Name: "token-file", Destination: &o.tokenFile,
			Usage: "`FILE` holding the host's bearer token, mode 0600 (required)"}),
		Action: func(c *cli.Context) error {
			files := c.Args().Slice()
			if len(files) == 0 || o.tokenFile == "" {
				return fail.Usagef("ingest needs --token-file FILE and at least one BATCH file (see '%s --help')", c.Command.HelpName)
			}
			token, err := model.ReadTokenFile(o.tokenFile)
			if err != nil {
				return fail.With(fail.Usage, err)
			}
			cl, err := g.modelClient(c)
			if err != nil {
				return err
			}
			var acks []wire.Ack
			for _, path := range files {
				ack, err := ingestFile(c.Context, cl, token, path)
				if err != nil {
					return err
				}
				acks = append(acks, ack)
				g.printf("%s: host %s, %d stored, %d duplicates, %d stale; acknowledged up to epoch %d seq %d\n",
					path, ack.Host, ack.Stored, ack.Duplicates, ack.Stale, ack.Epoch, ack.Seq)
			}
			if g.jsonOutput() {
				return g.printJSON(acks)
			}
			return nil
		},
	}
}

// ingestFile validates a batch file locally (clear errors before anything
// is sent) and posts it compressed.
func ingestFile(ctx context.Context, cl *model.Client, token, path string) (wire.Ack, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return wire.Ack{}, fail.With(fail.Usage, err)
	}
	enc := ""
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		enc = "gzip"
	}
	b, err := wire.DecodeBody(bytes.NewReader(data), enc, wire.DefaultLimits)
	if err != nil {
		return wire.Ack{}, fail.Invalidf("%s: %v", path, err)
	}
	gz, err := wire.Compress(b)
	if err != nil {
		return wire.Ack{}, err
	}
	ack, err := cl.Ingest(ctx, token, gz)
	if err != nil {
		return ack, fmt.Errorf("%s: %w", path, err)
	}
	return ack, nil
}

// ---- backup, restore, compact ----

type modelDBOptions struct{ db string }

func dbFlag(o *modelDBOptions) cli.Flag {
	return &cli.StringFlag{Name: "db", Destination: &o.db, Usage: "database `PATH` (default model.db)"}
}

func (g *globals) modelDBPath(o *modelDBOptions) (string, error) {
	if o.db != "" {
		return o.db, nil
	}
	s, err := g.settings()
	if err != nil {
		return "", err
	}
	return g.root.Join(s.Model.DB), nil
}

func modelBackupCommand(g *globals) *cli.Command {
	o := &modelDBOptions{}
	return &cli.Command{
		Name:      "backup",
		Usage:     "copy the model database consistently, while the server runs",
		UsageText: "storagegrid model backup [--db PATH] DEST",
		Description: "Uses SQLite's online backup: ingest goes on meanwhile, and DEST appears\n" +
			"only when complete. DEST must not exist. Example, nightly from cron:\n" +
			"   storagegrid model backup /backup/model-$(date +%F).db",
		Flags: []cli.Flag{dbFlag(o)},
		Action: func(c *cli.Context) error {
			args, err := g.exactArgs(c, 1, "one DEST")
			if err != nil {
				return err
			}
			db, err := g.modelDBPath(o)
			if err != nil {
				return err
			}
			if err := model.Backup(c.Context, db, args[0]); err != nil {
				return err
			}
			g.printf("Backed up %s to %s\n", g.root.Strip(db), args[0])
			return nil
		},
	}
}

func modelRestoreCommand(g *globals) *cli.Command {
	o := &modelDBOptions{}
	return &cli.Command{
		Name:      "restore",
		Usage:     "replace the model database with a verified backup",
		UsageText: "storagegrid model restore [--db PATH] BACKUP",
		Description: "Checks the backup (SQLite integrity check, schema version) before touching\n" +
			"the database, and refuses while a server runs on it. Agents resend what the\n" +
			"backup lacks from their spools. Example:\n" +
			"   systemctl stop storagegrid-model\n" +
			"   storagegrid model restore /backup/model-2024-06-10.db",
		Flags: []cli.Flag{dbFlag(o)},
		Action: func(c *cli.Context) error {
			args, err := g.exactArgs(c, 1, "one BACKUP")
			if err != nil {
				return err
			}
			db, err := g.modelDBPath(o)
			if err != nil {
				return err
			}
			lock, err := lockStore(c.Context, db)
			if err != nil {
				return err
			}
			defer lock.Unlock()
			if err := model.Restore(c.Context, args[0], db); err != nil {
				return fail.With(fail.Invalid, err)
			}
			g.printf("Restored %s from %s\n", g.root.Strip(db), args[0])
			return nil
		},
	}
}

func modelCompactCommand(g *globals) *cli.Command {
	o := &modelDBOptions{}
	return &cli.Command{
		Name:      "compact",
		Usage:     "apply the retention settings now (the server does it every model.compact_every)",
		UsageText: "storagegrid model compact [--db PATH]",
		Description: "Folds history older than model.history_retention into one baseline per\n" +
			"entity and drops roll-ups older than model.metrics_retention. Refuses while\n" +
			"a server runs on the database. Example:\n" +
			"   storagegrid model compact --db /var/lib/storagegrid/model/model.db",
		Flags: []cli.Flag{dbFlag(o)},
		Action: func(c *cli.Context) error {
			s, err := g.settings()
			if err != nil {
				return err
			}
			db, err := g.modelDBPath(o)
			if err != nil {
				return err
			}
			lock, err := lockStore(c.Context, db)
			if err != nil {
				return err
			}
			defer lock.Unlock()
			store, err := model.OpenSQLite(c.Context, db)
			if err != nil {
				return err
			}
			defer store.Close()
			res, err := store.Compact(c.Context, time.Now(), model.Retention{History: s.Model.HistoryRetention.Duration, Metrics: s.Model.MetricsRetention.Duration})
			if err != nil {
				return err
			}
			if g.jsonOutput() {
				return g.printJSON(res)
			}
			g.printf("History before %s folded (%d changes), %d roll-ups and %d series removed\n",
				res.HistoryFloor.UTC().Format(time.RFC3339), res.ChangesFolded, res.RollupsRemoved, res.SeriesRemoved)
			return nil
		},
	}
}
