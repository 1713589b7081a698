package audit

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestIndexPair compares indexPair, with the vector loop and without, to
// the plain definition, on short and long texts of a few letters, with
// the pair at every place a block boundary can put it.
func TestIndexPair(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	naive := func(s []byte, a, b byte, d int) int {
		for i := 0; i+d < len(s); i++ {
			if s[i] == a && s[i+d] == b {
				return i
			}
		}
		return -1
	}
	accel := pairAccel
	defer func() { pairAccel = accel }()
	for _, vector := range []bool{false, accel} {
		pairAccel = vector
		for round := range 20000 {
			s := make([]byte, rng.IntN(300))
			for i := range s {
				s[i] = "abcdefgh"[rng.IntN(8)]
			}
			if round%3 == 0 { // sparse: few or no pairs at all
				for i := range s {
					if rng.IntN(40) != 0 {
						s[i] = 'z'
					}
				}
			}
			a, b, d := "abcdefgh"[rng.IntN(8)], "abcdefgh"[rng.IntN(8)], 1+rng.IntN(20)
			if got, want := indexPair(s, a, b, d), naive(s, a, b, d); got != want {
				t.Fatalf("vector %v: indexPair(%q, %q, %q, %d) = %d, want %d", vector, s, a, b, d, got, want)
			}
		}
	}
	if !accel {
		t.Logf("no vector loop on this machine: only the IndexByte path was tested")
	}
}

// BenchmarkIndexPair is a search for a pair that is not there, beside
// bytes.IndexByte for a byte that is not there: the same bytes read.
func BenchmarkIndexPair(b *testing.B) {
	s := make([]byte, 256<<10)
	for i := range s {
		s[i] = "ABCDEFGH"[i%8]
	}
	b.Run("pair", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			if indexPair(s, 'A', 'A', 3) >= 0 {
				b.Fatal("found")
			}
		}
	})
	b.Run("IndexByte", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			if bytes.IndexByte(s, 'Z') >= 0 {
				b.Fatal("found")
			}
		}
	})
}
