package audit

import (
	"strings"
	"testing"
	"time"
)

func TestExplain(t *testing.T) {
	m, err := Parse([]byte(arceLine))
	if err != nil {
		t.Fatal(err)
	}
	want := "ARCE archive object retrieve end, result ARUN (archive middleware unavailable): CBID 498D8A1F681F05B3, VLID 20091127; node 13959984 ARCI"
	if got := Explain(&m); got != want {
		t.Fatalf("Explain =\n%s\nwant\n%s", got, want)
	}
	m, err = Parse([]byte(`[AUDT:[RSLT(FC32):SUCS][TIME(UI64):1500][SAIP(IPAD):"10.1.2.3"][S3BK(CSTR):"b"][S3KY(CSTR):"k\"1"]` +
		`[CSIZ(UI64):42][ATIM(UI64):1][ATYP(FC32):SPUT][ANID(UI32):12281045][AMID(FC32):S3RQ]]`))
	if err != nil {
		t.Fatal(err)
	}
	want = `SPUT S3 PUT, result SUCS (successful): "b/k\"1", in 0.001500 s, from 10.1.2.3, 42 bytes; node 12281045 S3RQ`
	if got := Explain(&m); got != want {
		t.Fatalf("Explain =\n%s\nwant\n%s", got, want)
	}
	m, _ = Parse([]byte(`[AUDT:[ZZZZ(XX):1][ATIM(UI64):1][ATYP(FC32):QQQQ]]`))
	if got := Explain(&m); got != "QQQQ (unknown message type): ZZZZ 1" {
		t.Fatalf("Explain = %s", got)
	}
}

func TestSum(t *testing.T) {
	var s Sum
	for _, l := range []string{
		`[AUDT:[TIME(UI64):1000][ATIM(UI64):1][ATYP(FC32):SPUT]]`,
		`[AUDT:[TIME(UI64):3000][ATIM(UI64):1][ATYP(FC32):SPUT]]`,
		`[AUDT:[TIME(UI64):2000][ATIM(UI64):1][ATYP(FC32):SPUT]]`,
		`[AUDT:[ATIM(UI64):1][ATYP(FC32):ARCE]]`,
		`[AUDT:[TIME(CSTR):"n/a"][ATIM(UI64):1][ATYP(FC32):ARCE]]`,
		`[AUDT:[TIME(UI64):5][ATIM(UI64):1][ATYP(FC32):SGET]]`,
	} {
		m, err := Parse([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		s.Add(&m)
	}
	rows := s.Rows()
	if len(rows) != 3 {
		t.Fatalf("rows = %+v", rows)
	}
	put := rows[0]
	if put.Type != "SPUT" || put.Count != 3 || put.Timed != 3 || put.Min != time.Millisecond ||
		put.Max != 3*time.Millisecond || put.Average() != 2*time.Millisecond {
		t.Fatalf("SPUT row = %+v", put)
	}
	if rows[1].Type != "ARCE" || rows[1].Count != 2 || rows[1].Timed != 0 || rows[1].Average() != 0 {
		t.Fatalf("ARCE row = %+v", rows[1])
	}
	if rows[2].Type != "SGET" || rows[2].Min != 5*time.Microsecond {
		t.Fatalf("SGET row = %+v", rows[2])
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2024, 5, 8, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2024-05-01T10:00:00Z":      time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		"2024-05-01T10:00:00+02:00": time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC),
		"2024-05-01T10:00:00.5":     time.Date(2024, 5, 1, 10, 0, 0, 5e8, time.UTC),
		"2024-05-01":                time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
		"24h":                       now.Add(-24 * time.Hour),
		"90m":                       now.Add(-90 * time.Minute),
		"7d":                        now.AddDate(0, 0, -7),
	} {
		if got, err := ParseTime(in, now); err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-5h", "5x", "2024-13-01", "d"} {
		if _, err := ParseTime(bad, now); err == nil || !strings.Contains(err.Error(), "invalid time") {
			t.Errorf("ParseTime(%q) = %v", bad, err)
		}
	}
}
