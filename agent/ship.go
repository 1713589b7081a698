package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

// Shipper sends spooled events to the model server in batches and trims
// the spool as the server acknowledges them. It never drops an event on a
// send failure: it backs off and tries the same events again.
type Shipper struct {
	Spool    *Spool
	Client   *http.Client
	URL      string // the model server's base URL
	Token    string // this host's bearer token
	Host     string
	BatchMax int           // events per batch, default 5000
	MaxWait  time.Duration // longest backoff, default 30s
	// Log hears refusals and ignored events, at most one line per kind a
	// minute; OnHealth hears the status line whenever shipping starts or
	// stops failing (the agent passes it on as sd_notify STATUS=).
	Log      *log.Logger
	OnHealth func(status string)
	// Heartbeat, when set, is how often an idle shipper still posts (an
	// empty batch), so that the server knows this host's node states
	// are current: any change would have been shipped at once.
	Heartbeat time.Duration

	wake chan struct{}
	once sync.Once

	mu       sync.Mutex
	status   ShipStatus
	failing  bool
	loggedAt map[string]time.Time
	lastPost time.Time // last batch the server answered, heartbeats included
}

// ShipStatus is the shipper's health for /metrics.
type ShipStatus struct {
	LastSuccess time.Time
	LastError   string
	Errors      int64
	Sent        int64
	Ignored     int64 // events the server took for older than its stream (stale)
}

// Wake tells the shipper there are new events; it never blocks.
func (s *Shipper) Wake() {
	s.init()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Status returns a copy of the shipper's health.
func (s *Shipper) Status() ShipStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

func (s *Shipper) init() {
	s.once.Do(func() {
		s.wake = make(chan struct{}, 1)
		if s.BatchMax == 0 {
			s.BatchMax = 5000
		}
		if s.MaxWait == 0 {
			s.MaxWait = 30 * time.Second
		}
	})
}

// Run ships until ctx ends.
func (s *Shipper) Run(ctx context.Context) error {
	s.init()
	failures := 0
	for {
		sent, err := s.shipOnce(ctx)
		s.record(sent, err)
		wait := time.Duration(0)
		switch {
		case err != nil && !retryable(err):
			failures, wait = failures+1, s.MaxWait
		case err != nil:
			failures++
			wait = backoff(failures, s.MaxWait)
		case sent == 0 && s.Heartbeat > 0:
			failures, wait = 0, s.untilHeartbeat()
		case sent == 0:
			failures, wait = 0, s.MaxWait
		default:
			failures = 0
		}
		if wait == 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
			if err != nil {
				// New events do not make a failing server healthy: keep
				// the backoff, but do not sleep longer than it says.
				sleep(ctx, wait)
			}
		case <-time.After(wait):
		}
	}
}

// shipOnce sends one batch of pending events; it returns how many.
func (s *Shipper) shipOnce(ctx context.Context) (int, error) {
	recs, err := s.Spool.Pending(s.BatchMax)
	if err != nil {
		return 0, err
	}
	if len(recs) == 0 {
		return 0, s.heartbeat(ctx)
	}
	b := wire.NewBatch(s.Host)
	for _, r := range recs {
		var ev wire.Event
		if err := json.Unmarshal(r.Data, &ev); err != nil {
			return 0, fmt.Errorf("spooled event seq %d is unreadable: %w", r.Seq, err)
		}
		b.Add(ev)
	}
	gz, err := wire.Compress(b)
	if err != nil {
		return 0, err
	}
	ack, err := wire.Send(ctx, s.Client, s.URL, s.Token, gz)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.lastPost = time.Now()
	s.mu.Unlock()
	if ack.Stale > 0 {
		s.mu.Lock()
		s.status.Ignored += int64(ack.Stale)
		s.mu.Unlock()
		s.logf("stale", "the model server ignored %d events as older than what it holds for host %s "+
			"(its stream is at epoch %d; was the agent's spool %s reset?)", ack.Stale, s.Host, ack.Epoch, s.Spool.dir)
	}
	return len(recs), s.Spool.Ack(ack.Epoch, ack.Seq)
}

// heartbeat posts an empty batch when Heartbeat has passed since the
// server last answered.
func (s *Shipper) heartbeat(ctx context.Context) error {
	s.mu.Lock()
	due := s.Heartbeat > 0 && time.Since(s.lastPost) >= s.Heartbeat
	s.mu.Unlock()
	if !due {
		return nil
	}
	gz, err := wire.Compress(wire.NewBatch(s.Host))
	if err != nil {
		return err
	}
	if _, err := wire.Send(ctx, s.Client, s.URL, s.Token, gz); err != nil {
		return err
	}
	s.mu.Lock()
	s.lastPost = time.Now()
	s.mu.Unlock()
	return nil
}

// untilHeartbeat is how long until the next heartbeat is due.
func (s *Shipper) untilHeartbeat() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.Heartbeat-time.Since(s.lastPost), time.Millisecond)
}

// logf logs a line unless one of the same kind was logged in the last
// minute: a refusing server is retried every few seconds.
func (s *Shipper) logf(kind, format string, a ...any) {
	if s.Log == nil {
		return
	}
	s.mu.Lock()
	if s.loggedAt == nil {
		s.loggedAt = map[string]time.Time{}
	}
	now := time.Now()
	quiet := now.Sub(s.loggedAt[kind]) < time.Minute
	if !quiet {
		s.loggedAt[kind] = now
	}
	s.mu.Unlock()
	if !quiet {
		s.Log.Printf(format, a...)
	}
}

func (s *Shipper) record(sent int, err error) {
	s.mu.Lock()
	changed := (err != nil) != s.failing
	s.failing = err != nil
	if err != nil {
		s.status.Errors++
		s.status.LastError = err.Error()
	} else if sent > 0 {
		s.status.Sent += int64(sent)
		s.status.LastSuccess = time.Now()
	}
	s.mu.Unlock()
	if err != nil {
		kind := "error"
		var se *wire.StatusError
		if errors.As(err, &se) {
			kind = fmt.Sprint(se.Code)
		}
		s.logf(kind, "shipping to %s failed (events wait in the spool): %v", s.URL, err)
	}
	if changed && s.OnHealth != nil {
		if err != nil {
			s.OnHealth("running; shipping to " + s.URL + " fails: " + err.Error())
		} else {
			s.OnHealth("running; shipping to " + s.URL)
		}
	}
}

// backoff is exponential from 250 ms with ±25% jitter, capped at max.
func backoff(failures int, max time.Duration) time.Duration {
	d := 250 * time.Millisecond << min(failures-1, 10)
	d = min(d, max)
	return time.Duration(float64(d) * (0.75 + rand.Float64()/2))
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// retryable reports whether a send error may soon succeed: network errors
// and server-side refusals may, a rejected batch or token needs an
// operator, so the shipper then waits the longest backoff.
func retryable(err error) bool {
	var se *wire.StatusError
	if errors.As(err, &se) {
		return se.Retryable()
	}
	return true
}
