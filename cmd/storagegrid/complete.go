package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/node"
)

// completionFlag is how the completion scripts ask for candidates: the
// words before the cursor, the word being completed (empty when none is
// begun), then this flag. urfave/cli's protocol leaves the current word
// out unless it starts with '-', which cannot tell "--to<TAB>" (the
// flag) from "--to <TAB>" (its value); the scripts here always pass it.
const completionFlag = "--generate-bash-completion"

// complete answers a completion request itself, instead of urfave/cli v2,
// whose flag completion panics on a partial flag ("node stop --t<TAB>";
// fixed upstream only in v3): the flags of the command reached when the
// last word starts with '-', else its subcommands and, where its
// arguments are node names, the nodes configured under the root in use.
// A host id is offered after --to and --host and as the argument of
// model ok-to-stop (asking the model server, for a second at most); for
// an argument that is a file, nothing is printed, and the scripts fall
// back to the shell's file completion. It reports whether args were a
// completion request.
func complete(app *cli.App, args []string, w io.Writer) bool {
	if len(args) < 2 || args[len(args)-1] != completionFlag {
		return false
	}
	words := args[1 : len(args)-1]
	cur := ""
	if len(words) > 0 {
		words, cur = words[:len(words)-1], words[len(words)-1]
	}
	flags, cmds := app.Flags, app.Commands
	var path []string
	root := os.Getenv("STORAGEGRID_ROOT")
	for i, a := range words {
		if a == "--root" && i+1 < len(words) {
			root = words[i+1]
		} else if v, ok := strings.CutPrefix(a, "--root="); ok {
			root = v
		}
		if isFlag(a) {
			continue
		}
		if c := findCommand(cmds, a); c != nil {
			path = append(path, c.Name)
			flags, cmds = append(append([]cli.Flag{}, app.Flags...), c.Flags...), c.Subcommands
		}
	}
	if strings.HasPrefix(cur, "-") {
		for _, f := range flags {
			for _, name := range f.Names() {
				if spelt := flagSpelling(name); strings.HasPrefix(spelt, cur) {
					fmt.Fprintln(w, spelt)
				}
			}
		}
		return true
	}
	if n := len(words); n > 0 && (words[n-1] == "--to" || words[n-1] == "--host") {
		for _, h := range completeHosts(root) {
			fmt.Fprintln(w, h)
		}
		return true
	}
	for _, c := range cmds {
		if !c.Hidden {
			fmt.Fprintln(w, c.Name)
		}
	}
	if len(path) == 2 && path[0] == "model" && path[1] == "ok-to-stop" {
		for _, h := range completeHosts(root) {
			fmt.Fprintln(w, h)
		}
	}
	if len(path) == 2 && path[0] == "node" && len(cmds) == 0 {
		if c := findCommand(app.Commands, "node"); c != nil {
			if leaf := findCommand(c.Subcommands, path[1]); leaf != nil && strings.Contains(leaf.ArgsUsage, "NAME") {
				if root == "" {
					root = "/"
				}
				names, _, _ := node.NewRegistry(hostpath.Root(root)).Names()
				for _, n := range names {
					fmt.Fprintln(w, n)
				}
			}
		}
	}
	return true
}

// completeHosts lists the host ids the model server knows, under the
// root in use; the agent-only build, which has no model client, offers
// none.
var completeHosts = func(root string) []string { return nil }
