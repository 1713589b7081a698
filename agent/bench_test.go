package agent

import (
	"context"
	"fmt"
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

// BenchmarkSpoolDrain: a backlog of 500,000 events (a long server outage)
// drained the way the shipper does it, Pending(5000) then Ack, until the
// spool is empty; events/s is the drain rate, without the network.
func BenchmarkSpoolDrain(b *testing.B) {
	const backlog, batch = 500_000, 5000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := OpenSpool(b.TempDir(), 1<<40)
		if err != nil {
			b.Fatal(err)
		}
		for from := uint64(1); from <= backlog; from += batch {
			rs := recs(1, from, batch, false)
			for j := range rs { // an event's size as the agent spools it
				rs[j].Data = fmt.Appendf(nil, `{"host":"dc1-h1","epoch":1,"seq":%d,"time":"2026-12-02T10:00:00.123456Z",`+
					`"op":"sample","kind":"metric","id":"node_network_receive_bytes_total{device=\"bond0\"}","fields":{"value":"123456789"}}`, rs[j].Seq)
			}
			if err := s.Append(rs); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		drained := 0
		for {
			got, err := s.Pending(batch)
			if err != nil {
				b.Fatal(err)
			}
			if len(got) == 0 {
				break
			}
			last := got[len(got)-1]
			if err := s.Ack(last.Epoch, last.Seq); err != nil {
				b.Fatal(err)
			}
			drained += len(got)
		}
		if drained != backlog {
			b.Fatalf("drained %d of %d", drained, backlog)
		}
	}
	b.ReportMetric(float64(backlog)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
