package audit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const arceLine = `2012-10-19T02:26:42.969243 [AUDT:[CBID(UI64):0x498D8A1F681F05B3][VLID(UI64):20091127]` +
	`[RSLT(FC32):ARUN][AVER(UI32):7][ATIM(UI64):1350613602969243][ATYP(FC32):ARCE]` +
	`[ANID(UI32):13959984][AMID(FC32):ARCI][ATID(UI64):4560349751312520631]]`

func TestParseARCE(t *testing.T) {
	m, err := Parse([]byte(arceLine))
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2012, 10, 19, 2, 26, 42, 969243000, time.UTC)
	if !m.Time.Equal(want) || m.Type != "ARCE" || m.Result != "ARUN" || m.NodeID != 13959984 ||
		m.Module != "ARCI" || m.CBID != "498D8A1F681F05B3" || len(m.Fields) != 9 {
		t.Fatalf("Parse = %+v", m)
	}
	if f, _ := m.Field("CBID"); f != (Field{"CBID", "UI64", "0x498D8A1F681F05B3"}) {
		t.Fatalf("CBID field = %+v", f)
	}
}

func TestParseForms(t *testing.T) {
	tail := `[ATIM(UI64):1350613602969243][ATYP(FC32):SPUT]]`
	for _, tc := range []struct {
		name, line string
		field      Field
	}{
		{"whitespace around colon and in parens", `[AUDT: [CBID ( ui64 ) : 0x498D8A1F681F05B3 ] ` + tail,
			Field{"CBID", "UI64", "0x498D8A1F681F05B3"}},
		{"tab and trailing spaces", "\t[AUDT:[AVER(UI32)\t:\t7]" + tail + "  \r",
			Field{"AVER", "UI32", "7"}},
		{"no-break space and U+25A1 from a pasted document", "[AUDT:[VLID(UI64) :\u00a0\u25a120091127]" + tail,
			Field{"VLID", "UI64", "20091127"}},
		{"U+F020 (Word's Symbol-font space) from NetApp's page", "[AUDT:[VLID(UI64):\uf02020091127]" + tail,
			Field{"VLID", "UI64", "20091127"}},
		{"lower-case FC32", `[AUDT:[RSLT(FC32):Arun]` + tail, Field{"RSLT", "FC32", "Arun"}},
		{"CSTR escapes", `[AUDT:[S3KY(CSTR):"a\\b\"c\r\n\x41\x7e"]` + tail, Field{"S3KY", "CSTR", "a\\b\"c\r\nA~"}},
		{"CSTR holding brackets, colons and ARCE", `[AUDT:[S3KY(CSTR):"x]y[ATYP(FC32):ARCE]:z"]` + tail,
			Field{"S3KY", "CSTR", "x]y[ATYP(FC32):ARCE]:z"}},
		{"unknown escape kept", `[AUDT:[S3KY(CSTR):"a\tb\x4"]` + tail, Field{"S3KY", "CSTR", `a\tb\x4`}},
		{"IPAD", `[AUDT:[SAIP(IPAD):"10.96.99.163"]` + tail, Field{"SAIP", "IPAD", "10.96.99.163"}},
		{"unknown type kept raw", `[AUDT:[XTRA(FL64): 1.5e3 ]` + tail, Field{"XTRA", "FL64", "1.5e3"}},
		{"unknown quoted type kept raw", `[AUDT:[XTRA(BLOB):"a]b"]` + tail, Field{"XTRA", "BLOB", `"a]b"`}},
		{"UI64 maximum", `[AUDT:[CSIZ(UI64):18446744073709551615]` + tail, Field{"CSIZ", "UI64", "18446744073709551615"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.line))
			if err != nil {
				t.Fatal(err)
			}
			if m.Fields[0] != tc.field {
				t.Fatalf("field = %+v, want %+v", m.Fields[0], tc.field)
			}
			if m.Time.UnixMicro() != 1350613602969243 || m.Type != "SPUT" {
				t.Fatalf("message = %+v", m)
			}
		})
	}
}

func TestParseTimestampWithoutATIM(t *testing.T) {
	m, err := Parse([]byte(`2024-02-29T23:59:59.000001 [AUDT:[ATYP(FC32):SDEL]]`))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 2, 29, 23, 59, 59, 1000, time.UTC); !m.Time.Equal(want) {
		t.Fatalf("time = %v, want %v", m.Time, want)
	}
}

func TestParseMalformed(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{``, "no audit message"},
		{`hello`, `expected "[AUDT:"`},
		{`2024-02-30T00:00:00.000000 [AUDT:[ATYP(FC32):SDEL]]`, "bad timestamp"},
		{`2024-01-01T25:00:00 [AUDT:[ATYP(FC32):SDEL]]`, "bad timestamp"},
		{`[AUDT:[ATYP(FC32):SDEL]]`, "no time"},
		{`[AUDT:[ATIM(UI64):1]]`, "no message type"},
		{`[AUDT:[ATIM(UI64):1][ATYP(FC32):SDEL]`, "unexpected end of message"},
		{`[AUDT:[ATIM(UI64):1][ATYP(FC32):SDEL]] junk`, "after the closing"},
		{`[AUDT:[ATIM(UI64):1][ATYP(FC32):TOOLONG]]`, "code of 1 to 4"},
		{`[AUDT:[ATIM(UI64):1][ATYP(FC32):SDEL][AVER(UI32):4294967296]]`, "not a valid UI32"},
		{`[AUDT:[ATIM(UI64):18446744073709551616][ATYP(FC32):SDEL]]`, "not a valid UI64"},
		{`[AUDT:[ATIM(UI64):0xZZ][ATYP(FC32):SDEL]]`, "not a valid UI64"},
		{`[AUDT:[ATIM(UI64):1][ATYP(FC32):SDEL][S3KY(CSTR):"open]]`, "unterminated string"},
		{`[AUDT:[ATIM(UI64):1][ATYP(FC32):SDEL][S3KY(CSTR):"open]]`, "unterminated string"},
		{`[AUDT:[ATIM(CSTR):"1"][ATYP(FC32):SDEL]]`, "ATIM must be of type UI64"},
		{`[AUDT:[ATIM(UI64):1][ATYP(FC32):SDEL][(UI32):1]]`, "attribute name"},
		{`[AUDT:[ATIM(UI64):1][ATYP(FC32):SDEL][AVER UI32):1]]`, "expected '('"},
		{"[AUDT:[ATIM(UI64):1][ATYP(FC32):SDEL]\x00\xff]", "expected '[' or ']'"},
		{`[AUDT:[ATIM(UI64):9223372036854775807][ATYP(FC32):SDEL]]`, "out of range"},
	} {
		_, err := Parse([]byte(tc.line))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", tc.line, err, tc.want)
		}
	}
}

func TestParseWrappedMessage(t *testing.T) {
	// Newlines are whitespace, so the runbook's three-line paste parses
	// once joined; the scanner does the joining.
	m, err := Parse([]byte("[AUDT: [CBID(UI64) : 0x498D8A1F681F05B3]\n[ATIM(UI64) : 1350613602969243]\n[ATYP(FC32) : ARCE]]\n"))
	if err != nil || m.CBID != "498D8A1F681F05B3" {
		t.Fatalf("Parse = %+v, %v", m, err)
	}
	var r record
	if err := r.parse([]byte("[AUDT: [CBID(UI64) : 0x498D8A1F681F05B3]")); !errors.Is(err, errTruncated) {
		t.Fatalf("first line alone: %v, want errTruncated", err)
	}
}

func TestFormatRoundTrip(t *testing.T) {
	m, err := Parse([]byte(`[AUDT:[S3KY(CSTR):"tab\x09 nl\n q\" bs\\ \x7f ü"][XTRA(BLOB):"raw\q"][ATIM(UI64):1350613602969243][ATYP(FC32):SPUT]]`))
	if err != nil {
		t.Fatal(err)
	}
	line := Format(&m)
	if !strings.HasPrefix(line, "2012-10-19T02:26:42.969243 [AUDT:[S3KY(CSTR):\"tab\\x09 nl\\n q\\\" bs\\\\ \\x7F ü\"]") {
		t.Fatalf("Format = %s", line)
	}
	m2, err := Parse([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, m2) {
		t.Fatalf("round trip:\n%+v\n%+v", m, m2)
	}
}

func TestCBID(t *testing.T) {
	for _, s := range []string{"498D8A1F681F05B3", "0x498d8a1f681f05b3", "0X498D8A1F681F05B3"} {
		if n, err := ParseCBID(s); err != nil || FormatCBID(n) != "498D8A1F681F05B3" {
			t.Errorf("ParseCBID(%q) = %x, %v", s, n, err)
		}
	}
	for _, s := range []string{"", "498D8A1F681F05B", "498D8A1F681F05B3A", "G98D8A1F681F05B3", "+98D8A1F681F05B3"} {
		if _, err := ParseCBID(s); err == nil {
			t.Errorf("ParseCBID(%q) accepted", s)
		}
	}
	if got := FormatCBID(0xAB); got != "00000000000000AB" {
		t.Errorf("FormatCBID = %s", got)
	}
}

func TestMessageJSON(t *testing.T) {
	m, err := Parse([]byte(arceLine))
	if err != nil {
		t.Fatal(err)
	}
	m.File, m.Line = "/var/local/audit/export/audit.log", 7
	b, err := m.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"time":"2012-10-19T02:26:42.969243Z","type":"ARCE","result":"ARUN","node_id":13959984,` +
		`"module":"ARCI","cbid":"498D8A1F681F05B3","fields":{"AMID":"ARCI","ANID":"13959984",` +
		`"ATID":"4560349751312520631","ATIM":"1350613602969243","ATYP":"ARCE","AVER":"7",` +
		`"CBID":"0x498D8A1F681F05B3","RSLT":"ARUN","VLID":"20091127"},` +
		`"file":"/var/local/audit/export/audit.log","line":7}`
	if string(b) != want {
		t.Fatalf("JSON =\n%s\nwant\n%s", b, want)
	}
}

// FuzzParse checks that no input panics and that whatever parses survives
// Format and Parse unchanged. `go test` runs the seeds below and those in
// testdata/fuzz/FuzzParse; `go test -fuzz FuzzParse ./audit` explores.
func FuzzParse(f *testing.F) {
	f.Add([]byte(arceLine))
	f.Add([]byte("[AUDT: [CBID(UI64) : 0x498D8A1F681F05B3] [VLID(UI64) : \u25a120091127]\n[ATIM(UI64) : 1350613602969243] [ATYP(FC32) : ARCE]]"))
	f.Add([]byte(`[AUDT:[S3KY(CSTR):"a\\b\"c\r\n\x41]["][XTRA(BLOB):"q"][ATIM(UI64):1][ATYP(FC32):SPUT]]`))
	f.Add([]byte("2024-01-01T00:00:00.5 [AUDT:[ATYP(fc32):x][Z(Q): raw ]]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		line := Format(&m)
		m2, err := Parse([]byte(line))
		if err != nil {
			t.Fatalf("Format gave an unparsable line %q: %v", line, err)
		}
		if !m2.Time.Equal(m.Time.Truncate(time.Microsecond)) {
			t.Fatalf("time %v became %v", m.Time, m2.Time)
		}
		m2.Time = m.Time
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, m2)
		}
	})
}

// Lines pasted from a multi-file grep carry FILE: or FILE:LINE: first; one
// rule skips it, and only when a timestamp or the message follows.
func TestGrepPrefix(t *testing.T) {
	msg := "[AUDT:[ATIM(UI64):1350613602969243][ATYP(FC32):ARCE]]"
	for _, line := range []string{
		"2019-09-15.txt:2018-10-05T12:34:56.123456 " + msg,
		"audit.log:17:2018-10-05T12:34:56.123456 " + msg,
		"audit.log:" + msg,
		"/var/local/audit/export/2019-09-15.txt.gz:3:" + msg,
	} {
		var r record
		if err := r.parse([]byte(line)); err != nil {
			t.Errorf("%q: %v", line, err)
			continue
		}
		if got := string(r.bytes(r.fields[r.atyp].val)); got != "ARCE" {
			t.Errorf("%q: ATYP %q", line, got)
		}
	}
	var r record
	err := r.parse([]byte("2018-13-45T00:00:00 " + msg))
	if err == nil || !strings.Contains(err.Error(), `column 1: bad timestamp "2018-13-45T00:00:00"`) {
		t.Errorf("a bad timestamp is not a grep prefix: %v", err)
	}
}

// The canonical-form fast path must record exactly what the general
// field parser records, and fail exactly where it fails: checked on every
// line of the published examples and samples, and on each of them with
// every byte of a tenth of them replaced in turn by each byte that
// matters to the syntax. The fast path remembers the headers it read
// (record.memo) over all of them, as a scan's does over a log.
func TestFieldFastAgreesWithField(t *testing.T) {
	var lines [][]byte
	for _, root := range []string{"testdata/vendor", "testdata/samples"} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || !strings.HasSuffix(p, ".log") {
				return err
			}
			b, err := os.ReadFile(p)
			for _, l := range bytes.Split(b, []byte("\n")) {
				if bytes.Contains(l, []byte("[AUDT:")) && len(lines) < 400 {
					lines = append(lines, bytes.TrimRight(l, "\r"))
				}
			}
			return err
		})
	}
	lines = append(lines, s3Line, []byte(`[AUDT:[A(UI32):4294967296][B(UI64):99999999999999999999][ATYP(FC32):X][ATIM(UI64):1]]`))
	if len(lines) < 300 {
		t.Fatalf("only %d lines", len(lines))
	}
	mem := new(memo)
	agree := func(b []byte) {
		fast, gen := record{memo: mem}, record{general: true}
		ef, eg := fast.parse(b), gen.parse(b)
		for i := range gen.fields {
			gen.fields[i].general = false // which parser read it may differ; nothing else
		}
		for i := range fast.fields {
			fast.fields[i].general = false
		}
		// The interpreted attributes' places count for a parsed message
		// (a failed one is thrown away).
		if fmt.Sprint(ef) != fmt.Sprint(eg) || fmt.Sprint(fast.fields) != fmt.Sprint(gen.fields) ||
			eg == nil && (fast.atyp != gen.atyp || fast.rslt != gen.rslt || fast.atim != gen.atim || fast.cbid != gen.cbid ||
				fast.amid != gen.amid || fast.anid != gen.anid) {
			t.Fatalf("%q:\nfast    %v %v\ngeneral %v %v", b, ef, fast.fields, eg, gen.fields)
		}
	}
	n := 0
	for k, l := range lines {
		agree(l)
		if k%10 != 0 && k < len(lines)-2 {
			continue // mutations of every tenth line (and the two above) keep it to seconds
		}
		for i := range l {
			for _, c := range []byte(` "\]()[:x0A` + "\t") {
				m := bytes.Clone(l)
				m[i] = c
				agree(m)
				n++
			}
		}
	}
	t.Logf("%d lines, %d mutations agree", len(lines), n)
}

// publishedLines are the one-line messages of testdata: every message
// NetApp's documents print and every line of the published sample logs.
func publishedLines(t *testing.T) [][]byte {
	var lines [][]byte
	for _, root := range []string{"testdata/vendor", "testdata/samples"} {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || !strings.HasSuffix(p, ".log") {
				return err
			}
			b, err := os.ReadFile(p)
			for _, l := range bytes.Split(b, []byte("\n")) {
				if bytes.Contains(l, []byte("[AUDT:")) {
					lines = append(lines, bytes.TrimRight(l, "\r"))
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(lines) < 1000 {
		t.Fatalf("only %d published lines", len(lines))
	}
	return lines
}

// TestLeanAgreesWithParse holds the lean parse (record.lean, a strict
// scan's validation of the lines its filter rejects) to the full one:
// on every published line, on s3Line and on every single-byte mutation
// of every 10th line, both accept or both reject with the same error,
// and an accepted line has the same interpreted attributes.
func TestLeanAgreesWithParse(t *testing.T) {
	lines := append(publishedLines(t), s3Line)
	interpreted := func(r *record) string {
		var s []string
		for _, k := range []int{r.atyp, r.rslt, r.anid, r.amid, r.cbid, r.atim} {
			if k < 0 {
				s = append(s, "-")
				continue
			}
			f := r.fields[k]
			s = append(s, fmt.Sprintf("%s=%s/%d", r.bytes(f.name), r.bytes(f.val), f.num))
		}
		return strings.Join(s, " ")
	}
	var full, lean record
	lean.lean, lean.memo = true, new(memo)
	tried, rejected := 0, 0
	try := func(l []byte) {
		tried++
		ef, el := full.parseLine(l), lean.parseLine(l)
		switch {
		case fmt.Sprint(ef) != fmt.Sprint(el):
			t.Fatalf("%q:\nfull %v\nlean %v", l, ef, el)
		case ef != nil:
			rejected++
		case interpreted(&full) != interpreted(&lean):
			t.Fatalf("%q:\nfull %s\nlean %s", l, interpreted(&full), interpreted(&lean))
		case len(lean.fields) > len(full.fields):
			t.Fatalf("%q: lean kept %d attributes, full %d", l, len(lean.fields), len(full.fields))
		}
	}
	for k, l := range lines {
		try(l)
		if k%10 != 0 {
			continue
		}
		m := append([]byte{}, l...)
		for i := range m {
			for _, c := range []byte{'0', 'x', ']', '[', '"', '(', ' ', 'A', '\\'} {
				old := m[i]
				m[i] = c
				try(m)
				m[i] = old
			}
		}
	}
	t.Logf("%d lines and mutations, %d rejected by both", tried, rejected)
	if rejected == 0 || rejected == tried {
		t.Fatalf("%d of %d rejected: the mutations test nothing", rejected, tried)
	}
}

// TestCanonicalTimestamp holds canonicalTimestamp to timestampParts on
// every byte at every place of timestamps at the edges of the calendar.
func TestCanonicalTimestamp(t *testing.T) {
	for _, s := range []string{"2024-05-01T00:00:18.229022", "2024-02-29T23:59:59.999999", "2023-02-28T00:00:00.000000",
		"1900-02-28T12:30:45.000001", "2000-02-29T09:09:09.090909", "2024-12-31T19:59:50.500000", "2024-04-30T10:10:10.101010"} {
		for i := range len(s) {
			for c := 0; c < 256; c++ {
				b := []byte(s)
				b[i] = byte(c)
				_, want := timestampParts(b)
				if got := canonicalTimestamp(b); got != want {
					t.Fatalf("canonicalTimestamp(%q) = %v, timestampParts says %v", b, got, want)
				}
			}
		}
	}
}

// memo.timestamp agrees with canonicalTimestamp on every byte at every
// place of timestamps whose minute it has just seen (where it checks only
// the seconds) and of others, in turn.
func TestMemoTimestamp(t *testing.T) {
	m := new(memo)
	for _, s := range []string{"2024-05-01T00:00:18.229022", "2024-02-29T23:59:59.999999", "2023-02-28T00:00:00.000000",
		"1900-02-28T12:30:45.000001", "2024-12-31T19:59:50.500000"} {
		for i := range len(s) {
			for c := 0; c < 256; c++ {
				if !m.timestamp([]byte(s)) {
					t.Fatalf("%q refused", s)
				}
				b := []byte(s)
				b[i] = byte(c)
				if got, want := m.timestamp(b), canonicalTimestamp(b); got != want {
					t.Fatalf("memo.timestamp(%q) after %q = %v, canonicalTimestamp says %v", b, s, got, want)
				}
			}
		}
	}
	if !(*memo)(nil).timestamp([]byte("2024-05-01T00:00:18.229022")) {
		t.Fatal("a nil memo refuses a timestamp")
	}
	var zero memo // a zero minute matches no timestamp, not even one of NULs
	if zero.timestamp([]byte("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00:00.000000")) {
		t.Fatal("NULs are a timestamp")
	}
}
