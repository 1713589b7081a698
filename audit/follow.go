package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/storagegrid/storagegrid/internal/fail"
)

// FollowOptions says which live log to follow and what to keep.
type FollowOptions struct {
	Path      string        // the live log, normally DefaultDir/audit.log
	Filter    Filter        // as for Scan
	FromStart bool          // read what the log already holds first; default: only new messages
	Poll      time.Duration // how often to look for new data and rotation (default 250ms)
	// MaxLineBytes, Name and OnError are as in ScanOptions.
	MaxLineBytes int
	Name         func(path string) string
	OnError      func(error)
	// OnFollow, if set, is called once the log is open and positioned
	// (found false: it does not exist yet and is waited for); every line
	// written after that call is read.
	OnFollow func(found bool)
}

// Follow calls fn with each new matching message of the log at opts.Path
// until ctx ends or fn fails, like tail -F: when the grid rotates the log
// (renames audit.log to yyyy-mm-dd.txt and starts a new audit.log), what
// was still written to the old file is read, then the new file from its
// start. A truncated log is read again from its start. A missing log is
// waited for.
func Follow(ctx context.Context, opts FollowOptions, fn func(Message) error) error {
	m, err := opts.Filter.compile()
	if err != nil {
		return fail.With(fail.Usage, err)
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	name := opts.Path
	if opts.Name != nil {
		name = opts.Name(opts.Path)
	}
	fl := &follower{opts: opts, r: newReader(m, false, name, opts.MaxLineBytes)}
	fl.r.emit = func(msg Message) error {
		n, err := fl.skippedLines(ctx)
		msg.Line += n
		if err != nil {
			return err
		}
		return fn(msg)
	}
	fl.r.report = func(e *LineError) error {
		n, err := fl.skippedLines(ctx)
		e.Line += n
		if opts.OnError != nil && err == nil {
			opts.OnError(e)
		}
		return err
	}
	defer fl.close()
	err = fl.run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

type follower struct {
	opts FollowOptions
	r    *reader
	f    *os.File
	fi   os.FileInfo
	off  int64
	// The lines before where following began, counted in the
	// background; skipped is valid once counted is closed.
	counted  chan struct{}
	skipped  int
	countErr error
}

// skippedLines is the number of lines the current file had before the
// point where following began, waiting for the count if need be: a
// message's line number is that plus its line from there.
func (fl *follower) skippedLines(ctx context.Context) (int, error) {
	if fl.counted == nil {
		return 0, nil
	}
	select {
	case <-fl.counted:
		return fl.skipped, fl.countErr
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (fl *follower) run(ctx context.Context) error {
	// Only a log that exists when following starts has old messages to
	// skip; one that appears later is new from its first line.
	fromStart := fl.opts.FromStart
	announced := false
	for {
		if fl.f == nil {
			if err := fl.open(fromStart); err != nil {
				return err
			}
			fromStart = true
			if !announced && fl.opts.OnFollow != nil {
				fl.opts.OnFollow(fl.f != nil)
			}
			announced = true
		}
		if fl.f != nil {
			more, err := fl.read()
			if err != nil || more {
				if err != nil {
					return err
				}
				continue
			}
			if err := fl.check(); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(fl.opts.Poll):
		}
	}
}

// open opens the live log, positioned at its start or end; a missing log
// leaves fl.f nil to be tried again.
func (fl *follower) open(fromStart bool) error {
	f, err := openRegular(fl.opts.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", fl.opts.Path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	fl.f, fl.fi, fl.off = f, fi, 0
	if !fromStart {
		return fl.skipToEnd(fi.Size())
	}
	return nil
}

// skipToEnd positions the log after the last complete line of its first
// size bytes (its size when opened: whatever is written later is read),
// finding it from the end, and counts the lines before it in the
// background so that later messages carry their true line numbers
// without the whole log being read first. A partial last line is read
// again: its message is new.
func (fl *follower) skipToEnd(size int64) error {
	end, err := lastLineEnd(fl.f, size, fl.r.buf)
	if err != nil {
		return err
	}
	if fl.off, err = fl.f.Seek(end, io.SeekStart); err != nil {
		return err
	}
	counted := make(chan struct{})
	fl.counted, fl.skipped, fl.countErr = counted, 0, nil
	f := fl.f
	go func() {
		defer close(counted)
		buf := make([]byte, 256<<10)
		for off := int64(0); off < end; {
			k, err := f.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
			fl.skipped += bytes.Count(buf[:k], []byte{'\n'})
			off += int64(k)
			if err != nil {
				fl.countErr = fmt.Errorf("%s: counting its lines: %w", fl.opts.Path, err)
				return
			}
		}
	}()
	return nil
}

// lastLineEnd returns the offset after the last newline in f's first
// size bytes, reading backwards with buf; 0 when there is none.
func lastLineEnd(f *os.File, size int64, buf []byte) (int64, error) {
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		k, err := f.ReadAt(buf[:end-start], start)
		if err != nil && err != io.EOF {
			return 0, err
		}
		if nl := bytes.LastIndexByte(buf[:k], '\n'); nl >= 0 {
			return start + int64(nl) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// read handles the data the log has gained; it reports whether there may
// be more to read at once.
func (fl *follower) read() (bool, error) {
	r := fl.r
	k, err := fl.f.Read(r.buf[r.n:])
	r.n += k
	fl.off += int64(k)
	if err != nil && err != io.EOF {
		return false, err
	}
	if k == 0 {
		return false, r.idle()
	}
	if r.n == len(r.buf) {
		return true, r.process(false)
	}
	return true, nil
}

// check looks for rotation and truncation once the log is read to its end.
func (fl *follower) check() error {
	fi, err := os.Stat(fl.opts.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // renamed; the new log is not there yet, keep reading the old one
	}
	if err != nil {
		return err
	}
	if !os.SameFile(fi, fl.fi) {
		// Rotated: finish the old file, then start the new one.
		for {
			more, err := fl.read()
			if err != nil {
				return err
			}
			if !more {
				break
			}
		}
		if err := fl.r.process(true); err != nil {
			return err
		}
		fl.close()
		fl.restart()
		return nil
	}
	if fi.Size() < fl.off {
		fl.restart()
		fl.off, err = fl.f.Seek(0, io.SeekStart)
		return err
	}
	return nil
}

// restart readies the follower for a new file, read from its start.
func (fl *follower) restart() {
	if fl.counted != nil {
		<-fl.counted // the count reads the old file
	}
	fl.counted = nil
	fl.r.restart()
}

func (fl *follower) close() {
	if fl.f != nil {
		fl.f.Close()
		fl.f = nil
	}
}

// idle handles the last buffered message when its lines are complete and
// it is not waiting for a continuation line: a live log has no later
// message to show that it ended.
func (r *reader) idle() error {
	if r.n == 0 || r.buf[r.n-1] != '\n' {
		return nil
	}
	if err := r.process(false); err != nil {
		return err
	}
	if r.n > 0 && r.rec.parse(r.buf[:r.n]) == errTruncated {
		return nil
	}
	return r.process(true)
}

// restart readies the reader for a new file.
func (r *reader) restart() {
	r.n, r.base, r.cpos, r.cline, r.skipping = 0, 0, 0, 0, false
}
