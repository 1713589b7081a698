package node

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/blockdev"
	"github.com/storagegrid/storagegrid/internal/looptest"
)

// BenchmarkStatusAll measures `node status all` on a host with 200
// configured nodes, 10 of them running under real supervisors and 20 with
// stale run records (processes long gone).
func BenchmarkStatusAll(b *testing.B) {
	f := newFixture(b, "ok", 20*time.Millisecond)
	for i := range 200 {
		f.addNode(fmt.Sprintf("DC1-S%d", i))
	}
	for i := range 10 {
		if _, err := f.mgr.Start(bg, fmt.Sprintf("DC1-S%d", i), func() {}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 10; i < 30; i++ {
		stale := runRecord{Phase: phaseRunning, Supervisor: proc{PID: 1 << 22, Start: 1}, Payload: proc{PID: 1<<22 + 1, Start: 1}}
		if err := writeJSON(statePath(f.root, fmt.Sprintf("DC1-S%d", i)), stale); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		names, _, err := f.mgr.Registry().Resolve([]string{"all"})
		if err != nil || len(names) != 200 {
			b.Fatalf("%d names, %v", len(names), err)
		}
		running := 0
		for _, name := range names {
			st, err := f.mgr.Status(bg, name)
			if err != nil {
				b.Fatal(err)
			}
			if st.RunState == Running {
				running++
			}
		}
		if running != 10 {
			b.Fatalf("%d running, want 10", running)
		}
	}
}

// BenchmarkImportAndStart is the uncontended claim as an operator meets
// it: import a node exported to a loop device, then start it, with the
// documented settings (lease.claim_wait 600ms, runtime.process.settle
// 500ms). Each claim waits claim_wait before reading back; the target is
// under 2 s for both together. The stop after each round is not timed.
func BenchmarkImportAndStart(b *testing.B) {
	f := newFixture(b, "ok", DefaultSettle)
	f.mgr.SetOwnership(Ownership{NetworkView: testView, Lease: DefaultLease})
	f.attach(varLocal, looptest.Attach(b, 2*mib))
	for b.Loop() {
		b.StopTimer()
		os.Remove(f.root.Join(ConfigDir + "/DC1-S3.conf"))
		f.writeRec(varLocal, "DC1-S3", otherHost, blockdev.Exported, gatewayConfig(varLocal))
		b.StartTimer()
		if _, err := f.mgr.Import(bg, varLocal); err != nil {
			b.Fatal(err)
		}
		if _, err := f.mgr.Start(bg, "DC1-S3", func() {}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if _, err := f.mgr.Stop(bg, "DC1-S3", StopOptions{Timeout: 5 * time.Second}, func() {}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
