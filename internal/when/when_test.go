package when

import (
	"strings"
	"testing"
	"time"
)

// Every form, as every command takes it; a time without a zone is UTC.
func TestParse(t *testing.T) {
	now := time.Date(2024, 5, 8, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"24h":                       now.Add(-24 * time.Hour),
		"90m":                       now.Add(-90 * time.Minute),
		"7d":                        now.AddDate(0, 0, -7),
		"1.5d":                      now.Add(-36 * time.Hour),
		"0s":                        now,
		"2024-05-01T10:00:00Z":      time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		"2024-05-01T10:00:00+02:00": time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC),
		"2024-05-01T10:00:00.5":     time.Date(2024, 5, 1, 10, 0, 0, 5e8, time.UTC),
		"2024-05-01 10:30":          time.Date(2024, 5, 1, 10, 30, 0, 0, time.UTC),
		"2024-05-01 10:30:05":       time.Date(2024, 5, 1, 10, 30, 5, 0, time.UTC),
		"2024-05-01T10:30":          time.Date(2024, 5, 1, 10, 30, 0, 0, time.UTC),
		" 2024-05-01 ":              time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, err := Parse(in, now); err != nil || !got.Equal(want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-5h", "-2d", "5x", "2024-13-01", "d", "2024-05-01 25:00"} {
		if _, err := Parse(bad, now); err == nil || !strings.Contains(err.Error(), "invalid time") {
			t.Errorf("Parse(%q) = %v", bad, err)
		}
	}
}
