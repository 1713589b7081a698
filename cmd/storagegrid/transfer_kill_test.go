//go:build !agentonly

package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/hostid"
	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/internal/looptest"
)

const (
	killRuns   = 120
	killConf   = "NODE_TYPE = VM_API_Gateway\nBLOCK_DEVICE_VAR_LOCAL = /dev/mapper/sgws-dc1-gw1-var-local\n"
	killDevice = "/dev/mapper/sgws-dc1-gw1-var-local"
)

// TestExportSurvivesKill9 kills `storagegrid node export` (the CLI
// process) at random moments, on a file and on a loop device: the record
// always reads as the old state or the new one, never damaged, and the
// node is either still configured here or exported with its copy kept.
func TestExportSurvivesKill9(t *testing.T) {
	exe, err := exec.LookPath("storagegrid") // the copy of this test binary testscript.Main installs
	if err != nil {
		t.Fatal(err)
	}
	t.Run("file", func(t *testing.T) {
		backing := filepath.Join(t.TempDir(), "var-local.img")
		if err := os.WriteFile(backing, make([]byte, 2<<20), 0o600); err != nil {
			t.Fatal(err)
		}
		killExports(t, exe, backing)
	})
	t.Run("loop", func(t *testing.T) {
		killExports(t, exe, looptest.Attach(t, 2<<20))
	})
}

// sandboxHost makes a sandbox host: settings, an empty nodes directory,
// killDevice linked to target, and its UUID.
func sandboxHost(t *testing.T, settings, target string) (hostpath.Root, string) {
	t.Helper()
	root := hostpath.Root(t.TempDir())
	mustWrite(t, root.Join("/etc/storagegrid/storagegrid.toml"), settings)
	for _, dir := range []string{"/etc/storagegrid/nodes", "/dev/mapper"} {
		if err := os.MkdirAll(root.Join(dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(target, root.Join(killDevice)); err != nil {
		t.Fatal(err)
	}
	host, err := hostid.Get(root)
	if err != nil {
		t.Fatal(err)
	}
	return root, host
}

func killExports(t *testing.T, exe, target string) {
	root, host := sandboxHost(t, "[devices]\nallow_files = true\n", target)
	dev, err := blockdev.Probe(killDevice, blockdev.Options{Root: root, AllowFiles: true})
	if err != nil {
		t.Fatal(err)
	}
	export := func() *exec.Cmd {
		return exec.Command(exe, "--root", string(root), "node", "export", "DC1-GW1")
	}
	// Exports run to the end tell how long one takes once warm.
	took := time.Hour
	for i := 0; i < 3; i++ {
		reset(t, root, dev, host)
		began := time.Now()
		if out, err := export().CombinedOutput(); err != nil {
			t.Fatalf("export: %v: %s", err, out)
		}
		took = min(took, time.Since(began))
	}

	outcomes := map[string]int{}
	for i := 0; i < killRuns; i++ {
		old := reset(t, root, dev, host)
		cmd := export()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rand.Int64N(int64(took) * 5 / 4)))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		outcome := checkAfterKill(t, root, dev, old)
		if outcome == "configured, record exported" {
			// Other hosts may import it now: the next command here
			// finishes the export, and says so.
			out, err := exec.Command(exe, "--root", string(root), "node", "list").CombinedOutput()
			if err != nil || !bytes.Contains(out, []byte("by an export that did not finish: removed /etc/storagegrid/nodes/DC1-GW1.conf")) {
				t.Fatalf("node list after an interrupted export: %v\n%s", err, out)
			}
			if outcome = checkAfterKill(t, root, dev, old); outcome != "exported" {
				t.Fatalf("after node list: %s", outcome)
			}
			outcome = "exported, finished by the next command"
		}
		outcomes[outcome]++
	}
	t.Logf("export takes %s; %d kills left: %v", took, killRuns, outcomes)
	if outcomes["configured, old record"] == 0 || outcomes["exported"] == 0 {
		t.Fatalf("the kills did not land on both sides of the export: %v", outcomes)
	}
}

// reset puts the node back as configured and cleanly stopped here, and
// returns that record.
func reset(t *testing.T, root hostpath.Root, dev blockdev.Device, host string) blockdev.Record {
	t.Helper()
	mustWrite(t, root.Join("/etc/storagegrid/nodes/DC1-GW1.conf"), killConf)
	os.Remove(root.Join("/var/lib/storagegrid/exported/DC1-GW1.conf"))
	rec, err := dev.WriteRecord(blockdev.Record{Node: "DC1-GW1", HostUUID: host, State: blockdev.CleanlyStopped, Config: []byte(killConf)})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// checkAfterKill checks the invariants and names the state found.
func checkAfterKill(t *testing.T, root hostpath.Root, dev blockdev.Device, old blockdev.Record) string {
	t.Helper()
	rec, err := dev.ReadRecord()
	if err != nil {
		t.Fatalf("record after kill: %v", err)
	}
	newer := rec.Generation == old.Generation+1 && rec.State == blockdev.Exported
	if !newer && (rec.Generation != old.Generation || rec.State != old.State) {
		t.Fatalf("record after kill is neither the old (gen %d) nor the exported one: %+v", old.Generation, rec)
	}
	if !bytes.Equal(rec.Config, []byte(killConf)) {
		t.Fatalf("record config %q", rec.Config)
	}
	conf, err := os.ReadFile(root.Join("/etc/storagegrid/nodes/DC1-GW1.conf"))
	if err == nil {
		if string(conf) != killConf {
			t.Fatalf("config after kill: %q", conf)
		}
		if newer {
			return "configured, record exported"
		}
		return "configured, old record"
	}
	if !os.IsNotExist(err) {
		t.Fatal(err)
	}
	kept, err := os.ReadFile(root.Join("/var/lib/storagegrid/exported/DC1-GW1.conf"))
	if !newer || err != nil || string(kept) != killConf {
		t.Fatalf("config gone but record %s, kept copy %q (%v)", rec.State, kept, err)
	}
	return "exported"
}

func mustWrite(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
