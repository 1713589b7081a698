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
			ask(p...)
			walk(p, c.Subcommands)
		}
	}
	walk(nil, app.Commands)
	if got := ask("node"); !strings.Contains(got, "stop\n") || strings.Contains(got, "DC1-S1") {
		t.Errorf("node <TAB>: %q", got)
	}
	if got := ask("node", "stop"); got != "DC1-GW1\nDC1-S1\n" {
		t.Errorf("node stop <TAB>: %q", got)
	}
	if got := ask("node", "stop", "--t"); got != "--timeout\n" {
		t.Errorf("node stop --t<TAB>: %q", got)
	}
	t.Logf("%d flag prefixes completed", asked)
}

// The bash script, run by bash itself, completes a partial flag and node
// names through the binary.
func TestBashCompletionScript(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("needs bash")
	}
	if _, err := exec.LookPath("storagegrid"); err != nil {
		t.Skip("needs the storagegrid test binary on PATH (testscript.Main)")
	}
	root := completionRoot(t)
	for words, want := range map[string]string{
		"storagegrid node stop --t": "--timeout",
		"storagegrid node stop D":   "DC1-S1",
		"storagegrid node sta":      "status start",
	} {
		script := `source completion.bash; COMP_WORDS=(` + words + `); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _storagegrid; echo "${COMPREPLY[@]}"`
		cmd := exec.Command(bash, "--norc", "-c", script)
		cmd.Env = append(os.Environ(), "STORAGEGRID_ROOT="+root)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("%s<TAB>: %q (%v), want %q", words, out, err, want)
		}
	}
}

// The fish script, run by fish itself (complete -C asks for what a line
// would complete to), and the zsh script as zsh parses it.
func TestFishAndZshCompletionScripts(t *testing.T) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Fatal("needs fish (Debian's fish package; .ci/run installs it)")
	}
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Fatal("needs zsh (Debian's zsh package; .ci/run installs it)")
	}
	if _, err := exec.LookPath("storagegrid"); err != nil {
		t.Fatal("needs the storagegrid test binary on PATH (testscript.Main)")
	}
	root := completionRoot(t)
	for line, want := range map[string]string{
		"storagegrid node stop --t": "--timeout",
		"storagegrid node stop D":   "DC1-S1",
		"storagegrid node sta":      "start\nstatus", // fish sorts
	} {
		cmd := exec.Command(fish, "--no-config", "-c", "source completion.fish; complete -C '"+line+"'")
		cmd.Env = append(os.Environ(), "STORAGEGRID_ROOT="+root)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("fish: %s<TAB>: %q (%v), want %q", line, out, err, want)
		}
	}
	if out, err := exec.Command(zsh, "-n", "completion.zsh").CombinedOutput(); err != nil {
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
