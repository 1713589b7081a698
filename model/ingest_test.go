package model

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

var smallFleet = fleetSpec{hosts: 6, sites: 2, groupSize: 3, types: []string{TypeStorage, TypeGateway}}

func hostIDs(hosts []*simHost) []string {
	ids := make([]string, len(hosts))
	for i, h := range hosts {
		ids[i] = h.id
	}
	return ids
}

func TestSnapshotThenDiffs(t *testing.T) {
	hosts := genFleet(smallFleet, epoch0)
	ts := newTestServer(t, "", hostIDs(hosts)...)
	ts.feed(hosts)
	for _, h := range hosts {
		sameEntities(t, h.id+" after snapshot", ts.entities(h.id), h.expected())
	}

	h := hosts[0]
	b := wire.NewBatch(h.id)
	b.Add(
		h.change(wire.KindLink, "bond0.1001", map[string]string{"mtu": "1500"}, "admin_state"),
		h.add(wire.KindLink, "bond0.1004", map[string]string{"type": "vlan", "parent": "bond0", "vlan_id": "1004"}),
		h.remove(wire.KindLink, "eth1"),
		h.sample("node_load1", 0.5),
	)
	ack := ts.send(b)
	if ack.Stored != 4 || ack.Duplicates != 0 || ack.Seq != h.seq || ack.Epoch != h.epoch {
		t.Fatalf("ack %+v, want 4 stored up to seq %d", ack, h.seq)
	}
	sameEntities(t, "after diffs", ts.entities(h.id), h.expected())

	// A new epoch's snapshot replaces the entity set: what the agent no
	// longer reports goes, without any removed event.
	h.epoch, h.seq = 2, 0
	delete(h.entities, kindID{wire.KindLink, "bond0.1004"})
	delete(h.entities, kindID{wire.KindNode, "DC1-GW1"})
	ts.send(h.snapshot())
	sameEntities(t, "after second snapshot", ts.entities(h.id), h.expected())

	ch, err := ts.client.Changes(context.Background(), ChangeQuery{Since: epoch0, Host: h.id})
	if err != nil {
		t.Fatal(err)
	}
	var gone []string
	for _, c := range ch {
		if c.Op == OpRemoved {
			gone = append(gone, string(c.Kind)+"/"+c.ID)
		}
	}
	if fmt.Sprint(gone) != "[link/eth1 node/DC1-GW1 link/bond0.1004]" {
		t.Fatalf("removals %v", gone)
	}
}

// oneHost serves a fleet of one host with one node of type typ, its
// snapshot sent.
func oneHost(t *testing.T, typ string) (*testServer, *simHost) {
	hosts := genFleet(fleetSpec{hosts: 1, sites: 1, groupSize: 1, types: []string{typ}}, epoch0)
	ts := newTestServer(t, "", hosts[0].id)
	ts.feed(hosts)
	return ts, hosts[0]
}

func TestSnapshotAcrossBatches(t *testing.T) {
	ts, h := oneHost(t, TypeStorage)
	// Second snapshot split in three batches, with an entity gone; the
	// server restarts between batches and must still know what the
	// snapshot has named.
	h.epoch, h.seq = 2, 0
	delete(h.entities, kindID{wire.KindLink, "eth1"})
	full := h.snapshot()
	n := len(full.Events)
	parts := [][]wire.Event{full.Events[:n/3], full.Events[n/3 : 2*n/3], full.Events[2*n/3:]}
	for i, evs := range parts {
		b := wire.NewBatch(h.id)
		b.Add(evs...)
		ts.send(b)
		if i == 0 {
			ts = reopen(ts)
			if got := ts.entities(h.id); got["link/eth1"] == nil {
				t.Fatal("entity removed before the snapshot ended")
			}
		}
	}
	sameEntities(t, "split snapshot", ts.entities(h.id), h.expected())
}

// reopen closes the server and store and opens them again on the same
// database, as a restart does.
func reopen(ts *testServer) *testServer {
	ts.close()
	var hosts []string
	for h := range ts.tokens {
		hosts = append(hosts, h)
	}
	return newTestServer(ts.t, ts.dbPath, hosts...)
}

func TestDedupUnderReplays(t *testing.T) {
	hosts := genFleet(smallFleet, epoch0)
	ts := newTestServer(t, "", hostIDs(hosts)...)
	snaps := make([]*wire.Batch, len(hosts))
	for i, h := range hosts {
		snaps[i] = h.snapshot()
		ts.send(snaps[i])
	}
	h := hosts[1]
	var diffs []wire.Event
	for i := 0; i < 20; i++ {
		diffs = append(diffs, h.change(wire.KindNode, "DC2-S1", map[string]string{"MAXIMUM_RAM": fmt.Sprintf("%dg", 10+i)}))
	}
	first := wire.NewBatch(h.id)
	first.Add(diffs[:12]...)
	ts.send(first)

	// The agent lost our ack and resends an overlapping window, then the
	// whole stream again after a restart of the server.
	overlap := wire.NewBatch(h.id)
	overlap.Add(diffs[8:]...)
	if ack := ts.send(overlap); ack.Stored != 8 || ack.Duplicates != 4 || ack.Seq != h.seq {
		t.Fatalf("overlap ack %+v", ack)
	}
	ts = reopen(ts)
	if ack := ts.send(snaps[1]); ack.Stored != 0 || ack.Duplicates != len(snaps[1].Events) || ack.Seq != h.seq {
		t.Fatalf("replayed snapshot ack %+v", ack)
	}
	all := wire.NewBatch(h.id)
	all.Add(diffs...)
	if ack := ts.send(all); ack.Stored != 0 || ack.Duplicates != 20 {
		t.Fatalf("replayed diffs ack %+v", ack)
	}
	ch, err := ts.client.Changes(context.Background(), ChangeQuery{Since: epoch0, Host: h.id, Kind: wire.KindNode})
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 2+20 { // two nodes added, twenty changes, once each
		t.Fatalf("%d node changes stored, want 22", len(ch))
	}
	sameEntities(t, "after replays", ts.entities(h.id), h.expected())

	// An old epoch after a newer one is stale: acknowledged, not applied.
	old := wire.NewBatch(h.id)
	h.epoch, h.seq = 2, 0
	ts.send(h.snapshot())
	h.epoch, h.seq = 1, 1000
	old.Add(h.change(wire.KindNode, "DC2-S1", map[string]string{"MAXIMUM_RAM": "1g"}))
	if ack := ts.send(old); ack.Stale != 1 || ack.Epoch != 2 {
		t.Fatalf("stale ack %+v", ack)
	}
	if got := ts.entities(h.id)["node/DC2-S1"]["MAXIMUM_RAM"]; got != "29g" {
		t.Fatalf("stale event applied: MAXIMUM_RAM = %s", got)
	}
}

func TestConcurrentFeedersGroupCommit(t *testing.T) {
	hosts := genFleet(fleetSpec{hosts: 16, sites: 2, groupSize: 4, types: []string{TypeStorage, TypeGateway, TypeArchive}}, epoch0)
	ts := newTestServer(t, "", hostIDs(hosts)...)
	errs := make(chan error, len(hosts))
	for _, h := range hosts {
		go func(h *simHost) {
			_, err := ts.trySend(h.snapshot(), ts.tokens[h.id])
			for i := 0; err == nil && i < 10; i++ {
				b := wire.NewBatch(h.id)
				for j := 0; j < 50; j++ {
					b.Add(h.sample(wire.MetricID("node_disk_io_now", "device", fmt.Sprint("sd", j%5)), float64(j)))
				}
				b.Add(h.change(wire.KindLink, "eth0", map[string]string{"mtu": fmt.Sprint(1500 + i)}))
				_, err = ts.trySend(b, ts.tokens[h.id])
			}
			errs <- err
		}(h)
	}
	for range hosts {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range hosts {
		sameEntities(t, h.id, ts.entities(h.id), h.expected())
	}
	streams, _ := ts.store.Streams(context.Background())
	for i, s := range streams {
		if s.Seq != hosts[0].seq {
			t.Fatalf("stream %d %+v: seq %d, want %d", i, s, s.Seq, hosts[0].seq)
		}
	}
}

func TestRefusals(t *testing.T) {
	hosts := genFleet(smallFleet, epoch0)
	ts := newTestServer(t, "", hosts[0].id, hosts[1].id)
	ts.feed(hosts[:2])
	before := ts.entities(hosts[0].id)
	beforeStreams, _ := ts.store.Streams(context.Background())

	h := hosts[0]
	good := wire.NewBatch(h.id)
	good.Add(h.change(wire.KindLink, "eth0", map[string]string{"mtu": "1234"}))
	gz, _ := wire.Compress(good)
	var plain bytes.Buffer
	_ = wire.Encode(&plain, good)

	post := func(body []byte, enc, token string) (int, string, http.Header) {
		req, _ := http.NewRequest(http.MethodPost, ts.http.URL+wire.IngestPath, bytes.NewReader(body))
		if enc != "" {
			req.Header.Set("Content-Encoding", enc)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := ts.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var msg bytes.Buffer
		_, _ = msg.ReadFrom(resp.Body)
		return resp.StatusCode, msg.String(), resp.Header
	}
	big := bytes.Repeat([]byte("x"), int(wire.DefaultLimits.MaxBodyBytes)+1)
	v3 := bytes.Replace(plain.Bytes(), []byte(`"wire":2`), []byte(`"wire":3`), 1)
	cases := []struct {
		name        string
		body        []byte
		enc, token  string
		code        int
		contains    string
		wantVersion bool
	}{
		{"no token", gz, "gzip", "", 401, "missing or unknown bearer token", false},
		{"unknown token", gz, "gzip", "not-a-known-token-at-all", 401, "unknown bearer token", false},
		{"unknown host's batch", gz, "gzip", tokenOf("dc9-h99"), 401, "unknown bearer token", false},
		{"other host's token", gz, "gzip", ts.tokens[hosts[1].id], 403, "token of host dc2-h1 cannot send events of host dc1-h0", false},
		{"garbage", []byte("this is not ndjson\n"), "", ts.tokens[h.id], 400, "line 1: header: malformed JSON", false},
		{"not gzip", plain.Bytes(), "gzip", ts.tokens[h.id], 400, "gzip", false},
		{"truncated gzip", gz[:len(gz)/2], "gzip", ts.tokens[h.id], 400, "truncated gzip stream", false},
		{"oversized", big, "", ts.tokens[h.id], 413, "exceeds the limit", false},
		{"unknown version", v3, "", ts.tokens[h.id], 400, "unsupported wire version 3 (supported: 1, 2)", true},
		{"unknown encoding", gz, "br", ts.tokens[h.id], 415, `Content-Encoding \"br\"`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, msg, hdr := post(c.body, c.enc, c.token)
			if code != c.code || !strings.Contains(msg, c.contains) {
				t.Fatalf("got %d %s, want %d containing %q", code, msg, c.code, c.contains)
			}
			if c.wantVersion && (hdr.Get(wire.VersionHeader) != "1 2" || !strings.Contains(msg, `"wire":[1,2]`)) {
				t.Fatalf("version refusal does not list versions: %v %s", hdr, msg)
			}
		})
	}
	sameEntities(t, "after refusals", ts.entities(h.id), before)
	afterStreams, _ := ts.store.Streams(context.Background())
	if fmt.Sprint(afterStreams) != fmt.Sprint(beforeStreams) {
		t.Fatalf("streams changed by refused batches:\n%v\n%v", beforeStreams, afterStreams)
	}
	// The good batch still goes through afterwards.
	if code, msg, _ := post(gz, "gzip", ts.tokens[h.id]); code != 200 {
		t.Fatalf("good batch: %d %s", code, msg)
	}

	// wire.Send reports the refusal as a *StatusError that is not
	// retryable.
	_, err := ts.trySend(good, "")
	var se *wire.StatusError
	if !errors.As(err, &se) || se.Code != 401 || se.Retryable() {
		t.Fatalf("Send without token: %v", err)
	}
}

func TestMetricsLatestAndRollups(t *testing.T) {
	ts, h := oneHost(t, TypeGateway)
	// 3 minutes of samples every 15 s, in batches of 5 samples.
	h.clock = epoch0.Add(time.Hour)
	var b *wire.Batch
	for i := 0; i < 12; i++ {
		if i%5 == 0 {
			if b != nil {
				ts.send(b)
			}
			b = wire.NewBatch(h.id)
		}
		h.clock = epoch0.Add(time.Hour + time.Duration(i)*15*time.Second)
		b.Add(h.sample("node_load1", float64(i)))
		b.Add(h.sample(wire.MetricID("node_network_receive_bytes_total", "device", "eth0"), float64(1000*i)))
	}
	ts.send(b)
	got, err := ts.client.Metrics(context.Background(), MetricQuery{Host: h.id, Prefix: "node_load", Since: epoch0})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Value != 11 || len(got[0].Minutes) != 3 {
		t.Fatalf("series %+v", got)
	}
	m := got[0].Minutes
	if m[0].Count != 4 || m[0].Min != 0 || m[0].Max != 3 || m[0].Mean != 1.5 || m[2].Mean != 9.5 {
		t.Fatalf("roll-ups %+v", m)
	}
	all, _ := ts.client.Metrics(context.Background(), MetricQuery{Host: h.id})
	if len(all) != 2 || all[0].Minutes != nil {
		t.Fatalf("all series %+v", all)
	}
	// Retention of one hour, two hours later: the roll-ups and the series
	// whose last sample is that old go.
	res, err := ts.store.Compact(context.Background(), epoch0.Add(3*time.Hour), Retention{Metrics: time.Hour})
	if err != nil || res.RollupsRemoved != 6 || res.SeriesRemoved != 2 {
		t.Fatalf("compact %+v %v", res, err)
	}
	if left, _ := ts.client.Metrics(context.Background(), MetricQuery{Since: epoch0}); len(left) != 0 {
		t.Fatalf("after retention: %+v", left)
	}
}

// A host whose agent starts over at an older epoch (its spool lost, its
// clock behind) is taken as a new stream from its first snapshot: its
// state is the new snapshot's, what the snapshot lacks is removed, and
// its later events are stored; events of an older epoch that do not start
// a stream stay ignored.
func TestIngestStreamStartedOverAtAnOlderEpoch(t *testing.T) {
	ts := newTestServer(t, "", "dc1-h1")
	h := newSimHost("dc1-h1", 100, epoch0)
	h.set(wire.KindLink, "eth0", map[string]string{"type": "device"})
	h.set(wire.KindLink, "eth1", map[string]string{"type": "device"})
	ts.send(h.snapshot())
	// The agent starts over at epoch 50 (seq from 1) and eth1 is gone.
	reset := newSimHost("dc1-h1", 50, epoch0.Add(time.Minute))
	reset.set(wire.KindLink, "eth0", map[string]string{"type": "device"})
	if ack := ts.send(reset.snapshot()); ack.Epoch != 50 || ack.Stale != 0 || ack.Stored == 0 {
		t.Fatalf("restart: %+v", ack)
	}
	got := ts.entities("dc1-h1")
	if _, ok := got["link/eth1"]; ok || got["link/eth0"] == nil {
		t.Fatalf("after the restart: %v", got)
	}
	b := wire.NewBatch("dc1-h1")
	b.Add(reset.add(wire.KindLink, "eth2", map[string]string{"type": "device"}))
	if ack := ts.send(b); ack.Stored != 1 || ts.entities("dc1-h1")["link/eth2"] == nil {
		t.Fatalf("later event: %+v", ack)
	}
	// An older epoch that does not start a stream: ignored.
	old := newSimHost("dc1-h1", 40, epoch0)
	old.seq = 4
	b = wire.NewBatch("dc1-h1")
	b.Add(old.add(wire.KindLink, "eth9", map[string]string{"type": "device"}))
	if ack := ts.send(b); ack.Stale != 1 || ts.entities("dc1-h1")["link/eth9"] != nil {
		t.Fatalf("stale event: %+v", ack)
	}
}
