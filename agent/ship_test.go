package agent

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

// receiver is a real HTTP ingest endpoint that stores events once per
// (epoch, seq), as the model server does, and can be told to fail.
type receiver struct {
	mu     sync.Mutex
	seen   map[[2]uint64]bool
	order  []uint64
	dups   int
	down   bool
	status int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.down {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	if r.Header.Get("Authorization") != "Bearer tok" {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	b, err := wire.DecodeBody(r.Body, r.Header.Get("Content-Encoding"), wire.DefaultLimits)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var ack wire.Ack
	for _, e := range b.Events {
		k := [2]uint64{uint64(e.Epoch), e.Seq}
		if rc.seen[k] {
			rc.dups++
		} else {
			rc.seen[k] = true
			rc.order = append(rc.order, e.Seq)
		}
		ack.Epoch, ack.Seq = e.Epoch, e.Seq
	}
	json.NewEncoder(w).Encode(ack)
}

func (rc *receiver) set(down bool) {
	rc.mu.Lock()
	rc.down = down
	rc.mu.Unlock()
}

func spoolEvents(t *testing.T, s *Spool, tr *Tracker, n int) {
	t.Helper()
	var recs []Record
	for i := 0; i < n; i++ {
		ev := tr.Update("load", []Item{sample(float64(i), "node_load1")})[0]
		data, _ := json.Marshal(ev)
		recs = append(recs, Record{Epoch: ev.Epoch, Seq: ev.Seq, Droppable: true, Data: data})
	}
	if err := s.Append(recs); err != nil {
		t.Fatal(err)
	}
}

// TestShipperOutageLosesNothing: the receiver refuses for a while, then
// comes back; every event arrives once, in order, and the spool drains.
func TestShipperOutageLosesNothing(t *testing.T) {
	rc := &receiver{seen: map[[2]uint64]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rc}
	go srv.Serve(ln)
	defer srv.Close()

	spool, _ := OpenSpool(t.TempDir(), 1<<30)
	tr := NewTracker("h1", 1)
	sh := &Shipper{Spool: spool, Client: http.DefaultClient, URL: "http://" + ln.Addr().String(),
		Token: "tok", Host: "h1", BatchMax: 100, MaxWait: 200 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sh.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done }) // before the spool directory goes

	rc.set(true)
	spoolEvents(t, spool, tr, 250)
	sh.Wake()
	waitFor(t, func() bool { return sh.Status().Errors > 0 })
	spoolEvents(t, spool, tr, 250)
	rc.set(false)
	sh.Wake()
	waitFor(t, func() bool { return spool.Stats().Records == 0 })

	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.order) != 500 {
		t.Fatalf("%d events arrived, want 500", len(rc.order))
	}
	for i, seq := range rc.order {
		if seq != uint64(i+1) {
			t.Fatalf("event %d arrived as seq %d: out of order", i, seq)
		}
	}
}

func TestShipperBadTokenKeepsEvents(t *testing.T) {
	rc := &receiver{seen: map[[2]uint64]bool{}}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{Handler: rc}
	go srv.Serve(ln)
	defer srv.Close()
	spool, _ := OpenSpool(t.TempDir(), 1<<30)
	spoolEvents(t, spool, NewTracker("h1", 1), 10)
	sh := &Shipper{Spool: spool, Client: http.DefaultClient, URL: "http://" + ln.Addr().String(),
		Token: "wrong", Host: "h1", MaxWait: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sh.Run(ctx); close(done) }()
	waitFor(t, func() bool { return sh.Status().Errors > 0 })
	cancel()
	<-done
	if st := sh.Status(); st.LastError == "" || spool.Stats().Records != 10 {
		t.Fatalf("status %+v, spool %+v", st, spool.Stats())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
