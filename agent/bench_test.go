package agent

import (
	"context"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/hostpath"
)

// BenchmarkCycle is one full collection cycle of every default collector
// on the live machine, with change tracking and spooling: the agent's
// steady-state work per interval. Its allocations set how fast the heap
// fills between collections (bench/agent.sh measures the process).
func BenchmarkCycle(b *testing.B) {
	a, err := New(Config{Host: "bench", Sources: Sources{Root: hostpath.Root(b.TempDir())},
		Interval: time.Hour, SpoolDir: b.TempDir(), SpoolMax: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	items, _ := a.collect(ctx, a.names()...)
	if err := a.spoolEvents(a.tracker.Snapshot(items)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := a.cycle(ctx, a.names()...); err != nil {
			b.Fatal(err)
		}
	}
}
