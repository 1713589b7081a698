package main

import (
	"fmt"
	"log"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/agent"
	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/internal/sdnotify"
	"github.com/storagegrid/storagegrid/wire"
)

// agentOptions are the flags shared by agent run and agent once; each
// overrides the [agent] table of storagegrid.toml.
type agentOptions struct {
	server   string
	interval time.Duration
	enable   []string
	disable  []string
	hostID   string
}

func init() {
	register(60, agentCommand)
}

func agentCommand(g *globals) *cli.Command {
	opts := &agentOptions{}
	return &cli.Command{
		Name:  "agent",
		Usage: "per-host agent: stream metrics, inventory and changes to the model server",
		Description: "The agent collects metrics (CPU, memory, load, disks, network, temperatures),\n" +
			"inventory (links, addresses, routes, LLDP neighbours, block devices with WWIDs,\n" +
			"nodes) and every change, keeps unsent events in a durable spool and ships them\n" +
			"to the model server, authenticated by a bearer token (agent.token_file) and/or\n" +
			"a client certificate (agent.tls_cert, mutual TLS). Settings live in the [agent]\n" +
			"table of storagegrid.toml; [host] site, room and rack place the host.\n\n" +
			"   storagegrid agent once -o json        # one snapshot, to stdout\n" +
			"   storagegrid agent run                  # the daemon (systemd Type=notify)",
		Subcommands: []*cli.Command{
			agentRunCommand(g, opts),
			agentOnceCommand(g, opts),
			agentCollectorsCommand(g),
		},
	}
}

func agentFlags(opts *agentOptions) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "server", Usage: "model server `URL` (overrides agent.server)", Destination: &opts.server},
		&cli.DurationFlag{Name: "interval", Usage: "collection interval `DURATION`, e.g. 15s", DefaultText: "agent.interval", Destination: &opts.interval},
		&cli.StringSliceFlag{Name: "enable", Usage: "enable collector `NAME` (repeatable)"},
		&cli.StringSliceFlag{Name: "disable", Usage: "disable collector `NAME` (repeatable)"},
		&cli.StringFlag{Name: "host-id", Usage: "report as host `ID` (overrides agent.host_id; default the hostname)", Destination: &opts.hostID},
	}
}

func agentRunCommand(g *globals, opts *agentOptions) *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run the agent until stopped (SIGTERM)",
		Description: "Sends a full snapshot, then changes as they happen, to agent.server. Tells\n" +
			"systemd READY=1 once the first snapshot is spooled and pings its watchdog.\n" +
			"Without a server it only spools (bounded by agent.spool_max_bytes).",
		Flags: agentFlags(opts),
		Action: func(c *cli.Context) error {
			cfg, err := g.agentConfig(c, opts)
			if err != nil {
				return err
			}
			a, err := agent.New(cfg)
			if err != nil {
				return err
			}
			if cfg.Server == "" {
				g.warnf("agent.server is not set: events are only spooled in %s (at most %d bytes)",
					g.root.Strip(cfg.SpoolDir), cfg.SpoolMax)
			}
			tightenGC()
			return a.Run(c.Context, sdnotify.Notifier{})
		},
	}
}

// daemonGCPercent replaces Go's default GOGC of 100 in the agent daemon.
// Its live heap stays under 1 MiB, so the runtime's minimum heap goal
// (4 MiB at GOGC=100) is what sets its memory; at 50 the goal halves and
// the daemon's peak RSS drops by about 2 MiB (bench/agent.sh), for a
// collection every cycle or two that costs well under a millisecond.
const daemonGCPercent = 50

// tightenGC applies daemonGCPercent unless GOGC says otherwise.
func tightenGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(daemonGCPercent)
	}
}

func agentOnceCommand(g *globals, opts *agentOptions) *cli.Command {
	return &cli.Command{
		Name:        "once",
		Usage:       "collect one snapshot and print it",
		Description: "Prints the events of one snapshot (JSON with -o json, one per line with\n-o ndjson). Nothing is spooled or sent.",
		Flags:       agentFlags(opts),
		Action: func(c *cli.Context) error {
			cfg, err := g.agentConfig(c, opts)
			if err != nil {
				return err
			}
			cfg.SpoolDir, cfg.Server = "", ""
			evs, err := agent.Once(c.Context, cfg)
			if len(evs) == 0 {
				return err
			}
			if perr := g.printEvents(evs); perr != nil {
				return perr
			}
			return fail.With(fail.Partial, err)
		},
	}
}

func agentCollectorsCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:  "collectors",
		Usage: "list the collectors the agent knows",
		Action: func(c *cli.Context) error {
			names := agent.CollectorNames()
			if g.jsonOutput() {
				return g.printJSON(names)
			}
			g.printf("%s\n", strings.Join(names, "\n"))
			return nil
		},
	}
}

func (g *globals) printEvents(evs []wire.Event) error {
	if g.jsonOutput() {
		return g.printJSON(evs)
	}
	for _, e := range evs {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		pairs := make([]string, len(keys))
		for i, k := range keys {
			pairs[i] = k + "=" + e.Fields[k]
		}
		g.printf("%-8s %-8s %s %s\n", e.Op, e.Kind, e.ID, strings.Join(pairs, " "))
	}
	return nil
}

// agentConfig merges settings and flags into the agent's Config.
func (g *globals) agentConfig(c *cli.Context, opts *agentOptions) (agent.Config, error) {
	s, err := g.settings()
	if err != nil {
		return agent.Config{}, err
	}
	a := s.Agent
	cfg := agent.Config{
		Host: first(opts.hostID, a.HostID),
		Sources: agent.Sources{Root: g.root,
			Placement: agent.Placement{Site: s.Host.Site, Room: s.Host.Room, Rack: s.Host.Rack}},
		Interval:      a.Interval.Duration,
		SpoolDir:      g.root.Join(a.SpoolDir),
		SpoolMax:      a.SpoolMaxBytes,
		Server:        first(opts.server, a.Server),
		MetricsListen: a.MetricsListen,
		Enable:        append(a.Enable, c.StringSlice("enable")...),
		Disable:       append(a.Disable, c.StringSlice("disable")...),
		Log:           log.New(g.stderr, "storagegrid agent: ", 0),
	}
	if opts.interval > 0 {
		cfg.Interval = opts.interval
	}
	if cfg.Host == "" {
		cfg.Host, _ = os.Hostname()
	}
	if err := wire.ValidHostID(cfg.Host); err != nil {
		return cfg, fail.Usagef("host id: %v (set agent.host_id)", err)
	}
	if cfg.Sources.Runtime, err = g.newRuntime(s); err != nil {
		return cfg, err
	}
	if cfg.Token, err = readToken(g.root, a.TokenFile); err != nil {
		return cfg, err
	}
	cfg.Client, err = agent.HTTPClient(a, g.root)
	return cfg, err
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// readToken reads the bearer token, refusing a file others can read: the
// token lets anyone write this host's part of the model.
func readToken(root hostpath.Root, spelt string) (string, error) {
	if spelt == "" {
		return "", nil
	}
	path := root.Join(spelt)
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("agent.token_file: %w", root.StripError(err))
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fail.Refusedf("agent.token_file %s is readable by others (mode %04o); chmod 600 it", spelt, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("agent.token_file: %w", root.StripError(err))
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("agent.token_file %s is empty", spelt)
	}
	return tok, nil
}
