package model

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/storagegrid/storagegrid/internal/fail"
	"github.com/storagegrid/storagegrid/internal/flock"
	"github.com/storagegrid/storagegrid/internal/hostpath"
	"github.com/storagegrid/storagegrid/settings"
)

// shutdownGrace is how long requests in flight get when a server stops.
const shutdownGrace = 10 * time.Second

// LockStore takes the lock that says a process owns the database at
// dbPath: the server while it runs, restore and compact while they work.
// It lives beside the database so that it guards that file wherever it
// is. A lock another process holds is refused at once, not waited for.
func LockStore(ctx context.Context, dbPath string) (*flock.Lock, error) {
	try, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	l, err := flock.Acquire(try, "", filepath.Dir(dbPath), filepath.Base(dbPath))
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fail.Refusedf("model store %s is in use (is 'storagegrid model serve' running on it?)", dbPath)
	}
	return l, err
}

// RetentionFor is the retention the [model] settings ask for.
func RetentionFor(m settings.Model) Retention {
	return Retention{History: m.HistoryRetention.Duration, Metrics: m.MetricsRetention.Duration}
}

// ConfigFor makes a server's Config from the [model] settings: staleness,
// retention, compaction and the query token (model.query_token_file, a
// host path resolved under root). Store, Tokens and ClientCerts are left
// to the caller.
func ConfigFor(m settings.Model, root hostpath.Root) (Config, error) {
	cfg := Config{StaleAfter: m.StaleAfter.Duration, NodeStatesMaxAge: m.NodeStatesMaxAge.Duration,
		CompactEvery: m.CompactEvery.Duration, Retention: RetentionFor(m)}
	if m.QueryTokenFile == "" {
		return cfg, nil
	}
	var err error
	cfg.QueryToken, err = ReadTokenFile(root.Join(m.QueryTokenFile))
	return cfg, err
}

// BodyTimeout is how long a request, its body included, may take to
// arrive.
const BodyTimeout = 60 * time.Second

// Serve answers HTTP on ln until ctx ends, then shuts down, giving the
// requests in flight up to shutdownGrace. errLog receives the HTTP
// server's own errors, such as failed TLS handshakes.
func (s *Server) Serve(ctx context.Context, ln net.Listener, errLog *log.Logger) error {
	// ReadTimeout bounds the whole request, body included: a client
	// that sends its batch slowly must not hold a connection (and a
	// decode slot) for ever.
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: BodyTimeout, ErrorLog: errLog}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(shut); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}
