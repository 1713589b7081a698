package agent

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/storagegrid/storagegrid/internal/sdnotify"
	"github.com/storagegrid/storagegrid/wire"
)

// Run is the agent's life: snapshot, READY, then collect at the interval
// and whenever a watcher says something changed, while the shipper sends
// in the background. It returns when ctx ends, or when the spool cannot
// be written (then nothing collected could be kept, so it must not go on
// pretending). It returns only after its background goroutines have
// ended, so nothing writes to the spool once it has returned.
func (a *Agent) Run(ctx context.Context, n sdnotify.Notifier) error {
	var bg sync.WaitGroup
	defer bg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	triggers := a.startWatchers(ctx)
	items, err := a.collect(ctx, a.names()...)
	a.mu.Lock()
	evs := a.tracker.Snapshot(items)
	a.mu.Unlock()
	if err := a.spoolEvents(evs); err != nil {
		return fmt.Errorf("spooling the first snapshot: %w", err)
	}
	a.markCycle()
	n.Ready()
	n.Status(statusLine(err))
	defer n.Stopping()

	errc := make(chan error, 2)
	a.startBackground(ctx, &bg, n, errc)
	tick := time.NewTicker(a.cfg.Interval)
	defer tick.Stop()
	for ticks := 1; ; {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case err = <-errc:
			return err
		case <-tick.C:
			err = a.cycle(ctx, a.tickNames(ticks)...)
			ticks++
		case name := <-triggers:
			err = a.cycle(ctx, name)
		}
		if err != nil {
			return err
		}
	}
}

func (a *Agent) startBackground(ctx context.Context, bg *sync.WaitGroup, n sdnotify.Notifier, errc chan<- error) {
	if a.cfg.Server != "" {
		a.shipper.OnHealth = func(status string) { n.Status(status) }
		bg.Go(func() { a.shipper.Run(ctx) })
	}
	if a.cfg.MetricsListen != "" {
		bg.Go(func() {
			if err := serveMetrics(ctx, a.cfg.MetricsListen, newHealth(a)); err != nil {
				errc <- fmt.Errorf("metrics: %w", err)
			}
		})
	}
	bg.Go(func() { n.Watchdog(ctx, func() bool { return time.Since(a.lastCycle()) < 3*a.cfg.Interval }) })
}

// safetyNet: a collector whose watch is live is collected when it says
// something changed, and at every safetyNet-th interval in case a change
// went unseen (a resize, an event lost); the others at every interval.
const safetyNet = 10

// tickNames is what the interval's tick-th collection takes: every
// collector but those watching, which come every safetyNet-th time.
func (a *Agent) tickNames(tick int) []string {
	all := a.names()
	if tick%safetyNet == 0 {
		return all
	}
	names := all[:0]
	for _, n := range all {
		if w := a.watching[n]; w == nil || !w.Load() {
			names = append(names, n)
		}
	}
	return names
}

// startWatchers starts every collector that can watch for changes and
// returns once each is subscribed (or has failed); each change sends the
// collector's name. A.watching says which watches are live.
func (a *Agent) startWatchers(ctx context.Context) <-chan string {
	triggers := make(chan string, 16)
	var wg sync.WaitGroup
	a.watching = map[string]*atomic.Bool{}
	for name := range a.collectors {
		a.watching[name] = new(atomic.Bool)
	}
	for name, c := range a.collectors {
		w, ok := c.(Watcher)
		if !ok {
			continue
		}
		wg.Add(1)
		done := sync.OnceFunc(wg.Done)
		live := a.watching[name]
		go func() {
			defer done()
			defer live.Store(false)
			changed := func() {
				select {
				case triggers <- name:
				default: // a collection of it is already queued
				}
			}
			ready := func() { live.Store(true); done() }
			a.noteErr(name, w.Watch(ctx, changed, ready))
		}()
	}
	wg.Wait()
	return triggers
}

// cycle collects the named collectors and spools what changed. A failing
// collector keeps its last state (no false removals).
func (a *Agent) cycle(ctx context.Context, names ...string) error {
	items, _ := a.collect(ctx, names...) // failures are noted per collector
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []wire.Event
	for _, name := range names {
		if its, ok := items[name]; ok {
			out = append(out, a.tracker.Update(name, its)...)
		}
	}
	a.last = time.Now()
	a.cycles++
	return a.spoolEvents(out)
}

func (a *Agent) markCycle() {
	a.mu.Lock()
	a.last = time.Now()
	a.cycles++
	a.mu.Unlock()
}

func statusLine(err error) string {
	if err != nil {
		return "running; " + err.Error()
	}
	return "running"
}
