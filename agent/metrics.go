package agent

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// health exposes the agent's own state on /metrics. It reads the spool
// and shipper at scrape time, so the numbers are never stale.
type health struct {
	agent *Agent

	spoolRecords, spoolBytes, dropped, damaged, sent, errs, ignored, lastShip, lastCollect, cycles, seq *prometheus.Desc
}

func newHealth(a *Agent) *health {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("storagegrid_agent_"+name, help, nil, nil)
	}
	return &health{agent: a,
		spoolRecords: d("spool_events", "Events in the spool not yet acknowledged by the model server."),
		spoolBytes:   d("spool_bytes", "Bytes the spool takes on disk."),
		dropped:      d("spool_dropped_samples_total", "Metric samples dropped because the spool was full."),
		damaged:      d("spool_damaged_records_total", "Damaged spool records skipped when the spool was opened."),
		sent:         d("shipped_events_total", "Events acknowledged by the model server."),
		errs:         d("ship_errors_total", "Failed attempts to ship a batch."),
		ignored:      d("ignored_events_total", "Events the model server took for older than its stream for this host, and did not store."),
		lastShip:     d("last_ship_timestamp_seconds", "When a batch was last acknowledged (0: never)."),
		lastCollect:  d("last_collection_timestamp_seconds", "When the collectors last completed a cycle."),
		cycles:       d("collection_cycles_total", "Collection cycles completed: the first snapshot, each interval, each change a watcher reported."),
		seq:          d("sequence", "The last sequence number of the current epoch."),
	}
}

func (h *health) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{h.spoolRecords, h.spoolBytes, h.dropped, h.damaged, h.sent, h.errs, h.ignored, h.lastShip, h.lastCollect, h.cycles, h.seq} {
		ch <- d
	}
}

func (h *health) Collect(ch chan<- prometheus.Metric) {
	sp := h.agent.spool.Stats()
	st := h.agent.shipper.Status()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(h.spoolRecords, float64(sp.Records))
	gauge(h.spoolBytes, float64(sp.Bytes))
	counter(h.dropped, float64(sp.Dropped))
	counter(h.damaged, float64(sp.Damaged))
	counter(h.sent, float64(st.Sent))
	counter(h.errs, float64(st.Errors))
	counter(h.ignored, float64(st.Ignored))
	gauge(h.lastShip, unixSeconds(st.LastSuccess))
	last, cycles := h.agent.cycleStats()
	gauge(h.lastCollect, unixSeconds(last))
	counter(h.cycles, float64(cycles))
	gauge(h.seq, float64(h.agent.seq()))
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// serveMetrics serves /metrics on addr until ctx ends. The address must
// be loopback: the agent's metrics are for the local Prometheus only.
func serveMetrics(ctx context.Context, addr string, h *health) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errors.New("agent.metrics_listen " + addr + " is not a loopback address")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(h, prometheus.NewGoCollector())
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
