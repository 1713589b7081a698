//go:build !agentonly

package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/when"
	"github.com/storagegrid/storagegrid/model"
)

// The model commands, one file per kind: model_serve.go, model_query.go
// (hosts, nodes, impact), model_history.go (changes, state, metrics),
// model_whatif.go (check-migrate, ok-to-stop), model_ingest.go and
// model_backup.go (backup, restore, compact). This file holds what they
// share.

func init() {
	register(70, modelCommand)
}

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
			modelSwitchesCommand(g),
			modelCheckMigrateCommand(g),
			modelOkToStopCommand(g),
			modelFailuresCommand(g),
			modelWhatIfCommand(g),
			modelMetricsCommand(g),
			modelIngestCommand(g),
			modelBackupCommand(g),
			modelRestoreCommand(g),
			modelCompactCommand(g),
			modelCopyCommand(g),
		},
	}
}

// clientFlags are the flags of every command that talks to a server.
func clientFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "server", Usage: "model server `URL` (http://HOST:PORT, https://HOST:PORT or unix:/PATH; default: model.server, else model.listen)"},
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
		err := g.await("the model server", d, func() string { return "not answering yet" },
			func() error { return cl.WaitReady(c.Context, d) })
		if err != nil {
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

// modelAsk runs one client call against the command's server.
func modelAsk[T any](g *globals, c *cli.Context, call func(*model.Client) (T, error)) (T, error) {
	cl, err := g.modelClient(c)
	if err != nil {
		var zero T
		return zero, err
	}
	return call(cl)
}

// modelQuery runs one client call and prints its answer: as JSON, or
// through text.
func modelQuery[T any](g *globals, c *cli.Context, call func(*model.Client) (T, error), text func(T) error) error {
	v, err := modelAsk(g, c, call)
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(v)
	}
	return text(v)
}

// timeFlag parses the time flag name (package when's forms); empty gives
// the zero time.
func timeFlag(name, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := when.Parse(v, now)
	if err != nil {
		return t, fail.Usagef("--%s: %v", name, err)
	}
	return t, nil
}

// hostFlag is the --host filter of the query commands.
func hostFlag(dst *string, usage string) cli.Flag {
	return &cli.StringFlag{Name: "host", Destination: dst, Usage: usage}
}

func orFlag(flag, dflt string) string {
	if flag != "" {
		return flag
	}
	return dflt
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
