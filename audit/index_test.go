package audit

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestCodeNeedles: the needles of a code find exactly where one of its
// spellings (as written, lower case, capitalised) is, whichever byte
// chooseRare picks, in text made of the code's letters in both cases.
func TestCodeNeedles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, code := range []string{"ARCE", "ARUN", "S3RQ", "1ABC", "A", "1234", "GERR", "X1"} {
		c := []byte(code)
		spelled := spellings([][]byte{c})
		alphabet := append(bytes.ToUpper(c), bytes.ToLower(c)...)
		alphabet = append(alphabet, ':', ']', ' ', 'Z')
		for round := range 300 {
			text := make([]byte, 40+rng.IntN(200))
			for i := range text {
				text[i] = alphabet[rng.IntN(len(alphabet))]
			}
			for range rng.IntN(3) {
				s := spelled[rng.IntN(len(spelled))]
				copy(text[rng.IntN(len(text)-len(s)):], s)
			}
			var want []int
			for i := range text {
				for _, s := range spelled {
					if bytes.HasPrefix(text[i:], s) && !slices.Contains(want, i) {
						want = append(want, i)
					}
				}
			}
			needles := codeNeedles([][]byte{c})
			if round%2 == 1 {
				chooseRare(needles, text)
			}
			var got []int
			for _, n := range needles {
				for from := 0; from < len(text); {
					j := n.index(text[from:])
					if j < 0 {
						break
					}
					if !slices.Contains(got, from+j) {
						got = append(got, from+j)
					}
					from += j + 1
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("%s in %q: needles %+v found %v, want %v", code, text, needles, got, want)
			}
		}
	}
}
