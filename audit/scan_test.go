package audit

import (
	"context"
	"testing"
)

// The runbook's example, pasted as it appears there: wrapped over three
// lines, no leading timestamp, a U+25A1 before the VLID value.
func TestScanRunbookExample(t *testing.T) {
	var got []Message
	st, err := Scan(context.Background(), ScanOptions{
		Files:  []string{"testdata/runbook_example.txt"},
		Filter: Filter{Types: []string{"ARCE"}, Results: []string{"ARUN", "GERR"}, NodeID: 13959984},
	}, func(m Message) error { got = append(got, m); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || st.Lines != 3 || st.Matched != 1 {
		t.Fatalf("got %d messages, stats %+v", len(got), st)
	}
	m := got[0]
	if m.CBID != "498D8A1F681F05B3" || m.Result != "ARUN" || m.Value("VLID") != "20091127" || m.Line != 1 ||
		m.Time.UnixMicro() != 1350613602969243 || m.Module != "ARCI" {
		t.Fatalf("message = %+v", m)
	}
}
