package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/settings"
)

// globals holds the global flags and the process's streams. Every command
// builder receives it; commands read settings through it.
type globals struct {
	root       hostpath.Root
	configPath string // as given with --config; "" means the default
	output     string // text, json or ndjson
	quiet      bool
	force      bool
	yes        bool

	stdin          io.Reader
	stdout, stderr io.Writer

	loaded   *settings.Settings
	notFound error // set by CommandNotFound, which cannot return an error
}

// run builds the app, runs it, prints any error and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newApp(g).RunContext(ctx, args)
	if err == nil {
		err = g.notFound
	}
	if err != nil && ctx.Err() != nil {
		err = fail.With(fail.Interrupted, err)
	}
	if err != nil {
		fmt.Fprintf(stderr, "storagegrid: %v\n", err)
	}
	return exitCode(err)
}

func newApp(g *globals) *cli.App {
	return &cli.App{
		Name:  "storagegrid",
		Usage: "host-level tooling for the Linux hosts of a storage grid",
		Description: "Run with sudo on a grid host during maintenance, as in the runbook:\n" +
			"   storagegrid node status all\n" +
			"   storagegrid node stop DC1-S3\n" +
			"   storagegrid --force node import /dev/mapper/sgws-dc1-s3-var-local\n\n" +
			"Exit codes: 0 ok, 1 failed, 2 usage, 3 validation errors, 4 partial,\n" +
			"5 refused for safety (--force may override), 130 interrupted.",
		Reader:                 g.stdin,
		Writer:                 g.stdout,
		ErrWriter:              g.stderr,
		HideVersion:            true,
		UseShortOptionHandling: true,
		Flags:                  globalFlags(),
		Before:                 g.parse,
		Commands:               commands(g),
		OnUsageError:           usageError,
		// Printing and exit codes happen in run, in one place.
		ExitErrHandler: func(*cli.Context, error) {},
		CommandNotFound: func(c *cli.Context, name string) {
			g.notFound = fail.Usagef("unknown command %q; see '%s --help'", name, c.Command.HelpName)
		},
	}
}

// commands lists the command groups, one file each.
func commands(g *globals) []*cli.Command {
	return []*cli.Command{
		nodeCommand(g),
	}
}

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "root", Value: "/", EnvVars: []string{"STORAGEGRID_ROOT"},
			Usage: "treat `DIR` as the host's / (sandboxes, tests, two-host simulations)"},
		&cli.StringFlag{Name: "config", Usage: "host settings `FILE` (default " + settings.DefaultPath + " under --root)"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "output format: text, json or ndjson"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing on stdout; report through the exit code"},
		&cli.BoolFlag{Name: "force", Usage: "override safety refusals (ownership, running nodes); with stop: kill without waiting"},
		&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "answer yes to confirmations (for scripts)"},
	}
}

func (g *globals) parse(c *cli.Context) error {
	root, err := filepath.Abs(c.String("root"))
	if err != nil {
		return fail.Usagef("--root: %v", err)
	}
	g.root = hostpath.Root(root)
	g.configPath = c.String("config")
	g.output = c.String("output")
	switch g.output {
	case "text", "json", "ndjson":
	default:
		return fail.Usagef("--output %q: must be text, json or ndjson", g.output)
	}
	g.quiet, g.force, g.yes = c.Bool("quiet"), c.Bool("force"), c.Bool("yes")
	return nil
}

// settings loads storagegrid.toml once: the default path under --root is
// optional, a path given with --config must exist.
func (g *globals) settings() (*settings.Settings, error) {
	if g.loaded != nil {
		return g.loaded, nil
	}
	path, optional := g.root.Join(settings.DefaultPath), true
	if g.configPath != "" {
		path, optional = g.configPath, false
	}
	s, err := settings.Load(path, optional)
	if err != nil {
		return nil, fail.With(fail.Usage, err)
	}
	g.loaded = &s
	return g.loaded, nil
}

func usageError(c *cli.Context, err error, _ bool) error {
	return fail.With(fail.Usage, fmt.Errorf("%w (see '%s --help')", err, c.Command.HelpName))
}
