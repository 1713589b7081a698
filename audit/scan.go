package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"github.com/storagegrid/storagegrid/internal/fail"
)

// ErrNoLogs is returned when a directory holds no audit logs.
var ErrNoLogs = errors.New("no audit logs (audit.log, yyyy-mm-dd.txt[.N][.gz])")

// ScanOptions says what to read and which messages to keep.
type ScanOptions struct {
	// Dir is read (audit.log, yyyy-mm-dd.txt[.N], yyyy-mm-dd.txt.gz, oldest
	// first) when Files is empty.
	Dir string
	// Files are read instead of Dir: "-" is Stdin, a directory stands for
	// its logs. Files with rotation names are put in time order; others
	// keep the order given.
	Files []string
	Stdin io.Reader
	// Filter selects the messages passed to the callback. Saved logs
	// whose date (from the name) is days outside Since/Until are skipped.
	Filter Filter
	// Strict parses every line. Otherwise, when the filter names types or
	// results, lines without those codes are skipped unparsed, so a
	// malformed line that could not have matched is not reported.
	Strict bool
	// MaxLineBytes bounds a message (default DefaultMaxLine); longer ones
	// are malformed.
	MaxLineBytes int
	// Workers is how many files are read at once (default GOMAXPROCS).
	// Messages are delivered in order whatever the number.
	Workers int
	// Name turns a path into the name used in Message.File and errors
	// (e.g. hostpath.Root.Strip); nil keeps the path.
	Name func(path string) string
	// sum, set by Sum.Scan, takes the selected records in place of the
	// callback: each input is tallied apart and the tallies merged in
	// input order.
	sum *Sum
	// OnError receives each malformed message (*LineError) and each file
	// that could not be read (*FileError) as found, on the caller's
	// goroutine. The scan goes on; the returned error counts them.
	OnError func(error)
}

// Stats counts what a scan saw.
type Stats struct {
	Files       int // inputs opened
	FailedFiles int // inputs that could not be read to the end
	Lines       int // lines read
	Matched     int // messages passed to the callback
	Malformed   int // malformed messages skipped
}

// FileError is an input that could not be read (to the end).
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s: %v", e.File, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// Scan reads the logs opts names and calls fn with each matching message,
// oldest file first and in file order, on the caller's goroutine. Files
// are read in parallel. An error from fn stops the scan and is returned.
// When files could not be read or messages were malformed, the rest is
// still scanned and the error is of kind fail.Partial (fail.Failed when
// nothing could be read at all).
func Scan(ctx context.Context, opts ScanOptions, fn func(Message) error) (Stats, error) {
	var st Stats
	m, err := opts.Filter.compile()
	if err != nil {
		return st, fail.With(fail.Usage, err)
	}
	inputs, err := opts.inputs()
	if err != nil {
		return st, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chans := make([]chan event, len(inputs))
	for i := range chans {
		chans[i] = make(chan event, 4)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go opts.launch(ctx, m, inputs, chans, &wg)
	for _, ch := range chans {
		for ev := range ch {
			if err := opts.deliver(ev, &st, fn); err != nil {
				cancel()
				for range ch {
				}
				return st, err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	return st, st.err()
}

func (st Stats) err() error {
	var parts []string
	if st.FailedFiles > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d files could not be read", st.FailedFiles, st.Files))
	}
	if st.Malformed > 0 {
		parts = append(parts, fmt.Sprintf("%d malformed message%s skipped", st.Malformed, map[bool]string{true: "s"}[st.Malformed > 1]))
	}
	if len(parts) == 0 {
		return nil
	}
	err := errors.New("audit logs incomplete: " + strings.Join(parts, ", "))
	if st.FailedFiles == st.Files && st.Matched == 0 {
		return err
	}
	return fail.With(fail.Partial, err)
}

// event is what a file's reader hands to the caller's goroutine.
type event struct {
	msgs  []Message
	sum   *Sum  // the input's tally (Sum.Scan)
	err   error // a *LineError or *FileError
	stats *Stats
}

func (opts *ScanOptions) deliver(ev event, st *Stats, fn func(Message) error) error {
	if ev.err != nil && opts.OnError != nil {
		opts.OnError(ev.err)
	}
	if ev.stats != nil {
		st.Files += ev.stats.Files
		st.FailedFiles += ev.stats.FailedFiles
		st.Lines += ev.stats.Lines
		st.Malformed += ev.stats.Malformed
		st.Matched += ev.stats.Matched
	}
	if ev.sum != nil {
		opts.sum.merge(ev.sum)
	}
	for _, m := range ev.msgs {
		st.Matched++
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// launch starts one reader per input, at most Workers at a time and in
// input order, so that the input the caller waits for is always running.
func (opts *ScanOptions) launch(ctx context.Context, m *matcher, inputs []input, chans []chan event, wg *sync.WaitGroup) {
	defer wg.Done()
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, workers)
	for i, in := range inputs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			for _, ch := range chans[i:] {
				close(ch)
			}
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer close(chans[i])
			opts.readInput(ctx, m, in, chans[i])
		}()
	}
}

// readInput reads one input, sending batches of messages and errors.
func (opts *ScanOptions) readInput(ctx context.Context, m *matcher, in input, out chan<- event) {
	name := opts.name(in.path)
	send := func(ev event) error {
		select {
		case out <- ev:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var batch []Message
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := send(event{msgs: batch})
		batch = nil
		return err
	}
	r := newReader(m.clone(), opts.Strict, name, opts.MaxLineBytes)
	r.emit = func(msg Message) error {
		batch = append(batch, msg)
		if len(batch) == 256 {
			return flush()
		}
		return nil
	}
	r.report = func(e *LineError) error {
		if err := flush(); err != nil {
			return err
		}
		return send(event{err: e})
	}
	var part *Sum
	if opts.sum != nil {
		part = NewSum(opts.sum.opts)
		r.take = part.addRecord
		if !opts.Strict && part.opts.ByTime == 0 && m.typesOnly() {
			part.filterTypes = m.types
			r.skim = part.skim
		}
	}
	st := &Stats{Files: 1}
	err := opts.readPath(ctx, in, r)
	if err == nil {
		err = flush()
	}
	st.Lines, st.Malformed = r.base, r.malformed
	if part != nil {
		st.Matched = r.matched
	}
	var fe *FileError
	if errors.As(err, &fe) {
		st.FailedFiles = 1
		if flush() == nil {
			_ = send(event{err: fe, stats: st, sum: part})
		}
		return
	}
	_ = send(event{stats: st, sum: part})
}

// readPath opens path (or stdin) and runs r over it, decompressing gzip
// data whatever the name says.
func (opts *ScanOptions) readPath(ctx context.Context, in input, r *reader) error {
	var src io.Reader = opts.Stdin
	if in.path == "-" && src != nil {
		src = newContextReader(ctx, src) // Ctrl-C works while stdin is idle
	}
	if in.path != "-" {
		f, err := openLog(in)
		if err != nil {
			return &FileError{File: r.name, Err: err}
		}
		defer f.Close()
		if mapped, err := r.readMapped(ctx, f); mapped {
			return r.readErr(ctx, err)
		}
		src = f
	}
	src, err := decompress(src)
	if err != nil && ctx.Err() != nil {
		return ctx.Err() // stopped while waiting for the first bytes
	}
	if err != nil {
		return &FileError{File: r.name, Err: err}
	}
	return r.readErr(ctx, r.readAll(ctx, src))
}

// readErr is the error of reading an input: the input's, naming it,
// unless the scan was stopped.
func (r *reader) readErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() == nil {
		return &FileError{File: r.name, Err: fmt.Errorf("%w (the %d lines before it were read)", err, r.base)}
	}
	return err
}

// openLog opens a log. A yyyy-mm-dd.txt that vanished since the listing
// has usually just been compressed, so its .gz is read instead.
func openLog(in input) (*os.File, error) {
	f, err := openRegular(in.path)
	if errors.Is(err, fs.ErrNotExist) && in.listed {
		if ln, ok := parseLogName(filepath.Base(in.path)); ok && !ln.gz && !ln.live {
			if g, gerr := openRegular(in.path + ".gz"); gerr == nil {
				return g, nil
			}
		}
		return nil, errors.New("vanished while scanning (rotated or removed)")
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return nil, pe.Err // the caller names the file
	}
	return f, err
}

// openRegular opens path for reading only if it is a regular file. The
// open does not block (O_NONBLOCK): opening a FIFO named like a log would
// otherwise wait for a writer forever.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("is %s, not an audit log file", fileKind(fi.Mode()))
	}
	return f, nil
}

// fileKind names a file type for refusals.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file"
}

var gzipMagic = []byte{0x1f, 0x8b}

// decompress returns src, gunzipped when it starts with the gzip magic.
func decompress(src io.Reader) (io.Reader, error) {
	head := make([]byte, 2)
	n, err := io.ReadFull(src, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	src = io.MultiReader(bytes.NewReader(head[:n]), src)
	if !bytes.Equal(head[:n], gzipMagic) {
		return src, nil
	}
	return newInflater(src)
}

// input is one file to read; listed ones come from a directory listing.
type input struct {
	path   string
	listed bool
}

// inputs lists what to read, in order.
func (opts *ScanOptions) inputs() ([]input, error) {
	var out []input
	var named []string
	if len(opts.Files) == 0 {
		logs, err := Files(opts.Dir)
		if err != nil {
			return nil, opts.dirErr(opts.Dir, err)
		}
		for _, l := range opts.inRange(logs) {
			out = append(out, input{path: l, listed: true})
		}
	}
	for _, p := range opts.Files {
		fi, err := os.Stat(p)
		if p == "-" || err != nil || !fi.IsDir() {
			named = append(named, p)
			continue
		}
		logs, err := Files(p)
		if err != nil {
			return nil, opts.dirErr(p, err)
		}
		for _, l := range opts.inRange(logs) {
			out = append(out, input{path: l, listed: true})
		}
	}
	if countOf(named, "-") > 1 {
		return nil, fail.Usagef("stdin (-) given more than once")
	}
	sortLogs(named)
	for _, p := range opts.inRange(named) {
		out = append(out, input{path: p})
	}
	return out, nil
}

func (opts *ScanOptions) dirErr(dir string, err error) error {
	if errors.Is(err, ErrNoLogs) {
		return fmt.Errorf("%s: %w", opts.name(dir), ErrNoLogs)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("audit log directory %s: %w", opts.name(dir), pe.Err)
	}
	return err
}

// inRange drops saved logs whose name dates them far outside the filter's
// time range.
func (opts *ScanOptions) inRange(paths []string) []string {
	f := opts.Filter
	if f.Since.IsZero() && f.Until.IsZero() {
		return paths
	}
	var out []string
	for _, p := range paths {
		if ln, ok := parseLogName(filepath.Base(p)); ok && ln.outside(f.Since, f.Until) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func (opts *ScanOptions) name(path string) string {
	if path == "-" {
		return "-"
	}
	if opts.Name != nil {
		return opts.Name(path)
	}
	return path
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}
