package agent

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/internal/sdnotify"
)

// TestAgentSIGKILLThenRestartLosesNothing runs the agent in a child
// process with no reachable server, kills it with SIGKILL while it is
// collecting every 20 ms, then restarts it against a real receiver: every
// event the dead agent had spooled arrives, once, in order, followed by
// the new epoch's.
func TestAgentSIGKILLThenRestartLosesNothing(t *testing.T) {
	if dir := os.Getenv("AGENT_CHILD_SPOOL"); dir != "" {
		runChildAgent(dir, os.Getenv("AGENT_CHILD_ROOT"))
		return
	}
	root, spoolDir := t.TempDir(), t.TempDir()
	sock := sdnotify.Listen(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestAgentSIGKILLThenRestartLosesNothing$")
	cmd.Env = append(os.Environ(), "AGENT_CHILD_SPOOL="+spoolDir, "AGENT_CHILD_ROOT="+root)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if got := sock.Next(t); got != "READY=1" {
		cmd.Process.Kill()
		t.Fatalf("child said %q", got)
	}
	time.Sleep(150 * time.Millisecond) // several 20 ms cycles, then kill mid-whatever
	cmd.Process.Kill()
	cmd.Wait()

	spool, err := OpenSpool(spoolDir, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := spool.Pending(1 << 30)
	if len(before) == 0 {
		t.Fatal("the killed agent spooled nothing")
	}
	oldEpoch := before[0].Epoch

	rc := &receiver{seen: map[[2]uint64]bool{}}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{Handler: rc}
	go srv.Serve(ln)
	defer srv.Close()
	a, err := New(childConfig(spoolDir, root, "http://"+ln.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx, sdnotify.Notifier{}); close(done) }()
	// Stop the agent before its spool directory is removed.
	t.Cleanup(func() { cancel(); <-done })
	// The restarted agent keeps collecting, so its spool need not empty;
	// what must happen is that everything the killed agent spooled arrives.
	arrived := func() int {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		n := 0
		for _, r := range before {
			if rc.seen[[2]uint64{uint64(oldEpoch), r.Seq}] {
				n++
			}
		}
		return n
	}
	waitFor(t, func() bool { return arrived() == len(before) })
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.dups != 0 {
		t.Fatalf("%d duplicates sent", rc.dups)
	}
}

func childConfig(spoolDir, root, server string) Config {
	return Config{Host: "h1", Sources: Sources{Root: hostpath.Root(root)}, Interval: 20 * time.Millisecond,
		SpoolDir: spoolDir, SpoolMax: 1 << 30, Server: server, Token: "tok",
		Disable: []string{"network", "nodes", "blockdev"}}
}

func runChildAgent(spoolDir, root string) {
	// A server that refuses everything keeps all events in the spool.
	a, err := New(childConfig(spoolDir, root, "http://127.0.0.1:1"))
	if err != nil {
		json.NewEncoder(os.Stderr).Encode(err.Error())
		os.Exit(1)
	}
	a.Run(context.Background(), sdnotify.Notifier{})
	os.Exit(0)
}
