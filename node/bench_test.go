package node

import (
	"fmt"
	"testing"
	"time"
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
