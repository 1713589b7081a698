// Package when reads a point in time as an operator types it on any
// command (audit --since, model --at, archive recover --since, ...), so
// that every command takes the same forms with the same meaning:
//
//   - a duration before now: 90m, 24h, 7d, 1.5d (Go's units plus d for
//     days);
//   - RFC 3339, with its zone: 2024-05-01T10:00:00Z, 2024-05-01T12:00:00+02:00;
//   - a date and time without a zone, which is UTC (audit logs, ATIM and
//     the model's history are UTC): 2024-05-01, 2024-05-01 10:30,
//     2024-05-01T10:30:05, 2024-05-01 10:30:05.5.
package when

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Forms is how errors and help spell the accepted forms.
const Forms = "a duration ago (90m, 24h, 7d, 1.5d), RFC 3339 (2024-05-01T10:00:00Z), or a UTC date and time (2024-05-01, 2024-05-01 10:30[:05])"

// Parse reads s, relative to now for a duration.
func Parse(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, ok := ago(s); ok {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q: want %s", s, Forms)
}

// ago reads a non-negative duration, with d for days (fractions allowed).
func ago(s string) (time.Duration, bool) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 || n > 1e5 {
			return 0, false
		}
		return time.Duration(n * float64(24*time.Hour)), true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d >= 0
}
