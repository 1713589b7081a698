//go:build !agentonly

package main

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestCommandsTeach walks every command: each has a usage line, and no
// flag is Required (urfave/cli reports a missing required flag with an
// error type we cannot classify, so it would exit 1 instead of the usage
// code 2; commands check their own required flags instead).
func TestCommandsTeach(t *testing.T) {
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := strings.TrimSpace(path + " " + c.Name)
			if c.Usage == "" && !c.Hidden {
				t.Errorf("%s: no Usage", name)
			}
			for _, f := range c.Flags {
				if rf, ok := f.(cli.RequiredFlag); ok && rf.IsRequired() {
					t.Errorf("%s: flag --%s is Required; check it in the action (exit 2)", name, f.Names()[0])
				}
			}
			walk(name, c.Subcommands)
		}
	}
	walk("storagegrid", newApp(&globals{}).Commands)
}
