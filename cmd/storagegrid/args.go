package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// intersperse moves the flags that follow a command's arguments in front
// of them, so that `node stop DC1-S3 --timeout 60s` means what the
// operator meant: urfave/cli v2, like Go's flag package, stops parsing
// flags at the first argument and would take "--timeout" for a node name.
// Everything after "--" stays an argument.
func intersperse(app *cli.App, args []string) []string {
	// Shell completion asks with its flag last, where urfave looks for it.
	if len(args) == 0 || args[len(args)-1] == "--generate-bash-completion" {
		return args
	}
	out := []string{args[0]}
	flags, cmds := app.Flags, app.Commands
	i := 1
	for i < len(args) {
		a := args[i]
		if isFlag(a) {
			n := flagSpan(flags, args[i:])
			out = append(out, args[i:i+n]...)
			i += n
			continue
		}
		cmd := findCommand(cmds, a)
		if cmd == nil {
			break
		}
		out = append(out, a)
		flags, cmds = cmd.Flags, cmd.Subcommands
		i++
	}
	if len(cmds) > 0 {
		// Not a command's arguments but an unknown subcommand: leave the
		// tail alone so the error names the command.
		return append(out, args[i:]...)
	}
	return append(out, reorderTail(flags, args[i:])...)
}

// reorderTail puts the flags of a command's tail before its arguments,
// keeping the order within each. A "--" goes right after the flags, where
// the flag parser takes it as the end of flags and drops it: everything
// after it is an argument, and so is everything before it that is not a
// flag ("node status DC1-S3 --" has the one argument DC1-S3).
func reorderTail(flags []cli.Flag, tail []string) []string {
	var fl, pos []string
	for i := 0; i < len(tail); {
		a := tail[i]
		if a == "--" {
			fl = append(fl, "--")
			pos = append(pos, tail[i+1:]...)
			break
		}
		if !isFlag(a) {
			pos = append(pos, a)
			i++
			continue
		}
		n := flagSpan(flags, tail[i:])
		fl = append(fl, tail[i:i+n]...)
		i += n
	}
	return append(fl, pos...)
}

// isFlag: "-" alone is an argument (standard input), "--" ends flags.
func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' && a != "--" }

// flagSpan is how many tokens the flag at args[0] takes: two when it needs
// a value that is not given with "=".
func flagSpan(flags []cli.Flag, args []string) int {
	name, _, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
	if hasValue || len(args) < 2 {
		return 1
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if _, isBool := f.(*cli.BoolFlag); isBool {
				return 1
			}
			return 2
		}
	}
	return 1 // unknown (or combined short bools): urfave reports it
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
