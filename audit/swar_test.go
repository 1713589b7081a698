package audit

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestEightDigits compares eightDigits with strconv on every kind of
// byte at every place of numbers of every size.
func TestEightDigits(t *testing.T) {
	for _, s := range []string{"00000000", "12345678", "99999999", "10000000", "00000001", "87654321"} {
		for i := 0; i <= 8; i++ {
			for c := 0; c < 256; c++ {
				b := []byte(s + "x")
				if i < 8 {
					b[i] = byte(c)
				}
				got, ok := eightDigits(b)
				want, err := strconv.ParseUint(string(b[:8]), 10, 64)
				allDigits := err == nil && !bytes.ContainsAny(b[:8], "+-_")
				if ok != allDigits || ok && got != want {
					t.Fatalf("eightDigits(%q) = %d, %v; want %d, %v", b[:8], got, ok, want, allDigits)
				}
			}
		}
	}
}

// words8 calls fn with eight-byte strings: each of bases with every byte
// value at every place, and random ones of bytes mostly from alphabet.
func words8(bases []string, alphabet string, fn func(b []byte)) {
	for _, s := range bases {
		for i := range 8 {
			for c := range 256 {
				b := []byte(s)
				b[i] = byte(c)
				fn(b)
			}
		}
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for range 200000 {
		b := make([]byte, 8)
		for i := range b {
			if rng.IntN(8) == 0 {
				b[i] = byte(rng.IntN(256))
			} else {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		fn(b)
	}
}

// TestHexWord holds hexWord to strconv.
func TestHexWord(t *testing.T) {
	words8([]string{"00000000", "0123abcd", "DEADBEEF", "ffffffff", "8CC51E54", "9aF0fA9g"}, "0123456789abcdefABCDEFgG@`/:", func(b []byte) {
		got, ok := hexWord(binary.LittleEndian.Uint64(b))
		want, err := strconv.ParseUint(string(b), 16, 32)
		if ok != (err == nil) || ok && uint64(got) != want {
			t.Fatalf("hexWord(%q) = %x, %v; want %x, %v", b, got, ok, want, err)
		}
	})
}
