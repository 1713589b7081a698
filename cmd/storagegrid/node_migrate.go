//go:build !agentonly

package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/model"
	"github.com/storagegrid/storagegrid/node"
	"github.com/storagegrid/storagegrid/settings"
)

type nodeMigrateOptions struct {
	name         string
	host         string
	targetCmd    string // "" means node.DefaultTargetCommand
	wait         time.Duration
	modelServer  string // "" means model.server
	modelHost    string // "" means host
	noModelCheck bool
}

func nodeMigrateCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "migrate",
		Usage:     "move a node to another host that shares its storage, by the runbook",
		ArgsUsage: "NAME --to HOST",
		Description: "Runs the runbook's migration and prints each step as it runs:\n" +
			"  0. when a model server is configured (model.server, or --model-server):\n" +
			"     storagegrid model check-migrate NAME --to HOST; a move that is not\n" +
			"     safe, or no answer, refuses (exit 5) unless the global --force;\n" +
			"     --no-model-check skips it\n" +
			"  1. on HOST: storagegrid node validate --file - NAME (the config is piped;\n" +
			"     nothing changes if it fails)\n" +
			"  2-3. here: storagegrid node stop NAME; storagegrid node export NAME\n" +
			"  4-7. on HOST: node import DEVICE; node validate NAME; node start NAME;\n" +
			"     node status NAME until Running (up to --wait)\n" +
			"If a step after the stop fails, the node is taken off HOST if it got there,\n" +
			"imported back here and started again if it was running, and the error says\n" +
			"where the node was left.\n" +
			"A migration that was killed (or whose host crashed) is finished by running\n" +
			"the same command again: it resumes from its journal in\n" +
			"/var/lib/storagegrid/migrations and skips the steps already done;\n" +
			"node status on either host names that command meanwhile.\n" +
			"   $ storagegrid node migrate DC1-S3 --to host2\n" +
			"HOST is reached with --target-cmd, split like a shell would split it and\n" +
			"followed by the storagegrid arguments; by default\n" +
			"   ssh -o BatchMode=yes HOST sudo storagegrid\n" +
			"The model knows hosts by the id their agent reports; when ssh reaches the\n" +
			"target by another name, give that id with --to-model-host:\n" +
			"   $ storagegrid node migrate DC1-S3 --to 10.0.0.12 --to-model-host dc1-h2",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "to", Usage: "the target `HOST` (required)"},
			&cli.StringFlag{Name: "target-cmd", Usage: "`CMD` that runs storagegrid on the target (default: ssh -o BatchMode=yes HOST sudo storagegrid)"},
			&cli.DurationFlag{Name: "wait", Value: 10 * time.Minute, Usage: "wait up to `D` for the node to be Running on the target"},
			&cli.StringFlag{Name: "model-server", Usage: "ask the model server at `URL` (http://HOST:PORT or unix:/PATH) first (default: model.server)"},
			&cli.StringFlag{Name: "to-model-host", Usage: "the target's host `ID` in the fleet model (default: the --to value)"},
			&cli.BoolFlag{Name: "no-model-check", Usage: "do not ask the model server; say that the check was skipped"},
		},
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) != 1 || c.String("to") == "" {
				return fail.Usagef("node migrate needs NAME --to HOST (see '%s --help')", c.Command.HelpName)
			}
			if c.Duration("wait") <= 0 {
				return fail.Usagef("--wait %s: must be positive", c.Duration("wait"))
			}
			if c.Bool("no-model-check") && c.String("model-server") != "" {
				return fail.Usagef("--model-server and --no-model-check contradict each other")
			}
			return runNodeMigrate(c, g, &nodeMigrateOptions{name: args[0], host: c.String("to"),
				targetCmd: c.String("target-cmd"), wait: c.Duration("wait"), modelServer: c.String("model-server"),
				modelHost: c.String("to-model-host"), noModelCheck: c.Bool("no-model-check")})
		},
	}
}

func runNodeMigrate(c *cli.Context, g *globals, opts *nodeMigrateOptions) error {
	var argv []string
	if opts.targetCmd != "" {
		var err error
		if argv, err = node.SplitCommand(opts.targetCmd); err != nil || len(argv) == 0 {
			return fail.Usagef("--target-cmd %q: %v", opts.targetCmd, errOr(err, "empty command"))
		}
	}
	target, err := node.NewTarget(opts.host, argv)
	if err != nil {
		return fail.With(fail.Usage, err)
	}
	mgr, s, err := g.nodeManager()
	if err != nil {
		return err
	}
	check, err := g.migrateModelCheck(s, opts)
	if err != nil {
		return err
	}
	mopts := node.MigrateOptions{Target: target, StopTimeout: s.Runtime.StopTimeout.Duration, Wait: opts.wait, ModelCheck: check,
		Command: g.rerunCommand(opts)}
	res, err := mgr.Migrate(c.Context, opts.name, mopts, migrationPrinter{g})
	if err != nil {
		return err
	}
	if g.jsonOutput() {
		return g.printJSON(res)
	}
	g.printf("Migrated node %s to %s: %s\n", res.Node, res.Host, res.RunState)
	return nil
}

// rerunCommand is the command line that runs this migration again, for
// the journal and the record's note: the flags that choose the target and
// how it is reached, with the root when it is not /.
func (g *globals) rerunCommand(opts *nodeMigrateOptions) string {
	args := []string{"storagegrid"}
	if string(g.root) != "/" && g.root != "" {
		args = append(args, "--root", string(g.root))
	}
	args = append(args, "node", "migrate", opts.name, "--to", opts.host)
	if opts.targetCmd != "" {
		args = append(args, "--target-cmd", opts.targetCmd)
	}
	if opts.modelServer != "" {
		args = append(args, "--model-server", opts.modelServer)
	}
	if opts.modelHost != "" {
		args = append(args, "--to-model-host", opts.modelHost)
	}
	return node.JoinCommand(args)
}

// migrateModelCheck sets up step 0: none without a model server (flag or
// model.server), skipped with --no-model-check.
func (g *globals) migrateModelCheck(s *settings.Settings, opts *nodeMigrateOptions) (*node.ModelCheck, error) {
	server, host := orFlag(opts.modelServer, s.Model.Server), orFlag(opts.modelHost, opts.host)
	switch {
	case opts.noModelCheck:
		return &node.ModelCheck{Server: server, Host: host, Skip: true}, nil
	case server == "" && opts.modelHost != "":
		return nil, fail.Usagef("--to-model-host %s: no model server to ask (set model.server or give --model-server)", opts.modelHost)
	case server == "":
		return nil, nil
	}
	cl, err := model.ClientFor(s.Model, g.root, server)
	if err != nil {
		return nil, err
	}
	check, err := node.NewModelCheck(server, modelChecker{cl}, host)
	if err != nil {
		return nil, fail.Usagef("%v: name it with --to-model-host", err)
	}
	check.Force = g.force
	return check, nil
}

// modelChecker asks check-migrate through a model client, for node.
type modelChecker struct{ client *model.Client }

func (c modelChecker) CheckMigrate(ctx context.Context, name, to string) (node.ModelVerdict, error) {
	v, err := c.client.CheckMigrate(ctx, name, to)
	if err != nil {
		return nil, err
	}
	return &modelVerdict{v}, nil
}

// modelVerdict is a model.Verdict as node reads it.
type modelVerdict struct{ model.Verdict }

func (v *modelVerdict) About() (check, name, to string) { return v.Check, v.Node, v.To }

func errOr(err error, msg string) string {
	if err != nil {
		return err.Error()
	}
	return msg
}

// migrationPrinter prints a migration's steps and the runbook lines of
// each step: this host's as the commands print them, the target's as it
// sends them. With JSON output only the result is printed.
type migrationPrinter struct{ g *globals }

func (p migrationPrinter) Step(s node.MigrationStep) { p.g.textf("%s\n", s) }

func (p migrationPrinter) Checked(c node.CheckResult) {
	if !p.g.jsonOutput() {
		p.g.printCheck(c.Title, c.Findings)
	}
}

// ModelChecked prints the verdict as 'model check-migrate' does, and with
// JSON output as the one document of a refusal. Blockers that --force
// overrides are also warnings, so that they reach stderr whatever the
// output format.
func (p migrationPrinter) ModelChecked(nv node.ModelVerdict, forced bool) {
	v := nv.(*modelVerdict).Verdict
	switch {
	case !p.g.jsonOutput():
		// Its error is the refusal, which the migration makes or --force overrides.
		_ = p.g.printVerdict(v, checkMigrateLine(v))
	case !v.Safe && !forced:
		_ = p.g.printJSON(v)
	}
	if forced {
		for _, b := range v.Blockers {
			p.g.warnf("%s: %s", b.Rule, b.Message)
		}
	}
}

// checkMigrateLine is the line 'model check-migrate' prints for v.
func checkMigrateLine(v model.Verdict) string {
	return fmt.Sprintf("Checking migration of node %s from %s to %s...", v.Node, v.From, v.To)
}

func (p migrationPrinter) Overridden(err error) { p.g.warnf("%v; going on because of --force", err) }

func (p migrationPrinter) Stopping(name string) {
	s, _ := p.g.settings()
	p.g.announceStop(name, node.StopOptions{Timeout: s.Runtime.StopTimeout.Duration})
}

func (p migrationPrinter) Exported(res node.ExportResult) {
	if !p.g.jsonOutput() {
		p.g.printExported(res)
	}
}

func (p migrationPrinter) Imported(res node.ImportResult) {
	if !p.g.jsonOutput() {
		p.g.printImported(res)
	}
}

func (p migrationPrinter) Starting(name string) { p.g.textf("Starting node %s\n", name) }

func (p migrationPrinter) Resuming(j node.Journal) {
	p.g.textf("Resuming the migration of node %s to %s, which stopped at step %d/7\n", j.Node, j.To, j.Step)
}
func (p migrationPrinter) Stderr() io.Writer { return p.g.stderr }

func (p migrationPrinter) Await(what string, limit time.Duration) node.Awaiter {
	return p.g.newProgress(what, limit)
}

func (p migrationPrinter) Stdout() io.Writer {
	if p.g.quiet || p.g.jsonOutput() {
		return io.Discard
	}
	return p.g.stdout
}
