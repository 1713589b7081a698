package model

import (
	"bytes"
	"context"
	"errors"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/settings"
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
