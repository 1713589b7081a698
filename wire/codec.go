package wire

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	// klauspost's gzip is a drop-in for compress/gzip at several times
	// the speed, which matters at tens of thousands of events a second.
	"github.com/klauspost/compress/gzip"
)

// Limits bound what a decoder accepts. A batch over any limit is rejected
// whole, so a misbehaving sender cannot exhaust the receiver's memory.
type Limits struct {
	MaxBodyBytes    int64 // the body as sent (compressed)
	MaxDecodedBytes int64 // the body after gunzip
	MaxLineBytes    int   // one header or event line
	MaxEvents       int   // events in one batch
}

// DefaultLimits are generous for one host's batch and small for a server.
var DefaultLimits = Limits{
	MaxBodyBytes:    16 << 20,
	MaxDecodedBytes: 128 << 20,
	MaxLineBytes:    1 << 20,
	MaxEvents:       200_000,
}

// ErrTooLarge is wrapped by decode errors caused by a limit.
var ErrTooLarge = errors.New("batch too large")

// VersionError reports a batch of a schema version this package cannot
// read.
type VersionError struct{ Got int }

func (e *VersionError) Error() string {
	return fmt.Sprintf("unsupported wire version %d (supported: %s)", e.Got, versionList())
}

func versionList() string {
	s := make([]string, len(Supported))
	for i, v := range Supported {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}

// Encode writes the batch as NDJSON, setting the header's event count.
func Encode(w io.Writer, b *Batch) error {
	b.Events, b.Header.Events = b.Events[:len(b.Events):len(b.Events)], len(b.Events)
	if b.Wire == 0 {
		b.Wire = Version
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&b.Header); err != nil {
		return err
	}
	for i := range b.Events {
		if err := enc.Encode(&b.Events[i]); err != nil {
			return fmt.Errorf("event seq %d: %w", b.Events[i].Seq, err)
		}
	}
	return bw.Flush()
}

// Compress returns the batch as gzip-compressed NDJSON, the body an agent
// POSTs with Content-Encoding: gzip.
func Compress(b *Batch) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if err := Encode(zw, b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeBody reads a batch as sent over HTTP: encoding is the
// Content-Encoding ("gzip", or "" / "identity" for plain NDJSON).
func DecodeBody(r io.Reader, encoding string, lim Limits) (*Batch, error) {
	body := &limitReader{r: r, left: lim.MaxBodyBytes, what: "body"}
	switch encoding {
	case "", "identity":
		return Decode(body, lim)
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		zr.Multistream(false)
		// Decode reads to EOF, where the gzip reader checks CRC and length.
		return Decode(zr, lim)
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q (use gzip)", encoding)
	}
}

// Decode reads a plain NDJSON batch, validating every event. It returns
// an error naming the line for anything malformed, and a *VersionError
// for a batch of an unsupported version.
func Decode(r io.Reader, lim Limits) (*Batch, error) {
	dec := &limitReader{r: r, left: lim.MaxDecodedBytes, what: "decompressed body"}
	sc := bufio.NewScanner(dec)
	sc.Buffer(make([]byte, 0, min(64<<10, lim.MaxLineBytes)), lim.MaxLineBytes)
	b := &Batch{}
	if err := decodeHeader(sc, dec, &b.Header, lim); err != nil {
		return nil, err
	}
	b.Events = make([]Event, 0, b.Header.Events)
	line := 1
	for sc.Scan() {
		line++
		if len(b.Events) == b.Header.Events {
			return nil, fmt.Errorf("line %d: more events than the header's %d", line, b.Header.Events)
		}
		b.Events = append(b.Events, Event{})
		ev := &b.Events[len(b.Events)-1]
		if err := decodeEvent(sc.Bytes(), ev, b.Host, b.Wire); err != nil {
			if dec.err != nil {
				// The scanner hands out a last partial line on a read
				// error; the read error is the real cause.
				return nil, readErr(dec.err, line, lim)
			}
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if n := len(b.Events); n > 1 && !before(&b.Events[n-2], ev) {
			return nil, fmt.Errorf("line %d: (epoch %d, seq %d) does not follow (epoch %d, seq %d): events must be in increasing order",
				line, ev.Epoch, ev.Seq, b.Events[n-2].Epoch, b.Events[n-2].Seq)
		}
	}
	if err := scanErr(sc, line+1, lim); err != nil {
		return nil, err
	}
	if len(b.Events) != b.Header.Events {
		return nil, fmt.Errorf("truncated batch: %d events of the header's %d", len(b.Events), b.Header.Events)
	}
	return b, nil
}

func decodeHeader(sc *bufio.Scanner, dec *limitReader, h *Header, lim Limits) error {
	if !sc.Scan() {
		if err := scanErr(sc, 1, lim); err != nil {
			return err
		}
		return errors.New("empty batch: no header line")
	}
	if err := strictUnmarshal(sc.Bytes(), h); err != nil {
		if dec.err != nil {
			return readErr(dec.err, 1, lim)
		}
		return fmt.Errorf("line 1: header: %w", err)
	}
	if !supported(h.Wire) {
		return &VersionError{Got: h.Wire}
	}
	if err := ValidHostID(h.Host); err != nil {
		return fmt.Errorf("line 1: header: %w", err)
	}
	if h.Events < 0 || h.Events > lim.MaxEvents {
		return fmt.Errorf("line 1: header announces %d events, limit %d: %w", h.Events, lim.MaxEvents, ErrTooLarge)
	}
	return nil
}

func decodeEvent(line []byte, ev *Event, host string, version int) error {
	if err := strictUnmarshal(line, ev); err != nil {
		return err
	}
	return ev.validate(host, version)
}

// strictUnmarshal refuses unknown envelope fields: an event this version
// does not fully understand must not be half-applied.
func strictUnmarshal(line []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(line))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("malformed JSON: %w", err)
	}
	if d.More() {
		return errors.New("malformed JSON: more than one value on the line")
	}
	return nil
}

func scanErr(sc *bufio.Scanner, line int, lim Limits) error {
	return readErr(sc.Err(), line, lim)
}

func readErr(err error, line int, lim Limits) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bufio.ErrTooLong):
		return fmt.Errorf("line %d: longer than %d bytes: %w", line, lim.MaxLineBytes, ErrTooLarge)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("line %d: truncated gzip stream: %w", line, err)
	default:
		return fmt.Errorf("line %d: %w", line, err)
	}
}

func supported(v int) bool {
	for _, s := range Supported {
		if v == s {
			return true
		}
	}
	return false
}

// before reports whether a precedes b in (epoch, seq) order.
func before(a, b *Event) bool {
	return a.Epoch < b.Epoch || (a.Epoch == b.Epoch && a.Seq < b.Seq)
}

// limitReader fails, rather than stopping quietly, past its limit.
type limitReader struct {
	r    io.Reader
	left int64
	what string
	err  error // the first error other than EOF
}

func (l *limitReader) Read(p []byte) (int, error) {
	n, err := l.read(p)
	if err != nil && err != io.EOF && l.err == nil {
		l.err = err
	}
	return n, err
}

func (l *limitReader) read(p []byte) (int, error) {
	if l.left <= 0 {
		// One more byte tells a body of exactly the limit from a longer one.
		var one [1]byte
		if _, err := io.ReadFull(l.r, one[:]); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%s exceeds the limit: %w", l.what, ErrTooLarge)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
