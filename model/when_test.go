package model

import (
	"testing"
	"time"
)

func TestParseWhen(t *testing.T) {
	now := time.Date(2024, 6, 10, 12, 0, 0, 0, time.UTC)
	local := func(s string) time.Time {
		t, _ := time.ParseInLocation("2006-01-02 15:04:05", s, time.Local)
		return t
	}
	for in, want := range map[string]time.Time{
		"1h":                   now.Add(-time.Hour),
		"90m":                  now.Add(-90 * time.Minute),
		"7d":                   now.Add(-7 * 24 * time.Hour),
		"0s":                   now,
		"2024-06-01T10:00:00Z": time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC),
		"2024-06-01 10:30":     local("2024-06-01 10:30:00"),
		"2024-06-01T10:30:05":  local("2024-06-01 10:30:05"),
		"2024-06-01":           local("2024-06-01 00:00:00"),
	} {
		got, err := ParseWhen(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1h", "yesterday", "1x", "-2d", "2024-13-01"} {
		if _, err := ParseWhen(bad, now); err == nil {
			t.Errorf("ParseWhen(%q) accepted", bad)
		}
	}
}
