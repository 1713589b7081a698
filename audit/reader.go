package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxLine is the longest message accepted. Real messages are a few
// kilobytes; a longer line is garbage and must not grow memory.
const DefaultMaxLine = 1 << 20

// LineError is a malformed message: it names the file and the line where
// the message starts.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: malformed audit message: %v", e.File, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// reader splits one input into messages. It works on a large buffer of
// whole lines; with a filter that names codes it looks for those codes in
// the raw bytes first and parses only the lines around a hit, so the lines
// it skips cost no more than they cost grep, and no allocation.
type reader struct {
	m       *matcher
	fast    bool // use the needle search
	name    string
	maxLine int
	emit    func(Message) error
	take    func(*record) // when set, takes the matching records in place of emit
	// skim, when set, reads a one-line message in place of parsing it
	// and take (Sum.skim); a line it cannot read is parsed.
	skim   func(line []byte) (read, matched bool)
	report func(*LineError) error

	buf      []byte
	n        int  // valid bytes in buf
	skipping bool // discarding the rest of an over-long line
	// cur is the data being handled (the buffer, or a window of a mapped
	// file), whose offsets lineAt takes.
	cur   []byte
	base  int // lines before cur[0]; after the end, all lines
	cpos  int // lines in cur[:cpos] are counted in cline
	cline int
	// peekAt, peekEnd: lineEnd(cur, peekAt) is peekEnd, found while
	// looking whether the line at peekAt continues a message, kept
	// for when it is handled next.
	peekAt, peekEnd int
	// doneAt: everything in cur before it is handled, doneLines lines
	// (see handled).
	doneAt, doneLines int
	primary           []needle // the codes searched for; a message holds one of them
	sampled           bool     // primary needles tuned to this input
	hits              []int    // next hit of each primary needle; < pos means unknown
	rec               record
	// lean: lines are validated keeping only what the filter looks at
	// (record.lean), and parsed in full when they match; for strict
	// scans with a filter that matches few lines.
	lean        bool
	leanMatched int
	joined      []byte // a message wrapped over lines, its line breaks removed

	matched, malformed int
}

func newReader(m *matcher, strict bool, name string, maxLine int) *reader {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	r := &reader{m: m, fast: !strict && len(m.needles) > 0, name: name, maxLine: maxLine,
		buf: make([]byte, max(2*maxLine, 4096)), rec: record{memo: new(memo)}}
	r.lean = strict && len(m.fields) == 0 && !m.matchesAll()
	if r.fast {
		r.primary = codeNeedles(m.primaryCodes())
		r.hits = make([]int, len(r.primary))
	}
	return r
}

// readAll reads src to its end.
func (r *reader) readAll(ctx context.Context, src io.Reader) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := r.fill(src)
		if err == io.EOF {
			return r.process(true)
		}
		if err != nil {
			// What was read before the damage counts: its whole
			// lines are handled as the end of the input, a line cut
			// by the damage is not.
			r.n = bytes.LastIndexByte(r.buf[:r.n], '\n') + 1
			if perr := r.process(true); perr != nil {
				return perr
			}
			return err
		}
		if err := r.process(false); err != nil {
			return err
		}
	}
}

// readChunk is how much fill adds to the buffer: enough that a pass
// over it is long, little enough that it is still in the CPU's cache
// when the searches and the parser go over it again.
const readChunk = 256 << 10

// fill reads another chunk into the buffer (up to its end): a message
// longer than a chunk is read over several calls.
func (r *reader) fill(src io.Reader) error {
	for want := min(len(r.buf), r.n+readChunk); r.n < want; {
		k, err := src.Read(r.buf[r.n:want])
		r.n += k
		if err != nil {
			return err
		}
	}
	return nil
}

// process handles the complete messages in the buffer and keeps the last,
// possibly unfinished one for the next call. With final set, everything is
// handled.
func (r *reader) process(final bool) error {
	data := r.buf[:r.n]
	n, err := r.consume(data, final)
	if err != nil {
		return err
	}
	if n == 0 && r.n == len(r.buf) && !r.skipping {
		// One message fills the buffer: handle its first line alone,
		// or, without a newline at all, drop the line.
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			r.skipping = true
			r.n = 0
			return r.fail(r.base+1, fmt.Errorf("line longer than %d bytes", r.maxLine))
		}
		if n, err = r.consume(data[:nl+1], true); err != nil {
			return err
		}
	}
	r.n = copy(r.buf, data[n:])
	return nil
}

// consume handles the complete messages at the start of data, which
// follows what was handled before, and returns how many bytes it handled:
// all of data when final, otherwise up to the last message, which may be
// unfinished (0 when data holds no whole one). The lines handled are
// counted in base.
func (r *reader) consume(data []byte, final bool) (int, error) {
	r.doneAt, r.doneLines = 0, 0
	if r.skipping {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if final {
				r.skipping = false
				r.base++ // the over-long last line has no newline
			}
			return len(data), nil
		}
		r.skipping = false
		r.base++
		n, err := r.consume(data[i+1:], final)
		return i + 1 + n, err
	}
	cut := len(data)
	if !final {
		cut = cutPoint(data)
	}
	if cut == 0 {
		return 0, nil
	}
	r.cur, r.cpos, r.cline, r.peekAt, r.peekEnd = data, 0, 0, 0, 0
	if err := r.region(data[:cut]); err != nil {
		return 0, err
	}
	r.lineAt(cut)
	r.base += r.cline
	r.cur, r.cpos, r.cline = nil, 0, 0
	if final && cut > 0 && data[cut-1] != '\n' {
		r.base++ // count the last line, which has no newline
	}
	return cut, nil
}

// lineAt returns the 1-based line number of offset x of cur; offsets must
// not decrease between calls in one consume.
func (r *reader) lineAt(x int) int {
	if x > r.cpos { // in a strict scan, the line before is counted already
		r.cline += bytes.Count(r.cur[r.cpos:x], []byte{'\n'})
		r.cpos = x
	}
	return r.base + r.cline + 1
}

// handled notes that all of cur before pos is handled, and how many lines
// that is: where reading can start again when a mapped file shrinks under
// the reader (consumeWindow).
func (r *reader) handled(pos int) {
	r.lineAt(pos)
	r.doneAt, r.doneLines = pos, r.cline
}

// region handles data, which holds whole messages.
func (r *reader) region(data []byte) error {
	if !r.fast {
		for pos := 0; pos < len(data); {
			end, err := r.message(data, pos)
			if err != nil {
				return err
			}
			pos = end
			r.handled(pos)
		}
		return nil
	}
	if !r.sampled {
		sample := data[:min(len(data), 256<<10)]
		r.sampled = true
		if wrapped(sample) {
			// A document's paste: a wrap may split the very code the
			// needle search looks for, so every message is parsed.
			r.fast = false
			return r.region(data)
		}
		chooseRare(r.primary, sample)
	}
	for i := range r.hits {
		r.hits[i] = -1
	}
	for pos := 0; pos < len(data); {
		hit := r.nextHit(data, pos)
		if hit < 0 {
			break
		}
		start := lineStart(data, hit, pos)
		for start > pos && continues(data[start:lineEnd(data, start)], true) {
			start = lineStart(data, start-1, pos)
		}
		if start > pos {
			if prev := lineStart(data, start-1, pos); timestampOnly(data[prev:start]) {
				start = prev // the message's time, alone on the line before
			}
		}
		end, err := r.message(data, start)
		if err != nil {
			return err
		}
		pos = end
		r.handled(pos)
	}
	return nil
}

// nextHit returns the offset of the first primary needle at or after pos,
// or -1.
func (r *reader) nextHit(data []byte, pos int) int {
	best := len(data)
	for k := range r.primary {
		nd := &r.primary[k]
		for from := pos; r.hits[k] < pos; {
			r.hits[k] = len(data)
			if j := nd.index(data[from:]); j >= 0 && !delimitedCode(data, from+j, len(nd.b)) {
				from += j + 1
				r.hits[k] = -1 // part of a longer word: look further
			} else if j >= 0 {
				r.hits[k] = from + j
			}
		}
		best = min(best, r.hits[k])
	}
	if best == len(data) {
		return -1
	}
	return best
}

// message handles the message whose first line starts at data[start] and
// returns where the next one starts. A message continues over the
// following lines that start no message while it lacks its closing
// bracket, as when one is pasted from a document that wraps it (see
// continues); the line breaks are removed before it is parsed.
func (r *reader) message(data []byte, start int) (int, error) {
	first := r.lineEnd(data, start)
	end := first
	if timestampOnly(data[start:first]) && end < len(data) {
		end = r.lineEnd(data, end) // the message, on the next line
	}
	// Documents wrap a message over a few dozen lines at most; a limit
	// keeps a run of garbage from being parsed again at every line.
	for n := 0; n < maxWrapLines && end < len(data); n++ {
		next := r.lineEnd(data, end)
		r.peekAt, r.peekEnd = end, next
		if !continues(data[end:next], true) {
			break
		}
		end = next
	}
	line := r.lineAt(start)
	if end == first && data[first-1] == '\n' {
		r.cline, r.cpos = r.cline+1, first // one line: counted without a search
	}
	if blank(data[start:first]) || commandLine(data[start:first]) {
		return first, nil
	}
	if r.fast && !r.m.candidate(data[start:end]) {
		return end, nil
	}
	if end-start > r.maxLine {
		return end, r.fail(line, fmt.Errorf("message longer than %d bytes", r.maxLine))
	}
	if r.skim != nil && end == first {
		if read, matched := r.skim(data[start:first]); read {
			if matched {
				r.matched++
			}
			return end, nil
		}
	}
	stop := first
	var err error
	var b []byte
	r.rec.lean = r.lean
	for {
		if stop == first {
			b = trimEOL(data[start:stop]) // one line, as logs have it
		} else {
			b = r.unwrap(data[start:stop])
		}
		err = r.rec.parseLine(b) // unwrap leaves no newline
		if !stoppedShort(err, b) || stop == end {
			break
		}
		stop = lineEnd(data, stop)
	}
	if err != nil && errors.Is(err, errTruncated) {
		err = errors.New("unexpected end of message (missing ']')")
	}
	if err != nil {
		return end, r.fail(line, err)
	}
	if stop < end {
		if err := r.fail(r.lineAt(stop), errors.New("line continues no message")); err != nil {
			return end, err
		}
	}
	if !r.m.match(&r.rec) {
		return end, nil
	}
	if r.rec.lean {
		r.leanMatched++
		if r.leanMatched > 64 && r.leanMatched*8 > r.base+r.cline {
			r.lean = false // one line in eight matches: parsing twice costs more
		}
		r.rec.lean = false
		if err := r.rec.parseLine(b); err != nil { // never: TestLeanAgreesWithParse
			return end, r.fail(line, err)
		}
	}
	if r.take != nil {
		r.matched++
		r.take(&r.rec)
		return end, nil
	}
	m := r.rec.message()
	m.File, m.Line = r.name, line
	r.matched++
	return end, r.emit(m)
}

func (r *reader) fail(line int, err error) error {
	r.malformed++
	return r.report(&LineError{File: r.name, Line: line, Err: err})
}

// cutPoint returns where the last message of data starts when data may
// end inside it: the start of the last line that begins a message. All
// before it is complete.
func cutPoint(data []byte) int {
	nl := bytes.LastIndexByte(data, '\n')
	if nl < 0 {
		return 0
	}
	cut := nl + 1
	if !continues(data[cut:], false) {
		return cut
	}
	for cut > 0 {
		start := lineStart(data, cut-1, 0)
		if !continues(data[start:cut], true) {
			// A timestamp alone on the line before belongs to it.
			if start > 0 {
				if prev := lineStart(data, start-1, 0); timestampOnly(data[prev:start]) {
					return prev
				}
			}
			return start
		}
		cut = start
	}
	return 0
}

// maxWrapLines is the most lines a message may continue over.
const maxWrapLines = 200

// unwrap returns the lines of one message as one: documents wrap a long
// message at a fixed width, inside a word, a number or a quoted value as
// well as between attributes, so the line breaks go and nothing takes
// their place. A single line is returned as it is, without a copy.
func (r *reader) unwrap(lines []byte) []byte {
	nl := bytes.IndexByte(lines, '\n')
	if nl < 0 || nl == len(lines)-1 {
		return bytes.TrimRight(lines, "\r\n")
	}
	r.joined = r.joined[:0]
	for len(lines) > 0 {
		line := lines[:lineEnd(lines, 0)]
		lines = lines[len(line):]
		line = bytes.TrimRight(line, "\r\n")
		r.joined = append(r.joined, line...)
	}
	return r.joined
}

// wrapped reports whether data holds a line that continues a message (a
// document's paste) rather than starting one, as every line of a log does.
func wrapped(data []byte) bool {
	for pos := 0; pos < len(data); {
		end := lineEnd(data, pos)
		if end == len(data) && data[end-1] != '\n' {
			return false // the last line may be cut short
		}
		if continues(data[pos:end], true) {
			return true
		}
		pos = end
	}
	return false
}

// commandLine reports whether line is a shell prompt and command that a
// document prints above a command's output (">Admin: # grep OLST
// audit.log"): no '[', and a '#' or '$' followed by a blank and a word.
func commandLine(line []byte) bool {
	if bytes.IndexByte(line, '[') >= 0 {
		return false
	}
	for i := 0; i+2 < len(line); i++ {
		if (line[i] == '#' || line[i] == '$') && line[i+1] == ' ' && !isSpace(line, i+2) {
			return true
		}
	}
	return false
}

// timestampOnly reports whether line holds a timestamp and nothing else,
// as documents print a message: the time on its own line, the message
// wrapped below it.
func timestampOnly(line []byte) bool {
	if k := len(line) - 1; k > 0 && (line[k] == ']' || line[k] == '\n' && line[k-1] == ']') {
		return false // the common case, a message line, decided at once
	}
	i := skipSpace(line, 0)
	if i == len(line) || !isDigit(line[i]) {
		return false // the common case, a message line, decided at once
	}
	j := i
	for j < len(line) && j-i <= len("2006-01-02T15:04:05.000000000") && !isSpace(line, j) {
		j++
	}
	if skipSpace(line, j) != len(line) {
		return false
	}
	_, ok := timestampParts(line[i:j])
	return ok
}

// continues reports whether line continues the previous line's message:
// it is not blank and starts no message, which begins with "[AUDT" or a
// timestamp, after the FILE: a multi-file grep may put first. An
// incomplete line that cannot be told apart yet (empty, "[AU", or part of
// a timestamp) counts as continuing.
func continues(line []byte, complete bool) bool {
	i := skipSpace(line, 0)
	if i == len(line) {
		return !complete
	}
	if !complete && bytes.IndexByte(line, '\n') < 0 && len(line)-i < len("2006-01-02T15:04:05.000000 [AUDT") {
		return true
	}
	return !startsMessage(line, i)
}

// startsMessage reports whether line[i:] opens a message: "[AUDT", or a
// timestamp followed by a blank, '[' or the line's end, either of them
// perhaps after a grep's FILE: prefix.
func startsMessage(line []byte, i int) bool {
	if line[i] == '[' {
		return hasPrefix(line[skipSpace(line, i+1):], "AUDT")
	}
	if n := len(line) - i; n > 20 && line[i+4] == '-' && line[i+7] == '-' && line[i+10] == 'T' && line[i+13] == ':' && isDigit(line[i]) {
		return true // the shape of a timestamp: a log's every line, decided at once
	}
	j := i
	for j < len(line) && !isSpace(line, j) && line[j] != '[' && j-i <= 256 {
		j++
	}
	if _, ok := timestampParts(line[i:j]); ok {
		return true
	}
	k := skipGrepPrefix(line, i, j)
	if k == i || k >= len(line) {
		return false
	}
	if line[k] == '[' {
		return hasPrefix(line[skipSpace(line, k+1):], "AUDT")
	}
	_, ok := timestampParts(line[k:j])
	return ok
}

func blank(line []byte) bool { return skipSpace(line, 0) == len(line) }

// lineStart returns the start of the line holding data[i], not before lo.
func lineStart(data []byte, i, lo int) int {
	return lo + bytes.LastIndexByte(data[lo:i], '\n') + 1
}

// lineEnd is lineEnd for data, a prefix of cur, without searching again
// for the end of the line message looked at last.
func (r *reader) lineEnd(data []byte, start int) int {
	if start == r.peekAt && r.peekEnd > start {
		return r.peekEnd
	}
	return lineEnd(data, start)
}

// trimEOL returns line without the line break at its end.
func trimEOL(line []byte) []byte {
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	return line
}

// lineEnd returns the offset after the newline ending the line at start.
func lineEnd(data []byte, start int) int {
	if i := bytes.IndexByte(data[start:], '\n'); i >= 0 {
		return start + i + 1
	}
	return len(data)
}
