package agent

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/node"
)

func writeConf(t *testing.T, root, name, body string) {
	t.Helper()
	dir := filepath.Join(root, "etc/storagegrid/nodes")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name+".conf"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestNodesCollectorReportsConfigAndRunState(t *testing.T) {
	root := t.TempDir()
	writeConf(t, root, "DC1-S3", "NODE_TYPE = VM_Storage_Node\nBLOCK_DEVICE_VAR_LOCAL = /dev/mapper/sgws-dc1-s3-var-local\n")
	writeConf(t, root, "DC1-S4", "garbage\n")
	rt := node.NewProcess(node.ProcessConfig{Root: hostpath.Root(root)})
	c, _ := newNodes(Sources{Root: hostpath.Root(root), Runtime: rt})
	items, err := c.Collect(context.Background())
	if err != nil || len(items) != 2 {
		t.Fatalf("items %+v, err %v", items, err)
	}
	s3, s4 := items[0].Fields, items[1].Fields
	if items[0].ID != "DC1-S3" || s3["NODE_TYPE"] != "VM_Storage_Node" || s3["run_state"] != "Not-Running" || s3["config_state"] != "Configured" {
		t.Fatalf("DC1-S3: %+v", s3)
	}
	if s4["config_state"] != "Invalid" || s4["NODE_TYPE"] != "" {
		t.Fatalf("DC1-S4: %+v", s4)
	}
	// A host without a nodes directory has no nodes, which is not an error.
	c, _ = newNodes(Sources{Root: hostpath.Root(t.TempDir())})
	if items, err := c.Collect(context.Background()); err != nil || len(items) != 0 {
		t.Fatalf("no nodes dir: %+v %v", items, err)
	}
}

// TestNodesWatchSeesConfigEdit: an edit to a node's config file is
// reported through inotify well within the agent's 2-second budget.
func TestNodesWatchSeesConfigEdit(t *testing.T) {
	root := t.TempDir()
	writeConf(t, root, "DC1-S3", "NODE_TYPE = VM_Storage_Node\n")
	c, _ := newNodes(Sources{Root: hostpath.Root(root)})
	ctx, cancel := context.WithCancel(context.Background())
	changed := make(chan struct{}, 8)
	done := make(chan error)
	ready := make(chan struct{})
	go func() {
		done <- c.(Watcher).Watch(ctx, func() { changed <- struct{}{} }, func() { close(ready) })
	}()
	<-ready
	writeConf(t, root, "DC1-S3", "NODE_TYPE = VM_Storage_Node\nMAXIMUM_RAM = 24g\n")
	select {
	case <-changed:
	case <-time.After(2 * time.Second):
		t.Fatal("config edit not reported within 2s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Watch: %v", err)
	}
}

// TestMain lets this test binary be a node's supervisor, as storagegrid
// is ("node supervise"), for the run-state watch test.
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "test-supervise" {
		err := node.Supervise(node.SupervisorConfig{Root: hostpath.Root(os.Args[2]), Name: os.Args[3],
			Payload: []string{"/bin/sleep", "600"}, Settle: 50 * time.Millisecond, StopTimeout: 5 * time.Second, Log: os.Stderr})
		if err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A node started and stopped by the process runtime (a real supervisor
// and payload) is seen by the watch at once, through the supervisor's
// state writes: run-state changes reach the model in well under a second,
// not at the next interval. The first start of a node creates its run
// directory, which the watch then follows too.
func TestNodesWatchSeesRunStateChanges(t *testing.T) {
	root := t.TempDir()
	writeConf(t, root, "DC1-S3", "NODE_TYPE = VM_Storage_Node\n")
	rt := node.NewProcess(node.ProcessConfig{Root: hostpath.Root(root), Supervisor: []string{os.Args[0], "test-supervise", root}})
	c, _ := newNodes(Sources{Root: hostpath.Root(root), Runtime: rt})
	ctx, cancel := context.WithCancel(context.Background())
	changed := make(chan struct{}, 64)
	done := make(chan error)
	ready := make(chan struct{})
	go func() {
		done <- c.(Watcher).Watch(ctx, func() { changed <- struct{}{} }, func() { close(ready) })
	}()
	<-ready
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	}()
	// runState waits for the watch to fire, then reads the collector's
	// view: the state the agent would ship at that moment.
	runState := func(want string) time.Duration {
		t.Helper()
		began := time.Now()
		for deadline := began.Add(time.Second); time.Now().Before(deadline); {
			select {
			case <-changed:
				items, err := c.Collect(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if items[0].Fields["run_state"] == want {
					return time.Since(began)
				}
			case <-time.After(10 * time.Millisecond):
			}
		}
		t.Fatalf("run state %s not seen within 1s of the change", want)
		return 0
	}
	for round := 0; round < 3; round++ {
		if err := rt.Start(context.Background(), "DC1-S3"); err != nil {
			t.Fatal(err)
		}
		took := runState("Running")
		if err := rt.Stop(context.Background(), "DC1-S3", node.StopOptions{Timeout: 5 * time.Second}); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: Running seen %s after start returned; Not-Running %s after stop returned", round, took, runState("Not-Running"))
	}
	// A supervisor killed with SIGKILL writes no state, and neither does
	// a payload killed after it: the watch sees both exits through their
	// pidfds, the node turning Orphaned, then Not-Running.
	if err := rt.Start(context.Background(), "DC1-S3"); err != nil {
		t.Fatal(err)
	}
	runState("Running")
	var rec struct {
		Supervisor struct{ PID int } `json:"supervisor"`
		Payload    struct{ PID int } `json:"payload"`
	}
	b, err := os.ReadFile(filepath.Join(root, "run/storagegrid/nodes/DC1-S3/state.json"))
	if err == nil {
		err = json.Unmarshal(b, &rec)
	}
	if err != nil || rec.Supervisor.PID <= 0 || rec.Payload.PID <= 0 {
		t.Fatalf("state.json: %v %+v", err, rec)
	}
	for _, k := range []struct {
		pid  int
		want string
	}{{rec.Supervisor.PID, "Orphaned"}, {rec.Payload.PID, "Not-Running"}} {
		time.Sleep(100 * time.Millisecond) // the state writes' events are in
		for len(changed) > 0 {
			<-changed // so that only the kill can fire the watch
		}
		if err := syscall.Kill(k.pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		t.Logf("kill -9 %d: %s seen after %s", k.pid, k.want, runState(k.want))
	}
}
