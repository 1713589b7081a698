package agent

import (
	"bytes"
	"context"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/model"
)

// Epochs only grow: a clock stepped back (or ahead in an earlier run)
// still gives a later epoch than any the spool has seen, across reopens.
func TestNewEpochOnlyGrows(t *testing.T) {
	dir := t.TempDir()
	sp, err := OpenSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	e1, err := sp.NewEpoch(5000)
	if err != nil || e1 != 5000 {
		t.Fatalf("first: %d %v", e1, err)
	}
	spoolEvents(t, sp, NewTracker("h1", 9000), 3) // records of a later epoch
	sp, _ = OpenSpool(dir, 1<<20)
	if e, _ := sp.NewEpoch(100); e != 9001 {
		t.Fatalf("clock back, spool at 9000: epoch %d, want 9001", e)
	}
	sp, _ = OpenSpool(dir, 1<<20)
	if e, _ := sp.NewEpoch(200); e != 9002 {
		t.Fatalf("reopened: epoch %d, want 9002", e)
	}
	if e, _ := sp.NewEpoch(20000); e != 20000 {
		t.Fatalf("clock ahead of everything: epoch %d", e)
	}
}

// modelServer runs the real model server for host h1 (token
// token-of-h1-0123456789) until the test ends.
func modelServer(t *testing.T) (*httptest.Server, *model.SQLiteStore) {
	t.Helper()
	store, err := model.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "model.db"))
	if err != nil {
		t.Fatal(err)
	}
	toks, _ := model.ParseTokens("tokens", []byte("h1 token-of-h1-0123456789"))
	srv, err := model.NewServer(context.Background(), model.Config{Store: store, Tokens: toks})
	if err != nil {
		store.Close()
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close(); store.Close() })
	return hs, store
}

// What the model server refuses or ignores reaches the agent's log (once
// a minute per kind, however often it retries), its status line and its
// metrics: a wrong token, then events of an older epoch than the server
// holds for the host.
func TestShipperReportsRefusalsFromTheModelServer(t *testing.T) {
	hs, _ := modelServer(t)

	var logged bytes.Buffer
	var mu sync.Mutex
	var statuses []string
	spool, _ := OpenSpool(t.TempDir(), 1<<30)
	sh := &Shipper{Spool: spool, Client: hs.Client(), URL: hs.URL, Token: "wrong-token-0123456789", Host: "h1",
		MaxWait: 20 * time.Millisecond, Log: log.New(&logged, "", 0),
		OnHealth: func(s string) { mu.Lock(); statuses = append(statuses, s); mu.Unlock() }}
	spoolEvents(t, spool, NewTracker("h1", 100), 5)
	// run starts the shipper; the returned func stops it.
	run := func() func() {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { sh.Run(ctx); close(done) }()
		return func() { cancel(); <-done }
	}
	stop := run()
	waitFor(t, func() bool { return sh.Status().Errors >= 5 })
	mu.Lock()
	if n := strings.Count(logged.String(), "401 Unauthorized"); n != 1 || len(statuses) != 1 || !strings.Contains(statuses[0], "fails: model server: 401") {
		t.Fatalf("%d errors: %d log lines\n%sstatus %q", sh.Status().Errors, n, logged.String(), statuses)
	}
	mu.Unlock()

	// The right token: shipped, and the status says so.
	stop()
	sh.Token = "token-of-h1-0123456789"
	stop = run()
	waitFor(t, func() bool { return spool.Stats().Records == 0 })
	stop()
	// The spool reset (its directory wiped) and the clock behind: events
	// of an older epoch, which the server ignores; the agent says so.
	sh.Spool, _ = OpenSpool(t.TempDir(), 1<<30)
	spoolEvents(t, sh.Spool, NewTracker("h1", 50), 4)
	stop = run()
	defer stop()
	waitFor(t, func() bool { return sh.Status().Ignored == 4 })
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logged.String(), "the model server ignored 4 events as older than what it holds for host h1") ||
		statuses[len(statuses)-1] != "running; shipping to "+hs.URL {
		t.Fatalf("log:\n%sstatus %q", logged.String(), statuses)
	}
}

// An idle shipper with a heartbeat still posts (empty batches) every
// Heartbeat, so the model server knows the host is there; the empty
// batches store nothing.
func TestShipperHeartbeat(t *testing.T) {
	hs, store := modelServer(t)
	spool, _ := OpenSpool(t.TempDir(), 1<<30)
	sh := &Shipper{Spool: spool, Client: hs.Client(), URL: hs.URL, Token: "token-of-h1-0123456789", Host: "h1",
		Heartbeat: 100 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sh.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	var first time.Time
	waitFor(t, func() bool {
		hosts, _ := store.Streams(context.Background())
		if len(hosts) == 1 && first.IsZero() {
			first = hosts[0].LastSeen
		}
		return len(hosts) == 1 && hosts[0].LastSeen.Sub(first) >= 300*time.Millisecond
	})
	if st := sh.Status(); st.Errors != 0 || st.Sent != 0 {
		t.Fatalf("%+v", st)
	}
}
