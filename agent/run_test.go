package agent

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storagegrid/storagegrid/internal/sdnotify"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRunSnapshotReadyShipAndMetrics runs the whole agent loop against a
// real receiver: READY comes after the snapshot is spooled, every event
// reaches the receiver, and /metrics reports the agent's health.
func TestRunSnapshotReadyShipAndMetrics(t *testing.T) {
	sock := sdnotify.Listen(t)
	rc := &receiver{seen: map[[2]uint64]bool{}}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{Handler: rc}
	go srv.Serve(ln)
	defer srv.Close()

	metricsAddr := freeAddr(t)
	a, err := New(Config{Host: "h1", Sources: fixture(t), Interval: 50 * time.Millisecond,
		SpoolDir: t.TempDir(), SpoolMax: 1 << 30, Server: "http://" + ln.Addr().String(), Token: "tok",
		MetricsListen: metricsAddr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx, sdnotify.Notifier{}) }()

	if got := sock.Next(t); got != "READY=1" {
		t.Fatalf("first notification %q", got)
	}
	if a.spool.Stats().Records+a.shipper.Status().Sent == 0 {
		t.Fatal("READY before the snapshot was spooled")
	}
	waitFor(t, func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return len(rc.order) > 100 && a.spool.Stats().Records == 0
	})
	// The counter proves the loop runs on after the snapshot: wait for a
	// second cycle (the interval is 50 ms).
	var body string
	waitFor(t, func() bool {
		body = scrape("http://" + metricsAddr + "/metrics")
		return strings.Contains(body, "storagegrid_agent_collection_cycles_total") &&
			metricValue(t, body, "storagegrid_agent_collection_cycles_total") >= 2
	})
	for _, want := range []string{"storagegrid_agent_spool_events", "storagegrid_agent_shipped_events_total", "storagegrid_agent_last_ship_timestamp_seconds"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for i, seq := range rc.order {
		if seq != uint64(i+1) {
			t.Fatalf("event %d arrived as seq %d", i, seq)
		}
	}
}

func TestMetricsRefusesNonLoopback(t *testing.T) {
	err := serveMetrics(context.Background(), "0.0.0.0:0", nil)
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Fatalf("err = %v", err)
	}
}

// scrape returns the body at url, "" when it cannot.
func scrape(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metricValue is the value of an unlabelled metric in a /metrics body.
func metricValue(t *testing.T, body, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics lacks %s", name)
	return 0
}

// A collector whose watch is live is left out of the interval's
// collections but every safetyNet-th; one whose watch ended (or that
// cannot watch) is collected at every interval.
func TestTickNamesLeaveLiveWatchersToTheirEvents(t *testing.T) {
	a := &Agent{collectors: map[string]Collector{"cpu": nil, "network": nil, "nodes": nil},
		watching: map[string]*atomic.Bool{"cpu": new(atomic.Bool), "network": new(atomic.Bool), "nodes": new(atomic.Bool)}}
	a.watching["network"].Store(true)
	if got := fmt.Sprint(a.tickNames(1)); got != "[cpu nodes]" {
		t.Fatalf("tick 1: %s", got)
	}
	if got := fmt.Sprint(a.tickNames(safetyNet)); got != "[cpu network nodes]" {
		t.Fatalf("tick %d: %s", safetyNet, got)
	}
	a.watching["network"].Store(false) // its watch ended: back to every interval
	if got := fmt.Sprint(a.tickNames(3)); got != "[cpu network nodes]" {
		t.Fatalf("tick 3, watch ended: %s", got)
	}
}
