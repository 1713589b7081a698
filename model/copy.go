package model

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// CopiedTable is one table of a copied model: the rows copied and the
// checksum of its contents, equal on both sides.
type CopiedTable struct {
	Table    string `json:"table"`
	Rows     int64  `json:"rows"`
	Checksum string `json:"sha256"`
}

// copyTables are the model's tables in copy order, each with its columns
// (the same on both stores) and its order for checksums.
var copyTables = []struct {
	name, cols, order string
	identity          bool // its id column numbers new rows: carry the sequence on
}{
	{"meta", "key, value", "key", false},
	{"streams", "host, epoch, seq, first_seen, last_seen", "host", false},
	{"entities", "host, kind, id, fields, since, seen_epoch, seen_seq", "host, kind, id", false},
	{"changes", "id, time, recv, host, kind, entity, op, fields, epoch, seq", "id", true},
	{"series", "id, host, name", "id", true},
	{"metric_latest", "series, time, value", "series", false},
	{"metric_minute", "series, minute, n, vsum, vmin, vmax", "series, minute", false},
}

// CopySQLite copies the model in the SQLite file src into dst, which must
// hold no model yet: every table in one transaction under the write lock,
// row for row (change and series ids kept). Then each table is read back
// from both databases and its row count and checksum compared; a
// difference is an error and the report says which table.
func CopySQLite(ctx context.Context, src string, dst *PGStore) ([]CopiedTable, error) {
	if _, err := os.Stat(src); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("model copy: %s: %w", src, err)
	}
	from, err := openDB(src, "mode=ro&_pragma=query_only(1)")
	if err != nil {
		return nil, err
	}
	defer from.Close()
	var v string
	if err := from.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema'`).Scan(&v); err != nil {
		return nil, fmt.Errorf("model copy: %s is not a model database: %w", src, err)
	}
	if v != strconv.Itoa(schemaVersion) {
		return nil, fmt.Errorf("model copy: %s has schema version %s, this program reads %d", src, v, schemaVersion)
	}
	dst.mu.Lock()
	defer dst.mu.Unlock()
	tx, err := dst.pool.Begin(ctx)
	if err != nil {
		return nil, pgError(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(lockWrite)); err != nil {
		return nil, err
	}
	var held int64
	if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM streams) + (SELECT count(*) FROM changes) +
		(SELECT count(*) FROM series) + (SELECT count(*) FROM entities)`).Scan(&held); err != nil {
		return nil, err
	}
	if held > 0 {
		return nil, fmt.Errorf("model copy: %s already holds a model (%d rows): copy into an empty database", dst.name, held)
	}
	if err := copyPartitions(ctx, from, tx); err != nil {
		return nil, err
	}
	for _, t := range copyTables {
		where := ""
		if t.name == "meta" {
			where = " WHERE key <> 'schema'" // each store keeps its own schema version
		}
		rows, err := from.QueryContext(ctx, "SELECT "+t.cols+" FROM "+t.name+where+" ORDER BY "+t.order)
		if err != nil {
			return nil, fmt.Errorf("model copy: reading %s: %w", t.name, err)
		}
		src := &sqlRowsSource{rows: rows, n: len(strings.Split(t.cols, ","))}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{t.name}, strings.Split(strings.ReplaceAll(t.cols, " ", ""), ","), src)
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("model copy: writing %s: %w", t.name, err)
		}
		if t.identity {
			if _, err := tx.Exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', 'id'), coalesce(max(id), 0) + 1, false) FROM %s`,
				t.name, t.name)); err != nil {
				return nil, err
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, pgError(err)
	}
	// The copy is checked as a reader would see it: both sides anew.
	var out []CopiedTable
	for _, t := range copyTables {
		where := ""
		if t.name == "meta" {
			where = " WHERE key <> 'schema'"
		}
		q := "SELECT " + t.cols + " FROM " + t.name + where + " ORDER BY " + t.order
		a, err := checksum(ctx, from, q)
		if err != nil {
			return nil, fmt.Errorf("model copy: checking %s: %w", t.name, err)
		}
		b, err := checksum(ctx, dst.db, q)
		if err != nil {
			return nil, fmt.Errorf("model copy: checking %s: %w", t.name, err)
		}
		if a != b {
			return out, fmt.Errorf("model copy: table %s differs after the copy: %d rows, sha256 %s in %s; %d rows, sha256 %s in %s",
				t.name, a.Rows, a.Checksum, src, b.Rows, b.Checksum, dst.name)
		}
		a.Table = t.name
		out = append(out, a)
	}
	// This server's memory knew an empty database.
	dst.memState, dst.seriesGen = newMemState(), ""
	return out, nil
}

// copyPartitions makes the day partitions the roll-ups need.
func copyPartitions(ctx context.Context, from *sql.DB, tx pgx.Tx) error {
	rows, err := from.QueryContext(ctx, `SELECT DISTINCT minute / ? FROM metric_minute`, minutesPerDay)
	if err != nil {
		return err
	}
	defer rows.Close()
	var days []int64
	for rows.Next() {
		var d int64
		if err := rows.Scan(&d); err != nil {
			return err
		}
		days = append(days, d)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, d := range days {
		if _, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF metric_minute FOR VALUES FROM (%d) TO (%d)`,
			partitionName(d), d*minutesPerDay, (d+1)*minutesPerDay)); err != nil {
			return err
		}
	}
	return nil
}

// sqlRowsSource feeds database/sql rows to COPY.
type sqlRowsSource struct {
	rows *sql.Rows
	n    int
}

func (s *sqlRowsSource) Next() bool { return s.rows.Next() }

func (s *sqlRowsSource) Values() ([]any, error) {
	vals := make([]any, s.n)
	ptrs := make([]any, s.n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := s.rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	for i, v := range vals {
		if b, ok := v.([]byte); ok {
			vals[i] = string(b) // SQLite hands TEXT as bytes at times
		}
	}
	return vals, nil
}

func (s *sqlRowsSource) Err() error { return s.rows.Err() }

// checksum reads q's rows and returns their count and the SHA-256 of
// their values, each spelt the same whichever database gave it.
func checksum(ctx context.Context, db *sql.DB, q string) (CopiedTable, error) {
	var t CopiedTable
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return t, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return t, err
	}
	h := sha256.New()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return t, err
		}
		for i, v := range vals {
			writeValue(h, v)
			if i < len(vals)-1 {
				h.Write([]byte{0x1f})
			}
		}
		h.Write([]byte{'\n'})
		t.Rows++
	}
	t.Checksum = hex.EncodeToString(h.Sum(nil))
	return t, rows.Err()
}

func writeValue(h hash.Hash, v any) {
	switch x := v.(type) {
	case int64:
		h.Write(strconv.AppendInt(nil, x, 10))
	case int32:
		h.Write(strconv.AppendInt(nil, int64(x), 10))
	case float64:
		h.Write(strconv.AppendFloat(nil, x, 'g', -1, 64))
	case string:
		h.Write([]byte(x))
	case []byte:
		h.Write(x)
	case nil:
		h.Write([]byte{0})
	default:
		fmt.Fprint(h, x)
	}
}
