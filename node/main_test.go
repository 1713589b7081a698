package node

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// TestMain lets the test binary play the processes the process runtime
// runs, so that tests exercise real supervisors and payloads:
//
//	node.test test-supervise ROOT SETTLE MODE NAME   (runs Supervise)
//	node.test test-payload MODE ROOT NAME            (a payload)
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "test-supervise":
			os.Exit(testSupervise(os.Args[2:]))
		case "test-payload":
			os.Exit(testPayload(os.Args[2:]))
		}
	}
	os.Exit(m.Run())
}

func testSupervise(args []string) int {
	if len(args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: test-supervise ROOT SETTLE MODE NAME")
		return 2
	}
	settle, err := time.ParseDuration(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	exe, _ := os.Executable()
	err = Supervise(SupervisorConfig{
		Root: hostpath.Root(args[0]), Name: args[3], Settle: settle, StopTimeout: 5 * time.Second,
		Payload: []string{exe, "test-payload", args[2], args[0], args[3]}, Log: os.Stderr,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// testPayload modes: ok ends cleanly on SIGTERM; exit3 exits at once with
// status 3; stubborn ignores SIGTERM; demo is RunDemoPayload.
func testPayload(args []string) int {
	mode, root, name := args[0], hostpath.Root(args[1]), args[2]
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	switch mode {
	case "ok":
		<-ctx.Done()
		return 0
	case "exit3":
		return 3
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		select {}
	case "demo":
		if err := RunDemoPayload(ctx, root, name); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	return 2
}

// fixture is a sandbox host with nodes under the process runtime, whose
// supervisors are this test binary.
type fixture struct {
	t    testing.TB
	root hostpath.Root
	rt   *Process
	mgr  *Manager
}

func newFixture(t testing.TB, mode string, settle time.Duration) *fixture {
	t.Helper()
	root := newRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rt := NewProcess(ProcessConfig{Root: root,
		Supervisor: []string{exe, "test-supervise", string(root), settle.String(), mode}})
	f := &fixture{t: t, root: root, rt: rt, mgr: NewManager(root, rt)}
	t.Cleanup(f.killAll)
	return f
}

// addNode configures a node whose var-local is a file under the root.
func (f *fixture) addNode(name string) {
	f.t.Helper()
	dev := "/dev/mapper/sgws-" + strings.ToLower(name) + "-var-local"
	writeFile(f.t, f.root.Join(dev), "")
	writeFile(f.t, f.root.Join(ConfigDir+"/"+name+".conf"),
		"NODE_TYPE = VM_Storage_Node\nBLOCK_DEVICE_VAR_LOCAL = "+dev+"\n")
}

func (f *fixture) record(name string) runRecord {
	f.t.Helper()
	rec, ok, err := readRecord(f.root, name)
	if err != nil || !ok {
		f.t.Fatalf("run record of %s: %v (exists %t)", name, err, ok)
	}
	return rec
}

func (f *fixture) state(name string) RunState {
	f.t.Helper()
	st, err := f.rt.State(context.Background(), name)
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

// waitState polls until the node reaches want, failing after 10 s.
func (f *fixture) waitState(name string, want RunState) {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for st := f.state(name); st != want; st = f.state(name) {
		if time.Now().After(deadline) {
			f.t.Fatalf("%s is %s, want %s", name, st, want)
		}
		time.Sleep(pollEvery)
	}
}

// killAll kills every supervisor and payload of the fixture, found by the
// root in their command lines, so that no test leaves a process behind,
// even one that failed half-way or raced past its run record.
func (f *fixture) killAll() {
	for _, p := range processesUnder(f.root) {
		p.signal(syscall.SIGKILL)
		waitGone(context.Background(), p, 5*time.Second)
	}
}

// processesUnder lists the live processes with root as an argument.
func processesUnder(root hostpath.Root) []proc {
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var procs []proc
	for _, path := range paths {
		b, _ := os.ReadFile(path)
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		if !slices.Contains(strings.Split(string(b), "\x00"), string(root)) {
			continue
		}
		if p, err := procOf(pid); err == nil && p.alive() {
			procs = append(procs, p)
		}
	}
	return procs
}
