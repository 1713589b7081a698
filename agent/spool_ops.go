package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/storagegrid/storagegrid/internal/atomicfile"
)

// Append writes one batch of records and fsyncs it. Records must come in
// increasing (epoch, seq) order. When the spool grows past its bound, the
// oldest droppable records are discarded.
func (s *Spool) Append(recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	buf := s.frames[:0]
	for _, r := range recs {
		if len(r.Data) > maxRecord {
			return fmt.Errorf("spool: event seq %d is %d bytes, over the %d-byte limit", r.Seq, len(r.Data), maxRecord)
		}
		buf = appendFrame(buf, r)
	}
	if cap(buf) <= maxKeptFrames {
		s.frames = buf
	}
	seg, err := s.writable()
	if err != nil {
		return err
	}
	// Metric samples only (droppable: the spool gives them up first when
	// full) are written without fsync, which would cost more than
	// collecting them; a crash may lose the last of them, and the next
	// batch that must survive (a change) fsyncs the segment, them
	// included. A torn tail is cut on open.
	durable := false
	for _, r := range recs {
		durable = durable || !r.Droppable
	}
	if err := appendTo(seg.path, buf, durable); err != nil {
		return err
	}
	seg.size += int64(len(buf))
	seg.last = recs[len(recs)-1].key()
	seg.pending += int64(len(recs))
	return s.enforceBound()
}

// appendTo appends buf to the segment at path, and fsyncs it when sync.
func appendTo(path string, buf []byte, sync bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return fmt.Errorf("spool %s: %w", path, err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("spool %s: fsync: %w", path, err)
		}
	}
	return f.Close()
}

// writable returns the segment to append to, starting a new one when the
// newest is full.
func (s *Spool) writable() (*segment, error) {
	if n := len(s.segs); n > 0 && s.segs[n-1].size < s.segBytes {
		return s.segs[n-1], nil
	}
	next := 1
	if n := len(s.segs); n > 0 {
		fmt.Sscanf(filepath.Base(s.segs[n-1].path), "seg-%d.log", &next)
		next++
	}
	seg := &segment{path: filepath.Join(s.dir, fmt.Sprintf("seg-%0*d.log", segmentWidth, next))}
	s.segs = append(s.segs, seg)
	return seg, atomicfile.SyncDir(s.dir)
}

// Pending returns up to max unacknowledged records, oldest first.
func (s *Spool) Pending(max int) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, seg := range s.segs {
		if seg.pending == 0 {
			continue
		}
		_, _, err := scanSegmentFrom(seg.path, seg.ackOff, s.acked, true, func(r Record, _ int64) bool {
			out = append(out, r)
			return len(out) < max
		})
		if err != nil || len(out) >= max {
			return out, err
		}
	}
	return out, nil
}

// Ack records that everything up to (epoch, seq) is stored by the
// receiver, and deletes the segments that hold nothing newer.
func (s *Spool) Ack(epoch int64, seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key{epoch, seq}
	if !k.after(s.acked) {
		return nil
	}
	mark := fmt.Appendf(nil, "%d %d\n", epoch, seq)
	if err := atomicfile.Write(filepath.Join(s.dir, ackFile), mark, 0o600); err != nil {
		return err
	}
	prev := s.acked
	s.acked = k
	return s.recount(prev)
}

// recount moves each segment's ack position to the new ack mark, reading
// only the records it passes, and removes fully acknowledged segments
// (never the newest, which is appended to): the work is the records
// acknowledged, not the spool's size. prev is the mark before.
func (s *Spool) recount(prev key) error {
	keep := s.segs[:0]
	for i, seg := range s.segs {
		switch {
		case !seg.last.after(s.acked) && i < len(s.segs)-1:
			if err := os.Remove(seg.path); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("spool: %w", err)
			}
			continue
		case seg.pending > 0 && !seg.last.after(s.acked):
			seg.pending, seg.ackOff = 0, seg.size
		case seg.pending > 0:
			if _, _, err := scanSegmentFrom(seg.path, seg.ackOff, prev, true, func(r Record, end int64) bool {
				if r.key().after(s.acked) {
					return false
				}
				seg.pending--
				seg.ackOff = end
				return true
			}); err != nil {
				return err
			}
		}
		keep = append(keep, seg)
	}
	s.segs = keep
	return nil
}

// enforceBound drops droppable records from the oldest segments until
// the spool fits its bound again. Records that must not be dropped stay
// even if that leaves the spool over its bound.
func (s *Spool) enforceBound() error {
	for i := 0; s.bytes() > s.maxBytes && i < len(s.segs)-1; i++ {
		if err := s.dropMetrics(s.segs[i]); err != nil {
			return err
		}
	}
	return nil
}

// dropMetrics rewrites a segment without its droppable records.
func (s *Spool) dropMetrics(seg *segment) error {
	var buf []byte
	var kept, dropped int64
	if _, _, err := scanSegment(seg.path, func(r Record, _ int64) bool {
		switch {
		case !r.key().after(s.acked):
		case r.Droppable:
			dropped++
		default:
			buf = appendFrame(buf, r)
			kept++
		}
		return true
	}); err != nil {
		return err
	}
	if dropped == 0 && kept == seg.pending {
		return nil
	}
	if err := atomicfile.Write(seg.path, buf, 0o600); err != nil {
		return err
	}
	seg.size, seg.pending, seg.ackOff = int64(len(buf)), kept, 0
	s.dropped += dropped
	return nil
}

func (s *Spool) bytes() int64 {
	var n int64
	for _, seg := range s.segs {
		n += seg.size
	}
	return n
}

// Stats reports depth, size and drops.
func (s *Spool) Stats() SpoolStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := SpoolStats{Bytes: s.bytes(), Dropped: s.dropped, Damaged: s.damaged}
	for _, seg := range s.segs {
		st.Records += seg.pending
	}
	return st
}

// epochFile keeps the last epoch the agent started with.
const epochFile = "epoch"

// NewEpoch returns the epoch for a new run of the agent and records it:
// max(now, every epoch the spool has seen + 1). Epochs only grow, also
// when the clock was ahead in an earlier run or has been stepped back: a
// model server takes a lower epoch for an old stream and ignores its
// events.
func (s *Spool) NewEpoch(now int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := s.acked.epoch
	for _, seg := range s.segs {
		seen = max(seen, seg.last.epoch)
	}
	path := filepath.Join(s.dir, epochFile)
	if b, err := os.ReadFile(path); err == nil {
		prev, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("spool %s: malformed epoch %q", path, b)
		}
		seen = max(seen, prev)
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("spool: %w", err)
	}
	e := max(now, seen+1)
	if err := atomicfile.Write(path, strconv.AppendInt(nil, e, 10), 0o600); err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	return e, nil
}
