package audit

import (
	"cmp"
	"slices"
	"strconv"
	"time"
)

// Sum tallies messages per type and the TIME attribute (processing time
// in microseconds) where the type has one, like the grid's audit-sum.
type Sum struct {
	rows map[string]*SumRow
}

// SumRow is the tally of one message type.
type SumRow struct {
	Type  string
	Count int // messages
	Timed int // messages with a TIME attribute
	Min   time.Duration
	Max   time.Duration
	Total time.Duration
}

// Average is the mean TIME, or 0 when no message had one.
func (r SumRow) Average() time.Duration {
	if r.Timed == 0 {
		return 0
	}
	return r.Total / time.Duration(r.Timed)
}

// Add counts m.
func (s *Sum) Add(m *Message) {
	if s.rows == nil {
		s.rows = map[string]*SumRow{}
	}
	r := s.rows[m.Type]
	if r == nil {
		r = &SumRow{Type: m.Type}
		s.rows[m.Type] = r
	}
	r.Count++
	f, ok := m.Field("TIME")
	if !ok {
		return
	}
	us, err := strconv.ParseUint(f.Value, 0, 64)
	if err != nil || us > uint64(1<<63-1)/uint64(time.Microsecond) {
		return
	}
	d := time.Duration(us) * time.Microsecond
	if r.Timed == 0 || d < r.Min {
		r.Min = d
	}
	r.Max = max(r.Max, d)
	r.Total += d
	r.Timed++
}

// Rows returns the tallies, most frequent type first.
func (s *Sum) Rows() []SumRow {
	out := make([]SumRow, 0, len(s.rows))
	for _, r := range s.rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b SumRow) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Type, b.Type))
	})
	return out
}
