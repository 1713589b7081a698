package main

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run the real binary's main as "storagegrid"
// inside transcripts, in a subprocess, with real exit codes.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"storagegrid": func() { os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI transcripts in testdata/script. Each one gets a
// fresh $WORK; STORAGEGRID_ROOT points at $WORK/root so nothing touches
// the real host.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			root := env.WorkDir + "/root"
			env.Setenv("STORAGEGRID_ROOT", root)
			env.Defer(func() { killNodes(root) })
			env.Defer(func() { killNodes(env.WorkDir + "/root2") }) // the second host of two-host scripts
			return os.MkdirAll(root, 0o755)
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"exits":   exits,
			"vcsim":   vcsimCmd,
			"devices": devices,
			"loopdev": loopdev,
		},
		Condition: scriptCondition,
	})
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
