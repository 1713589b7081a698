package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/buildinfo"
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
	app := newApp(g)
	if complete(app, args, stdout) {
		return 0
	}
	err := app.RunContext(ctx, intersperse(app, args))
	if err == nil {
		err = g.notFound
	}
	if err != nil && ctx.Err() != nil {
		if err == context.Canceled { // says no more than that
			err = errors.New("interrupted")
		}
		err = fail.With(fail.Interrupted, err)
	}
	if err != nil {
		fmt.Fprintf(stderr, "storagegrid: %v\n", err)
		if errors.Is(err, fs.ErrPermission) && os.Geteuid() != 0 {
			fmt.Fprintf(stderr, "storagegrid: this needs root: run it with sudo\n")
		}
	}
	return exitCode(err)
}

func init() {
	// urfave's default also takes -v, which reads as "verbose". Set once
	// here: it is a package variable, and tests build apps concurrently.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version and the commit it was built from"}
}

func newApp(g *globals) *cli.App {
	cmds := commands(g)
	inheritGlobals(g, cmds)
	return &cli.App{
		Name:                   "storagegrid",
		Usage:                  appUsage,
		Description:            appDescription + exitCodesHelp,
		Reader:                 g.stdin,
		Writer:                 g.stdout,
		ErrWriter:              g.stderr,
		Version:                buildinfo.String() + versionNote(),
		UseShortOptionHandling: true,
		EnableBashCompletion:   true,
		Flags:                  globalFlags(),
		Before:                 g.parse,
		Commands:               cmds,
		OnUsageError:           usageError,
		// Printing and exit codes happen in run, in one place.
		ExitErrHandler: func(*cli.Context, error) {},
		CommandNotFound: func(c *cli.Context, name string) {
			g.notFound = fail.Usagef("unknown command %q; see '%s --help'%s", name, c.Command.HelpName, notFoundHint)
		},
	}
}

// exitCodesHelp ends the app's description in every build.
const exitCodesHelp = "Exit codes: 0 ok, 1 failed, 2 usage, 3 validation errors, 4 partial,\n" +
	"5 refused for safety (--force may override), 130 interrupted."

// commandGroup is a top-level command, registered by the file that builds
// it, node_exporter-style; a build tag can then leave whole groups out
// (the agent-only build, flavor_agent.go).
type commandGroup struct {
	order int // its place in --help: the maintenance runbook's first, the daemons after
	build func(*globals) *cli.Command
}

var commandGroups []commandGroup

func register(order int, build func(*globals) *cli.Command) {
	commandGroups = append(commandGroups, commandGroup{order, build})
}

// commands builds the registered groups in --help order.
func commands(g *globals) []*cli.Command {
	groups := slices.SortedFunc(slices.Values(commandGroups), func(a, b commandGroup) int { return a.order - b.order })
	cmds := make([]*cli.Command, len(groups))
	for i, grp := range groups {
		cmds[i] = grp.build(g)
	}
	return cmds
}

// inheritGlobals lets the global flags also follow a command
// (`storagegrid agent once --output json`), as operators and scripts type
// them; urfave/cli v2 has no persistent flags. The copies carry no
// environment variables, so an unset copy defers to the app-level flag.
// Commands also inherit the app's usage-error handler: urfave/cli does not
// pass it down, and without it a bad flag value prints the whole help on
// stdout and exits 1 instead of one line on stderr and exit 2.
func inheritGlobals(g *globals, cmds []*cli.Command) {
	for _, cmd := range cmds {
		inheritGlobals(g, cmd.Subcommands)
		if len(cmd.Subcommands) > 0 && cmd.Action == nil {
			cmd.Action = needSubcommand
		}
		if cmd.OnUsageError == nil {
			cmd.OnUsageError = usageError
		}
		for _, f := range globalFlags() {
			if !hasFlag(cmd.Flags, f.Names()[0]) {
				cmd.Flags = append(cmd.Flags, withoutEnv(f))
			}
		}
		before := cmd.Before
		cmd.Before = func(c *cli.Context) error {
			if err := g.parse(c); err != nil {
				return err
			}
			if before != nil {
				return before(c)
			}
			return nil
		}
	}
}

// needSubcommand is the action of a command group run alone: the help,
// and a usage error, so that a script that forgot the subcommand fails.
// urfave/cli runs it too for a subcommand it does not know ("node stpo"):
// that is a usage error naming the nearest subcommand.
func needSubcommand(c *cli.Context) error {
	if name := c.Args().First(); name != "" {
		return fail.Usagef("unknown command %q for %q%s (see '%s --help')", name, c.Command.HelpName,
			nearestCommand(c.Command.VisibleCommands(), name), c.Command.HelpName)
	}
	if err := cli.ShowSubcommandHelp(c); err != nil {
		return err
	}
	return fail.Usagef("%s needs a subcommand", strings.TrimPrefix(c.Command.HelpName, c.App.Name+" "))
}

// nearestCommand suggests the visible command closest to name, by
// urfave/cli's own measure.
func nearestCommand(cmds []*cli.Command, name string) string {
	if cli.SuggestCommand == nil || len(cmds) == 0 {
		return ""
	}
	s := cli.SuggestCommand(cmds, name) // "Did you mean %q?"
	return "; " + strings.ToLower(s[:1]) + s[1:]
}

func hasFlag(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

func withoutEnv(f cli.Flag) cli.Flag {
	if sf, ok := f.(*cli.StringFlag); ok {
		c := *sf
		c.EnvVars = nil
		return &c
	}
	return f
}

// setIn returns the innermost context in which the flag was given, or the
// app's context, whose value is the environment's or the default.
func setIn(c *cli.Context, name string) *cli.Context {
	app := c
	for _, ctx := range c.Lineage() {
		if ctx.App == nil {
			break // the empty context urfave/cli puts above the app's
		}
		app = ctx
		for _, n := range ctx.LocalFlagNames() {
			if n == name {
				return ctx
			}
		}
	}
	return app
}

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "root", Value: "/", EnvVars: []string{"STORAGEGRID_ROOT"},
			Usage: "treat `DIR` as the host's / (sandboxes, tests, two-host simulations)"},
		&cli.StringFlag{Name: "config", Usage: "host settings `FILE` (default " + settings.DefaultPath + " under --root)"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "output `FORMAT`: text, json or ndjson"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing on stdout; report through the exit code"},
		&cli.BoolFlag{Name: "force", Usage: "override safety refusals (ownership, running nodes); with stop: kill without waiting"},
		&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "answer yes to confirmations (for scripts)"},
	}
}

func (g *globals) parse(c *cli.Context) error {
	root, err := filepath.Abs(setIn(c, "root").String("root"))
	if err != nil {
		return fail.Usagef("--root: %v", err)
	}
	if root != "/" {
		if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
			return fail.Usagef("--root %s (or STORAGEGRID_ROOT): not a directory", root)
		}
	}
	g.root = hostpath.Root(root)
	g.configPath = setIn(c, "config").String("config")
	g.output = setIn(c, "output").String("output")
	switch g.output {
	case "text", "json", "ndjson":
	default:
		return fail.Usagef("--output %q: must be text, json or ndjson", g.output)
	}
	g.quiet = setIn(c, "quiet").Bool("quiet")
	g.force = setIn(c, "force").Bool("force")
	g.yes = setIn(c, "yes").Bool("yes")
	return nil
}

// settings loads storagegrid.toml once: the default path under --root is
// optional, a path given with --config must exist.
func (g *globals) settings() (*settings.Settings, error) {
	if g.loaded != nil {
		return g.loaded, nil
	}
	var s settings.Settings
	var err error
	if g.configPath != "" {
		s, err = settings.Load(g.configPath, false)
	} else {
		s, err = settings.LoadAs(g.root.Join(settings.DefaultPath), settings.DefaultPath, true)
	}
	if err != nil {
		return nil, fail.With(fail.Usage, err)
	}
	g.loaded = &s
	return g.loaded, nil
}

func usageError(c *cli.Context, err error, _ bool) error {
	return fail.With(fail.Usage, fmt.Errorf("%w (see '%s --help')", flagError(c, err), c.Command.HelpName))
}

// The errors of Go's flag package, which urfave/cli passes on: they spell
// every flag with one dash and say "parse error" for a bad value.
var (
	badFlagValue   = regexp.MustCompile(`^invalid value "(.*)" for flag -([^:]+): `)
	unknownFlag    = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)
	flagWithoutArg = regexp.MustCompile(`^flag needs an argument: -+(.+)$`)
)

// flagSpelling is a flag as the help spells it: -n for one letter, --name.
func flagSpelling(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// flagError rewrites a flag parsing error the way the help spells flags
// (--name, -n), with the forms a bad value may take.
func flagError(c *cli.Context, err error) error {
	msg := err.Error()
	dash := flagSpelling
	if m := badFlagValue.FindStringSubmatch(msg); m != nil {
		want := "a valid value"
		for _, f := range c.Command.Flags {
			if slices.Contains(f.Names(), m[2]) {
				switch f.(type) {
				case *cli.GenericFlag:
					// Its own Set said what is wrong.
					return fmt.Errorf("%s: %s", dash(m[2]), msg[len(m[0]):])
				case *cli.DurationFlag:
					want = "a duration: a number and a unit, e.g. 90s, 10m, 1h30m (units ns, us, ms, s, m, h)"
				case *cli.IntFlag, *cli.UintFlag, *cli.Int64Flag, *cli.Uint64Flag:
					want = "a whole number"
				case *cli.BoolFlag:
					want = "true or false"
				}
			}
		}
		return fmt.Errorf("%s %q: not %s", dash(m[2]), m[1], want)
	}
	if m := unknownFlag.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("unknown flag %s", dash(m[1]))
	}
	if m := flagWithoutArg.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s needs a value", dash(m[1]))
	}
	return err
}
