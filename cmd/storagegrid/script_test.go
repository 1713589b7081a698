//go:build !agentonly

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/storagegrid/storagegrid/internal/pgtest"
)

// TestMain lets testscript run the real binary's main as "storagegrid"
// inside transcripts, in a subprocess, with real exit codes.
func TestMain(m *testing.M) {
	gridHost()
	testscript.Main(pgtestMain{m}, map[string]func(){
		"storagegrid": func() { os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// pgtestMain stops the PostgreSQL cluster the scripts' pgdb command may
// have started once they are done.
type pgtestMain struct{ m *testing.M }

func (p pgtestMain) Run() int { return pgtest.Main(p.m) }

// gridHostEnv marks the test process as re-executed in a network
// namespace of its own: "setup" until its links exist, then "ready".
const gridHostEnv = "STORAGEGRID_TEST_GRID_HOST"

// gridHost re-executes the test binary, as root, in a network namespace of
// its own whose interfaces are a grid host's (lo up and the runbook's
// bond0.1001, one end of a veth pair): node start validates a node's
// interfaces first, as the host service does, and the transcripts' nodes
// use bond0.1001. Everything the tests listen on is loopback, which the
// namespace has. Without root or unshare the tests run here and those
// that need root skip.
func gridHost() {
	switch os.Getenv(gridHostEnv) {
	case "ready":
		return
	case "setup":
		for _, args := range [][]string{
			{"link", "set", "lo", "up"},
			{"link", "add", "bond0.1001", "type", "veth", "peer", "name", "bond0p"},
			{"link", "set", "bond0p", "up"},
			{"link", "set", "bond0.1001", "up"},
		} {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "grid host namespace: ip %v: %v: %s\n", args, err, out)
				os.Exit(1)
			}
		}
		os.Setenv(gridHostEnv, "ready")
		return
	}
	// testscript runs this binary as the scripts' storagegrid too, with
	// an environment of its own: those runs are in the namespace already.
	if !strings.HasSuffix(os.Args[0], ".test") {
		return
	}
	unshare, err := exec.LookPath("unshare")
	_, ipErr := exec.LookPath("ip")
	if os.Geteuid() != 0 || err != nil || ipErr != nil {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	argv := append([]string{"unshare", "--net", "--", exe}, os.Args[1:]...)
	err = syscall.Exec(unshare, argv, append(os.Environ(), gridHostEnv+"=setup"))
	fmt.Fprintf(os.Stderr, "grid host namespace: exec %s: %v\n", unshare, err)
	os.Exit(1)
}

// TestScripts runs the CLI transcripts in testdata/script. Each one gets a
// fresh $WORK; STORAGEGRID_ROOT points at $WORK/root so nothing touches
// the real host.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/script",
		Setup: sandboxSetup,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"exits":    exits,
			"vcsim":    vcsimCmd,
			"devices":  devices,
			"loopdev":  loopdev,
			"tcpport":  tcpport,
			"waitfile": waitfile,
			"pgdb":     pgdb,
		},
		Condition: scriptCondition,
	})
}

// sandboxSetup points STORAGEGRID_ROOT at $WORK/root and stops the nodes
// left running there and under $WORK/root2 when the script ends.
func sandboxSetup(env *testscript.Env) error {
	root := env.WorkDir + "/root"
	env.Setenv("STORAGEGRID_ROOT", root)
	vendor, err := filepath.Abs("../../node/testdata/vendor")
	if err != nil {
		return err
	}
	env.Setenv("VENDOR", vendor) // NetApp's example node configs (its README)
	waitUp := env.WorkDir + "/.wait_up.sh"
	env.Setenv("WAIT_UP", waitUp)
	if err := os.WriteFile(waitUp, []byte(waitUpScript), 0o644); err != nil {
		return err
	}
	env.Defer(func() { killNodes(root) })
	env.Defer(func() { killNodes(env.WorkDir + "/root2") }) // the second host of two-host scripts
	return os.MkdirAll(root, 0o755)
}

// waitUpScript is sourced by the namespace scripts of the transcripts
// ('. "$WAIT_UP"'): a veth's or bridge's carrier comes up asynchronously
// after "ip link set up", and a view read before it would warn "no
// carrier".
const waitUpScript = `# wait_up IFACE...: until each link has carrier (LOWER_UP), at most 5 s.
wait_up() {
  for l in "$@"; do
    n=0
    until ip -o link show dev "$l" | grep -q LOWER_UP; do
      n=$((n + 1))
      [ $n -le 500 ] || { echo "wait_up: $l has no carrier after 5s" >&2; return 1; }
      sleep 0.01
    done
  done
}
`

// waitfile FILE REGEXP waits, up to 10 s, until FILE (in $WORK) matches
// REGEXP: how a transcript syncs with a command it runs in the background,
// whose output testscript shows only once the command ends.
func waitfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitfile FILE REGEXP")
	}
	re, err := regexp.Compile(args[1])
	if err != nil {
		ts.Fatalf("waitfile: %v", err)
	}
	var data []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if data, _ = os.ReadFile(ts.MkAbs(args[0])); re.Match(data) {
			return
		}
	}
	ts.Fatalf("waitfile: %s does not match %q after 10s; it holds:\n%s", args[0], args[1], data)
}

// exits N PROG ARGS... runs PROG like exec and checks its exit code is N,
// keeping stdout and stderr for the assertions that follow.
func exits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	got := 0
	var ee *exec.ExitError
	if err := ts.Exec(args[1], args[2:]...); errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// pgdb VAR: an empty PostgreSQL database for the script (dropped when it
// ends), its URL in $VAR.
func pgdb(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: pgdb VAR")
	}
	ts.Setenv(args[0], pgtest.DB(scriptTB{ts}, ts.Getenv("WORK")+"/"+args[0]))
}

// scriptTB lets pgtest fail and clean up through a script.
type scriptTB struct{ ts *testscript.TestScript }

func (s scriptTB) Fatalf(format string, args ...any) { s.ts.Fatalf(format, args...) }
func (s scriptTB) Errorf(format string, args ...any) { s.ts.Logf("ERROR: "+format, args...) }
func (s scriptTB) Cleanup(f func())                  { s.ts.Defer(f) }
