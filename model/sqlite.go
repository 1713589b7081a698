package model

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/storagegrid/storagegrid/wire"

	// The pure-Go SQLite: the model server must build without cgo.
	_ "modernc.org/sqlite"
)

// schemaVersion is the layout of the tables below; a store refuses a
// database written by a newer layout.
const schemaVersion = 1

// schema creates the tables. Times are Unix nanoseconds; roll-up minutes
// are Unix minutes. changes.fields holds [field, from, to] triples.
const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS streams (
	host TEXT PRIMARY KEY, epoch INTEGER NOT NULL, seq INTEGER NOT NULL,
	first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entities (
	host TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, fields TEXT NOT NULL,
	since INTEGER NOT NULL, seen_epoch INTEGER NOT NULL, seen_seq INTEGER NOT NULL,
	PRIMARY KEY (host, kind, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (
	id INTEGER PRIMARY KEY, time INTEGER NOT NULL, recv INTEGER NOT NULL,
	host TEXT NOT NULL, kind TEXT NOT NULL, entity TEXT NOT NULL, op TEXT NOT NULL,
	fields TEXT NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS changes_time ON changes (time);
CREATE INDEX IF NOT EXISTS changes_entity ON changes (host, kind, entity, id);
CREATE TABLE IF NOT EXISTS series (
	id INTEGER PRIMARY KEY, host TEXT NOT NULL, name TEXT NOT NULL, UNIQUE (host, name));
CREATE TABLE IF NOT EXISTS metric_latest (
	series INTEGER PRIMARY KEY, time INTEGER NOT NULL, value REAL NOT NULL);
CREATE TABLE IF NOT EXISTS metric_minute (
	series INTEGER NOT NULL, minute INTEGER NOT NULL, n INTEGER NOT NULL,
	vsum REAL NOT NULL, vmin REAL NOT NULL, vmax REAL NOT NULL,
	PRIMARY KEY (series, minute)) WITHOUT ROWID;
`

// SQLiteStore is the embedded Store. It keeps the current entities and
// stream positions in memory as well, because resolving a diff or a
// duplicate needs them for every event; the database is the truth and the
// memory is reloaded from it after a failed transaction.
type SQLiteStore struct {
	path string
	w    *sql.DB // one connection: SQLite has one writer
	r    *sql.DB // readers, concurrent with the writer thanks to WAL

	mu      sync.Mutex // serialises Ingest and Compact, guards the maps
	cur     map[string]map[kindID]*cached
	streams map[string]*HostStream
	series  map[seriesKey]int64
}

type kindID struct {
	kind wire.Kind
	id   string
}

type cached struct {
	fields    map[string]string
	since     time.Time
	seenEpoch int64
	seenSeq   uint64
}

type seriesKey struct{ host, name string }

// OpenSQLite opens (creating if needed) the store at path.
func OpenSQLite(ctx context.Context, path string) (*SQLiteStore, error) {
	// The model holds every host's layout: readable by its owner only,
	// whatever the umask (SQLite gives its -wal and -shm files the
	// database file's mode).
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("model store %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("model store %s: %w", path, err)
	}
	err = f.Chmod(0o600)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("model store %s: %w", path, err)
	}
	s := &SQLiteStore{path: path}

	// synchronous=FULL: an acknowledged batch must survive a power cut,
	// since the agent trims its spool on the ack.
	s.w, err = openDB(path, "_txlock=immediate&_auto_vacuum=INCREMENTAL&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		return nil, err
	}
	s.w.SetMaxOpenConns(1)
	if err := s.initSchema(ctx); err != nil {
		s.w.Close()
		return nil, err
	}
	s.r, err = openDB(path, "_pragma=query_only(1)")
	if err != nil {
		s.w.Close()
		return nil, err
	}
	s.r.SetMaxOpenConns(4)
	if err := s.reload(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func openDB(path, params string) (*sql.DB, error) {
	u := url.URL{Scheme: "file", Path: path, RawQuery: "_pragma=busy_timeout(10000)&" + params}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("model store %s: %w", path, err)
	}
	return db, nil
}

func (s *SQLiteStore) initSchema(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("model store %s: creating tables: %w", s.path, err)
	}
	var v string
	err := s.w.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = s.w.ExecContext(ctx, `INSERT INTO meta VALUES ('schema', ?)`, strconv.Itoa(schemaVersion))
		return err
	}
	if err != nil {
		return fmt.Errorf("model store %s: %w", s.path, err)
	}
	if n, _ := strconv.Atoi(v); n != schemaVersion {
		return fmt.Errorf("model store %s: schema version %s, this program reads %d", s.path, v, schemaVersion)
	}
	return nil
}

// Close closes the database.
func (s *SQLiteStore) Close() error {
	var errR error
	if s.r != nil {
		errR = s.r.Close()
	}
	return errors.Join(s.w.Close(), errR)
}

// reload fills the in-memory maps from the database.
func (s *SQLiteStore) reload(ctx context.Context) error {
	s.cur = map[string]map[kindID]*cached{}
	s.streams = map[string]*HostStream{}
	s.series = map[seriesKey]int64{}
	rows, err := s.w.QueryContext(ctx, `SELECT host, kind, id, fields, since, seen_epoch, seen_seq FROM entities`)
	if err != nil {
		return fmt.Errorf("model store %s: %w", s.path, err)
	}
	for rows.Next() {
		var host, kind, id, fields string
		var since int64
		c := &cached{}
		if err := rows.Scan(&host, &kind, &id, &fields, &since, &c.seenEpoch, &c.seenSeq); err != nil {
			rows.Close()
			return err
		}
		if err := json.Unmarshal([]byte(fields), &c.fields); err != nil {
			rows.Close()
			return fmt.Errorf("model store %s: entity %s/%s/%s: %w", s.path, host, kind, id, err)
		}
		c.since = time.Unix(0, since)
		s.hostMap(host)[kindID{wire.Kind(kind), id}] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	streams, err := queryStreams(ctx, s.w)
	if err != nil {
		return err
	}
	for i := range streams {
		s.streams[streams[i].Host] = &streams[i]
	}
	return s.loadSeries(ctx)
}

func (s *SQLiteStore) loadSeries(ctx context.Context) error {
	rows, err := s.w.QueryContext(ctx, `SELECT id, host, name FROM series`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var k seriesKey
		if err := rows.Scan(&id, &k.host, &k.name); err != nil {
			return err
		}
		s.series[k] = id
	}
	return rows.Err()
}

func (s *SQLiteStore) hostMap(host string) map[kindID]*cached {
	m := s.cur[host]
	if m == nil {
		m = map[kindID]*cached{}
		s.cur[host] = m
	}
	return m
}

// Entities returns every current entity, from memory (what the database
// holds after the last commit).
func (s *SQLiteStore) Entities(context.Context) ([]Entity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Entity
	for host, m := range s.cur {
		for k, c := range m {
			out = append(out, Entity{Host: host, Kind: k.kind, ID: k.id, Fields: c.fields, Since: c.since})
		}
	}
	return out, nil
}

// Streams returns the stream state of every host.
func (s *SQLiteStore) Streams(ctx context.Context) ([]HostStream, error) {
	return queryStreams(ctx, s.r)
}

func queryStreams(ctx context.Context, db *sql.DB) ([]HostStream, error) {
	rows, err := db.QueryContext(ctx, `SELECT host, epoch, seq, first_seen, last_seen FROM streams ORDER BY host`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []HostStream
	for rows.Next() {
		var h HostStream
		var first, last int64
		if err := rows.Scan(&h.Host, &h.Epoch, &h.Seq, &first, &last); err != nil {
			return nil, err
		}
		h.FirstSeen, h.LastSeen = time.Unix(0, first), time.Unix(0, last)
		out = append(out, h)
	}
	return out, rows.Err()
}

// Ingest stores batches in one transaction. See Store.
func (s *SQLiteStore) Ingest(ctx context.Context, batches []*wire.Batch, recv time.Time) ([]Ingested, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("model store: %w", err)
	}
	w := &ingestTx{s: s, tx: tx, ctx: ctx, recv: recv, agg: newMetricAgg()}
	out, err := w.run(batches)
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		_ = tx.Rollback()
		// The maps may hold what the rolled-back transaction wrote.
		if rerr := s.reload(context.WithoutCancel(ctx)); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, fmt.Errorf("model store: storing batch: %w", err)
	}
	return out, nil
}

// ingestTx is one Ingest transaction with its prepared statements.
type ingestTx struct {
	s    *SQLiteStore
	tx   *sql.Tx
	ctx  context.Context
	recv time.Time
	agg  *metricAgg

	putEntity, touchEntity, delEntity, addChange, putStream *sql.Stmt
}

func (w *ingestTx) prepare() error {
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = w.tx.PrepareContext(w.ctx, q)
		return st
	}
	w.putEntity = prep(`INSERT INTO entities (host, kind, id, fields, since, seen_epoch, seen_seq) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (host, kind, id) DO UPDATE SET fields = excluded.fields, since = excluded.since,
		seen_epoch = excluded.seen_epoch, seen_seq = excluded.seen_seq`)
	w.touchEntity = prep(`UPDATE entities SET seen_epoch = ?, seen_seq = ? WHERE host = ? AND kind = ? AND id = ?`)
	w.delEntity = prep(`DELETE FROM entities WHERE host = ? AND kind = ? AND id = ?`)
	w.addChange = prep(`INSERT INTO changes (time, recv, host, kind, entity, op, fields, epoch, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	w.putStream = prep(`INSERT INTO streams (host, epoch, seq, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (host) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq, last_seen = excluded.last_seen`)
	return err
}

func (w *ingestTx) run(batches []*wire.Batch) ([]Ingested, error) {
	if err := w.prepare(); err != nil {
		return nil, err
	}
	out := make([]Ingested, len(batches))
	for i, b := range batches {
		res, err := w.batch(b)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", b.Host, err)
		}
		out[i] = res
	}
	return out, w.agg.flush(w)
}

func (w *ingestTx) batch(b *wire.Batch) (Ingested, error) {
	st := w.s.streams[b.Host]
	if st == nil {
		st = &HostStream{Host: b.Host, FirstSeen: w.recv}
		w.s.streams[b.Host] = st
	}
	res := Ingested{Ack: wire.Ack{Host: b.Host}}
	for i := range b.Events {
		ev := &b.Events[i]
		if ev.Epoch < st.Epoch && ev.Seq == 1 && ev.Op == wire.OpSnapshot {
			// The first event of a stream, at an epoch older than the
			// host's: its agent started over (its spool was lost, its
			// clock is behind). A healthy agent never sends an older
			// epoch after a newer one (its spool ships in order and
			// acks are cumulative), so this is a new stream, taken
			// whatever its epoch; the server says so.
			res.RestartedFrom = st.Epoch
			st.Epoch, st.Seq = ev.Epoch, 0
		}
		switch {
		case ev.Epoch < st.Epoch:
			res.Ack.Stale++
			continue
		case ev.Epoch == st.Epoch && ev.Seq <= st.Seq:
			res.Ack.Duplicates++
			continue
		}
		st.Epoch, st.Seq = ev.Epoch, ev.Seq
		res.Ack.Stored++
		if err := w.apply(ev, &res.Changes); err != nil {
			return res, fmt.Errorf("epoch %d seq %d: %w", ev.Epoch, ev.Seq, err)
		}
	}
	st.LastSeen = w.recv
	res.Ack.Epoch, res.Ack.Seq = st.Epoch, st.Seq
	_, err := w.putStream.ExecContext(w.ctx, st.Host, st.Epoch, int64(st.Seq), st.FirstSeen.UnixNano(), st.LastSeen.UnixNano())
	return res, err
}

// apply resolves one new event against the current state.
func (w *ingestTx) apply(ev *wire.Event, changes *[]Change) error {
	k := kindID{ev.Kind, ev.ID}
	switch ev.Op {
	case wire.OpSample:
		v, _ := wire.ParseValue(ev.Fields[wire.FieldValue]) // checked by wire
		w.agg.add(ev.Host, ev.ID, ev.Time, v)
		return nil
	case wire.OpSnapshot, wire.OpAdded:
		return w.put(ev, k, ev.Fields, changes)
	case wire.OpChanged:
		return w.put(ev, k, merged(w.s.cur[ev.Host][k], ev), changes)
	case wire.OpRemoved:
		return w.remove(ev, k, changes)
	case wire.OpSnapshotEnd:
		first, _ := strconv.ParseUint(ev.Fields[wire.FieldFirstSeq], 10, 64) // checked by wire
		var gone []kindID
		for k, c := range w.s.cur[ev.Host] {
			// Gone unless seen in this snapshot: not seenEpoch < epoch,
			// which would keep what a stream started over at an older
			// epoch no longer has.
			if c.seenEpoch != ev.Epoch || c.seenSeq < first {
				gone = append(gone, k)
			}
		}
		// In a stable order, so the history reads the same every time.
		slices.SortFunc(gone, func(a, b kindID) int {
			return cmp.Or(cmp.Compare(kindOrder(a.kind), kindOrder(b.kind)), strings.Compare(a.id, b.id))
		})
		for _, k := range gone {
			if err := w.remove(ev, k, changes); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown op %q", ev.Op)
}

// merged applies a changed event to the entity's fields. A change of an
// entity the store does not know makes it with the fields given.
func merged(old *cached, ev *wire.Event) map[string]string {
	f := make(map[string]string, len(ev.Fields)+8)
	if old != nil {
		maps.Copy(f, old.fields)
	}
	maps.Copy(f, ev.Fields)
	for _, u := range ev.Unset {
		delete(f, u)
	}
	return f
}

func (w *ingestTx) put(ev *wire.Event, k kindID, fields map[string]string, changes *[]Change) error {
	if fields == nil {
		fields = map[string]string{}
	}
	old := w.s.cur[ev.Host][k]
	if old != nil && maps.Equal(old.fields, fields) {
		old.seenEpoch, old.seenSeq = ev.Epoch, ev.Seq
		_, err := w.touchEntity.ExecContext(w.ctx, ev.Epoch, int64(ev.Seq), ev.Host, string(k.kind), k.id)
		return err
	}
	var before map[string]string
	op := OpAdded
	if old != nil {
		before, op = old.fields, OpChanged
	}
	ch := Change{Time: ev.Time, Host: ev.Host, Kind: k.kind, ID: k.id, Op: op, Fields: diff(before, fields), After: fields}
	if err := w.record(&ch, ev); err != nil {
		return err
	}
	js, _ := json.Marshal(fields)
	if _, err := w.putEntity.ExecContext(w.ctx, ev.Host, string(k.kind), k.id, string(js), ev.Time.UnixNano(), ev.Epoch, int64(ev.Seq)); err != nil {
		return err
	}
	w.s.hostMap(ev.Host)[k] = &cached{fields: fields, since: ev.Time, seenEpoch: ev.Epoch, seenSeq: ev.Seq}
	*changes = append(*changes, ch)
	return nil
}

func (w *ingestTx) remove(ev *wire.Event, k kindID, changes *[]Change) error {
	old := w.s.cur[ev.Host][k]
	if old == nil {
		return nil
	}
	ch := Change{Time: ev.Time, Host: ev.Host, Kind: k.kind, ID: k.id, Op: OpRemoved, Fields: diff(old.fields, nil)}
	if err := w.record(&ch, ev); err != nil {
		return err
	}
	if _, err := w.delEntity.ExecContext(w.ctx, ev.Host, string(k.kind), k.id); err != nil {
		return err
	}
	delete(w.s.cur[ev.Host], k)
	*changes = append(*changes, ch)
	return nil
}

func (w *ingestTx) record(ch *Change, ev *wire.Event) error {
	_, err := w.addChange.ExecContext(w.ctx, ch.Time.UnixNano(), w.recv.UnixNano(), ch.Host, string(ch.Kind), ch.ID,
		ch.Op, encodeFields(ch.Fields), ev.Epoch, int64(ev.Seq))
	return err
}

// diff lists the fields that differ between before and after, sorted.
func diff(before, after map[string]string) []FieldChange {
	var out []FieldChange
	for k, v := range after {
		if old, ok := before[k]; !ok || old != v {
			out = append(out, FieldChange{Field: k, From: strPtr(old, ok), To: strPtr(v, true)})
		}
	}
	for k, v := range before {
		if _, ok := after[k]; !ok {
			out = append(out, FieldChange{Field: k, From: strPtr(v, true)})
		}
	}
	sortFieldChanges(out)
	return out
}

func strPtr(s string, ok bool) *string {
	if !ok {
		return nil
	}
	return &s
}

// encodeFields writes field changes as compact [field, from, to] triples.
func encodeFields(fc []FieldChange) string {
	t := make([][3]*string, len(fc))
	for i := range fc {
		t[i] = [3]*string{&fc[i].Field, fc[i].From, fc[i].To}
	}
	b, _ := json.Marshal(t)
	return string(b)
}

func decodeFields(s string) ([]FieldChange, error) {
	var t [][3]*string
	if err := json.Unmarshal([]byte(s), &t); err != nil {
		return nil, err
	}
	out := make([]FieldChange, 0, len(t))
	for _, x := range t {
		if x[0] == nil {
			return nil, errors.New("field change without a field name")
		}
		out = append(out, FieldChange{Field: *x[0], From: x[1], To: x[2]})
	}
	return out, nil
}
