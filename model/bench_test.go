package model

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
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

// preEncode returns, per host, the compressed batches its agent sends.
func preEncode(b *testing.B, hosts []*simHost, perHost int, batch func(h *simHost, i int) *wire.Batch) [][][]byte {
	out := make([][][]byte, len(hosts))
	for j, h := range hosts {
		for i := 0; i < perHost; i++ {
			gz, err := wire.Compress(batch(h, i))
			if err != nil {
				b.Fatal(err)
			}
			out[j] = append(out[j], gz)
		}
	}
	return out
}

// benchIngest times every host's agent posting its batches concurrently
// to a fresh server on loopback, after prepare (untimed), and reports the
// events stored per second.
func benchIngest(b *testing.B, hosts []*simHost, batches [][][]byte, prepare func(ts *testServer)) {
	var total atomic.Int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ts := newTestServer(b, filepath.Join(b.TempDir(), "bench.db"), hostIDs(hosts)...)
		prepare(ts)
		b.StartTimer()
		var wg sync.WaitGroup
		for j, h := range hosts {
			wg.Add(1)
			go func(j int, token string) {
				defer wg.Done()
				for _, gz := range batches[j] {
					ack, err := ts.client.Ingest(context.Background(), token, gz)
					if err != nil || ack.Duplicates != 0 {
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

// BenchmarkIngestHTTP measures sustained ingest through the real HTTP
// endpoint on loopback: gzip NDJSON batches of 2,000 events (an inventory
// change and metric samples of 100 series) from 16 concurrent agents,
// every batch decoded, de-duplicated, stored in SQLite (WAL,
// synchronous=FULL) and acknowledged. Target: 50,000 events/s.
func BenchmarkIngestHTTP(b *testing.B) {
	hosts := genFleet(fleetSpec{hosts: 16, sites: 2, groupSize: 4, types: []string{TypeStorage, TypeGateway}}, epoch0)
	snaps := make([][]byte, len(hosts))
	for j, h := range hosts {
		snaps[j], _ = wire.Compress(h.snapshot())
	}
	batches := preEncode(b, hosts, 10, func(h *simHost, i int) *wire.Batch {
		batch := wire.NewBatch(h.id)
		batch.Add(h.change(wire.KindLink, "eth0", map[string]string{"mtu": fmt.Sprint(1500 + i)}))
		for j := 1; j < 2000; j++ {
			if j%100 == 0 { // one sample per series every 10 s
				h.clock = h.clock.Add(10 * time.Second)
			}
			batch.Add(h.sample(wire.MetricID("node_disk_read_bytes_total", "device", fmt.Sprint("sd", j%100)), float64(i*2000+j)))
		}
		return batch
	})
	benchIngest(b, hosts, batches, func(ts *testServer) {
		for j, h := range hosts {
			if _, err := ts.client.Ingest(context.Background(), ts.tokens[h.id], snaps[j]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkIngestInventoryHTTP is the worst case: every event an
// inventory change, stored as history.
func BenchmarkIngestInventoryHTTP(b *testing.B) {
	hosts := genFleet(fleetSpec{hosts: 16, sites: 2, groupSize: 4, types: []string{TypeStorage}}, epoch0)
	batches := preEncode(b, hosts, 5, func(h *simHost, i int) *wire.Batch {
		batch := wire.NewBatch(h.id)
		for k := 0; k < 2000; k++ {
			batch.Add(h.change(wire.KindLink, []string{"eth0", "eth1", "bond0"}[k%3], map[string]string{"rx_errors": fmt.Sprint(i*2000 + k)}))
		}
		return batch
	})
	benchIngest(b, hosts, batches, func(*testServer) {})
}

// whatIfServer is a server over the store under test holding bigFleet,
// ingested through HTTP once per benchmark binary (a benchmark function
// runs more than once), and where each gateway runs.
var whatIfServer = struct {
	once     sync.Once
	ts       *testServer
	nodeHost map[string]int
}{}

// benchWhatIfHTTP times checks asked over HTTP of a server on the store
// under test (STORAGEGRID_TEST_STORE) holding 2,000 hosts and 10,000
// nodes, and reports the median and the 99th percentile.
func benchWhatIfHTTP(b *testing.B, ask func(c *Client, i int) (Verdict, error)) {
	whatIfServer.once.Do(func() {
		hosts := genFleet(bigFleet, epoch0)
		// The server lives as long as the benchmark binary: a benchmark's
		// cleanups run after each of its runs.
		var keep keepAlive
		keep.TB = b
		ts := newTestServer(&keep, filepath.Join(b.TempDir(), "whatif.db"), hostIDs(hosts)...)
		ts.feed(hosts)
		whatIfServer.ts, whatIfServer.nodeHost = ts, map[string]int{}
		for i, h := range hosts {
			for k := range h.entities {
				if k.kind == wire.KindNode {
					whatIfServer.nodeHost[k.id] = i
				}
			}
		}
	})
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		v, err := ask(whatIfServer.ts.client, i)
		took = append(took, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if !v.Safe {
			b.Fatalf("not safe: %+v", v.Blockers)
		}
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
}

// keepAlive is a benchmark's testing.TB whose cleanups never run, for
// what lives as long as the benchmark binary.
type keepAlive struct{ testing.TB }

func (keepAlive) Cleanup(func()) {}

// BenchmarkOkToStopHTTP: ok-to-stop over HTTP on a 2,000-host /
// 10,000-node model. Target: p50 under 10 ms.
func BenchmarkOkToStopHTTP(b *testing.B) {
	benchWhatIfHTTP(b, func(c *Client, i int) (Verdict, error) {
		return c.OkToStop(context.Background(), fmt.Sprintf("dc%d-h%d", i%4+1, i%2000/4*4+i%4))
	})
}

// BenchmarkCheckMigrateHTTP: check-migrate over HTTP on the same model,
// of a gateway to the next host of its group. Target: p50 under 10 ms.
func BenchmarkCheckMigrateHTTP(b *testing.B) {
	benchWhatIfHTTP(b, func(c *Client, i int) (Verdict, error) {
		n := fmt.Sprintf("DC1-GW%d", i%500*2+1)
		hi := whatIfServer.nodeHost[n]
		to := hi/4*4 + (hi%4+1)%4
		return c.CheckMigrate(context.Background(), n, fmt.Sprintf("dc%d-h%d", to%4+1, to))
	})
}

// bigTopology cables bigFleet: racks of ten hosts (200), each rack's
// bonds on a pair of its site's switches (100 in all, 25 per site), every
// switch serving four racks.
func bigTopology(hosts []*simHost) {
	for i, h := range hosts {
		rack := i / 10
		h.entities[kindID{wire.KindHost, h.id}][wire.FieldRack] = fmt.Sprintf("r%03d", rack)
		pair := rack % 50
		addNeighbor(h, "eth0", fmt.Sprintf("sw%03d", pair*2), fmt.Sprintf("Ethernet1/%d", i%48+1))
		addNeighbor(h, "eth1", fmt.Sprintf("sw%03d", pair*2+1), fmt.Sprintf("Ethernet1/%d", i%48+1))
	}
}

// BenchmarkFailuresDepth2 is `model failures --depth 2` on 2,000 hosts,
// 10,000 nodes, 100 switches and 200 racks (goal: under 2 s).
func BenchmarkFailuresDepth2(b *testing.B) {
	hosts := genFleet(bigFleet, epoch0)
	bigTopology(hosts)
	g := graphOf(hosts, epoch0)
	if n, s, r := len(g.nodes), len(g.topo.switches), len(g.topo.racks); n != 10000 || s != 100 || r != 200 {
		b.Fatalf("%d nodes, %d switches, %d racks", n, s, r)
	}
	var rep FailureReport
	for b.Loop() {
		var err error
		if rep, err = g.Failures(FailureQuery{Depth: 2}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rep.Components), "components")
	b.ReportMetric(float64(rep.Pairs), "pairs")
	b.ReportMetric(float64(len(rep.Failures)), "failures")
}

// BenchmarkScenario10 is `model what-if` with ten changes on the
// failure benchmark's fleet (goal: under 100 ms): five moves, three
// stops, a switch and a rack failed, then the failure analysis of the
// fork compared with the live one.
func BenchmarkScenario10(b *testing.B) {
	hosts := genFleet(bigFleet, epoch0)
	bigTopology(hosts)
	g := graphOf(hosts, epoch0)
	w := WhatIf{Now: epoch0, StaleAfter: time.Hour}
	steps := []Step{{Move: "DC1-GW1=dc1-h4"}, {Move: "DC2-GW1=dc2-h5"}, {Move: "DC3-GW1=dc3-h6"}, {Move: "DC4-GW1=dc4-h7"},
		{Move: "DC1-ARC1=dc1-h8"}, {Stop: "dc1-h100"}, {Stop: "dc2-h101"}, {Stop: "dc3-h102"},
		{Fail: "switch/sw010"}, {Fail: "rack/r150"}}
	var r ScenarioReport
	for b.Loop() {
		var err error
		if r, err = g.Scenario(w, steps); err != nil {
			b.Fatal(err)
		}
	}
	if len(r.Steps) != 10 {
		b.Fatalf("%d steps", len(r.Steps))
	}
	b.ReportMetric(float64(len(r.Failures.New)), "new-failures")
}

// BenchmarkFleetPageHTTP: the web page's fleet view (every host, node,
// rack and the worst failure) over HTTP, of the what-if benchmark's
// 2,000-host model. Target: under 1 s.
func BenchmarkFleetPageHTTP(b *testing.B) {
	benchWhatIfHTTP(b, func(c *Client, i int) (Verdict, error) {
		resp, err := whatIfServer.ts.http.Client().Get(whatIfServer.ts.http.URL + "/")
		if err != nil {
			return Verdict{}, err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 || n < 100_000 {
			return Verdict{}, fmt.Errorf("status %d, %d bytes (%v)", resp.StatusCode, n, err)
		}
		return Verdict{Safe: true}, err
	})
}
