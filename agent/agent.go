package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/storagegrid/storagegrid/wire"
)

// Config is what the agent needs to run.
type Config struct {
	Host          string        // host id sent with every event
	Sources       Sources       // where collectors read
	Interval      time.Duration // collection interval
	SpoolDir      string        // durable spool directory
	SpoolMax      int64         // spool bound in bytes
	Server        string        // model server base URL; empty: spool only
	Token         string        // this host's bearer token
	Client        *http.Client  // for shipping (mutual TLS lives here)
	MetricsListen string        // loopback host:port for /metrics; empty: off
	Enable        []string      // collectors to enable beyond the defaults
	Disable       []string      // collectors to disable
	// Log, when set, hears what an operator must know and would not see
	// otherwise: batches the server refuses or ignores.
	Log *log.Logger
}

// Heartbeat is how often an agent with nothing to ship still tells the
// model server it is there (model.node_states_max_age is 5 s by default).
const Heartbeat = 2 * time.Second

// Watcher is a collector that can tell when its data changed, so the agent
// collects it at once instead of at the next interval. Watch calls ready
// once it is subscribed: the agent takes its snapshot only after that, so
// no change can fall between the snapshot and the subscription.
type Watcher interface {
	Watch(ctx context.Context, changed, ready func()) error
}

// Agent collects, tracks, spools and ships.
type Agent struct {
	cfg        Config
	collectors map[string]Collector
	tracker    *Tracker
	spool      *Spool
	shipper    *Shipper
	watching   map[string]*atomic.Bool // per collector: its watch is live (set once by startWatchers)

	mu       sync.Mutex
	last     time.Time
	cycles   uint64 // completed, counting the first snapshot
	lastErrs map[string]error
}

// New builds an agent; it opens the spool but starts nothing.
func New(cfg Config) (*Agent, error) {
	if err := wire.ValidHostID(cfg.Host); err != nil {
		return nil, err
	}
	cfg.Sources.HostID = cfg.Host
	cs, err := NewCollectors(cfg.Sources, cfg.Enable, cfg.Disable)
	if err != nil {
		return nil, err
	}
	sp, err := OpenSpool(cfg.SpoolDir, cfg.SpoolMax)
	if err != nil {
		return nil, err
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if d := sp.Stats().Damaged; d > 0 && cfg.Log != nil {
		cfg.Log.Printf("spool %s: %d damaged records skipped; the records around them are kept", cfg.SpoolDir, d)
	}
	epoch, err := sp.NewEpoch(time.Now().UnixNano())
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, collectors: cs, spool: sp, lastErrs: map[string]error{},
		tracker: NewTracker(cfg.Host, epoch)}
	a.shipper = &Shipper{Spool: sp, Client: cfg.Client, URL: cfg.Server, Token: cfg.Token, Host: cfg.Host, Log: cfg.Log,
		Heartbeat: Heartbeat}
	return a, nil
}

// Snapshot collects everything once and returns the epoch's snapshot
// events, without spooling them (for `agent once`).
func (a *Agent) Snapshot(ctx context.Context) ([]wire.Event, error) {
	items, err := a.collect(ctx, a.names()...)
	return a.tracker.Snapshot(items), err
}

// collect runs the named collectors concurrently: a cycle then takes as
// long as its slowest source, not the sum of all. A failing collector is
// left out of the result, and every failure is reported in one list, so
// one bad source does not hide the rest.
func (a *Agent) collect(ctx context.Context, names ...string) (map[string][]Item, error) {
	var g multierror.Group
	var mu sync.Mutex
	out := make(map[string][]Item, len(names))
	for _, name := range names {
		g.Go(func() error {
			items, err := a.collectors[name].Collect(ctx)
			a.noteErr(name, err)
			if err != nil {
				return fmt.Errorf("collector %s: %w", name, err)
			}
			mu.Lock()
			out[name] = items
			mu.Unlock()
			return nil
		})
	}
	return out, g.Wait().ErrorOrNil()
}

func (a *Agent) names() []string {
	names := make([]string, 0, len(a.collectors))
	for n := range a.collectors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (a *Agent) noteErr(name string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lastErrs[name] = err
}

// spoolEvents appends events to the spool as one fsynced batch.
func (a *Agent) spoolEvents(evs []wire.Event) error {
	if len(evs) == 0 {
		return nil
	}
	recs := make([]Record, len(evs))
	for i, e := range evs {
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		recs[i] = Record{Epoch: e.Epoch, Seq: e.Seq, Droppable: e.Op == wire.OpSample, Data: data}
	}
	if err := a.spool.Append(recs); err != nil {
		return err
	}
	if a.cfg.Server != "" {
		a.shipper.Wake()
	}
	return nil
}

func (a *Agent) lastCycle() time.Time {
	t, _ := a.cycleStats()
	return t
}

// cycleStats is when the last collection cycle completed, and how many
// have.
func (a *Agent) cycleStats() (time.Time, uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last, a.cycles
}

func (a *Agent) seq() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tracker.Seq()
}

// Once collects one snapshot without a spool, for `agent once`.
func Once(ctx context.Context, cfg Config) ([]wire.Event, error) {
	cfg.Sources.HostID = cfg.Host
	cs, err := NewCollectors(cfg.Sources, cfg.Enable, cfg.Disable)
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, collectors: cs, lastErrs: map[string]error{},
		tracker: NewTracker(cfg.Host, time.Now().UnixNano())}
	return a.Snapshot(ctx)
}
