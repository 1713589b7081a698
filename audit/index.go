package audit

import "bytes"

// needle is a code to search for in raw log bytes. The search jumps with
// bytes.IndexByte (vectorised) to the needle's rarest byte, chosen from a
// sample of the log: audit text is mostly the capital letters codes are
// made of, and a search led by the first byte (as bytes.Index does) stops
// at nearly every attribute name.
type needle struct {
	b    []byte
	rare int // offset in b of the byte to jump to
}

// chooseRare picks each needle's least frequent byte in sample.
func chooseRare(needles []needle, sample []byte) {
	var freq [256]int
	for _, c := range sample {
		freq[c]++
	}
	for i := range needles {
		n := &needles[i]
		for k, c := range n.b {
			if freq[c] < freq[n.b[n.rare]] {
				n.rare = k
			}
		}
	}
}

// index returns the offset of the first occurrence of n in s, or -1.
func (n *needle) index(s []byte) int {
	c, r, size := n.b[n.rare], n.rare, len(n.b)
	for i := r; i < len(s); {
		j := bytes.IndexByte(s[i:], c)
		if j < 0 {
			return -1
		}
		p := i + j - r
		if p+size <= len(s) && bytes.Equal(s[p:p+size], n.b) {
			return p
		}
		i += j + 1
	}
	return -1
}

// delimitedCode reports whether the code found at s[i:i+n] can be an FC32
// value: preceded by ':' and followed by ']', whitespace allowed between
// (bytes >= 0x80 stand for the multi-byte spaces the parser accepts).
func delimitedCode(s []byte, i, n int) bool {
	before := i > 0 && (s[i-1] == ':' || s[i-1] == ' ' || s[i-1] == '\t' || s[i-1] >= 0x80)
	j := i + n
	after := j == len(s) || s[j] == ']' || s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n' || s[j] >= 0x80
	return before && after
}
