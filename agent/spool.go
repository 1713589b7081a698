// Package agent is the per-host agent: collectors that read metrics and
// inventory, change detection that turns them into wire events, a durable
// spool that holds every event until the model server acknowledges it,
// and the shipper that sends them.
package agent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Record is one spooled event: its position in the host's stream and its
// encoded bytes. Droppable records (metric samples) may be discarded when
// the spool is full; the others (inventory, config changes) never are.
type Record struct {
	Epoch     int64
	Seq       uint64
	Droppable bool
	Data      []byte
}

func (r Record) key() key { return key{r.Epoch, r.Seq} }

type key struct {
	epoch int64
	seq   uint64
}

func (a key) after(b key) bool { return a.epoch > b.epoch || (a.epoch == b.epoch && a.seq > b.seq) }

// SpoolStats describes the spool for /metrics.
type SpoolStats struct {
	Records int64 // not yet acknowledged
	Bytes   int64 // on disk
	Dropped int64 // metric samples discarded because the spool was full, since Open
	Damaged int64 // damaged stretches skipped when the spool was opened (each usually one record)
}

// Spool is an append-only queue on disk: segment files of framed records
// (length, CRC-32C, flags, epoch, seq, data), fsynced per batch, and an
// acknowledgement mark. A crash may leave a torn record at the end of the
// newest segment; Open cuts it off, and everything before it survives.
type Spool struct {
	dir      string
	maxBytes int64
	segBytes int64

	mu      sync.Mutex
	segs    []*segment // oldest first; the last one is appended to
	acked   key
	dropped int64
	damaged int64 // damaged stretches skipped when the spool was opened
	// frames is Append's buffer, kept between batches: each collection
	// cycle appends about as much as the last, and reusing it spares the
	// agent's small heap that much garbage per cycle.
	frames []byte
}

// maxKeptFrames bounds the buffer kept after a batch, so that one large
// snapshot does not pin its size for the life of the agent.
const maxKeptFrames = 1 << 20

type segment struct {
	path    string
	size    int64
	last    key
	pending int64 // records after the ack mark
	ackOff  int64 // where the first record after the ack mark starts: all before it is acknowledged
}

const (
	frameHeader  = 4 + 4 + 1 + 8 + 8
	flagDrop     = 1
	maxRecord    = 16 << 20
	ackFile      = "ack"
	segmentGlob  = "seg-*.log"
	defaultSeg   = 4 << 20
	segmentWidth = 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// OpenSpool opens (or creates) the spool in dir, bounded to maxBytes.
func OpenSpool(dir string, maxBytes int64) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	s := &Spool{dir: dir, maxBytes: maxBytes, segBytes: min(defaultSeg, max(maxBytes/4, 4096))}
	if err := s.readAck(); err != nil {
		return nil, err
	}
	names, err := filepath.Glob(filepath.Join(dir, segmentGlob))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, n := range names {
		seg, err := s.load(n)
		if err != nil {
			return nil, err
		}
		s.segs = append(s.segs, seg)
	}
	return s, nil
}

// load scans one segment, truncating a torn tail.
func (s *Spool) load(path string) (*segment, error) {
	seg := &segment{path: path}
	good, damaged, err := scanSegment(path, func(r Record, end int64) bool {
		seg.last = r.key()
		if r.key().after(s.acked) {
			seg.pending++
		} else {
			seg.ackOff = end
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	s.damaged += int64(damaged)
	seg.size = good
	if st, err := os.Stat(path); err == nil && st.Size() > good {
		if err := os.Truncate(path, good); err != nil {
			return nil, fmt.Errorf("spool %s: cutting torn record: %w", path, err)
		}
	}
	return seg, nil
}

// scanSegment calls fn for every intact record, in order, and returns the
// offset after the last one (what follows is a torn tail, which load
// cuts off) and how many damaged stretches it skipped. A record damaged
// in the middle of a segment (a flipped byte on disk) costs that record
// alone: the scan goes on at the next frame that checks out and follows
// the last good one in (epoch, seq) order.
//
// fn gets each record and the offset after it, and returns false to stop.
func scanSegment(path string, fn func(r Record, end int64) bool) (end int64, damaged int, err error) {
	return scanSegmentFrom(path, 0, key{}, false, fn)
}

// scanSegmentFrom is scanSegment from byte from, where a record follows
// last (when have): the spool reads on from its ack mark, not from the
// segment's start, so that draining a backlog reads each record about
// once.
func scanSegmentFrom(path string, from int64, last key, have bool, fn func(r Record, end int64) bool) (end int64, damaged int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("spool: %w", err)
	}
	buf := make([]byte, max(st.Size()-from, 0))
	if _, err := f.ReadAt(buf, from); err != nil && err != io.EOF {
		return 0, 0, fmt.Errorf("spool: %w", err)
	}
	end = from
	for off := 0; off < len(buf); {
		if r, n, ok := decodeFrame(buf[off:], last, have); ok {
			last, have = r.key(), true
			off += n
			end = from + int64(off)
			if !fn(r, end) {
				return end, damaged, nil
			}
			continue
		}
		next := resync(buf, off+1, last, have)
		if next < 0 {
			break // nothing intact follows: a torn tail
		}
		damaged++
		off = next
	}
	return end, damaged, nil
}

// decodeFrame reads the frame at the start of b if it is whole, checks
// out, and follows last (when have).
func decodeFrame(b []byte, last key, have bool) (Record, int, bool) {
	if len(b) < frameHeader {
		return Record{}, 0, false
	}
	n := binary.LittleEndian.Uint32(b[0:])
	if n > maxRecord || frameHeader+int(n) > len(b) || b[8]&^flagDrop != 0 {
		return Record{}, 0, false
	}
	rec := Record{
		Droppable: b[8]&flagDrop != 0,
		Epoch:     int64(binary.LittleEndian.Uint64(b[9:])),
		Seq:       binary.LittleEndian.Uint64(b[17:]),
	}
	if have && !rec.key().after(last) {
		return Record{}, 0, false
	}
	data := b[frameHeader : frameHeader+int(n)]
	if crc32.Update(crc32.Checksum(b[8:frameHeader], castagnoli), castagnoli, data) != binary.LittleEndian.Uint32(b[4:]) {
		return Record{}, 0, false
	}
	rec.Data = bytes.Clone(data)
	return rec, frameHeader + int(n), true
}

// resync returns the offset of the first frame at or after from that
// checks out and follows last, or -1. The cheap tests (length, flags,
// order) come before the checksum, so a damaged stretch costs little.
func resync(buf []byte, from int, last key, have bool) int {
	for p := from; p+frameHeader <= len(buf); p++ {
		if _, _, ok := decodeFrame(buf[p:], last, have); ok {
			return p
		}
	}
	return -1
}

func appendFrame(buf []byte, r Record) []byte {
	var h [frameHeader]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(len(r.Data)))
	if r.Droppable {
		h[8] = flagDrop
	}
	binary.LittleEndian.PutUint64(h[9:], uint64(r.Epoch))
	binary.LittleEndian.PutUint64(h[17:], r.Seq)
	crc := crc32.Update(crc32.Checksum(h[8:], castagnoli), castagnoli, r.Data)
	binary.LittleEndian.PutUint32(h[4:], crc)
	return append(append(buf, h[:]...), r.Data...)
}

func (s *Spool) readAck() error {
	b, err := os.ReadFile(filepath.Join(s.dir, ackFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return fmt.Errorf("spool %s: malformed acknowledgement mark %q", filepath.Join(s.dir, ackFile), b)
	}
	e, err1 := strconv.ParseInt(f[0], 10, 64)
	q, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("spool %s: malformed acknowledgement mark %q", filepath.Join(s.dir, ackFile), b)
	}
	s.acked = key{e, q}
	return nil
}
