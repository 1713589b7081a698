package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// Completion never panics: every command path, with every flag of each
// command as a one-letter prefix and whole, answers with that flag (urfave
// v2's own flag completion panics on "node stop --t"); subcommands and, for
// node commands taking NAME, the configured nodes complete.
func TestCompletionEveryCommandAndFlag(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/storagegrid/nodes"), 0o755)
	for _, n := range []string{"DC1-S1", "DC1-GW1"} {
		os.WriteFile(filepath.Join(root, "etc/storagegrid/nodes", n+".conf"), []byte("NODE_TYPE = VM_Storage_Node\n"), 0o644)
	}
	app := newApp(&globals{})
	ask := func(words ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		args := append(append([]string{"storagegrid", "--root", root}, words...), completionFlag)
		if code := run(args, strings.NewReader(""), &out, &errb); code != 0 || errb.Len() > 0 {
			t.Fatalf("%v: exit %d, %s", words, code, errb.String())
		}
		return out.String()
	}
	asked := 0
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			p := append(append([]string{}, path...), c.Name)
			for _, f := range c.Flags {
				name := f.Names()[0]
				spelt := "--" + name
				if len(name) == 1 {
					spelt = "-" + name
				}
				for _, prefix := range []string{spelt[:len(spelt)-len(name)+1], spelt} {
					if got := ask(append(p, prefix)...); !strings.Contains(got, spelt+"\n") {
						t.Errorf("%v %s<TAB>: %q lacks %s", p, prefix, got, spelt)
					}
					asked++
				}
			}
			ask(append(p, "")...)
			walk(p, c.Subcommands)
		}
	}
	walk(nil, app.Commands)
	if got := ask("node", ""); !strings.Contains(got, "stop\n") || strings.Contains(got, "DC1-S1") {
		t.Errorf("node <TAB>: %q", got)
	}
	if got := ask("node", "stop", "D"); got != "DC1-GW1\nDC1-S1\n" {
		t.Errorf("node stop <TAB>: %q", got)
	}
	if got := ask("node", "stop", "--t"); got != "--timeout\n" {
		t.Errorf("node stop --t<TAB>: %q", got)
	}
	t.Logf("%d flag prefixes completed", asked)
}

// The bash and fish scripts, run by the shells themselves (Debian's bash
// and fish; .ci/run installs fish), complete a partial flag, a node name
// and a subcommand through the binary; zsh parses the zsh script.
func TestCompletionScriptsInRealShells(t *testing.T) {
	if _, err := exec.LookPath("storagegrid"); err != nil {
		t.Fatal("the storagegrid test binary is not on PATH (testscript.Main puts it there)")
	}
	shell := func(name string) string {
		path, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("needs %s (Debian's %s package; .ci/run installs it)", name, name)
		}
		return path
	}
	root := completionRoot(t)
	for _, sh := range []struct {
		name  string
		args  func(line string) []string
		lines map[string]string
	}{
		{"bash", func(line string) []string {
			return []string{"--norc", "-c", `source completion.bash; COMP_WORDS=(` + line +
				`); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _storagegrid; echo "${COMPREPLY[@]}"`}
		}, map[string]string{"storagegrid node stop --t": "--timeout", "storagegrid node stop D": "DC1-S1", "storagegrid node sta": "status start"}},
		// complete -C asks fish what a line would complete to; fish sorts.
		{"fish", func(line string) []string {
			return []string{"--no-config", "-c", "source completion.fish; complete -C '" + line + "'"}
		}, map[string]string{"storagegrid node stop --t": "--timeout", "storagegrid node stop D": "DC1-S1", "storagegrid node sta": "start\nstatus"}},
	} {
		path := shell(sh.name)
		for line, want := range sh.lines {
			cmd := exec.Command(path, sh.args(line)...)
			cmd.Env = append(os.Environ(), "STORAGEGRID_ROOT="+root)
			out, err := cmd.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != want {
				t.Errorf("%s: %s<TAB>: %q (%v), want %q", sh.name, line, out, err, want)
			}
		}
	}
	if out, err := exec.Command(shell("zsh"), "-n", "completion.zsh").CombinedOutput(); err != nil {
		t.Errorf("zsh -n completion.zsh: %v %s", err, out)
	}
}

// completionRoot is a sandbox root with node DC1-S1 configured.
func completionRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/storagegrid/nodes"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/storagegrid/nodes/DC1-S1.conf"), []byte("NODE_TYPE = VM_Storage_Node\n"), 0o644)
	return root
}
