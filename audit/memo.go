package audit

import "encoding/binary"

// memo is what a reader remembers from one line to the next to read it
// faster: the attribute headers it has read, and the minute of the last
// timestamp. The parser (record.memo) and Sum.skim each keep their own.
type memo struct {
	heads headers
	// minute is the first 16 bytes of the last timestamp found valid
	// ("2024-05-01T00:00"); zero: none yet.
	minute [2]uint64
}

// timestamp is canonicalTimestamp, on m's minute when the timestamp has
// it: a log's lines share one, and then only the seconds and their
// fraction are left to check. m may be nil.
func (m *memo) timestamp(t []byte) bool {
	if m == nil || len(t) != len(canonicalTime) {
		return canonicalTimestamp(t)
	}
	h0, h1 := binary.LittleEndian.Uint64(t), binary.LittleEndian.Uint64(t[8:])
	if h0 == m.minute[0] && h1 == m.minute[1] && h0 != 0 {
		// ":SS.UUUUUU": the '.' put to '0' for a check of eight digits.
		x := binary.LittleEndian.Uint64(t[18:])
		if t[16] != ':' || t[17] < '0' || t[17] > '5' || byte(x>>8) != '.' {
			return false
		}
		_, ok := digitsWord(x&^0xFF00 | '0'<<8)
		return ok
	}
	if !canonicalTimestamp(t) {
		return false
	}
	m.minute = [2]uint64{h0, h1}
	return true
}

// headers remembers the NAME(TYPE): of attributes of four-letter names
// that have been read, and what the reader made of them, in sets of two
// by a hash of their bytes: a log repeats a few dozen of them in every
// message, and a lookup (two loads and two compares) costs a fraction of
// reading one.
type headers [128]headerSet

// headerSet is the headers of one hash, the one read last first.
type headerSet [2]attrHeader

// attrHeader is a NAME(TYPE): that has been read.
type attrHeader struct {
	head uint64 // the first eight bytes of NAME(TYPE):
	tail uint32 // its last four
	kind kind   // kindUnknown: an empty slot
	code uint8  // what the reader made of it
}

// find looks up the NAME(TYPE): at the start of s, which holds at least
// its 11 bytes: it returns the header's set, for keep, and its kind and
// code if the set holds it (kind is kindUnknown if not).
func (h *headers) find(s []byte) (set *headerSet, head uint64, tail uint32, k kind, code uint8) {
	head, tail = binary.LittleEndian.Uint64(s), binary.LittleEndian.Uint32(s[7:])
	set = &h[head*0x9E3779B97F4A7C15>>57]
	e := &set[0]
	if e.head != head || e.tail != tail {
		if e = &set[1]; e.head != head || e.tail != tail {
			return set, head, tail, kindUnknown, 0
		}
	}
	return set, head, tail, e.kind, e.code
}

// keep puts a header into its set as the one most recently read.
func (set *headerSet) keep(head uint64, tail uint32, k kind, code uint8) {
	set[1], set[0] = set[0], attrHeader{head: head, tail: tail, kind: k, code: code}
}
