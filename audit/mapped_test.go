package audit

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// smallWindows maps files of any size through windows of n pages, so
// that a small log has many window edges.
func smallWindows(t *testing.T, n int64) {
	w, m := mapWindow, mapMin
	mapWindow, mapMin = n*int64(os.Getpagesize()), 0
	t.Cleanup(func() { mapWindow, mapMin = w, m })
}

// readResult is what a reader emitted and reported.
type readResult struct {
	msgs  []Message
	errs  []string
	lines int
	err   error
}

// readWith runs a fresh reader over path, mapped or read.
func readWith(t *testing.T, path string, f Filter, strict, mapped bool, maxLine int) readResult {
	t.Helper()
	m, err := f.compile()
	if err != nil {
		t.Fatal(err)
	}
	r := newReader(m, strict, "log", maxLine)
	var res readResult
	r.emit = func(msg Message) error { res.msgs = append(res.msgs, msg); return nil }
	r.report = func(e *LineError) error {
		// A line over the buffer is "line longer", one the buffer holds
		// "message longer": how much a read fits differs, the line not.
		res.errs = append(res.errs, strings.Replace(e.Error(), "line longer", "message longer", 1))
		return nil
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if mapped {
		var ok bool
		if ok, res.err = r.readMapped(context.Background(), file); !ok {
			t.Fatalf("%s was not mapped", path)
		}
	} else {
		res.err = r.readAll(context.Background(), file)
	}
	res.lines = r.base
	return res
}

// Reading through mappings finds exactly what reading finds: the same
// messages, the same malformed lines at the same line numbers, the same
// line count, with window edges everywhere (wrapped messages, lines
// longer than a window, a last line without its newline). A scan that is
// not strict decides from its first 256 KiB whether the input is a
// document's paste (reader.region), so it is compared where both readers
// see that much at once: windows of 256 KiB, buffers of 2 MiB.
func TestMappedEqualsRead(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	dir := t.TempDir()
	for round := range 6 {
		log := randomLog(rng, 1500)
		if round%2 == 1 {
			log = log[:len(log)-1-rng.IntN(40)] // no newline at the end
		}
		if round >= 4 { // a line longer than a window (and than maxLine), before a whole message
			at := strings.Index(log[len(log)/2:], "\n2024-") + len(log)/2 + 1
			log = log[:at] + line(1, "ARCE", "ARUN", 7, 1, "S3KY="+strings.Repeat("ARCE", 9000)) + log[at:]
		}
		path := filepath.Join(dir, fmt.Sprintf("audit-%d.log", round))
		write(t, path, log)
		for _, pages := range []int64{1, 2, 3, readChunk / int64(os.Getpagesize())} {
			smallWindows(t, pages)
			for _, strict := range []bool{false, true} {
				for _, f := range []Filter{{Types: []string{"ARCE"}, Results: []string{"ARUN", "GERR"}}, {}} {
					for _, maxLine := range []int{5000, DefaultMaxLine} {
						if !strict && (maxLine != DefaultMaxLine || pages*int64(os.Getpagesize()) != readChunk) {
							continue
						}
						want := readWith(t, path, f, strict, false, maxLine)
						got := readWith(t, path, f, strict, true, maxLine)
						if len(want.msgs) < 100 || len(want.errs) < 20 {
							t.Fatalf("round %d: only %d messages, %d errors", round, len(want.msgs), len(want.errs))
						}
						if !reflect.DeepEqual(got, want) {
							t.Fatalf("round %d, windows of %d pages, strict %v, filter %+v, max %d:\nmapped %d messages, %d errors, %d lines, %v\nread   %d messages, %d errors, %d lines, %v\n%s",
								round, pages, strict, f, maxLine, len(got.msgs), len(got.errs), got.lines, got.err,
								len(want.msgs), len(want.errs), want.lines, want.err, firstDiff(got, want))
						}
					}
				}
			}
		}
	}
}

// Every published message and sample line (NetApp's documents, the real
// logs in testdata), read through windows of one to three pages, is read
// as reading reads it: messages, malformed lines, line count.
func TestMappedPublishedLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	write(t, path, string(bytes.Join(publishedLines(t), []byte("\n")))+"\n")
	for _, pages := range []int64{1, 2, 3} {
		smallWindows(t, pages)
		for f, least := range map[*Filter]int{{}: 1000, {Types: []string{"SPUT", "ARCE"}}: 20} {
			want := readWith(t, path, *f, true, false, 0)
			got := readWith(t, path, *f, true, true, 0)
			if len(want.msgs) < least || !reflect.DeepEqual(got, want) {
				t.Fatalf("windows of %d pages, filter %+v:\nmapped %d messages, %d errors, %d lines, %v\nread   %d messages, %d errors, %d lines, %v\n%s",
					pages, f, len(got.msgs), len(got.errs), got.lines, got.err, len(want.msgs), len(want.errs), want.lines, want.err, firstDiff(got, want))
			}
		}
	}
}

func firstDiff(a, b readResult) string {
	for i := range min(len(a.msgs), len(b.msgs)) {
		if !reflect.DeepEqual(a.msgs[i], b.msgs[i]) {
			return fmt.Sprintf("message %d:\n%+v\n%+v", i, a.msgs[i], b.msgs[i])
		}
	}
	for i := range min(len(a.errs), len(b.errs)) {
		if a.errs[i] != b.errs[i] {
			return fmt.Sprintf("error %d:\n%s\n%s", i, a.errs[i], b.errs[i])
		}
	}
	return ""
}

// What is appended to a log while it is read through mappings (a live
// audit.log) is read too: the reader takes the mapped size at the start
// and reads the rest as it reads any input.
func TestMappedReadsWhatIsAppended(t *testing.T) {
	smallWindows(t, 2)
	path := filepath.Join(t.TempDir(), "audit.log")
	write(t, path, strings.Repeat(line(0, "ARCE", "ARUN", 1, 1), 500))
	m, err := (Filter{Types: []string{"ARCE"}}).compile()
	if err != nil {
		t.Fatal(err)
	}
	r := newReader(m, true, "audit.log", 0)
	var msgs []Message
	r.emit = func(msg Message) error {
		if len(msgs) == 0 {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString(strings.Repeat(line(1, "ARCE", "GERR", 2, 1), 300)); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
		msgs = append(msgs, msg)
		return nil
	}
	r.report = func(e *LineError) error { t.Fatal(e); return nil }
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ok, err := r.readMapped(context.Background(), f); !ok || err != nil {
		t.Fatalf("mapped %v, err %v", ok, err)
	}
	if len(msgs) != 800 || msgs[499].Result != "ARUN" || msgs[500].Result != "GERR" || msgs[799].Line != 800 || r.base != 800 {
		t.Fatalf("%d messages, %d lines", len(msgs), r.base)
	}
}

// A log cut short by another program while it is read through a mapping
// (whose pages past the new end then fault) is read as reading finds it:
// every whole line before the cut, the part line after it malformed; no
// crash, no line twice. Here the cut comes while the reader is at work
// before it, in the window it is in and in a later one.
func TestMappedFileShrinks(t *testing.T) {
	smallWindows(t, 16)
	path := filepath.Join(t.TempDir(), "audit.log")
	var b strings.Builder
	for i := range 3000 {
		b.WriteString(line(i, "ARCE", "ARUN", uint64(i), 1))
	}
	full := b.String()
	for _, strict := range []bool{false, true} {
		for _, cut := range []int{len(full)/60 + 7, len(full)/5 + 100, len(full)/5*3 + 30} { // 3000 lines, ~460 per window
			write(t, path, full)
			shrunk, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			shrunk = shrunk[:cut]
			wantPath := path + ".want"
			if err := os.WriteFile(wantPath, shrunk, 0o644); err != nil {
				t.Fatal(err)
			}
			want := readWith(t, wantPath, Filter{Types: []string{"ARCE"}}, strict, false, 0)
			m, err := (Filter{Types: []string{"ARCE"}}).compile()
			if err != nil {
				t.Fatal(err)
			}
			r := newReader(m, strict, "log", 0)
			var got readResult
			r.emit = func(msg Message) error {
				if len(got.msgs) == 10 {
					if err := os.Truncate(path, int64(cut)); err != nil {
						t.Fatal(err)
					}
				}
				got.msgs = append(got.msgs, msg)
				return nil
			}
			r.report = func(e *LineError) error { got.errs = append(got.errs, e.Error()); return nil }
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			ok, err := r.readMapped(context.Background(), f)
			f.Close()
			got.err, got.lines = err, r.base
			if !ok || !reflect.DeepEqual(got, want) || len(want.msgs) != strings.Count(string(shrunk), "\n") || strict && len(want.errs) != 1 {
				t.Fatalf("strict %v, cut at %d: mapped %v\ngot  %d messages, errors %v, %d lines, %v\nwant %d messages, errors %v, %d lines",
					strict, cut, ok, len(got.msgs), got.errs, got.lines, got.err, len(want.msgs), want.errs, want.lines)
			}
		}
	}
}

// The same, racing: the log is cut at a random moment of a scan, at a
// random place, many times over; the scan delivers each line once and in
// order, and all that is before the cut.
func TestMappedFileShrinksRacing(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := range 60000 {
		b.WriteString(line(i, "ARCE", "ARUN", uint64(i), 1))
	}
	full := b.String()
	path := filepath.Join(dir, "audit.log")
	rng := rand.New(rand.NewPCG(7, 8))
	var took time.Duration
	for round := range 60 {
		write(t, path, full)
		cut := rng.IntN(len(full))
		delay := time.Duration(rng.Int64N(int64(max(took, time.Millisecond))))
		done := make(chan struct{})
		go func() {
			defer close(done)
			time.Sleep(delay)
			if err := os.Truncate(path, int64(cut)); err != nil {
				t.Error(err)
			}
		}()
		start := time.Now()
		msgs, errs, st, err := scanAll(t, ScanOptions{Files: []string{path}, Strict: round%2 == 0, Workers: 1})
		if round == 0 {
			took = time.Since(start)
		}
		<-done
		for i, m := range msgs {
			if m.Line != i+1 || m.CBID != fmt.Sprintf("%016X", i) {
				t.Fatalf("round %d: message %d is line %d, CBID %s", round, i, m.Line, m.CBID)
			}
		}
		// Cut where the scan has been, the lines after it were read
		// before; cut ahead of it, the part line at the end is
		// malformed (or whole but for its newline).
		whole := strings.Count(full[:cut], "\n")
		switch {
		case err == nil && len(errs) == 0 && len(msgs) >= whole:
		case len(errs) == 1 && len(msgs) == whole && st.Malformed == 1 && strings.HasPrefix(errs[0].Error(), fmt.Sprintf("%s:%d: malformed", path, whole+1)):
		default:
			t.Fatalf("round %d: cut after %d whole lines; %d messages, err %v, errs %v", round, whole, len(msgs), err, errs)
		}
	}
}

// A mapped read stops at the next window when the scan is stopped (Ctrl-C
// cancels the context), not at the end of the file.
func TestMappedStopsWhenCanceled(t *testing.T) {
	smallWindows(t, 16)
	path := filepath.Join(t.TempDir(), "audit.log")
	write(t, path, strings.Repeat(line(0, "ARCE", "ARUN", 1, 1), 3000)) // ~460 lines a window
	m, err := (Filter{Types: []string{"ARCE"}}).compile()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := newReader(m, true, "audit.log", 0)
	n := 0
	r.emit = func(Message) error { n++; cancel(); return nil }
	r.report = func(e *LineError) error { t.Fatal(e); return nil }
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ok, err := r.readMapped(ctx, f); !ok || err != context.Canceled || n < 1 || n > 1000 {
		t.Fatalf("mapped %v, err %v, after %d of 3000 messages", ok, err, n)
	}
}
