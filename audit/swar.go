package audit

import (
	"encoding/binary"
	"math/bits"
)

// Eight bytes at a time (SWAR, as simdjson does): a strict scan reads
// some 7 numbers in every message (ATIM, CNID and ATID have 16 to 19
// digits) and a CBID of 16 hex digits, and a sum steps over their values.
// x is eight bytes loaded little-endian, the first in the lowest byte.

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// eightDigits reads b[:8] as a decimal number if all eight bytes are
// digits.
func eightDigits(b []byte) (uint64, bool) { return digitsWord(binary.LittleEndian.Uint64(b)) }

// digitsWord is eightDigits of x.
func digitsWord(x uint64) (uint64, bool) {
	if x&0xF0F0F0F0F0F0F0F0|(x+0x0606060606060606)&0xF0F0F0F0F0F0F0F0>>4 != 0x3333333333333333 {
		return 0, false
	}
	x = (x & 0x0F0F0F0F0F0F0F0F) * 2561 >> 8
	x = (x & 0x00FF00FF00FF00FF) * 6553601 >> 16
	return (x & 0x0000FFFF0000FFFF) * 42949672960001 >> 32, true
}

// hexWord reads the eight bytes of x as hexadecimal digits, of either
// case, if they all are.
func hexWord(x uint64) (uint32, bool) {
	if x&highs != 0 {
		return 0, false
	}
	// With every byte below 0x80: a byte's high bit after these
	// subtractions says whether it is in a range; no borrow crosses bytes.
	digit := ((x | highs) - '0'*ones) & ((highs + '9'*ones) - x) & highs
	l := x | 0x2020202020202020 // lower case
	letter := ((l | highs) - 'a'*ones) & ((highs + 'f'*ones) - l) & highs
	if digit|letter != highs {
		return 0, false
	}
	v := x&0x0F0F0F0F0F0F0F0F + letter>>7*9 // each byte its digit's value
	// The first digit is the most significant: pack the nibbles in order.
	v = bits.ReverseBytes64(v)
	v = (v | v>>4) & 0x00FF00FF00FF00FF
	v = (v | v>>8) & 0x0000FFFF0000FFFF
	v = (v | v>>16) & 0x00000000FFFFFFFF
	return uint32(v), true
}

// bracketBytes has the high bit set in the first byte of x that is '['
// or ']' (and perhaps in later bytes), and is zero if there is none.
func bracketBytes(x uint64) uint64 {
	o, c := x^'['*ones, x^']'*ones
	return ((o-ones)&^o | (c-ones)&^c) & highs
}
