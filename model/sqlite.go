package model

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
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

	mu sync.Mutex // serialises Ingest and Compact, guards the maps
	memState
	sqlReads // on r
}

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
	s.sqlReads = sqlReads{db: s.r}
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
	s.memState = newMemState()
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
	return s.scanSeries(rows)
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
	rw, err := prepareSQLite(ctx, tx)
	var out []Ingested
	if err == nil {
		out, err = runIngest(&s.memState, rw, batches, recv)
	}
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

// sqliteWriter writes an ingest's rows through prepared statements of
// its transaction.
type sqliteWriter struct {
	ctx context.Context
	tx  *sql.Tx

	putEnt, touchEnt, delEnt, addChg, putStr, latest, roll *sql.Stmt
}

func prepareSQLite(ctx context.Context, tx *sql.Tx) (*sqliteWriter, error) {
	w := &sqliteWriter{ctx: ctx, tx: tx}
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = tx.PrepareContext(ctx, q)
		return st
	}
	w.putEnt = prep(`INSERT INTO entities (host, kind, id, fields, since, seen_epoch, seen_seq) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (host, kind, id) DO UPDATE SET fields = excluded.fields, since = excluded.since,
		seen_epoch = excluded.seen_epoch, seen_seq = excluded.seen_seq`)
	w.touchEnt = prep(`UPDATE entities SET seen_epoch = ?, seen_seq = ? WHERE host = ? AND kind = ? AND id = ?`)
	w.delEnt = prep(`DELETE FROM entities WHERE host = ? AND kind = ? AND id = ?`)
	w.addChg = prep(`INSERT INTO changes (time, recv, host, kind, entity, op, fields, epoch, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	w.putStr = prep(`INSERT INTO streams (host, epoch, seq, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (host) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq, last_seen = excluded.last_seen`)
	w.latest = prep(`INSERT INTO metric_latest (series, time, value) VALUES (?, ?, ?)
		ON CONFLICT (series) DO UPDATE SET time = excluded.time, value = excluded.value WHERE excluded.time >= metric_latest.time`)
	w.roll = prep(`INSERT INTO metric_minute (series, minute, n, vsum, vmin, vmax) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (series, minute) DO UPDATE SET n = n + excluded.n, vsum = vsum + excluded.vsum,
		vmin = min(vmin, excluded.vmin), vmax = max(vmax, excluded.vmax)`)
	return w, err
}

func (w *sqliteWriter) putEntity(host string, k kindID, fields string, since time.Time, epoch int64, seq uint64) error {
	_, err := w.putEnt.ExecContext(w.ctx, host, string(k.kind), k.id, fields, since.UnixNano(), epoch, int64(seq))
	return err
}

func (w *sqliteWriter) touchEntity(host string, k kindID, epoch int64, seq uint64) error {
	_, err := w.touchEnt.ExecContext(w.ctx, epoch, int64(seq), host, string(k.kind), k.id)
	return err
}

func (w *sqliteWriter) delEntity(host string, k kindID) error {
	_, err := w.delEnt.ExecContext(w.ctx, host, string(k.kind), k.id)
	return err
}

func (w *sqliteWriter) addChange(ch *Change, recv time.Time, epoch int64, seq uint64) error {
	_, err := w.addChg.ExecContext(w.ctx, ch.Time.UnixNano(), recv.UnixNano(), ch.Host, string(ch.Kind), ch.ID,
		ch.Op, encodeFields(ch.Fields), epoch, int64(seq))
	return err
}

func (w *sqliteWriter) putStream(st *HostStream) error {
	_, err := w.putStr.ExecContext(w.ctx, st.Host, st.Epoch, int64(st.Seq), st.FirstSeen.UnixNano(), st.LastSeen.UnixNano())
	return err
}

func (w *sqliteWriter) internSeries(mem *memState, keys []seriesKey) error {
	for _, k := range keys {
		var id int64
		if err := w.tx.QueryRowContext(w.ctx, `INSERT INTO series (host, name) VALUES (?, ?) RETURNING id`, k.host, k.name).Scan(&id); err != nil {
			return err
		}
		mem.series[k] = id
	}
	return nil
}

func (w *sqliteWriter) putLatest(series int64, s sampleAt) error {
	_, err := w.latest.ExecContext(w.ctx, series, s.t.UnixNano(), s.v)
	return err
}

func (w *sqliteWriter) putMinute(series, minute int64, r *rollAcc) error {
	_, err := w.roll.ExecContext(w.ctx, series, minute, r.n, r.sum, r.min, r.max)
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
