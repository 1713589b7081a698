package blockdev

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Offsets within a slot; the package comment is the reference.
const (
	magic       = "SGNODREC"
	offVersion  = 8
	offLength   = 12
	offSum      = 16
	envelopeLen = 48 // magic, version, length, checksum: stable across versions
	offGen      = 48
	offTime     = 56
	offHost     = 64
	offState    = 80
	offNameLen  = 81
	offReserved = 82
	offConfLen  = 84
	offName     = 88
	configOff   = offName + MaxNodeName // 152
	bodyFixed   = configOff - envelopeLen
	noteLenSize = 4 // format 2: the length of the migration note after the config
)

var le = binary.LittleEndian

// encodeNote is the format 2 trailer of a record with a migration note
// (the note's length, then the note as JSON), or nil.
func encodeNote(m *Migration) ([]byte, error) {
	if m == nil {
		return nil, nil
	}
	note, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(note) > MaxNoteSize {
		return nil, fmt.Errorf("migration note of %d bytes: a record holds at most %d", len(note), MaxNoteSize)
	}
	return append(le.AppendUint32(nil, uint32(len(note))), note...), nil
}

// encodeSlot lays r out in b, which is zeroed and at least
// configOff+len(r.Config)+len(trailer) bytes long; trailer is
// encodeNote's (its note follows its length).
func encodeSlot(b []byte, r Record, host uuid.UUID, trailer []byte) {
	copy(b, magic)
	le.PutUint32(b[offVersion:], r.Version)
	le.PutUint32(b[offLength:], uint32(bodyFixed+len(r.Config)+len(trailer)))
	le.PutUint64(b[offGen:], r.Generation)
	le.PutUint64(b[offTime:], uint64(r.Time.UnixNano()))
	copy(b[offHost:], host[:])
	b[offState] = byte(r.State)
	b[offNameLen] = byte(len(r.Node))
	le.PutUint32(b[offConfLen:], uint32(len(r.Config)))
	copy(b[offName:], r.Node)
	copy(b[configOff:], r.Config)
	copy(b[configOff+len(r.Config):], trailer)
	sum := checksum(b)
	copy(b[offSum:], sum[:])
}

// checksum hashes the envelope's first 16 bytes and the body its length
// field names; the caller has checked that the body fits.
func checksum(b []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write(b[:offSum])
	h.Write(b[envelopeLen : envelopeLen+int(le.Uint32(b[offLength:]))])
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// decodeSlot reads one slot. The envelope is checked before the version,
// so that damage is reported as damage, not as a newer format.
func decodeSlot(b []byte) (Record, SlotStatus, error) {
	if string(b[:len(magic)]) != magic {
		return Record{}, SlotEmpty, nil
	}
	if n := le.Uint32(b[offLength:]); uint64(n) > uint64(len(b)-envelopeLen) {
		return Record{}, SlotCorrupt, fmt.Errorf("body length %d exceeds the slot", n)
	}
	if sum := checksum(b); !bytes.Equal(sum[:], b[offSum:envelopeLen]) {
		return Record{}, SlotCorrupt, fmt.Errorf("checksum mismatch")
	}
	switch v := le.Uint32(b[offVersion:]); {
	case v > Version:
		return Record{}, SlotNewer, fmt.Errorf("%w (format version %d; this storagegrid reads format version %d)", ErrNewerVersion, v, Version)
	case v < 1:
		return Record{}, SlotCorrupt, fmt.Errorf("format version %d does not exist", v)
	}
	r, err := decodeBody(b, le.Uint32(b[offVersion:]))
	if err != nil {
		return Record{}, SlotCorrupt, err
	}
	return r, SlotValid, nil
}

// decodeBody reads a format 1 or 2 body whose checksum has been verified;
// what it still checks could only be wrong if a writer was.
func decodeBody(b []byte, version uint32) (Record, error) {
	nameLen := int(b[offNameLen])
	confLen := le.Uint32(b[offConfLen:])
	bodyLen := uint64(le.Uint32(b[offLength:]))
	fixed := bodyFixed + uint64(confLen)
	if version == 2 {
		fixed += noteLenSize
	}
	if bodyLen < fixed || (version == 1 && bodyLen != fixed) {
		return Record{}, fmt.Errorf("config length %d disagrees with body length", confLen)
	}
	if nameLen == 0 || nameLen > MaxNodeName || b[offReserved] != 0 || b[offReserved+1] != 0 {
		return Record{}, fmt.Errorf("malformed header")
	}
	r := Record{
		Generation: le.Uint64(b[offGen:]),
		Time:       time.Unix(0, int64(le.Uint64(b[offTime:]))).UTC(),
		HostUUID:   uuid.UUID(b[offHost : offHost+16]).String(),
		State:      State(b[offState]),
		Node:       string(b[offName : offName+nameLen]),
		Config:     bytes.Clone(b[configOff : configOff+int(confLen)]),
		Version:    version,
	}
	if r.State < Active || r.State > Exported {
		return Record{}, fmt.Errorf("%v", r.State)
	}
	if version == 2 {
		at := configOff + int(confLen)
		note := b[at+noteLenSize : envelopeLen+int(bodyLen)]
		if uint64(le.Uint32(b[at:])) != uint64(len(note)) {
			return Record{}, fmt.Errorf("migration note length disagrees with body length")
		}
		r.Migration = new(Migration)
		if err := json.Unmarshal(note, r.Migration); err != nil {
			return Record{}, fmt.Errorf("migration note: %w", err)
		}
	}
	return r, nil
}
