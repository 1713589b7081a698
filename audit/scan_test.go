package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/storagegrid/storagegrid/internal/fail"
)

var day0 = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)

// line returns an audit line for a message at day0+sec.
func line(sec int, typ, result string, cbid uint64, node uint32, extra ...string) string {
	m := Message{Time: day0.Add(time.Duration(sec) * time.Second)}
	m.Fields = append(m.Fields, Field{"CBID", "UI64", fmt.Sprintf("0x%016X", cbid)})
	if result != "" {
		m.Fields = append(m.Fields, Field{"RSLT", "FC32", result})
	}
	for _, e := range extra {
		name, v, _ := strings.Cut(e, "=")
		m.Fields = append(m.Fields, Field{name, "CSTR", v})
	}
	m.Fields = append(m.Fields, Field{"ATIM", "UI64", fmt.Sprint(m.Time.UnixMicro())},
		Field{"ATYP", "FC32", typ}, Field{"ANID", "UI32", fmt.Sprint(node)})
	return Format(&m) + "\n"
}

func write(t *testing.T, path, content string) {
	t.Helper()
	data := []byte(content)
	if strings.HasSuffix(path, ".gz") {
		data = gzipped(t, data)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	if _, err := z.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// scanAll runs Scan and collects messages and reported errors.
func scanAll(t *testing.T, opts ScanOptions) ([]Message, []error, Stats, error) {
	t.Helper()
	var msgs []Message
	var errs []error
	opts.OnError = func(err error) { errs = append(errs, err) }
	st, err := Scan(context.Background(), opts, func(m Message) error { msgs = append(msgs, m); return nil })
	return msgs, errs, st, err
}

func where(msgs []Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, fmt.Sprintf("%s:%d", filepath.Base(m.File), m.Line))
	}
	return out
}

// The runbook's example, pasted as it appears there: wrapped over three
// lines, no leading timestamp, a U+25A1 before the VLID value (the Korean
// runbook); and NetApp's own English archive-node page in 11.5 to 11.8
// (testdata/vendor/REPO/PAGE/, verbatim), which has an invisible U+F020
// there. Types and results are typed in any case.
func TestScanRunbookExample(t *testing.T) {
	files, _ := filepath.Glob("testdata/vendor/*/maintain/archive-node-maintenance-for-tsm-middleware/arce-example.log")
	if len(files) != 4 {
		t.Fatalf("%d vendor copies of the example, want 4", len(files))
	}
	for i, file := range append(files, "testdata/runbook_example.txt") {
		strict := i%2 == 0
		msgs, errs, st, err := scanAll(t, ScanOptions{
			Files:  []string{file},
			Strict: strict,
			Filter: Filter{Types: []string{"arce"}, Results: []string{"Arun", "GERR"}, NodeID: 13959984},
		})
		if err != nil || len(errs) > 0 {
			t.Fatal(err, errs)
		}
		if len(msgs) != 1 || st.Lines != 3 || st.Matched != 1 {
			t.Fatalf("got %d messages, stats %+v", len(msgs), st)
		}
		m := msgs[0]
		if m.CBID != "498D8A1F681F05B3" || m.Result != "ARUN" || m.Value("VLID") != "20091127" || m.Line != 1 ||
			m.Time.UnixMicro() != 1350613602969243 || m.Module != "ARCI" {
			t.Fatalf("message = %+v", m)
		}
	}
}

func TestScanDirectoryInTimeOrder(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "audit.log"), line(500, "ARCE", "GERR", 5, 1))
	write(t, filepath.Join(dir, "2024-05-02.txt"), line(400, "ARCE", "ARUN", 4, 1))
	write(t, filepath.Join(dir, "2024-05-01.txt.2"), line(300, "ARCE", "ARUN", 3, 1))
	write(t, filepath.Join(dir, "2024-05-01.txt.10.gz"), line(350, "ARCE", "ARUN", 3, 1))
	write(t, filepath.Join(dir, "2024-05-01.txt.gz"), "\n"+line(100, "SPUT", "SUCS", 9, 1)+line(200, "ARCE", "ARUN", 2, 1))
	// Being compressed: the plain file is complete, the .gz is not.
	write(t, filepath.Join(dir, "2024-04-30.txt"), line(50, "ARCE", "ARUN", 1, 1))
	write(t, filepath.Join(dir, "2024-04-30.txt.gz"), "garbage")
	write(t, filepath.Join(dir, "notes.txt"), "not a log")
	if err := os.Mkdir(filepath.Join(dir, "2024-05-03.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	msgs, errs, st, err := scanAll(t, ScanOptions{Dir: dir, Filter: Filter{Types: []string{"ARCE"}}, Workers: 3})
	if err != nil || len(errs) > 0 {
		t.Fatal(err, errs)
	}
	want := []string{"2024-04-30.txt:1", "2024-05-01.txt.gz:3", "2024-05-01.txt.2:1", "2024-05-01.txt.10.gz:1",
		"2024-05-02.txt:1", "audit.log:1"}
	if got := where(msgs); !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
	if st.Files != 6 || st.Lines != 8 || st.Matched != 6 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestScanFilters(t *testing.T) {
	dir := t.TempDir()
	content := line(1, "ARCE", "ARUN", 0xA1, 13959984, "PATH=a\"b") +
		line(2, "ARCE", "SUCS", 0xA2, 13959984) +
		line(3, "ARCB", "GERR", 0xA3, 13959984) +
		line(4, "ARCE", "GERR", 0xA4, 13959985) +
		line(5, "SPUT", "SUCS", 0xA5, 1, "S3KY=ARCE/ARUN") +
		line(6, "ARCE", "GERR", 0xA6, 13959984)
	write(t, filepath.Join(dir, "audit.log"), content)
	for _, tc := range []struct {
		name   string
		filter Filter
		want   []string // CBIDs
	}{
		{"type and result", Filter{Types: []string{"ARCE"}, Results: []string{"ARUN", "GERR"}}, []string{"A1", "A4", "A6"}},
		{"node", Filter{Types: []string{"ARCE"}, Results: []string{"ARUN", "GERR"}, NodeID: 13959984}, []string{"A1", "A6"}},
		{"several types", Filter{Types: []string{"ARCB", "SPUT"}}, []string{"A3", "A5"}},
		{"result only", Filter{Results: []string{"GERR"}}, []string{"A3", "A4", "A6"}},
		{"cbid", Filter{CBIDs: []string{"0x00000000000000a4", "00000000000000A5"}}, []string{"A4", "A5"}},
		{"numeric field in hex", Filter{Fields: []FieldMatch{{"CBID", "0xa2"}}}, []string{"A2"}},
		{"escaped string field", Filter{Fields: []FieldMatch{{"PATH", `a"b`}}}, []string{"A1"}},
		{"since and until", Filter{Since: day0.Add(2 * time.Second), Until: day0.Add(4 * time.Second)}, []string{"A2", "A3"}},
		{"nothing", Filter{Types: []string{"XXXX"}}, nil},
	} {
		for _, strict := range []bool{false, true} {
			msgs, errs, _, err := scanAll(t, ScanOptions{Dir: dir, Filter: tc.filter, Strict: strict})
			if err != nil || len(errs) > 0 {
				t.Fatal(err, errs)
			}
			var got []string
			for _, m := range msgs {
				got = append(got, strings.TrimLeft(m.CBID, "0"))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s (strict %v): got %v, want %v", tc.name, strict, got, tc.want)
			}
		}
	}
	if _, err := Scan(context.Background(), ScanOptions{Dir: dir, Filter: Filter{CBIDs: []string{"xyz"}}},
		func(Message) error { return nil }); fail.KindOf(err) != fail.Usage {
		t.Fatalf("bad CBID filter: %v", err)
	}
}

// randomLog builds a log that exercises the scanner's edges: wrapped
// messages, blank lines, codes inside strings, malformed lines.
func randomLog(rng *rand.Rand, n int) string {
	var b strings.Builder
	types := []string{"ARCE", "ARCB", "SPUT", "ARCEX"[:4]}
	results := []string{"ARUN", "GERR", "SUCS"}
	for i := range n {
		l := line(i, types[rng.IntN(len(types))], results[rng.IntN(len(results))], rng.Uint64(), uint32(rng.IntN(3)),
			"S3KY="+[]string{"x", "ARCE", "[ATYP(FC32):ARCE][RSLT(FC32):ARUN]", strings.Repeat("k", rng.IntN(3000))}[rng.IntN(4)])
		switch rng.IntN(12) {
		case 0: // wrapped as if pasted
			l = strings.ReplaceAll(strings.SplitN(l, " ", 2)[1], "][", "]\n  [")
		case 1:
			l = "\n" + l
		case 2:
			l = l[:len(l)/2] + "\n" // cut short: malformed
		case 3:
			l = "[AUDT:[ATYP(FC32):ARCE][RSLT(FC32):ARUN]\n" // no time, and a next line that starts a message
		}
		b.WriteString(l)
	}
	return b.String()
}

// The needle search must find exactly what parsing every line finds, at
// every buffer boundary; and the strict scan's lean parse (record.lean)
// must hand on messages as whole as the fast scan's.
func TestScanFastEqualsStrict(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	write(t, filepath.Join(dir, "2024-05-01.txt"), randomLog(rng, 3000))
	write(t, filepath.Join(dir, "audit.log"), randomLog(rng, 3000))
	for _, f := range []Filter{
		{Types: []string{"ARCE"}, Results: []string{"ARUN", "GERR"}},
		{Types: []string{"ARCB", "ARCE"}},
		{Results: []string{"SUCS"}, NodeID: 2},
	} {
		for _, maxLine := range []int{4000, DefaultMaxLine} {
			fast, fastErrs, fastSt, _ := scanAll(t, ScanOptions{Dir: dir, Filter: f, MaxLineBytes: maxLine})
			strict, strictErrs, strictSt, _ := scanAll(t, ScanOptions{Dir: dir, Filter: f, MaxLineBytes: maxLine, Strict: true})
			if len(strict) < 100 || !slices.Equal(where(fast), where(strict)) {
				t.Fatalf("filter %+v max %d: fast found %d, strict %d:\n%v\n%v", f, maxLine, len(fast), len(strict),
					where(fast), where(strict))
			}
			if !reflect.DeepEqual(fast, strict) {
				for i := range fast {
					if !reflect.DeepEqual(fast[i], strict[i]) {
						t.Fatalf("filter %+v: message %d\nfast   %+v\nstrict %+v", f, i, fast[i], strict[i])
					}
				}
			}
			if fastSt.Lines != strictSt.Lines || len(strictErrs) < 100 || len(fastErrs) > len(strictErrs) {
				t.Fatalf("stats fast %+v strict %+v", fastSt, strictSt)
			}
		}
	}
}

func TestScanMalformedLines(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "audit.log"), line(1, "ARCE", "ARUN", 1, 1)+
		"2024-05-01T00:00:02.000000 [AUDT:[ATYP(FC32):ARCE][RSLT(FC32):ARUN][ANID(UI32):x]]\n"+
		line(3, "ARCE", "ARUN", 3, 1)+
		"[ATIM(UI64):1][ATYP(FC32):ARCE]\n"+ // a continuation line without a message
		line(5, "ARCE", "ARUN", 5, 1))
	msgs, errs, st, err := scanAll(t, ScanOptions{Dir: dir, Name: func(p string) string { return "/logs/" + filepath.Base(p) },
		Filter: Filter{Types: []string{"ARCE"}}})
	if fail.KindOf(err) != fail.Partial || !strings.Contains(err.Error(), "2 malformed messages skipped") {
		t.Fatalf("error = %v", err)
	}
	if got := where(msgs); !slices.Equal(got, []string{"audit.log:1", "audit.log:3", "audit.log:5"}) {
		t.Fatalf("messages at %v", got)
	}
	if st.Malformed != 2 || len(errs) != 2 {
		t.Fatalf("stats %+v errs %v", st, errs)
	}
	var le *LineError
	if !errors.As(errs[0], &le) || le.Line != 2 ||
		!strings.HasPrefix(errs[0].Error(), `/logs/audit.log:2: malformed audit message: column 80: ANID: "x" is not a valid UI32`) {
		t.Fatalf("first error = %v", errs[0])
	}
	if !strings.HasPrefix(errs[1].Error(), "/logs/audit.log:4: malformed audit message: ") {
		t.Fatalf("second error = %v", errs[1])
	}
}

func TestScanCorruptGzip(t *testing.T) {
	dir := t.TempDir()
	var all string
	for i := range 2000 {
		all += line(i, "ARCE", "ARUN", uint64(i), 1)
	}
	gz := gzipped(t, []byte(all))
	if err := os.WriteFile(filepath.Join(dir, "2024-05-01.txt.gz"), gz[:len(gz)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	bad := slices.Clone(gz)
	for i := len(bad) / 3; i < len(bad)/3+64; i++ {
		bad[i] ^= 0x5a
	}
	if err := os.WriteFile(filepath.Join(dir, "2024-05-02.txt.gz"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "2024-05-03.txt.gz"), line(1, "ARCE", "ARUN", 0xC0DE, 1))
	write(t, filepath.Join(dir, "audit.log"), line(2, "ARCE", "GERR", 0xC0DF, 1))
	for _, workers := range []int{1, 4} {
		msgs, errs, st, err := scanAll(t, ScanOptions{Dir: dir, Filter: Filter{Types: []string{"ARCE"}}, Workers: workers})
		if fail.KindOf(err) != fail.Partial || !strings.Contains(err.Error(), "2 of 4 files could not be read") {
			t.Fatalf("error = %v", err)
		}
		// What the corrupt stream still decodes, garbled, is malformed
		// messages, as zcat would print it; the files are named.
		var fileErrs []error
		for _, e := range errs {
			var fe *FileError
			if errors.As(e, &fe) {
				fileErrs = append(fileErrs, e)
			}
		}
		if len(fileErrs) != 2 || !strings.Contains(fileErrs[0].Error(), "2024-05-01.txt.gz: truncated or corrupt gzip data") ||
			!strings.Contains(fileErrs[1].Error(), "2024-05-02.txt.gz: truncated or corrupt gzip data") {
			t.Fatalf("errors = %v", fileErrs)
		}
		if st.FailedFiles != 2 || len(msgs) < 2 || msgs[len(msgs)-1].CBID != "000000000000C0DF" ||
			msgs[len(msgs)-2].CBID != "000000000000C0DE" {
			t.Fatalf("stats %+v, %d messages", st, len(msgs))
		}
	}
}

// A 10 MB line is reported by line number and skipped without holding it
// in memory; the messages around it are found.
func TestScanLongLine(t *testing.T) {
	dir := t.TempDir()
	long := "2024-05-01T00:00:00.000000 [AUDT:[S3KY(CSTR):\"" + strings.Repeat("ARCE ", 2<<20) + "\"]]\n"
	write(t, filepath.Join(dir, "audit.log"), line(1, "ARCE", "ARUN", 1, 1)+long+line(3, "ARCE", "ARUN", 3, 1)+long[:5<<20])
	for _, strict := range []bool{false, true} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		msgs, errs, st, err := scanAll(t, ScanOptions{Dir: dir, Filter: Filter{Types: []string{"ARCE"}}, Strict: strict})
		runtime.ReadMemStats(&after)
		if fail.KindOf(err) != fail.Partial || st.Malformed != 2 || st.Lines != 4 {
			t.Fatalf("strict %v: err %v stats %+v", strict, err, st)
		}
		if got := where(msgs); !slices.Equal(got, []string{"audit.log:1", "audit.log:3"}) {
			t.Fatalf("messages at %v", got)
		}
		if !strings.Contains(errs[0].Error(), "audit.log:2: malformed audit message: line longer than 1048576 bytes") ||
			!strings.Contains(errs[1].Error(), "audit.log:4: malformed audit message: line longer than") {
			t.Fatalf("errors %v", errs)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 6<<20 {
			t.Fatalf("scan allocated %d bytes for a 10 MB line", alloc)
		}
	}
}

func TestScanBinaryGarbage(t *testing.T) {
	dir := t.TempDir()
	garbage := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	copy(garbage[1000:], "[AUDT:[ATYP(FC32):ARCE]\n[RSLT(FC32):ARUN]")
	if err := os.WriteFile(filepath.Join(dir, "audit.log"), garbage, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, strict := range []bool{false, true} {
		msgs, errs, st, err := scanAll(t, ScanOptions{Dir: dir, Filter: Filter{Types: []string{"ARCE"}}, Strict: strict})
		if len(msgs) != 0 || fail.KindOf(err) != fail.Partial || st.Malformed == 0 || len(errs) != st.Malformed {
			t.Fatalf("strict %v: %d messages, err %v, stats %+v", strict, len(msgs), err, st)
		}
	}
}

func TestScanStdinGzip(t *testing.T) {
	msgs, _, _, err := scanAll(t, ScanOptions{Files: []string{"-"},
		Stdin: bytes.NewReader(gzipped(t, []byte(line(1, "ARCE", "ARUN", 7, 1))))})
	if err != nil || len(msgs) != 1 || msgs[0].File != "-" || msgs[0].CBID != "0000000000000007" {
		t.Fatalf("%v %+v", err, msgs)
	}
	if _, err := Scan(context.Background(), ScanOptions{Files: []string{"-", "-"}}, nil); fail.KindOf(err) != fail.Usage {
		t.Fatalf("stdin twice: %v", err)
	}
}

func TestScanSinceSkipsOldFiles(t *testing.T) {
	dir := t.TempDir()
	// Were this file opened, its garbage would make the scan partial.
	write(t, filepath.Join(dir, "2024-04-01.txt.gz"), "not gzip")
	write(t, filepath.Join(dir, "2024-05-01.txt"), line(10, "ARCE", "ARUN", 1, 1))
	write(t, filepath.Join(dir, "audit.log"), line(86400*2, "ARCE", "ARUN", 2, 1))
	msgs, errs, st, err := scanAll(t, ScanOptions{Dir: dir, Filter: Filter{Since: day0.Add(5 * time.Second)}})
	if err != nil || len(errs) > 0 || len(msgs) != 2 || st.Files != 2 {
		t.Fatalf("err %v %v, %d messages, stats %+v", err, errs, len(msgs), st)
	}
	_, _, st, err = scanAll(t, ScanOptions{Dir: dir, Filter: Filter{Until: day0.AddDate(0, 0, -20)}})
	if err == nil || st.Files != 2 {
		t.Fatalf("until: err %v, stats %+v", err, st)
	}
}

func TestScanEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "README"), "no logs here")
	_, err := Scan(context.Background(), ScanOptions{Dir: dir}, func(Message) error { return nil })
	if !errors.Is(err, ErrNoLogs) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("err = %v", err)
	}
	_, err = Scan(context.Background(), ScanOptions{Dir: filepath.Join(dir, "missing")}, func(Message) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "audit log directory "+dir+"/missing: no such file or directory") {
		t.Fatalf("err = %v", err)
	}
}

// A log that disappears between the listing and its turn: a .txt the grid
// has just compressed is read from its .gz; one that is gone is reported.
// The first log is long and the callback makes the change on its first
// message: the reader of that log is still at work (its batches wait for
// the callback), so the next log is not open yet.
func TestScanFileVanishes(t *testing.T) {
	for _, compressed := range []bool{true, false} {
		dir := t.TempDir()
		first := strings.Repeat(line(0, "ARCE", "ARUN", 0, 1), 3000) // 12 batches of 256
		write(t, filepath.Join(dir, "2024-04-30.txt"), first)
		victim := filepath.Join(dir, "2024-05-01.txt")
		write(t, victim, line(1, "ARCE", "ARUN", 1, 1))
		write(t, filepath.Join(dir, "audit.log"), line(2, "ARCE", "ARUN", 2, 1))
		var msgs []Message
		var errs []error
		_, err := Scan(context.Background(), ScanOptions{Dir: dir, Workers: 1, OnError: func(e error) { errs = append(errs, e) }},
			func(m Message) error {
				if len(msgs) == 0 {
					if compressed {
						write(t, victim+".gz", line(1, "ARCE", "ARUN", 1, 1))
					}
					if err := os.Remove(victim); err != nil {
						t.Fatal(err)
					}
				}
				msgs = append(msgs, m)
				return nil
			})
		if compressed {
			if err != nil || len(msgs) != 3002 || msgs[3000].CBID != "0000000000000001" {
				t.Fatalf("compressed: err %v, %d messages", err, len(msgs))
			}
			continue
		}
		if fail.KindOf(err) != fail.Partial || len(msgs) != 3001 || len(errs) != 1 ||
			errs[0].Error() != victim+": vanished while scanning (rotated or removed)" {
			t.Fatalf("removed: err %v, errs %v, %d messages", err, errs, len(msgs))
		}
	}
}

// A FIFO, a device or a directory named like a log is refused by name at
// once, without blocking on it, and the other logs are read.
func TestScanRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "audit.log"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "2024-05-02.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "2024-05-01.txt"), line(1, "ARCE", "ARUN", 1, 1))
	var errs []string
	done := make(chan struct{})
	var msgs int
	var err error
	go func() {
		defer close(done)
		_, err = Scan(context.Background(), ScanOptions{Dir: dir, OnError: func(e error) { errs = append(errs, e.Error()) }},
			func(Message) error { msgs++; return nil })
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the scan blocks on a FIFO named audit.log")
	}
	if fail.KindOf(err) != fail.Partial || msgs != 1 || strings.Join(errs, "|") != filepath.Join(dir, "audit.log")+": is a named pipe (FIFO), not an audit log file" {
		t.Fatalf("err %v, %d messages, errors %q", err, msgs, errs)
	}
	_, err = Scan(context.Background(), ScanOptions{Files: []string{"/dev/null"}}, func(Message) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "could not be read") {
		t.Fatalf("/dev/null: %v", err)
	}
}

func TestScanCallbackErrorStops(t *testing.T) {
	dir := t.TempDir()
	for d := range 6 {
		var b strings.Builder
		for i := range 3000 {
			b.WriteString(line(i, "ARCE", "ARUN", uint64(i), 1))
		}
		write(t, filepath.Join(dir, day0.AddDate(0, 0, d).Format("2006-01-02")+".txt.gz"), b.String())
	}
	stop := errors.New("enough")
	n := 0
	_, err := Scan(context.Background(), ScanOptions{Dir: dir, Workers: 2}, func(Message) error {
		if n++; n == 10 {
			return stop
		}
		return nil
	})
	if err != stop || n != 10 {
		t.Fatalf("err %v after %d messages", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Scan(ctx, ScanOptions{Dir: dir}, func(Message) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled scan: %v", err)
	}
}

// An unreadable directory: root reads anything, so a child process of
// this test drops to nobody and scans a directory it may not read.
func TestScanUnreadableDirectory(t *testing.T) {
	if dir := os.Getenv("AUDIT_TEST_UNREADABLE"); dir != "" {
		_, err := Scan(context.Background(), ScanOptions{Dir: dir}, func(Message) error { return nil })
		fmt.Printf("kind=%d err=%v\n", fail.KindOf(err), err)
		os.Exit(0)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child as another user")
	}
	base, err := os.MkdirTemp("", "audit-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	bin := filepath.Join(base, "audit.test")
	exe, err := os.ReadFile(os.Args[0])
	if err == nil {
		err = os.WriteFile(bin, exe, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "export")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "audit.log"), line(1, "ARCE", "ARUN", 1, 1))
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := runAsNobody(bin, "-test.run=^TestScanUnreadableDirectory$", "AUDIT_TEST_UNREADABLE="+dir)
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	want := fmt.Sprintf("kind=0 err=audit log directory %s: permission denied", dir)
	if !strings.Contains(out, want) {
		t.Fatalf("child said %q, want %q", out, want)
	}
}

// runAsNobody runs bin with args as uid/gid 65534 and returns its output.
func runAsNobody(bin, arg, env string) (string, error) {
	cmd := exec.Command(bin, arg)
	cmd.Env = append(os.Environ(), env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// A code written in another case than the filter's still matches, also
// past the byte search that skips lines before parsing them.
func TestCodesCompareWithoutCase(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "audit.log"),
		"[AUDT:[RSLT(FC32):Arun][ATIM(UI64):1350613602969243][ATYP(FC32):arce][ANID(UI32):1]]\n"+
			"[AUDT:[RSLT(FC32):SUCS][ATIM(UI64):1350613602969244][ATYP(FC32):ARCE][ANID(UI32):1]]\n")
	for _, f := range []Filter{{Results: []string{"ARUN"}}, {Types: []string{"ARCE"}, Results: []string{"arun"}}} {
		msgs, errs, _, err := scanAll(t, ScanOptions{Files: []string{filepath.Join(dir, "audit.log")}, Filter: f})
		if err != nil || len(errs) > 0 || len(msgs) != 1 || msgs[0].Result != "Arun" {
			t.Fatalf("filter %+v: %d messages %+v, %v %v", f, len(msgs), msgs, err, errs)
		}
	}
}

// NetApp's example of the log format (audit-log-file-format, 11.5 to 12.0,
// verbatim in testdata/vendor): each timestamp alone on its line, the
// message wrapped over the lines below. Three messages, nothing malformed,
// in the fast and the strict scan.
func TestScanVendorFormatExample(t *testing.T) {
	files, _ := filepath.Glob("testdata/vendor/*/audit/audit-log-file-format/three-messages.log")
	if len(files) != 6 {
		t.Fatalf("%d copies, want 6", len(files))
	}
	for i, file := range files {
		msgs, errs, st, err := scanAll(t, ScanOptions{Files: []string{file}, Strict: i%2 == 0, Filter: Filter{Types: []string{"SPUT"}}})
		if err != nil || len(errs) > 0 || len(msgs) != 3 || st.Malformed != 0 {
			t.Fatalf("%s: %d messages, errors %v, %v", file, len(msgs), errs, err)
		}
		if msgs[1].CBID != "779557A069B2C037" || msgs[1].Line != 7 || msgs[2].Time.Format(time.RFC3339Nano) != "2019-08-07T18:43:30.784558Z" {
			t.Fatalf("%s: %+v", file, msgs[1])
		}
	}
}

// Every audit message NetApp's documentation prints (11.5 to 12.0, each
// block in testdata/vendor/REPO/PAGE/ with its source in the README) and
// every line of the published sample logs (testdata/samples) parses: as
// many messages as the file has "[AUDT:", none malformed, in the strict
// scan and in the fast scan that looks for each message's own type. The
// documents' artefacts are there: timestamps alone on a line, messages
// wrapped at a fixed width inside words, numbers and strings, one
// attribute per line, grep FILE: prefixes, a shell prompt line, unquoted
// strings, ATIM values missing digits, U+F020.
func TestScanEveryPublishedMessage(t *testing.T) {
	var files []string
	for _, root := range []string{"testdata/vendor", "testdata/samples"} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".log") {
				files = append(files, p)
			}
			return err
		})
	}
	if len(files) < 130 {
		t.Fatalf("%d published examples found, want at least 130", len(files))
	}
	total := 0
	for _, file := range files {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		want := bytes.Count(text, []byte("[AUDT:"))
		strict, errs, st, err := scanAll(t, ScanOptions{Files: []string{file}, Strict: true})
		if err != nil || len(errs) > 0 || len(strict) != want || st.Malformed != 0 {
			t.Errorf("%s: strict scan: %d of %d messages, errors %v %v", file, len(strict), want, errs, err)
			continue
		}
		types := map[string]bool{}
		for _, m := range strict {
			// (An ATIM missing digits, without a leading timestamp to
			// correct it, gives a time in the 1970s.)
			if m.Type == "" || m.Time.IsZero() || len(m.Value("ATIM")) == 16 && m.Time.Year() < 2012 {
				t.Errorf("%s:%d: type %q time %v", file, m.Line, m.Type, m.Time)
			}
			types[m.Type] = true
		}
		for typ := range types {
			fast, errs, _, err := scanAll(t, ScanOptions{Files: []string{file}, Filter: Filter{Types: []string{strings.ToLower(typ)}}})
			n := 0
			for _, m := range strict {
				if m.Type == typ {
					n++
				}
			}
			if err != nil || len(errs) > 0 || len(fast) != n {
				t.Errorf("%s: --type %s: %d of %d messages, errors %v %v", file, typ, len(fast), n, errs, err)
			}
		}
		total += want
	}
	t.Logf("%d files, %d messages", len(files), total)
}

// zcatMessages is how many messages the whole lines zcat (gzip's own
// reader) gets out of file before it stops hold, the reference for a
// damaged file.
func zcatMessages(t *testing.T, file string) int {
	t.Helper()
	out, _ := exec.Command("zcat", file).Output() // exits non-zero on damage, having written what it could
	plain := file + ".zcat"
	if err := os.WriteFile(plain, out[:bytes.LastIndexByte(out, '\n')+1], 0o644); err != nil {
		t.Fatal(err)
	}
	msgs, _, _, _ := scanAll(t, ScanOptions{Files: []string{plain}, Filter: Filter{Types: []string{"ARCE"}}})
	return len(msgs)
}

// A damaged .gz gives every whole message zcat gives before the damage,
// and the error names the file and the byte where decompression stopped;
// trailing zero bytes (which gzip -t accepts and zcat reads through) and
// concatenated members read in full, as with zcat.
func TestScanDamagedGzipKeepsWhatZcatReads(t *testing.T) {
	if _, err := exec.LookPath("zcat"); err != nil {
		t.Fatal("needs zcat (gzip, an essential Debian package): the reference reader")
	}
	var b strings.Builder
	for i := 0; i < 30000; i++ {
		b.WriteString(line(i, "ARCE", "ARUN", uint64(i), 7))
	}
	whole := gzipped(t, []byte(b.String()))
	dir := t.TempDir()
	cases := map[string][]byte{
		"zero-padded":   append(append([]byte{}, whole...), make([]byte, 4096)...),
		"two-members":   append(append([]byte{}, whole...), gzipped(t, []byte(line(30000, "ARCE", "ARUN", 1, 7)))...),
		"garbage-after": append(append([]byte{}, whole...), "not gzip"...),
	}
	for _, cut := range []int{len(whole) / 3, len(whole) / 2, len(whole) - 9} {
		cases[fmt.Sprintf("truncated-%d", cut)] = whole[:cut]
	}
	flipped := append([]byte{}, whole...)
	flipped[len(flipped)*2/3] ^= 0xff
	cases["flipped-byte"] = flipped
	for name, data := range cases {
		file := filepath.Join(dir, name+".txt.gz")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		want := zcatMessages(t, file)
		msgs, errs, _, err := scanAll(t, ScanOptions{Files: []string{file}, Filter: Filter{Types: []string{"ARCE"}}})
		damaged := strings.HasPrefix(name, "truncated") || name == "flipped-byte" || name == "garbage-after"
		switch {
		case len(msgs) != want:
			t.Errorf("%s: %d messages, zcat reads %d (%v)", name, len(msgs), want, errs)
		case !damaged && (err != nil || len(errs) > 0):
			t.Errorf("%s: %v %v", name, err, errs)
		case damaged && (fail.KindOf(err) != fail.Partial || len(errs) == 0 ||
			!regexp.MustCompile(`^`+regexp.QuoteMeta(file)+`: .* at byte [0-9]+ of the file.* \(the [0-9]+ lines before it were read\)$`).MatchString(errs[len(errs)-1].Error())):
			t.Errorf("%s: error %v, reported %v", name, err, errs)
		}
		t.Logf("%s: %d messages; %v", name, len(msgs), errs)
	}
}

// equalsAnyFold's word-at-a-time path agrees with bytes.EqualFold on
// codes of every case against sets holding control bytes, DEL and
// bytes that fold onto letters and digits with 0x20 set.
func TestEqualsAnyFold(t *testing.T) {
	alphabet := []byte("aAeErRuUnN0_9\x10\x19\x7f@`[{\xc5")
	rng := rand.New(rand.NewPCG(11, 12))
	word := func(n int) []byte {
		w := make([]byte, n)
		for i := range w {
			w[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return w
	}
	matched := 0
	for range 300000 {
		b := word(3 + rng.IntN(3))
		set := [][]byte{word(4), word(3 + rng.IntN(3))}
		if rng.IntN(4) == 0 { // the same letters in another case
			set[1] = bytes.ToUpper(b)
		}
		want := bytes.EqualFold(b, set[0]) || bytes.EqualFold(b, set[1])
		if got := equalsAnyFold(b, set); got != want {
			t.Fatalf("equalsAnyFold(%q, %q) = %v", b, set, got)
		}
		if want {
			matched++
		}
	}
	if matched < 1000 {
		t.Fatalf("only %d matches", matched)
	}
}
