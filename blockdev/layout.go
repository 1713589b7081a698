package blockdev

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
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
)

var le = binary.LittleEndian

// encodeSlot lays r out in b, which is zeroed and at least
// configOff+len(r.Config) bytes long.
func encodeSlot(b []byte, r Record, host uuid.UUID) {
	copy(b, magic)
	le.PutUint32(b[offVersion:], r.Version)
	le.PutUint32(b[offLength:], uint32(bodyFixed+len(r.Config)))
	le.PutUint64(b[offGen:], r.Generation)
	le.PutUint64(b[offTime:], uint64(r.Time.UnixNano()))
	copy(b[offHost:], host[:])
	b[offState] = byte(r.State)
	b[offNameLen] = byte(len(r.Node))
	le.PutUint32(b[offConfLen:], uint32(len(r.Config)))
	copy(b[offName:], r.Node)
	copy(b[configOff:], r.Config)
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
	case v < Version:
		return Record{}, SlotCorrupt, fmt.Errorf("format version %d does not exist", v)
	}
	r, err := decodeBody(b)
	if err != nil {
		return Record{}, SlotCorrupt, err
	}
	return r, SlotValid, nil
}

// decodeBody reads a format 1 body whose checksum has been verified; what
// it still checks could only be wrong if a writer was.
func decodeBody(b []byte) (Record, error) {
	nameLen := int(b[offNameLen])
	confLen := le.Uint32(b[offConfLen:])
	if uint64(le.Uint32(b[offLength:])) != bodyFixed+uint64(confLen) {
		return Record{}, fmt.Errorf("config length %d disagrees with body length", confLen)
	}
	if nameLen == 0 || nameLen > MaxNodeName || b[offReserved] != 0 || b[offReserved+1] != 0 {
		return Record{}, fmt.Errorf("malformed header")
	}
	r := Record{
		Version:    Version,
		Generation: le.Uint64(b[offGen:]),
		Time:       time.Unix(0, int64(le.Uint64(b[offTime:]))).UTC(),
		HostUUID:   uuid.UUID(b[offHost : offHost+16]).String(),
		State:      State(b[offState]),
		Node:       string(b[offName : offName+nameLen]),
		Config:     bytes.Clone(b[configOff : configOff+int(confLen)]),
	}
	if r.State < Active || r.State > Exported {
		return Record{}, fmt.Errorf("%v", r.State)
	}
	return r, nil
}
