package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/storagegrid/storagegrid/internal/pgtest"
	"github.com/storagegrid/storagegrid/wire"
)

// Two model servers on one PostgreSQL database, with every agent
// shipping to both in turn and resending each batch it sent to one to the
// other (as an agent does when an ack is lost and it fails over): every
// event is stored once, every resend is acknowledged as duplicates, and
// each server's graph comes to hold what every agent holds, whichever
// server it told.
func TestTwoServersOneDatabase(t *testing.T) {
	url := pgtest.NewDB(t)
	hosts := genFleet(fleetSpec{hosts: 12, sites: 2, groupSize: 4, types: []string{TypeStorage, TypeGateway, TypeArchive}}, epoch0)
	var servers [2]*testServer
	for i := range servers {
		store, err := OpenPostgres(context.Background(), url, "")
		if err != nil {
			t.Fatal(err)
		}
		servers[i] = serveStore(t, "", store, hostIDs(hosts)...)
	}
	const rounds = 25
	var wg sync.WaitGroup
	errs := make(chan error, len(hosts))
	for n, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- func() error {
				snapshot := h.snapshot()
				for i, b := range []*wire.Batch{snapshot, snapshot} { // the second is a resend
					ack, err := servers[(n+i)%2].trySend(b, tokenOf(h.id))
					if err != nil {
						return err
					}
					if want := len(b.Events) * i; ack.Duplicates != want || ack.Seq != h.seq {
						return fmt.Errorf("%s: snapshot ack %+v, want %d duplicates", h.id, ack, want)
					}
				}
				for r := range rounds {
					b := wire.NewBatch(h.id)
					for j := range 20 {
						b.Add(h.sample(wire.MetricID("node_load1"), float64(r*20+j)))
					}
					b.Add(h.change(wire.KindLink, "eth0", map[string]string{"mtu": fmt.Sprint(1500 + r)}))
					b.Add(h.change(wire.KindNode, nodeOf(h), map[string]string{"MAXIMUM_RAM": fmt.Sprintf("%dg", 100+r)}))
					to := (n + r) % 2
					if ack, err := servers[to].trySend(b, tokenOf(h.id)); err != nil || ack.Stored != 22 {
						return fmt.Errorf("%s round %d: ack %+v, %v", h.id, r, ack, err)
					}
					if ack, err := servers[1-to].trySend(b, tokenOf(h.id)); err != nil || ack.Duplicates != 22 || ack.Stored != 0 {
						return fmt.Errorf("%s round %d resent: ack %+v, %v", h.id, r, ack, err)
					}
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The store holds every agent's state, and each server's live graph
	// (what its what-ifs read) follows what the other stored within its
	// follow period.
	for i, ts := range servers {
		deadline := time.Now().Add(5 * time.Second)
		for _, h := range hosts {
			sameEntities(t, fmt.Sprintf("server %d, host %s", i, h.id), ts.entities(h.id), h.expected())
			want := h.entities[kindID{wire.KindNode, nodeOf(h)}]["MAXIMUM_RAM"]
			for graphRAM(t, ts, h) != want && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if got := graphRAM(t, ts, h); got != want {
				t.Fatalf("server %d's graph has MAXIMUM_RAM %q for node %s of %s, want %q", i, got, nodeOf(h), h.id, want)
			}
		}
	}
	// Stored once: each host's changes are its snapshot's entities and one
	// per round, and its samples roll up to exactly the count sent.
	for _, h := range hosts {
		ch, err := servers[0].client.Changes(context.Background(), ChangeQuery{Since: epoch0, Host: h.id})
		if err != nil {
			t.Fatal(err)
		}
		if want := len(h.entities) + 2*rounds; len(ch) != want {
			t.Fatalf("%s: %d changes stored, want %d", h.id, len(ch), want)
		}
		series, err := servers[1].client.Metrics(context.Background(), MetricQuery{Host: h.id, Since: epoch0})
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, s := range series {
			for _, m := range s.Minutes {
				n += m.Count
			}
		}
		if len(series) != 1 || n != rounds*20 {
			t.Fatalf("%s: %d series, %d samples rolled up, want 1 and %d", h.id, len(series), n, rounds*20)
		}
	}
	streams, err := servers[1].store.Streams(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range streams {
		if s.Seq != hosts[0].seq {
			t.Fatalf("stream %+v: seq %d, want %d", s, s.Seq, hosts[0].seq)
		}
	}
}

// nodeOf is the first node a simulated host runs.
func nodeOf(h *simHost) string {
	for _, k := range sortedKeys(h.entities) {
		if k.kind == wire.KindNode {
			return k.id
		}
	}
	return ""
}

// graphRAM is MAXIMUM_RAM of the host's first node in the server's graph.
func graphRAM(t *testing.T, ts *testServer, h *simHost) string {
	t.Helper()
	nodes, err := ts.client.Nodes(context.Background(), h.id)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Name == nodeOf(h) {
			return n.Config["MAXIMUM_RAM"]
		}
	}
	return ""
}

// Connections cut while batches are being stored (pg_terminate_backend of
// the server's sessions, over and over): the batches caught answer 503,
// the agent sends them again, and in the end every event is stored once,
// nothing of a cut transaction having been kept.
func TestConnectionLostMidBatch(t *testing.T) {
	url := pgtest.NewDB(t)
	store, err := OpenPostgres(context.Background(), url, "")
	if err != nil {
		t.Fatal(err)
	}
	hosts := genFleet(fleetSpec{hosts: 4, sites: 1, groupSize: 4, types: []string{TypeStorage}}, epoch0)
	ts := serveStore(t, "", store, hostIDs(hosts)...)
	admin, err := pgx.Connect(context.Background(), pgtest.Admin(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	stop := make(chan struct{})
	killed := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				killed <- n
				return
			case <-time.After(time.Duration(5+rand.IntN(20)) * time.Millisecond):
			}
			var k int
			_ = admin.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE application_name = 'storagegrid-model' AND state <> 'idle'`).Scan(&k)
			n += k
		}
	}()
	const rounds = 40
	refused := 0
	for _, h := range hosts {
		batches := []*wire.Batch{h.snapshot()}
		for r := range rounds {
			b := wire.NewBatch(h.id)
			for j := range 200 {
				b.Add(h.sample(wire.MetricID("node_load1"), float64(j)))
			}
			b.Add(h.change(wire.KindNode, nodeOf(h), map[string]string{"MAXIMUM_RAM": fmt.Sprintf("%dg", 100+r)}))
			batches = append(batches, b)
		}
		for _, b := range batches {
			for try := 0; ; try++ {
				_, err := ts.trySend(b, tokenOf(h.id))
				if err == nil {
					break
				}
				var se *wire.StatusError
				if !errors.As(err, &se) || se.Code != http.StatusServiceUnavailable || try > 200 {
					t.Fatalf("%s: %v", h.id, err)
				}
				refused++
			}
		}
	}
	close(stop)
	t.Logf("%d sessions terminated, %d batches answered 503 and sent again", <-killed, refused)
	if refused == 0 {
		t.Fatal("no batch was caught by a cut connection: the test tested nothing")
	}
	for _, h := range hosts {
		sameEntities(t, h.id, ts.entities(h.id), h.expected())
		ch, err := ts.client.Changes(context.Background(), ChangeQuery{Since: epoch0, Host: h.id})
		if err != nil {
			t.Fatal(err)
		}
		if want := len(h.entities) + rounds; len(ch) != want {
			t.Fatalf("%s: %d changes stored, want %d", h.id, len(ch), want)
		}
		series, err := ts.client.Metrics(context.Background(), MetricQuery{Host: h.id, Since: epoch0})
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, m := range series[0].Minutes {
			n += m.Count
		}
		if n != rounds*200 {
			t.Fatalf("%s: %d samples rolled up, want %d", h.id, n, rounds*200)
		}
	}
}

// A model grown on SQLite (snapshots, changes, removals, metrics, a
// compaction's baselines and floor) copied to PostgreSQL answers every
// query the same there, its checksums agree, and a second copy into the
// now full database is refused without touching it.
func TestCopySQLiteToPostgres(t *testing.T) {
	ctx := context.Background()
	hosts := genFleet(fleetSpec{hosts: 6, sites: 2, groupSize: 3, types: []string{TypeStorage, TypeGateway}}, epoch0)
	dbPath := filepath.Join(t.TempDir(), "model.db")
	sqlite, err := OpenSQLite(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	src := serveStore(t, dbPath, sqlite, hostIDs(hosts)...)
	src.feed(hosts)
	for r := range 5 {
		for _, h := range hosts {
			b := wire.NewBatch(h.id)
			b.Add(h.sample(wire.MetricID("node_load1"), float64(r)+0.25))
			b.Add(h.change(wire.KindNode, nodeOf(h), map[string]string{"MAXIMUM_RAM": fmt.Sprintf("%dg", 100+r)}))
			if r == 3 {
				b.Add(h.remove(wire.KindLink, "eth1"))
			}
			src.send(b)
		}
	}
	if _, err := sqlite.Compact(ctx, hosts[0].clock.Add(-2*time.Millisecond), Retention{History: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	src.close()

	url := pgtest.NewDB(t)
	pg, err := OpenPostgres(ctx, url, "")
	if err != nil {
		t.Fatal(err)
	}
	tables, err := CopySQLite(ctx, dbPath, pg)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, tb := range tables {
		counts[tb.Table] = tb.Rows
		if len(tb.Checksum) != 64 {
			t.Fatalf("%+v", tb)
		}
	}
	if counts["changes"] == 0 || counts["metric_minute"] == 0 || counts["streams"] != 6 || counts["meta"] != 1 {
		t.Fatalf("copied %v", counts)
	}

	back, err := OpenSQLite(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	dst := serveStore(t, "", pg, hostIDs(hosts)...)
	for _, h := range hosts {
		sameEntities(t, h.id, dst.entities(h.id), h.expected())
	}
	same := func(what string, a, b any, errA, errB error) {
		t.Helper()
		if errA != nil || errB != nil {
			t.Fatalf("%s: %v %v", what, errA, errB)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) || len(ja) < 100 {
			t.Fatalf("%s differs (or is empty):\nsqlite   %s\npostgres %s", what, ja, jb)
		}
	}
	since := hosts[0].clock.Add(-time.Millisecond)
	ca, ea := back.Changes(ctx, ChangeQuery{Since: since})
	cb, eb := pg.Changes(ctx, ChangeQuery{Since: since})
	same("changes", ca, cb, ea, eb)
	sa, ea := back.StateAt(ctx, since, "")
	sb, eb := pg.StateAt(ctx, since, "")
	SortEntities(sa)
	SortEntities(sb)
	same("state", sa, sb, ea, eb)
	ma, ea := back.Metrics(ctx, MetricQuery{Since: epoch0})
	mb, eb := pg.Metrics(ctx, MetricQuery{Since: epoch0})
	same("metrics", ma, mb, ea, eb)
	_, ea = back.Changes(ctx, ChangeQuery{Since: epoch0})
	_, eb = pg.Changes(ctx, ChangeQuery{Since: epoch0})
	if ea == nil || fmt.Sprint(ea) != fmt.Sprint(eb) {
		t.Fatalf("history floor: sqlite %v, postgres %v", ea, eb)
	}
	// New changes go on after the copied ids.
	h := hosts[0]
	b := wire.NewBatch(h.id)
	b.Add(h.change(wire.KindNode, nodeOf(h), map[string]string{"MAXIMUM_RAM": "1g"}))
	if ack := dst.send(b); ack.Stored != 1 {
		t.Fatalf("ack %+v", ack)
	}

	if _, err := CopySQLite(ctx, dbPath, pg); err == nil || !strings.Contains(err.Error(), "already holds a model") {
		t.Fatalf("second copy: %v", err)
	}
}

// A database that cannot be reached is named (user, host, port,
// database) with the reason, never with the password; a URL that does
// not parse is refused without being echoed.
func TestPostgresErrorsNameTheServerNotThePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := t.TempDir()
	_, err := OpenPostgres(ctx, "postgres://sg@/model?host="+dir, "Pa55-SECRET")
	if err == nil {
		t.Fatal("opened a database on a socket directory with no server")
	}
	for _, want := range []string{"postgres://sg@[" + dir + "]:5432/model", "cannot connect", "no such file or directory"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "Pa55") {
		t.Fatalf("error shows the password: %v", err)
	}
	_, err = OpenPostgres(ctx, "postgres://sg@db1.example.com:notaport/model", "")
	if err == nil || !strings.Contains(err.Error(), "not a valid PostgreSQL URL") || strings.Contains(err.Error(), "notaport") {
		t.Fatalf("bad URL: %v", err)
	}
}

// A database whose schema is newer than this program's is refused with
// both versions; the migration runner applies each version once, even to
// servers starting together.
func TestPostgresSchemaVersions(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDB(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := OpenPostgres(ctx, url, "")
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n, top int
	if err := conn.QueryRow(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &top); err != nil || n != SchemaVersion() || top != SchemaVersion() {
		t.Fatalf("schema_migrations: %d rows, top %d (%v), want %d", n, top, err, SchemaVersion())
	}
	if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	_, err = OpenPostgres(ctx, url, "")
	if want := fmt.Sprintf("schema version %d is newer than this program's %d", SchemaVersion()+1, SchemaVersion()); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("newer schema: %v, want %q", err, want)
	}
}
