package model

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"time"
)

// metricAgg folds the samples of one transaction before writing: one
// latest value per series and one roll-up row per series and minute, so
// an agent's burst of samples costs a few upserts, not one per sample.
type metricAgg struct {
	latest  map[seriesKey]sampleAt
	minutes map[minuteKey]*rollAcc
}

type sampleAt struct {
	t time.Time
	v float64
}

type minuteKey struct {
	seriesKey
	minute int64
}

type rollAcc struct {
	n             int64
	sum, min, max float64
}

func newMetricAgg() *metricAgg {
	return &metricAgg{latest: map[seriesKey]sampleAt{}, minutes: map[minuteKey]*rollAcc{}}
}

func (a *metricAgg) add(host, name string, t time.Time, v float64) {
	k := seriesKey{host, name}
	if cur, ok := a.latest[k]; !ok || !t.Before(cur.t) {
		a.latest[k] = sampleAt{t, v}
	}
	mk := minuteKey{k, t.Unix() / 60}
	r := a.minutes[mk]
	if r == nil {
		a.minutes[mk] = &rollAcc{n: 1, sum: v, min: v, max: v}
		return
	}
	r.n++
	r.sum += v
	r.min, r.max = math.Min(r.min, v), math.Max(r.max, v)
}

// flush writes the folded samples, interning new series first.
func (a *metricAgg) flush(mem *memState, rw rowWriter) error {
	if len(a.latest) == 0 {
		return nil
	}
	var fresh []seriesKey
	for k := range a.latest {
		if _, ok := mem.series[k]; !ok {
			fresh = append(fresh, k)
		}
	}
	// In a stable order, so that series ids do not depend on map order.
	slices.SortFunc(fresh, func(x, y seriesKey) int {
		return cmp.Or(strings.Compare(x.host, y.host), strings.Compare(x.name, y.name))
	})
	if err := rw.internSeries(mem, fresh); err != nil {
		return err
	}
	for k, s := range a.latest {
		if err := rw.putLatest(mem.series[k], s); err != nil {
			return err
		}
	}
	for k, r := range a.minutes {
		if err := rw.putMinute(mem.series[k.seriesKey], k.minute, r); err != nil {
			return err
		}
	}
	return nil
}

// Metrics returns the latest value of each selected series and, when
// q.Since is set, its roll-ups since then.
func (q sqlReads) Metrics(ctx context.Context, mq MetricQuery) ([]Series, error) {
	rows, err := q.query(ctx, `SELECT s.id, s.host, s.name, l.time, l.value FROM series s JOIN metric_latest l ON l.series = s.id
		WHERE (? = '' OR s.host = ?) AND (? = '' OR substr(s.name, 1, length(?)) = ?) ORDER BY s.host, s.name`,
		mq.Host, mq.Host, mq.Prefix, mq.Prefix, mq.Prefix)
	if err != nil {
		return nil, err
	}
	var out []Series
	var ids []int64
	for rows.Next() {
		var sr Series
		var id, t int64
		if err := rows.Scan(&id, &sr.Host, &sr.Name, &t, &sr.Value); err != nil {
			rows.Close()
			return nil, err
		}
		sr.Time = time.Unix(0, t)
		out, ids = append(out, sr), append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || mq.Since.IsZero() {
		return out, err
	}
	for i, id := range ids {
		if out[i].Minutes, err = q.rollups(ctx, id, mq.Since); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (q sqlReads) rollups(ctx context.Context, id int64, since time.Time) ([]Rollup, error) {
	rows, err := q.query(ctx, `SELECT minute, n, vsum, vmin, vmax FROM metric_minute WHERE series = ? AND minute >= ? ORDER BY minute`,
		id, since.Unix()/60)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Rollup
	for rows.Next() {
		var m int64
		var r Rollup
		var sum float64
		if err := rows.Scan(&m, &r.Count, &sum, &r.Min, &r.Max); err != nil {
			return nil, err
		}
		r.Minute, r.Mean = time.Unix(m*60, 0).UTC(), sum/float64(r.Count)
		out = append(out, r)
	}
	return out, rows.Err()
}
