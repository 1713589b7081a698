package model

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

// API paths of the queries; ingest is wire.IngestPath.
const (
	PathHosts        = "/api/v1/hosts"
	PathNodes        = "/api/v1/nodes"
	PathChanges      = "/api/v1/changes"
	PathState        = "/api/v1/state"
	PathImpact       = "/api/v1/impact"
	PathCheckMigrate = "/api/v1/check-migrate"
	PathOkToStop     = "/api/v1/ok-to-stop"
	PathMetrics      = "/api/v1/metrics"
	PathFailures     = "/api/v1/failures"
	PathWhatIf       = "/api/v1/what-if"
	PathSwitches     = "/api/v1/switches"
	PathPlanPatch    = "/api/v1/plan-patch"
)

// Config configures a Server.
type Config struct {
	Store Store
	// Tokens lists the hosts that may ingest, with their bearer tokens.
	Tokens *Tokens
	// ClientCerts: the server is served over TLS that requires client
	// certificates, and a batch is only taken from a certificate naming
	// its host. Hosts listed without a token need it.
	ClientCerts bool
	// QueryToken, when set, is required as bearer token by the queries.
	QueryToken string
	// StaleAfter: a host silent for longer is not trusted by what-ifs.
	StaleAfter time.Duration
	// NodeStatesMaxAge, when set and shorter, is the window of ok-to-stop
	// and check-migrate: their verdicts rest on node states, which an
	// agent confirms at least every Heartbeat.
	NodeStatesMaxAge time.Duration
	Retention        Retention
	// CompactEvery is how often retention runs; 0 disables it.
	CompactEvery time.Duration
	Limits       wire.Limits
	// MaxDecodes bounds the batches decoded at once (each may take up to
	// Limits.MaxDecodedBytes and more in memory): others wait their
	// turn. 0 means DefaultMaxDecodes.
	MaxDecodes int
	// MaxGroup bounds how many batches share one transaction.
	MaxGroup int
	// FollowEvery is how often a server on a shared store (PostgreSQL)
	// takes in what other servers stored; 0 means DefaultFollowEvery.
	FollowEvery time.Duration
	Now         func() time.Time
	// Log, when set, hears refused batches (at most one line per host and
	// reason a minute) and store failures.
	Log *log.Logger
}

// DefaultMaxDecodes is how many batches are decoded at once by default.
const DefaultMaxDecodes = 2

// DefaultFollowEvery is how often a server on a shared store takes in the
// other servers' writes: well inside an agent's heartbeat, so that a
// what-if on any server sees what every server was told.
const DefaultFollowEvery = 250 * time.Millisecond

// Server is the model server: ingest, the live graph, queries.
type Server struct {
	cfg    Config
	tokens atomic.Pointer[Tokens]

	mu    sync.RWMutex // guards graph
	graph *Graph

	busySince atomic.Int64 // Unix ns the committer entered the store; 0 when idle

	shared SharedStore // nil unless other servers write the store too
	cursor int64       // the shared store's position followed so far

	queue   chan *pending
	stop    chan struct{}
	wg      sync.WaitGroup
	decodes chan struct{} // a slot per batch being decoded

	logMu    sync.Mutex
	loggedAt map[string]time.Time // last line per host and reason
	// Compactions reports the outcome of background compactions.
	Compactions chan error
}

// pending is a decoded batch waiting for the committer.
type pending struct {
	batch *wire.Batch
	done  chan result
}

type result struct {
	ack wire.Ack
	err error
}

// NewServer loads the graph from the store and starts the committer (and
// the compactor when configured). Close stops them.
func NewServer(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxGroup <= 0 {
		cfg.MaxGroup = 64
	}
	if cfg.Limits == (wire.Limits{}) {
		cfg.Limits = wire.DefaultLimits
	}
	if cfg.MaxDecodes <= 0 {
		cfg.MaxDecodes = DefaultMaxDecodes
	}
	if cfg.FollowEvery <= 0 {
		cfg.FollowEvery = DefaultFollowEvery
	}
	if err := cfg.checkTokens(cfg.Tokens); err != nil {
		return nil, err
	}
	// On a shared store the position comes first: what is stored while
	// the graph loads is followed again, which is harmless.
	var cursor int64
	shared, _ := cfg.Store.(SharedStore)
	if shared != nil {
		var err error
		if cursor, err = shared.Cursor(ctx); err != nil {
			return nil, err
		}
	}
	ents, err := cfg.Store.Entities(ctx)
	if err != nil {
		return nil, err
	}
	streams, err := cfg.Store.Streams(ctx)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, graph: NewGraph(ents, streams), shared: shared, cursor: cursor, queue: make(chan *pending, 256), stop: make(chan struct{}),
		Compactions: make(chan error, 1), decodes: make(chan struct{}, cfg.MaxDecodes), loggedAt: map[string]time.Time{}}
	s.tokens.Store(cfg.Tokens)
	s.wg.Add(1)
	go s.commitLoop()
	if cfg.CompactEvery > 0 {
		s.wg.Add(1)
		go s.compactLoop()
	}
	return s, nil
}

// SetTokens replaces the host tokens (on SIGHUP).
func (s *Server) SetTokens(t *Tokens) error {
	if err := s.cfg.checkTokens(t); err != nil {
		return err
	}
	s.tokens.Store(t)
	return nil
}

// checkTokens refuses hosts listed without a token when nothing else
// could authenticate them.
func (cfg *Config) checkTokens(t *Tokens) error {
	if h := t.tokenless(); h != "" && !cfg.ClientCerts {
		return fmt.Errorf("tokens file %s: host %s is listed without a token (\"%s %s\"), which needs client certificates (model.tls_client_ca)", t.name, h, h, certOnly)
	}
	return nil
}

// Close stops the background work. In-flight ingests get an error.
func (s *Server) Close() {
	close(s.stop)
	s.wg.Wait()
}

// commitLoop is the single writer: it takes a waiting batch plus whatever
// else is waiting (up to MaxGroup), stores them in one transaction,
// updates the graph in commit order and answers each. On a shared store
// it also follows the other servers' writes, between its own commits, so
// that the two never interleave in the graph.
func (s *Server) commitLoop() {
	defer s.wg.Done()
	var follow <-chan time.Time
	if s.shared != nil {
		t := time.NewTicker(s.cfg.FollowEvery)
		defer t.Stop()
		follow = t.C
	}
	for {
		var group []*pending
		select {
		case <-s.stop:
			return
		case <-follow:
			s.follow()
			continue
		case p := <-s.queue:
			group = append(group, p)
		}
	drain:
		for len(group) < s.cfg.MaxGroup {
			select {
			case p := <-s.queue:
				group = append(group, p)
			default:
				break drain
			}
		}
		s.commit(group)
	}
}

// storeStuckAfter is how long one store call may take before the server
// counts as wedged (and systemd's watchdog restarts it).
const storeStuckAfter = 2 * time.Minute

// Healthy reports whether the committer is not stuck in the store.
func (s *Server) Healthy() bool {
	since := s.busySince.Load()
	return since == 0 || time.Since(time.Unix(0, since)) < storeStuckAfter
}

func (s *Server) commit(group []*pending) {
	s.busySince.Store(time.Now().UnixNano())
	defer s.busySince.Store(0)
	batches := make([]*wire.Batch, len(group))
	for i, p := range group {
		batches[i] = p.batch
	}
	recv := s.cfg.Now()
	res, err := s.cfg.Store.Ingest(context.Background(), batches, recv)
	if err != nil {
		s.logf("store", "store", "storing %d batches failed: %v", len(group), err)
		// Nothing of the transaction was stored; the agents keep their
		// batches and send them again (the store may be back by then).
		err = &httpError{code: http.StatusServiceUnavailable, err: err}
		for _, p := range group {
			p.done <- result{err: err}
		}
		return
	}
	s.mu.Lock()
	for i, r := range res {
		s.graph.Apply(batches[i].Host, r.Changes, recv)
	}
	s.mu.Unlock()
	for i, p := range group {
		if from := res[i].RestartedFrom; from != 0 {
			s.logf(res[i].Ack.Host, "restart", "host %s started over at epoch %d, older than its stream's epoch %d "+
				"(its agent's spool was reset while its clock is behind?): taken as a new stream", res[i].Ack.Host, res[i].Ack.Epoch, from)
		}
		if a := res[i].Ack; a.Stale > 0 && len(batches[i].Events) > 0 {
			s.logf(a.Host, "stale", "host %s sent %d events of epoch %d, older than its stream's epoch %d: ignored "+
				"(an agent whose spool was reset while its clock is behind?)", a.Host, a.Stale, batches[i].Events[0].Epoch, a.Epoch)
		}
		p.done <- result{ack: res[i].Ack}
	}
}

// follow takes in what the shared store holds beyond the cursor: the
// entities other servers changed and every host's last contact.
func (s *Server) follow() {
	s.busySince.Store(time.Now().UnixNano())
	defer s.busySince.Store(0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ents, next, err := s.shared.Follow(ctx, s.cursor)
	var streams []HostStream
	if err == nil {
		streams, err = s.shared.Streams(ctx)
	}
	if err != nil {
		s.logf("store", "follow", "following the other servers' writes failed (retrying): %v", err)
		return
	}
	s.mu.Lock()
	s.graph.Refresh(ents, streams)
	s.mu.Unlock()
	s.cursor = next
}

func (s *Server) compactLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.CompactEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_, err := s.cfg.Store.Compact(context.Background(), s.cfg.Now(), s.cfg.Retention)
			select {
			case s.Compactions <- err:
			default:
			}
		}
	}
}

// Handler returns the HTTP API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+wire.IngestPath, s.ingest)
	mux.HandleFunc("GET "+wire.VersionPath, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, wire.VersionInfo{Wire: wire.Supported})
	})
	mux.HandleFunc("GET "+PathHosts, s.query(s.hosts))
	mux.HandleFunc("GET "+PathNodes, s.query(s.nodes))
	mux.HandleFunc("GET "+PathChanges, s.query(s.changes))
	mux.HandleFunc("GET "+PathState, s.query(s.state))
	mux.HandleFunc("GET "+PathImpact, s.query(s.impact))
	mux.HandleFunc("GET "+PathCheckMigrate, s.query(s.checkMigrate))
	mux.HandleFunc("GET "+PathOkToStop, s.query(s.okToStop))
	mux.HandleFunc("GET "+PathMetrics, s.query(s.metrics))
	mux.HandleFunc("GET "+PathFailures, s.query(s.failures))
	mux.HandleFunc("POST "+PathWhatIf, s.query(s.whatIfScenario))
	mux.HandleFunc("GET "+PathSwitches, s.query(s.switches))
	mux.HandleFunc("POST "+PathPlanPatch, s.query(s.planPatch))
	s.webRoutes(mux)
	return mux
}

// httpError is an error with the status it answers.
type httpError struct {
	code int
	err  error
	wire []int
}

func (e *httpError) Error() string { return e.err.Error() }

func errStatus(code int, format string, a ...any) error {
	return &httpError{code: code, err: fmt.Errorf(format, a...)}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, err error) {
	he := &httpError{code: http.StatusInternalServerError, err: err}
	var ce *ErrCompacted
	switch {
	case errors.As(err, &he):
	case errors.Is(err, ErrNotFound):
		he.code = http.StatusNotFound
	case errors.As(err, &ce):
		he.code = http.StatusGone
	}
	if he.code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="storagegrid-model"`)
	}
	if he.wire != nil {
		w.Header().Set(wire.VersionHeader, strings.Trim(fmt.Sprint(he.wire), "[]"))
	}
	writeJSON(w, he.code, wire.ErrorBody{Error: he.err.Error(), Wire: he.wire})
}

func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// ingest authenticates, decodes and queues a batch, and answers its ack.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	ack, err := s.receive(r)
	if err != nil {
		who, _ := s.tokens.Load().Host(bearer(r))
		switch {
		case who != "":
		case r.RemoteAddr == "" || r.RemoteAddr == "@":
			who = "a local client (Unix socket)" // an unnamed socket peer
		default:
			who = r.RemoteAddr
		}
		code := http.StatusInternalServerError
		var he *httpError
		if errors.As(err, &he) {
			code = he.code
		}
		if r.Context().Err() == nil {
			s.logf(who, fmt.Sprint(code), "refused a batch from %s (HTTP %d): %v", who, code, err)
		}
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ack)
}

// logf logs a line unless one for the same who and reason was logged in
// the last minute: a misconfigured agent retries every few seconds.
func (s *Server) logf(who, reason, format string, a ...any) {
	if s.cfg.Log == nil {
		return
	}
	s.logMu.Lock()
	key, now := who+" "+reason, time.Now()
	quiet := now.Sub(s.loggedAt[key]) < time.Minute
	if !quiet {
		s.loggedAt[key] = now
	}
	s.logMu.Unlock()
	if !quiet {
		s.cfg.Log.Printf(format, a...)
	}
}

func (s *Server) receive(r *http.Request) (wire.Ack, error) {
	tokens, token := s.tokens.Load(), bearer(r)
	tokenHost, tokenOK := tokens.Host(token)
	switch {
	case !tokenOK && (token != "" || !s.cfg.ClientCerts):
		return wire.Ack{}, errStatus(http.StatusUnauthorized, "missing or unknown bearer token")
	case s.cfg.ClientCerts && certHosts(r.TLS) == nil:
		return wire.Ack{}, errStatus(http.StatusUnauthorized, "no verified client certificate naming a host")
	}
	if r.ContentLength > s.cfg.Limits.MaxBodyBytes {
		return wire.Ack{}, errStatus(http.StatusRequestEntityTooLarge, "body of %d bytes exceeds the limit of %d", r.ContentLength, s.cfg.Limits.MaxBodyBytes)
	}
	// Decoding takes memory up to the decoded limit: a few at a time.
	select {
	case s.decodes <- struct{}{}:
	case <-r.Context().Done():
		return wire.Ack{}, r.Context().Err()
	}
	b, err := wire.DecodeBody(r.Body, r.Header.Get("Content-Encoding"), s.cfg.Limits)
	<-s.decodes
	if err != nil {
		return wire.Ack{}, decodeStatus(err)
	}
	if err := s.authorize(r, tokens, b.Host, tokenHost); err != nil {
		return wire.Ack{}, err
	}
	p := &pending{batch: b, done: make(chan result, 1)}
	select {
	case s.queue <- p:
	case <-s.stop:
		return wire.Ack{}, errStatus(http.StatusServiceUnavailable, "model server is shutting down")
	case <-r.Context().Done():
		return wire.Ack{}, r.Context().Err()
	}
	// Once queued the batch is stored whatever the client does; wait for
	// the ack so a connected agent can trim its spool.
	select {
	case res := <-p.done:
		return res.ack, res.err
	case <-s.stop:
		return wire.Ack{}, errStatus(http.StatusServiceUnavailable, "model server is shutting down")
	}
}

func decodeStatus(err error) error {
	var ve *wire.VersionError
	switch {
	case errors.As(err, &ve):
		return &httpError{code: http.StatusBadRequest, err: err, wire: wire.Supported}
	case errors.Is(err, wire.ErrTooLarge):
		return &httpError{code: http.StatusRequestEntityTooLarge, err: fmt.Errorf("batch rejected: %w", err)}
	case strings.HasPrefix(err.Error(), "unsupported Content-Encoding"):
		return &httpError{code: http.StatusUnsupportedMediaType, err: err}
	}
	return &httpError{code: http.StatusBadRequest, err: fmt.Errorf("batch rejected: %w", err)}
}

// authorize lets a batch of host in when the host is listed and every
// credential configured for it names it: the bearer token when one was
// sent or the host has one, the client certificate when the server
// requires them.
func (s *Server) authorize(r *http.Request, tokens *Tokens, host, tokenHost string) error {
	listed, hasToken := tokens.listed(host)
	switch {
	case tokenHost != "" && tokenHost != host:
		return errStatus(http.StatusForbidden, "the token of host %s cannot send events of host %s", tokenHost, host)
	case !listed:
		return errStatus(http.StatusForbidden, "host %s is not in the tokens file", host)
	case hasToken && tokenHost == "":
		return errStatus(http.StatusUnauthorized, "host %s must send its bearer token", host)
	}
	if !s.cfg.ClientCerts {
		return nil
	}
	names := certHosts(r.TLS)
	if !slices.Contains(names, host) {
		return errStatus(http.StatusForbidden, "the client certificate of %s cannot send events of host %s", strings.Join(names, ", "), host)
	}
	return nil
}

// query wraps a read-only endpoint: the optional query token, JSON out.
func (s *Server) query(h func(r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if want := s.cfg.QueryToken; want != "" && subtle.ConstantTimeCompare([]byte(bearer(r)), []byte(want)) != 1 {
			writeErr(w, errStatus(http.StatusUnauthorized, "missing or wrong query token"))
			return
		}
		v, err := h(r)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func (s *Server) whatIf() WhatIf {
	w := WhatIf{Now: s.cfg.Now(), StaleAfter: s.cfg.StaleAfter}
	if a := s.cfg.NodeStatesMaxAge; a > 0 && a < w.StaleAfter {
		w.StaleAfter = a
	}
	return w
}

func (s *Server) hosts(*http.Request) (any, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.graph.Hosts(s.cfg.Now().Add(-s.cfg.StaleAfter)), nil
}

func (s *Server) nodes(r *http.Request) (any, error) {
	host := r.URL.Query().Get("host")
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []Node{}
	for _, n := range s.graph.Nodes() {
		if host == "" || n.Host == host {
			out = append(out, *n)
		}
	}
	return out, nil
}

func (s *Server) changes(r *http.Request) (any, error) {
	q := r.URL.Query()
	var cq ChangeQuery
	var err error
	if cq.Since, err = timeParam(q.Get("since"), "since"); err != nil {
		return nil, err
	}
	if q.Get("until") != "" {
		if cq.Until, err = timeParam(q.Get("until"), "until"); err != nil {
			return nil, err
		}
	}
	cq.Host, cq.Kind = q.Get("host"), wire.Kind(q.Get("kind"))
	if l := q.Get("limit"); l != "" {
		if cq.Limit, err = strconv.Atoi(l); err != nil || cq.Limit < 0 {
			return nil, errStatus(http.StatusBadRequest, "limit %q: not a count", l)
		}
	}
	out, err := s.cfg.Store.Changes(r.Context(), cq)
	if out == nil {
		out = []Change{}
	}
	return out, err
}

// State is the answer of PathState.
type State struct {
	At       time.Time `json:"at"`
	Entities []Entity  `json:"entities"`
}

// OfKind keeps the entities of one kind; "" keeps them all.
func (st State) OfKind(kind wire.Kind) State {
	if kind != "" {
		st.Entities = slices.DeleteFunc(st.Entities, func(e Entity) bool { return e.Kind != kind })
	}
	return st
}

// state answers the entities at a past time, or the current ones when
// no time is given.
func (s *Server) state(r *http.Request) (any, error) {
	q := r.URL.Query()
	host := q.Get("host")
	var ents []Entity
	at := s.cfg.Now()
	var err error
	if q.Get("at") == "" {
		ents, err = s.cfg.Store.Entities(r.Context())
		ents = slices.DeleteFunc(ents, func(e Entity) bool { return host != "" && e.Host != host })
	} else {
		if at, err = timeParam(q.Get("at"), "at"); err != nil {
			return nil, err
		}
		ents, err = s.cfg.Store.StateAt(r.Context(), at, host)
	}
	if ents == nil {
		ents = []Entity{}
	}
	SortEntities(ents)
	return State{At: at, Entities: ents}, err
}

func (s *Server) impact(r *http.Request) (any, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ref, err := s.graph.ParseRef(r.URL.Query().Get("entity"))
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			err = &httpError{code: http.StatusBadRequest, err: err}
		}
		return nil, err
	}
	return s.graph.Impact(ref), nil
}

func (s *Server) checkMigrate(r *http.Request) (any, error) {
	q := r.URL.Query()
	if q.Get("node") == "" || q.Get("to") == "" {
		return nil, errStatus(http.StatusBadRequest, "check-migrate needs node and to")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.graph.CheckMigrate(s.whatIf(), q.Get("node"), q.Get("to"))
}

func (s *Server) okToStop(r *http.Request) (any, error) {
	host := r.URL.Query().Get("host")
	if host == "" {
		return nil, errStatus(http.StatusBadRequest, "ok-to-stop needs host")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.graph.OkToStop(s.whatIf(), host)
}

func (s *Server) failures(r *http.Request) (any, error) {
	q := r.URL.Query()
	fq := FailureQuery{Site: q.Get("site")}
	if d := q.Get("depth"); d != "" {
		var err error
		if fq.Depth, err = strconv.Atoi(d); err != nil {
			return nil, errStatus(http.StatusBadRequest, "depth %q: want 1 or 2", d)
		}
	}
	if k := q.Get("kind"); k != "" {
		fq.Kinds = strings.Split(k, ",")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	rep, err := s.graph.Failures(fq)
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = &httpError{code: http.StatusBadRequest, err: err}
	}
	return rep, err
}

func (s *Server) switches(*http.Request) (any, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []Switch{}
	for _, sw := range s.graph.Switches() {
		out = append(out, *sw)
	}
	return out, nil
}

func (s *Server) planPatch(r *http.Request) (any, error) {
	var q PatchQuery
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return nil, errStatus(http.StatusBadRequest, "plan-patch: malformed request: %v", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.graph.PlanPatch(s.whatIf(), q)
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = &httpError{code: http.StatusBadRequest, err: err}
	}
	return p, err
}

// ScenarioRequest is the body of PathWhatIf.
type ScenarioRequest struct {
	Steps []Step `json:"steps"`
}

// maxScenarioBytes bounds a what-if request: added hosts' snapshots make
// the bulk of it.
const maxScenarioBytes = 16 << 20

func (s *Server) whatIfScenario(r *http.Request) (any, error) {
	var req ScenarioRequest
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxScenarioBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, errStatus(http.StatusBadRequest, "what-if: malformed request: %v", err)
	}
	if len(req.Steps) == 0 {
		return nil, errStatus(http.StatusBadRequest, "what-if: no steps")
	}
	return s.scenario(req.Steps)
}

// scenario runs a what-if on the live graph: for the API and the page.
func (s *Server) scenario(steps []Step) (ScenarioReport, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rep, err := s.graph.Scenario(s.whatIf(), steps)
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = &httpError{code: http.StatusBadRequest, err: err}
	}
	return rep, err
}

func (s *Server) metrics(r *http.Request) (any, error) {
	q := r.URL.Query()
	mq := MetricQuery{Host: q.Get("host"), Prefix: q.Get("prefix")}
	if q.Get("since") != "" {
		var err error
		if mq.Since, err = timeParam(q.Get("since"), "since"); err != nil {
			return nil, err
		}
	}
	out, err := s.cfg.Store.Metrics(r.Context(), mq)
	if out == nil {
		out = []Series{}
	}
	return out, err
}

func timeParam(v, name string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, errStatus(http.StatusBadRequest, "%s %q: want an RFC 3339 time", name, v)
	}
	return t, nil
}
