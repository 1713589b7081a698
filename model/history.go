package model

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/storagegrid/storagegrid/wire"
)

// ErrCompacted is wrapped when a history read reaches before the history
// floor: compaction folded that past away.
type ErrCompacted struct{ Floor time.Time }

func (e *ErrCompacted) Error() string {
	return fmt.Sprintf("history before %s has been compacted", e.Floor.UTC().Format(time.RFC3339))
}

func sortFieldChanges(fc []FieldChange) {
	sort.Slice(fc, func(i, j int) bool { return fc[i].Field < fc[j].Field })
}

// Changes lists stored changes in time order.
func (q sqlReads) Changes(ctx context.Context, cq ChangeQuery) ([]Change, error) {
	if err := q.checkFloor(ctx, cq.Since); err != nil {
		return nil, err
	}
	until := int64(math.MaxInt64)
	if !cq.Until.IsZero() {
		until = cq.Until.UnixNano()
	}
	limit := int64(cq.Limit)
	if limit <= 0 {
		limit = math.MaxInt64
	}
	rows, err := q.query(ctx, `SELECT id, time, host, kind, entity, op, fields FROM changes
		WHERE time >= ? AND time < ? AND (? = '' OR host = ?) AND (? = '' OR kind = ?) AND op != ?
		ORDER BY time, id LIMIT ?`,
		cq.Since.UnixNano(), until, cq.Host, cq.Host, string(cq.Kind), string(cq.Kind), OpBaseline, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		c, _, err := scanChange(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// scanChange reads a row of id, time, host, kind, entity, op, fields.
func scanChange(rows *sql.Rows) (Change, int64, error) {
	var c Change
	var id, t int64
	var kind, fields string
	if err := rows.Scan(&id, &t, &c.Host, &kind, &c.ID, &c.Op, &fields); err != nil {
		return c, 0, err
	}
	c.Time, c.Kind = time.Unix(0, t), wire.Kind(kind)
	var err error
	if c.Fields, err = decodeFields(fields); err != nil {
		return c, 0, fmt.Errorf("change of %s/%s/%s: %w", c.Host, kind, c.ID, err)
	}
	return c, id, nil
}

// StateAt reconstructs the entities at time at by replaying each entity's
// changes up to then.
func (q sqlReads) StateAt(ctx context.Context, at time.Time, host string) ([]Entity, error) {
	if err := q.checkFloor(ctx, at); err != nil {
		return nil, err
	}
	rows, err := q.query(ctx, `SELECT id, time, host, kind, entity, op, fields FROM changes
		WHERE time <= ? AND (? = '' OR host = ?) ORDER BY host, kind, entity, id`, at.UnixNano(), host, host)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entity
	var cur *Entity
	flush := func() {
		if cur != nil && cur.Fields != nil {
			out = append(out, *cur)
		}
	}
	for rows.Next() {
		c, _, err := scanChange(rows)
		if err != nil {
			return nil, err
		}
		if cur == nil || cur.Host != c.Host || cur.Kind != c.Kind || cur.ID != c.ID {
			flush()
			cur = &Entity{Host: c.Host, Kind: c.Kind, ID: c.ID}
		}
		replay(cur, &c)
	}
	flush()
	return out, rows.Err()
}

// replay applies one stored change to an entity being reconstructed; nil
// Fields means the entity does not exist at that point.
func replay(e *Entity, c *Change) {
	if c.Op == OpRemoved {
		e.Fields = nil
		return
	}
	f := make(map[string]string, len(e.Fields)+len(c.Fields))
	for k, v := range e.Fields {
		f[k] = v
	}
	for _, fc := range c.Fields {
		if fc.To == nil {
			delete(f, fc.Field)
		} else {
			f[fc.Field] = *fc.To
		}
	}
	e.Fields, e.Since = f, c.Time
}

// historyFloor returns the time before which history was compacted.
func (q sqlReads) historyFloor(ctx context.Context) (time.Time, error) {
	var v string
	err := q.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'history_floor'`).Scan(&v)
	if err == sql.ErrNoRows {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	ns, err := strconv.ParseInt(v, 10, 64)
	return time.Unix(0, ns), err
}

func (q sqlReads) checkFloor(ctx context.Context, t time.Time) error {
	floor, err := q.historyFloor(ctx)
	if err != nil {
		return err
	}
	if !floor.IsZero() && t.Before(floor) {
		return &ErrCompacted{Floor: floor}
	}
	return nil
}

// Compact applies retention. Each entity's changes before the history
// cutoff fold into one baseline row holding its state at the cutoff (none
// when it no longer existed), so states from the cutoff on stay exact.
func (s *SQLiteStore) Compact(ctx context.Context, now time.Time, r Retention) (Compacted, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := Compacted{}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return res, err
	}
	defer tx.Rollback()
	if r.History > 0 {
		res.HistoryFloor = now.Add(-r.History)
		if res.ChangesFolded, err = s.foldHistory(ctx, tx, res.HistoryFloor); err != nil {
			return res, fmt.Errorf("compacting history: %w", err)
		}
	}
	if r.Metrics > 0 {
		if res.RollupsRemoved, res.SeriesRemoved, err = s.dropMetrics(ctx, tx, now.Add(-r.Metrics)); err != nil {
			return res, fmt.Errorf("compacting metrics: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return res, err
	}
	if res.SeriesRemoved > 0 {
		s.series = map[seriesKey]int64{}
		if err := s.loadSeries(ctx); err != nil {
			return res, err
		}
	}
	// Give freed pages back to the file system (auto_vacuum=INCREMENTAL).
	_, err = s.w.ExecContext(ctx, `PRAGMA incremental_vacuum`)
	return res, err
}

func (q sqlReads) foldHistory(ctx context.Context, tx *sql.Tx, cutoff time.Time) (int64, error) {
	c := cutoff.UnixNano()
	rows, err := tx.QueryContext(ctx, q.rebind(`SELECT id, time, host, kind, entity, op, fields FROM changes
		WHERE time < ? ORDER BY host, kind, entity, id`), c)
	if err != nil {
		return 0, err
	}
	// A baseline takes the row id of the last change it folds, so that it
	// sorts before the entity's later changes.
	type base struct {
		Entity
		id int64
	}
	var bases []base
	var cur *base
	var n int64
	for rows.Next() {
		ch, id, err := scanChange(rows)
		if err != nil {
			rows.Close()
			return 0, err
		}
		n++
		if cur == nil || cur.Host != ch.Host || cur.Kind != ch.Kind || cur.ID != ch.ID {
			bases = append(bases, base{Entity: Entity{Host: ch.Host, Kind: ch.Kind, ID: ch.ID}})
			cur = &bases[len(bases)-1]
		}
		replay(&cur.Entity, &ch)
		cur.id = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, q.rebind(`DELETE FROM changes WHERE time < ?`), c); err != nil {
		return 0, err
	}
	for _, e := range bases {
		if e.Fields == nil {
			continue
		}
		_, err := tx.ExecContext(ctx, q.rebind(`INSERT INTO changes (id, time, recv, host, kind, entity, op, fields, epoch, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0)`),
			e.id, e.Since.UnixNano(), c, e.Host, string(e.Kind), e.ID, OpBaseline, encodeFields(diff(nil, e.Fields)))
		if err != nil {
			return 0, err
		}
		n--
	}
	_, err = tx.ExecContext(ctx, q.rebind(`INSERT INTO meta VALUES ('history_floor', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value
		WHERE CAST(excluded.value AS BIGINT) > CAST(meta.value AS BIGINT)`), strconv.FormatInt(c, 10))
	return n, err
}

func (q sqlReads) dropMetrics(ctx context.Context, tx *sql.Tx, cutoff time.Time) (rollups, series int64, err error) {
	res, err := tx.ExecContext(ctx, q.rebind(`DELETE FROM metric_minute WHERE minute < ?`), cutoff.Unix()/60)
	if err != nil {
		return 0, 0, err
	}
	rollups, _ = res.RowsAffected()
	// A series whose last sample is older than the retention is gone.
	if _, err = tx.ExecContext(ctx, q.rebind(`DELETE FROM metric_latest WHERE time < ?`), cutoff.UnixNano()); err != nil {
		return rollups, 0, err
	}
	res, err = tx.ExecContext(ctx, `DELETE FROM series WHERE id NOT IN (SELECT series FROM metric_latest)
		AND id NOT IN (SELECT series FROM metric_minute)`)
	if err != nil {
		return rollups, 0, err
	}
	series, _ = res.RowsAffected()
	return rollups, series, nil
}

// kindOrder sorts entities host first, then in the order of wire.Kinds.
func kindOrder(k wire.Kind) int {
	for i, x := range wire.Kinds {
		if x == k {
			return i
		}
	}
	return len(wire.Kinds)
}

// SortEntities orders entities by host, kind and id.
func SortEntities(es []Entity) {
	sort.Slice(es, func(i, j int) bool {
		a, b := &es[i], &es[j]
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		if a.Kind != b.Kind {
			return kindOrder(a.Kind) < kindOrder(b.Kind)
		}
		return strings.Compare(a.ID, b.ID) < 0
	})
}
