package model

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/settings"
	"github.com/storagegrid/storagegrid/wire"
)

// A second owner of the database is refused at once; the lock lives
// beside the database and is free again once released.
func TestLockStore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "model", "model.db")
	ctx := context.Background()
	l, err := LockStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(db + ".lock"); err != nil {
		t.Errorf("no lock beside the database: %v", err)
	}
	start := time.Now()
	_, err = LockStore(ctx, db)
	if fail.KindOf(err) != fail.Refused || !strings.Contains(err.Error(), "model store "+db+" is in use") {
		t.Fatalf("second owner: %v, want refused naming the store", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusal took %s", d)
	}
	other, err := LockStore(ctx, filepath.Join(filepath.Dir(db), "other.db"))
	if err != nil {
		t.Fatalf("another database beside it: %v", err)
	}
	other.Unlock()
	l.Unlock()
	l, err = LockStore(ctx, db)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	l.Unlock()
}

func TestConfigFor(t *testing.T) {
	root := t.TempDir()
	m := settings.Defaults().Model
	m.StaleAfter.Duration, m.CompactEvery.Duration = 2*time.Minute, 0
	m.HistoryRetention.Duration, m.MetricsRetention.Duration = 48*time.Hour, time.Hour
	cfg, err := ConfigFor(m, hostpath.Root(root))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{StaleAfter: 2 * time.Minute, Retention: Retention{History: 48 * time.Hour, Metrics: time.Hour}}
	if cfg.StaleAfter != want.StaleAfter || cfg.CompactEvery != 0 || cfg.Retention != want.Retention || cfg.QueryToken != "" {
		t.Errorf("config %+v, want %+v", cfg, want)
	}

	m.QueryTokenFile = "/etc/storagegrid/model/query-token"
	tok := filepath.Join(root, m.QueryTokenFile)
	os.MkdirAll(filepath.Dir(tok), 0o700)
	os.WriteFile(tok, []byte("query-token-0123456789\n"), 0o644)
	if _, err := ConfigFor(m, hostpath.Root(root)); err == nil || !strings.Contains(err.Error(), "lets others read it") {
		t.Errorf("world-readable query token: %v", err)
	}
	os.Chmod(tok, 0o600)
	if cfg, err = ConfigFor(m, hostpath.Root(root)); err != nil || cfg.QueryToken != "query-token-0123456789" {
		t.Errorf("query token read under the root: %q, %v", cfg.QueryToken, err)
	}
}

// Serve answers until its context ends, then stops listening and returns
// nil; a listener that fails is an error at once.
func TestServeUntilCancelled(t *testing.T) {
	ts := newTestServer(t, "", "dc1-h1")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.srv.Serve(ctx, ln, log.New(&bytes.Buffer{}, "", 0)) }()
	cl, err := NewClient("http://"+ln.Addr().String(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.WaitReady(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Hosts(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Error("still listening after Serve returned")
	}

	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closed.Close()
	if err := ts.srv.Serve(context.Background(), closed, nil); err == nil || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve on a closed listener: %v", err)
	}
}

// The store is its owner's alone: the directory it creates is 0700, the
// database and the files SQLite keeps beside it 0600, whatever the umask;
// a database found readable by others is made 0600.
func TestStoreFilesAreOwnerOnly(t *testing.T) {
	sqliteOnly(t)
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "model")
	path := filepath.Join(dir, "model.db")
	ts := newTestServer(t, path, "dc1-h1")
	h := newSimHost("dc1-h1", 1, epoch0)
	h.set(wire.KindLink, "eth0", map[string]string{"type": "device"})
	ts.send(h.snapshot())
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600, path + "-wal": 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", p, fi.Mode().Perm(), want)
		}
	}
	ts.close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("reopened: mode %04o", fi.Mode().Perm())
	}
}

// At most MaxDecodes batches are decoded at once; refused batches are
// logged, once a minute per host and reason.
func TestIngestBoundsDecodesAndLogsRefusals(t *testing.T) {
	var logged bytes.Buffer
	store, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "model.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	toks, _ := ParseTokens("tokens", []byte("dc1-h1 "+tokenOf("dc1-h1")))
	srv, err := NewServer(context.Background(), Config{Store: store, Tokens: toks, MaxDecodes: 1, Log: log.New(&logged, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	// A batch whose body trickles holds the only decode slot...
	pr, pw := io.Pipe()
	slow, _ := http.NewRequest(http.MethodPost, hs.URL+wire.IngestPath, pr)
	slow.Header.Set("Authorization", "Bearer "+tokenOf("dc1-h1"))
	slowDone := make(chan error, 1)
	go func() {
		resp, err := hs.Client().Do(slow)
		if err == nil {
			resp.Body.Close()
		}
		slowDone <- err
	}()
	pw.Write([]byte(`{"wire":`))
	time.Sleep(100 * time.Millisecond)
	// ...so another waits for it, and goes through once it is freed.
	h := newSimHost("dc1-h1", 1, epoch0)
	h.set(wire.KindLink, "eth0", map[string]string{"type": "device"})
	gz, _ := wire.Compress(h.snapshot())
	fast := make(chan error, 1)
	go func() {
		_, err := wire.Send(context.Background(), hs.Client(), hs.URL, tokenOf("dc1-h1"), gz)
		fast <- err
	}()
	select {
	case err := <-fast:
		t.Fatalf("a second batch was decoded beside the first: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	pw.CloseWithError(io.ErrUnexpectedEOF)
	<-slowDone
	if err := <-fast; err != nil {
		t.Fatalf("the waiting batch: %v", err)
	}

	for i := 0; i < 5; i++ {
		if _, err := wire.Send(context.Background(), hs.Client(), hs.URL, "wrong-token-0123456789", gz); err == nil {
			t.Fatal("a wrong token was let in")
		}
	}
	if n := strings.Count(logged.String(), "HTTP 401"); n != 1 {
		t.Fatalf("%d lines for five refusals of one client:\n%s", n, logged.String())
	}
	bad, _ := http.NewRequest(http.MethodPost, hs.URL+wire.IngestPath, strings.NewReader("not a batch\n"))
	bad.Header.Set("Authorization", "Bearer "+tokenOf("dc1-h1"))
	if resp, err := hs.Client().Do(bad); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a broken batch: %v %v", resp, err)
	}
	if !strings.Contains(logged.String(), "refused a batch from dc1-h1 (HTTP 400)") {
		t.Fatalf("the broken batch was not logged:\n%s", logged.String())
	}
}
