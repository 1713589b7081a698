package model

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/pgtest"
	"github.com/storagegrid/storagegrid/wire"
)

// testServer is a model server on 127.0.0.1 over a fresh SQLite store,
// with a token for every host name given.
type testServer struct {
	t      testing.TB
	dbPath string
	store  Store
	srv    *Server
	http   *httptest.Server
	client *Client
	tokens map[string]string
	clock  *fakeClock
}

// fakeClock is the server's clock; tests move it instead of sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

var epoch0 = time.Date(2024, 6, 10, 8, 0, 0, 0, time.UTC)

func tokenOf(host string) string { return "token-of-" + host + "-0123456789" }

func newTestServer(t testing.TB, dbPath string, hosts ...string) *testServer {
	t.Helper()
	if dbPath == "" {
		dbPath = filepath.Join(t.TempDir(), "model.db")
	}
	return serveStore(t, dbPath, openTestStore(t, dbPath), hosts...)
}

// serveStore is newTestServer on a store of the caller's.
func serveStore(t testing.TB, dbPath string, store Store, hosts ...string) *testServer {
	t.Helper()
	return serveWith(t, dbPath, store, func(*Config) {}, hosts...)
}

// serveWith is serveStore with the server's configuration edited first.
func serveWith(t testing.TB, dbPath string, store Store, edit func(*Config), hosts ...string) *testServer {
	t.Helper()
	ts := &testServer{t: t, dbPath: dbPath, tokens: map[string]string{}, clock: &fakeClock{t: epoch0}}
	var lines []string
	for _, h := range hosts {
		ts.tokens[h] = tokenOf(h)
		lines = append(lines, h+" "+tokenOf(h))
	}
	toks, err := ParseTokens("tokens", []byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	ts.store = store
	cfg := Config{Store: ts.store, Tokens: toks, StaleAfter: 5 * time.Minute, Now: ts.clock.Now}
	edit(&cfg)
	ts.srv, err = NewServer(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.http = httptest.NewServer(ts.srv.Handler())
	ts.client, err = NewClient(ts.http.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.close)
	return ts
}

// testStoreEnv chooses the store the model tests run against: "postgres"
// runs the whole suite on PostgreSQL (make test does both).
const testStoreEnv = "STORAGEGRID_TEST_STORE"

func onPostgres() bool { return os.Getenv(testStoreEnv) == "postgres" }

// openTestStore opens the store at dbPath: the SQLite file, or on
// PostgreSQL a database of its own for that path, so that a test that
// reopens the path reopens the same store.
func openTestStore(t testing.TB, dbPath string) Store {
	t.Helper()
	var s Store
	var err error
	if onPostgres() {
		s, err = OpenPostgres(context.Background(), pgtest.DB(t, dbPath), "")
	} else {
		s, err = OpenSQLite(context.Background(), dbPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sqliteOnly ends a test of what only the SQLite store has (its file,
// its backups) in the PostgreSQL run; the SQLite run covers it.
func sqliteOnly(t testing.TB) {
	t.Helper()
	if onPostgres() {
		t.Skip("tests the SQLite file; covered by the SQLite run")
	}
}

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func (ts *testServer) close() {
	if ts.http == nil {
		return
	}
	ts.http.Close()
	ts.srv.Close()
	if err := ts.store.Close(); err != nil {
		ts.t.Error(err)
	}
	ts.http = nil
}

// send is the test feeder: it encodes and posts a batch exactly as an
// agent does, with the host's own token.
func (ts *testServer) send(b *wire.Batch) wire.Ack {
	ts.t.Helper()
	ack, err := ts.trySend(b, ts.tokens[b.Host])
	if err != nil {
		ts.t.Fatalf("send %s: %v", b.Host, err)
	}
	return ack
}

func (ts *testServer) trySend(b *wire.Batch, token string) (wire.Ack, error) {
	gz, err := wire.Compress(b)
	if err != nil {
		return wire.Ack{}, err
	}
	return wire.Send(context.Background(), ts.http.Client(), ts.http.URL, token, gz)
}

// feed sends every host's snapshot.
func (ts *testServer) feed(hosts []*simHost) {
	for _, h := range hosts {
		ts.send(h.snapshot())
	}
}

// entities returns the server's current entities of a host as
// "kind/id" -> fields.
func (ts *testServer) entities(host string) map[string]map[string]string {
	ts.t.Helper()
	st, err := ts.client.State(context.Background(), time.Time{}, host)
	if err != nil {
		ts.t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, e := range st.Entities {
		out[string(e.Kind)+"/"+e.ID] = e.Fields
	}
	return out
}

// expected is what an agent's entity set should look like on the server.
func (h *simHost) expected() map[string]map[string]string {
	out := map[string]map[string]string{}
	for k, f := range h.entities {
		out[string(k.kind)+"/"+k.id] = f
	}
	return out
}

func sortKindIDs(keys []kindID) {
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].kind != keys[j].kind {
			return keys[i].kind < keys[j].kind
		}
		return keys[i].id < keys[j].id
	})
}

func sameEntities(t testing.TB, what string, got, want map[string]map[string]string) {
	t.Helper()
	for k, wf := range want {
		gf, ok := got[k]
		if !ok {
			t.Errorf("%s: missing %s", what, k)
			continue
		}
		if fmt.Sprint(gf) != fmt.Sprint(wf) {
			t.Errorf("%s: %s = %v, want %v", what, k, gf, wf)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected %s = %v", what, k, got[k])
		}
	}
}
