//go:build !agentonly

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestIntersperse(t *testing.T) {
	app := newApp(&globals{})
	for in, want := range map[string]string{
		"sg node stop DC1-S3 --timeout 60s":              "sg node stop --timeout 60s DC1-S3",
		"sg node stop DC1-S3 DC1-S4 --timeout=5s -q":     "sg node stop --timeout=5s -q DC1-S3 DC1-S4",
		"sg --root /r node status DC1-S3 -o json":        "sg --root /r node status -o json DC1-S3",
		"sg audit scan a.log --type ARCE - b.log":        "sg audit scan --type ARCE a.log - b.log",
		"sg audit scan a.log -- --type":                  "sg audit scan -- a.log --type",
		"sg audit scan a.log -- a.log":                   "sg audit scan -- a.log a.log",
		"sg node status DC1-S3 --":                       "sg node status -- DC1-S3",
		"sg node status -- DC1-S3":                       "sg node status -- DC1-S3",
		"sg node stop DC1-S3 --timeout 5s -- -odd":       "sg node stop --timeout 5s -- DC1-S3 -odd",
		"sg node stop DC1-S3 --generate-bash-completion": "sg node stop DC1-S3 --generate-bash-completion",
		"sg node status":                                 "sg node status",
		"sg frobnicate --yes x":                          "sg frobnicate --yes x",
		"sg node frob DC1-S3 --output json":              "sg node frob DC1-S3 --output json",
		"sg node start DC1-S3 --output json -- -x":       "sg node start --output json -- DC1-S3 -x",
	} {
		got := strings.Join(intersperse(app, strings.Fields(in)), " ")
		if got != want {
			t.Errorf("%s\n got %s\nwant %s", in, got, want)
		}
	}
}

// The argument rules and flag errors as an operator meets them: "--" ends
// the flags wherever it is, and a bad flag is named as the help spells it,
// with the forms its value may take.
func TestArgumentRulesAndFlagErrors(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc/storagegrid/nodes"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/storagegrid/nodes/DC1-GW1.conf"),
		[]byte("NODE_TYPE = VM_API_Gateway\nBLOCK_DEVICE_VAR_LOCAL = /dev/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args   string
		code   int
		stdout string // a line of stdout, when not empty
		stderr string // the first line of stderr, when not empty
	}{
		{"node status DC1-GW1 --", 0, "DC1-GW1 Configured Not-Running", ""},
		{"node status -- DC1-GW1", 0, "DC1-GW1 Configured Not-Running", ""},
		{"node stop DC1-GW1 --timeout 5", 2, "", `storagegrid: --timeout "5": not a duration: a number and a unit, e.g. 90s, 10m, 1h30m (units ns, us, ms, s, m, h) (see 'storagegrid node stop --help')`},
		{"node stop --frob DC1-GW1", 2, "", "storagegrid: unknown flag --frob (see 'storagegrid node stop --help')"},
		{"node stop --timeout", 2, "", "storagegrid: --timeout needs a value (see 'storagegrid node stop --help')"},
		{"--root /nonexistent node list", 2, "", "storagegrid: --root /nonexistent (or STORAGEGRID_ROOT): not a directory"},
	} {
		args := append([]string{"storagegrid"}, strings.Fields(c.args)...)
		if !strings.HasPrefix(c.args, "--root") {
			args = append([]string{"storagegrid", "--root", root}, strings.Fields(c.args)...)
		}
		var out, errb bytes.Buffer
		code := run(args, strings.NewReader(""), &out, &errb)
		first, _, _ := strings.Cut(errb.String(), "\n")
		if code != c.code || c.stdout != "" && !strings.Contains(out.String(), c.stdout+"\n") || c.stderr != "" && first != c.stderr {
			t.Errorf("%s: exit %d\nstdout %s\nstderr %s", c.args, code, out.String(), errb.String())
		}
	}
}

// Not root, on a root-only path: the error says to run it as root.
func TestPermissionDeniedSaysRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a command as nobody")
	}
	su, err := exec.LookPath("su")
	if err != nil {
		t.Fatal("needs su (util-linux) to run a command as nobody")
	}
	exe, err := exec.LookPath("storagegrid") // the copy of this test binary testscript.Main installs
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "sg-perm-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "storagegrid")
	data, _ := os.ReadFile(exe)
	root := filepath.Join(dir, "root")
	for _, d := range []string{"etc/storagegrid/nodes", "run/storagegrid"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.Chmod(filepath.Join(root, "run/storagegrid"), 0o700)
	os.WriteFile(bin, data, 0o755)
	os.WriteFile(filepath.Join(root, "etc/storagegrid/nodes/DC1-GW1.conf"), []byte("NODE_TYPE = VM_API_Gateway\nBLOCK_DEVICE_VAR_LOCAL = /dev/x\n"), 0o644)
	os.Chmod(dir, 0o755)
	out, _ := exec.Command(su, "nobody", "-s", "/bin/sh", "-c", bin+" --root "+root+" node stop DC1-GW1").CombinedOutput()
	if !strings.Contains(string(out), "permission denied") || !strings.Contains(string(out), "storagegrid: this needs root: run it with sudo") {
		t.Fatalf("%s", out)
	}
}
