package model

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/settings"
	"github.com/storagegrid/storagegrid/wire"
)

func TestParseTokens(t *testing.T) {
	good := "# fleet tokens\n\ndc1-h1 aaaaaaaaaaaaaaaa1\n  dc1-h2   bbbbbbbbbbbbbbbb2  \n"
	tk, err := ParseTokens("tokens", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := tk.Host("bbbbbbbbbbbbbbbb2"); !ok || h != "dc1-h2" || tk.Len() != 2 {
		t.Fatalf("Host = %q %v", h, ok)
	}
	if _, ok := tk.Host(""); ok {
		t.Fatal("empty token accepted")
	}
	for body, want := range map[string]string{
		"dc1-h1\n":                 "tokens:1: want \"HOST TOKEN\"",
		"../x aaaaaaaaaaaaaaaa1\n": `tokens:1: host id "../x"`,
		"dc1-h1 short\n":           "tokens:1: token of host dc1-h1 is shorter than 16",
		"h aaaaaaaaaaaaaaaa1\nh bbbbbbbbbbbbbbbb2\n":   "tokens:2: host h is listed already",
		"h -\nh bbbbbbbbbbbbbbbb2\n":                   "tokens:2: host h is listed already",
		"h1 aaaaaaaaaaaaaaaa1\nh2 aaaaaaaaaaaaaaaa1\n": "tokens:2: host h2 has the same token as host h1",
		"h1 aaaaaaaaaaaaaaaa1 extra\n":                 "tokens:1: want",
		"\n\nh1 aaaaaaaaaaaaaaaa1\nh2\tbbbbbbbbbbbb\n": "tokens:4: token of host h2 is shorter",
	} {
		if _, err := ParseTokens("tokens", []byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", body, err, want)
		}
	}
}

func TestTokenFileModes(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "token")
	os.WriteFile(p, []byte("  secret-token-0123456789\n"), 0o640)
	if _, err := ReadTokenFile(p); err == nil || !strings.Contains(err.Error(), "mode 0640 lets others read it") {
		t.Fatalf("group-readable token file: %v", err)
	}
	os.Chmod(p, 0o600)
	if tok, err := ReadTokenFile(p); err != nil || tok != "secret-token-0123456789" {
		t.Fatalf("ReadTokenFile = %q, %v", tok, err)
	}
	if _, err := LoadTokens(p); err == nil {
		t.Fatal("a single token is not a tokens file")
	}
}

// TestUnixSocketServer serves the API on a Unix socket, as `model serve
// --listen unix:/PATH` does, and reaches it through ClientFor with a
// query token, resolving the socket under a root.
func TestUnixSocketServer(t *testing.T) {
	root := t.TempDir()
	hosts := genFleet(fleetSpec{hosts: 2, sites: 1, groupSize: 2, types: []string{TypeGateway}}, epoch0)
	store, err := OpenSQLite(context.Background(), filepath.Join(root, "model.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	toks, _ := ParseTokens("tokens", []byte(hosts[0].id+" "+tokenOf(hosts[0].id)))
	srv, err := NewServer(context.Background(), Config{Store: store, Tokens: toks, QueryToken: "query-token-0123456789", StaleAfter: time.Hour, Now: func() time.Time { return epoch0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	m := settings.Defaults().Model
	m.Listen = "unix:/run/model.sock"
	cl, err := ClientFor(m, hostpath.Root(root), "")
	if err != nil {
		t.Fatal(err)
	}
	// Nothing listens yet: WaitReady keeps trying until the server is up.
	hs := &http.Server{Handler: srv.Handler()}
	go func() {
		time.Sleep(100 * time.Millisecond)
		ln, err := Listen("unix:" + filepath.Join(root, "run/model.sock"))
		if err != nil {
			t.Error(err)
			return
		}
		_ = hs.Serve(ln)
	}()
	defer hs.Close()
	if err := cl.WaitReady(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	gz, _ := wire.Compress(hosts[0].snapshot())
	if _, err := cl.Ingest(context.Background(), tokenOf(hosts[0].id), gz); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Hosts(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("query without the query token: %v", err)
	}
	tokFile := filepath.Join(root, "etc/query-token")
	os.MkdirAll(filepath.Dir(tokFile), 0o700)
	os.WriteFile(tokFile, []byte("query-token-0123456789\n"), 0o600)
	m.ClientTokenFile = "/etc/query-token"
	cl, err = ClientFor(m, hostpath.Root(root), "")
	if err != nil {
		t.Fatal(err)
	}
	hs2, err := cl.Hosts(context.Background())
	if err != nil || len(hs2) != 1 || hs2[0].Host != hosts[0].id || strings.Join(hs2[0].Nodes, ",") != "DC1-GW1" {
		t.Fatalf("hosts = %+v, %v", hs2, err)
	}
	// model.server naming the socket is a host path too, like model.listen.
	m.Listen, m.Server = "127.0.0.1:1", "unix:/run/model.sock"
	if cl, err = ClientFor(m, hostpath.Root(root), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Hosts(context.Background()); err != nil {
		t.Fatalf("model.server unix socket under --root: %v", err)
	}
}

// IngestFile takes saved batches plain or gzipped, and sends nothing
// from a file that does not decode.
func TestIngestFile(t *testing.T) {
	hosts := genFleet(fleetSpec{hosts: 2, sites: 1, groupSize: 2, types: []string{TypeGateway}}, epoch0)
	ts := newTestServer(t, "", hosts[0].id, hosts[1].id)
	dir := t.TempDir()
	var plain bytes.Buffer
	if err := wire.Encode(&plain, hosts[0].snapshot()); err != nil {
		t.Fatal(err)
	}
	gz, err := wire.Compress(hosts[1].snapshot())
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"plain.ndjson": plain.Bytes(), "batch.ndjson.gz": gz,
		"truncated.gz": gz[:len(gz)/2], "garbage.ndjson": []byte("{\"wire\": 1}\nnot json\n")}
	for name, data := range files {
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	ctx := context.Background()
	for _, name := range []string{"truncated.gz", "garbage.ndjson"} {
		_, err := ts.client.IngestFile(ctx, tokenOf(hosts[0].id), filepath.Join(dir, name))
		if fail.KindOf(err) != fail.Invalid || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want invalid naming the file", name, err)
		}
	}
	if hs, err := ts.client.Hosts(ctx); err != nil || len(hs) != 0 {
		t.Fatalf("bad files reached the server: %+v, %v", hs, err)
	}
	if _, err := ts.client.IngestFile(ctx, "", filepath.Join(dir, "missing")); fail.KindOf(err) != fail.Usage {
		t.Errorf("missing file: %v, want a usage error", err)
	}
	for i, name := range []string{"plain.ndjson", "batch.ndjson.gz"} {
		ack, err := ts.client.IngestFile(ctx, tokenOf(hosts[i].id), filepath.Join(dir, name))
		if err != nil || ack.Host != hosts[i].id || ack.Stored == 0 {
			t.Errorf("%s: %+v, %v", name, ack, err)
		}
	}
	_, err = ts.client.IngestFile(ctx, "wrong-token-0123456789", filepath.Join(dir, "plain.ndjson"))
	if err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, "plain.ndjson")+": ") {
		t.Errorf("refused by the server: %v, want the error to name the file", err)
	}
}

func TestStateOfKind(t *testing.T) {
	st := State{Entities: []Entity{{Host: "h", Kind: wire.KindHost, ID: "h"}, {Host: "h", Kind: wire.KindLink, ID: "eth0"},
		{Host: "h", Kind: wire.KindLink, ID: "eth1"}}}
	if got := st.OfKind(wire.KindLink).Entities; len(got) != 2 || got[0].ID != "eth0" || got[1].ID != "eth1" {
		t.Errorf("links: %+v", got)
	}
	st = State{Entities: []Entity{{Kind: wire.KindHost}, {Kind: wire.KindLink}}}
	if got := st.OfKind("").Entities; len(got) != 2 {
		t.Errorf("no kind keeps all: %+v", got)
	}
	if got := st.OfKind(wire.KindRoute).Entities; len(got) != 0 {
		t.Errorf("a kind with no entities: %+v", got)
	}
}
