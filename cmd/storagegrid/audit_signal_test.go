//go:build !agentonly

package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The audit commands stop on SIGINT or SIGTERM while they wait for
// standard input (an idle pipe, as a terminal or a stalled producer
// leaves it), with the exit status of an interruption, saying so.
func TestAuditStopsOnSignalWhileReadingStdin(t *testing.T) {
	exe, err := exec.LookPath("storagegrid") // the copy of this test binary testscript.Main installs
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGTERM} {
		for _, args := range [][]string{{"audit", "explain"}, {"audit", "sum"}, {"audit", "scan", "-"}} {
			cmd := exec.Command(exe, args...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			idle, err := cmd.StdinPipe() // open and never written
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 130 || stderr.String() != "storagegrid: interrupted\n" {
					t.Errorf("%v after %v: %v, stderr %q; want exit status 130, \"storagegrid: interrupted\"", args, sig, err, stderr.String())
				}
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				t.Errorf("%v still runs 5 s after %v", args, sig)
			}
			idle.Close()
		}
	}
}
