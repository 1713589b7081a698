package model

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

// bigFleet is the what-if benchmark's fleet: 2,000 hosts, 10,000 nodes.
var bigFleet = fleetSpec{hosts: 2000, sites: 4, groupSize: 4,
	types: []string{TypeStorage, TypeGateway, TypeArchive, TypeAdmin, TypeGateway}}

// graphOf builds the live graph of a generated fleet as the server would
// after ingesting its snapshots, every host fresh.
func graphOf(hosts []*simHost, now time.Time) *Graph {
	var ents []Entity
	var streams []HostStream
	for _, h := range hosts {
		for k, f := range h.entities {
			ents = append(ents, Entity{Host: h.id, Kind: k.kind, ID: k.id, Fields: f, Since: h.clock})
		}
		streams = append(streams, HostStream{Host: h.id, LastSeen: now})
	}
	return NewGraph(ents, streams)
}

func benchWhatIf(b *testing.B, run func(g *Graph, w WhatIf, i int) (Verdict, error)) {
	hosts := genFleet(bigFleet, epoch0)
	g := graphOf(hosts, epoch0)
	if n := len(g.nodes); n != 10000 {
		b.Fatalf("%d nodes", n)
	}
	w := WhatIf{Now: epoch0, StaleAfter: 5 * time.Minute}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := run(g, w, i)
		if err != nil {
			b.Fatal(err)
		}
		if !v.Safe {
			b.Fatalf("not safe: %+v", v.Blockers)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/check")
}

// BenchmarkOkToStop: ok-to-stop on a 2,000-host / 10,000-node model.
// Target: under 50 ms.
func BenchmarkOkToStop(b *testing.B) {
	benchWhatIf(b, func(g *Graph, w WhatIf, i int) (Verdict, error) {
		return g.OkToStop(w, fmt.Sprintf("dc%d-h%d", i%4+1, i%2000/4*4+i%4))
	})
}

// BenchmarkCheckMigrate: check-migrate of a gateway within its host group
// on a 2,000-host / 10,000-node model. Target: under 50 ms.
func BenchmarkCheckMigrate(b *testing.B) {
	benchWhatIf(b, func(g *Graph, w WhatIf, i int) (Verdict, error) {
		// Gateway n of site s sits on a host of that site; move it to the
		// next host of its group, which sees its LUN.
		n := g.node(fmt.Sprintf("DC1-GW%d", i%500*2+1))
		var hi int
		fmt.Sscanf(n.Host[len("dc1-h"):], "%d", &hi)
		to := hi/4*4 + (hi%4+1)%4
		return g.CheckMigrate(w, n.Name, fmt.Sprintf("dc%d-h%d", to%4+1, to))
	})
}

// ingestLoad pre-encodes what an agent of each host sends: after its
// snapshot, batches of metric samples with an inventory change each.
type ingestLoad struct {
	hosts   []*simHost
	snaps   [][]byte
	batches [][][]byte // per host
	events  int        // per round of batches
}

func newIngestLoad(b *testing.B, nHosts, batchesPerHost, batchSize int) *ingestLoad {
	hosts := genFleet(fleetSpec{hosts: nHosts, sites: 2, groupSize: 4, types: []string{TypeStorage, TypeGateway}}, epoch0)
	l := &ingestLoad{hosts: hosts}
	for _, h := range hosts {
		gz, err := wire.Compress(h.snapshot())
		if err != nil {
			b.Fatal(err)
		}
		l.snaps = append(l.snaps, gz)
		var hb [][]byte
		for i := 0; i < batchesPerHost; i++ {
			batch := wire.NewBatch(h.id)
			batch.Add(h.change(wire.KindLink, "eth0", map[string]string{"mtu": fmt.Sprint(1500 + i)}))
			for j := 1; j < batchSize; j++ {
				// 100 series per host, one sample per series every 10 s.
				if j%100 == 0 {
					h.clock = h.clock.Add(10 * time.Second)
				}
				batch.Add(h.sample(wire.MetricID("node_disk_read_bytes_total", "device", fmt.Sprint("sd", j%100)), float64(i*batchSize+j)))
			}
			gz, err := wire.Compress(batch)
			if err != nil {
				b.Fatal(err)
			}
			hb = append(hb, gz)
			if h == hosts[0] {
				l.events += len(batch.Events)
			}
		}
		l.batches = append(l.batches, hb)
	}
	l.events *= nHosts
	return l
}

// BenchmarkIngestHTTP measures sustained ingest through the real HTTP
// endpoint on loopback: gzip NDJSON batches of 2,000 events from 16
// concurrent agents, every batch decoded, de-duplicated, stored in SQLite
// (WAL, synchronous=FULL) and acknowledged. Target: 50,000 events/s.
func BenchmarkIngestHTTP(b *testing.B) {
	const hosts, perHost, size = 16, 10, 2000
	load := newIngestLoad(b, hosts, perHost, size)
	var total atomic.Int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ts := newTestServer(b, filepath.Join(b.TempDir(), "bench.db"), hostIDs(load.hosts)...)
		for j, h := range load.hosts {
			if _, err := ts.client.Ingest(context.Background(), ts.tokens[h.id], load.snaps[j]); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		var wg sync.WaitGroup
		for j, h := range load.hosts {
			wg.Add(1)
			go func(j int, token string) {
				defer wg.Done()
				for _, gz := range load.batches[j] {
					ack, err := ts.client.Ingest(context.Background(), token, gz)
					if err != nil || ack.Stored != size {
						b.Errorf("ingest: %+v %v", ack, err)
						return
					}
					total.Add(int64(ack.Stored))
				}
			}(j, ts.tokens[h.id])
		}
		wg.Wait()
		b.StopTimer()
		ts.close()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Load())/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkIngestInventoryHTTP is the worst case: every event an
// inventory change, stored as history.
func BenchmarkIngestInventoryHTTP(b *testing.B) {
	const hosts, perHost, size = 16, 5, 2000
	hs := genFleet(fleetSpec{hosts: hosts, sites: 2, groupSize: 4, types: []string{TypeStorage}}, epoch0)
	batches := make([][][]byte, hosts)
	for j, h := range hs {
		for i := 0; i < perHost; i++ {
			batch := wire.NewBatch(h.id)
			for k := 0; k < size; k++ {
				batch.Add(h.change(wire.KindLink, []string{"eth0", "eth1", "bond0"}[k%3], map[string]string{"rx_errors": fmt.Sprint(i*size + k)}))
			}
			gz, _ := wire.Compress(batch)
			batches[j] = append(batches[j], gz)
		}
	}
	var total atomic.Int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ts := newTestServer(b, filepath.Join(b.TempDir(), "bench.db"), hostIDs(hs)...)
		b.StartTimer()
		var wg sync.WaitGroup
		for j, h := range hs {
			wg.Add(1)
			go func(j int, token string) {
				defer wg.Done()
				for _, gz := range batches[j] {
					ack, err := ts.client.Ingest(context.Background(), token, gz)
					if err != nil {
						b.Errorf("ingest: %v", err)
						return
					}
					total.Add(int64(ack.Stored))
				}
			}(j, ts.tokens[h.id])
		}
		wg.Wait()
		b.StopTimer()
		ts.close()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Load())/b.Elapsed().Seconds(), "events/s")
}
