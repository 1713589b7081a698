package model

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

// copyEntities snapshots what a simulated agent has, for later
// comparison with the server's reconstruction.
func copyEntities(h *simHost) map[string]map[string]string {
	out := map[string]map[string]string{}
	for k, v := range h.expected() {
		f := map[string]string{}
		for a, b := range v {
			f[a] = b
		}
		out[k] = f
	}
	return out
}

// TestStateAtPastTimes records what the agent had after each step and
// checks that the server reconstructs exactly that at each step's time,
// also after compaction for times after the floor.
func TestStateAtPastTimes(t *testing.T) {
	hosts := genFleet(fleetSpec{hosts: 3, sites: 1, groupSize: 3, types: []string{TypeStorage, TypeAdmin}}, epoch0)
	h := hosts[0]
	ts := newTestServer(t, "", hostIDs(hosts)...)
	ts.feed(hosts)

	type point struct {
		at   time.Time
		want map[string]map[string]string
	}
	points := []point{{h.clock, copyEntities(h)}}
	step := func(evs ...wire.Event) {
		b := wire.NewBatch(h.id)
		b.Add(evs...)
		ts.send(b)
		points = append(points, point{h.clock, copyEntities(h)})
	}
	for i := 0; i < 5; i++ {
		h.clock = h.clock.Add(time.Hour)
		step(
			h.change(wire.KindNode, "DC1-S1", map[string]string{wire.FieldRunState: []string{"Running", "Not-Running"}[i%2]}),
			h.change(wire.KindLink, "bond0", map[string]string{"mtu": fmt.Sprint(9000 - i)}, "bond_mode"),
			h.sample("node_load1", float64(i)),
		)
	}
	h.clock = h.clock.Add(time.Hour)
	step(h.remove(wire.KindLink, "eth1"), h.add(wire.KindLink, "eth2", map[string]string{"mtu": "1500"}))
	h.clock = h.clock.Add(time.Hour)
	h.epoch, h.seq = 2, 0
	delete(h.entities, kindID{wire.KindNode, "DC1-ADM1"})
	h.set(wire.KindLink, "eth1", map[string]string{"mtu": "9000", "master": "bond0"})
	snap := h.snapshot()
	ts.send(snap)
	points = append(points, point{h.clock, copyEntities(h)})

	ctx := context.Background()
	check := func(label string, from int) {
		for i, p := range points[from:] {
			st, err := ts.client.State(ctx, p.at, h.id)
			if err != nil {
				t.Fatalf("%s: state at point %d: %v", label, from+i, err)
			}
			got := map[string]map[string]string{}
			for _, e := range st.Entities {
				got[string(e.Kind)+"/"+e.ID] = e.Fields
			}
			sameEntities(t, fmt.Sprintf("%s: point %d (%s)", label, from+i, p.at.Format(time.RFC3339)), got, p.want)
		}
	}
	check("before compaction", 0)
	// Half a second before the first change: the host was not there yet.
	if st, _ := ts.client.State(ctx, epoch0.Add(-time.Second), h.id); len(st.Entities) != 0 {
		t.Fatalf("state before the first snapshot: %v", st.Entities)
	}

	changes, err := ts.client.Changes(ctx, ChangeQuery{Since: points[1].at.Add(time.Millisecond), Until: points[2].at.Add(time.Millisecond), Host: h.id})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[1].ID != "bond0" || len(changes[1].Fields) != 1 ||
		changes[1].Fields[0].Field != "mtu" || *changes[1].Fields[0].From != "9000" || *changes[1].Fields[0].To != "8999" {
		t.Fatalf("changes in the second hour: %+v", changes)
	}

	// Compact with a floor between points 3 and 4: later states stay
	// exact, earlier ones are refused.
	floor := points[3].at.Add(30 * time.Minute)
	res, err := ts.store.Compact(ctx, floor.Add(24*time.Hour), Retention{History: 24 * time.Hour})
	if err != nil || res.ChangesFolded <= 0 {
		t.Fatalf("compact: %+v, %v", res, err)
	}
	check("after compaction", 4)
	_, err = ts.client.State(ctx, points[2].at, h.id)
	if want := fmt.Sprintf("model server: history before %s has been compacted", floor.UTC().Format(time.RFC3339)); err == nil || err.Error() != want {
		t.Fatalf("state before the floor: %v", err)
	}
	// The folded history is still the base of the current entities: a
	// restart rebuilds the same current state.
	ts = reopen(ts)
	sameEntities(t, "after compaction and restart", ts.entities(h.id), h.expected())
}

func TestBackupWhileIngestingAndRestore(t *testing.T) {
	sqliteOnly(t)
	hosts := genFleet(fleetSpec{hosts: 8, sites: 2, groupSize: 4, types: []string{TypeStorage, TypeGateway}}, epoch0)
	ts := newTestServer(t, "", hostIDs(hosts)...)
	ts.feed(hosts)

	done := make(chan error)
	go func() {
		var err error
		for i := 0; i < 30 && err == nil; i++ {
			b := wire.NewBatch(hosts[1].id)
			b.Add(hosts[1].change(wire.KindLink, "eth0", map[string]string{"mtu": fmt.Sprint(2000 + i)}))
			_, err = ts.trySend(b, ts.tokens[hosts[1].id])
		}
		done <- err
	}()
	dir := t.TempDir()
	backup := filepath.Join(dir, "backup.db")
	if err := Backup(context.Background(), ts.dbPath, backup); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := Backup(context.Background(), ts.dbPath, backup); err == nil {
		t.Fatal("backup over an existing file")
	}
	if err := VerifyStore(context.Background(), backup, true); err != nil {
		t.Fatal(err)
	}

	// Restore into a fresh path and serve it: hosts[0] is exactly as
	// sent; hosts[1] is somewhere within its stream, and its agent's
	// replay brings it up to date, de-duplicated.
	restored := filepath.Join(dir, "restored", "model.db")
	if err := Restore(context.Background(), backup, restored); err != nil {
		t.Fatal(err)
	}
	ts2 := newTestServer(t, restored, hostIDs(hosts)...)
	sameEntities(t, "restored", ts2.entities(hosts[0].id), hosts[0].expected())
	streams, _ := ts2.store.Streams(context.Background())
	var seq uint64
	for _, s := range streams {
		if s.Host == hosts[1].id {
			seq = s.Seq
		}
	}
	if seq == 0 || seq > hosts[1].seq {
		t.Fatalf("restored stream of %s at seq %d of %d", hosts[1].id, seq, hosts[1].seq)
	}
	replay := wire.NewBatch(hosts[1].id)
	for i := 0; i < 30; i++ {
		replay.Add(wire.Event{Host: hosts[1].id, Epoch: 1, Seq: hosts[1].seq - 29 + uint64(i), Time: hosts[1].clock,
			Op: wire.OpChanged, Kind: wire.KindLink, ID: "eth0", Fields: map[string]string{"mtu": fmt.Sprint(2000 + i)}})
	}
	ack := ts2.send(replay)
	if uint64(ack.Duplicates) != 30-(hosts[1].seq-seq) || ack.Seq != hosts[1].seq {
		t.Fatalf("replay after restore: %+v (restored at %d)", ack, seq)
	}
	sameEntities(t, "restored and replayed", ts2.entities(hosts[1].id), hosts[1].expected())
}

func TestRestoreRefusesBadBackups(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "model.db")
	if err := os.WriteFile(target, []byte("current"), 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte("this is not a database at all, just text"), 0o600)
	truncated := filepath.Join(dir, "truncated.db")
	s, err := OpenSQLite(context.Background(), filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(dir, "full.db")
	s.Close()
	if err := Backup(context.Background(), filepath.Join(dir, "src.db"), full); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(full)
	os.WriteFile(truncated, data[:len(data)/2], 0o600)
	for _, src := range []string{garbage, truncated, filepath.Join(dir, "missing.db")} {
		if err := Restore(context.Background(), src, target); err == nil {
			t.Errorf("restore from %s accepted", filepath.Base(src))
		}
	}
	if got, _ := os.ReadFile(target); string(got) != "current" {
		t.Fatal("a refused restore changed the database")
	}
}
