package audit

import "bytes"

// needle is a code to search for in raw log bytes. The search jumps to
// the needle's rarest pair of bytes (indexPair), or where no vector loop
// runs its rarest byte (bytes.IndexByte), chosen from a sample of the
// log: audit text is mostly the capital letters codes are made of, and a
// search led by the first byte (as bytes.Index does) stops at nearly
// every attribute name.
type needle struct {
	b []byte
	// p and q are the offsets in b of the bytes the search jumps to:
	// b[p] then b[q] at q-p bytes after it, or b[p] alone when q == p.
	p, q int
	// foldFirst: b's first byte may also be in upper case. One search
	// then finds a code in lower case and capitalised ("arun", "Arun"),
	// which share all bytes but the first.
	foldFirst bool
}

// codeNeedles are the needles that find the upper-case codes as the grid
// writes them, in lower case and capitalised: two per code, one when the
// code's first byte is its only letter.
func codeNeedles(codes [][]byte) []needle {
	var out []needle
	for _, c := range codes {
		if len(c) == 0 {
			continue
		}
		lower := bytes.ToLower(c)
		fold := lower[0] >= 'a' && lower[0] <= 'z' && len(c) > 1
		switch {
		case bytes.Equal(lower, c):
			out = append(out, needle{b: c})
		case fold && bytes.Equal(lower[1:], c[1:]):
			out = append(out, needle{b: lower, foldFirst: true, p: 1, q: 1}) // "Arun" is "ARUN"
		case fold:
			out = append(out, needle{b: c}, needle{b: lower, foldFirst: true, p: 1, q: 1})
		default:
			out = append(out, needle{b: c}, needle{b: lower})
		}
	}
	return out
}

// chooseRare picks for each needle the pair of its bytes that occurs
// least often in sample, or without a vector loop its least frequent
// byte; never a folded first byte, which stands for two.
func chooseRare(needles []needle, sample []byte) {
	var freq [256]int
	for _, c := range sample {
		freq[c]++
	}
	for i := range needles {
		n := &needles[i]
		first := 0
		if n.foldFirst {
			first = 1
		}
		n.p = first
		for k := first; k < len(n.b); k++ {
			if freq[n.b[k]] < freq[n.b[n.p]] {
				n.p = k
			}
		}
		n.q = n.p
		if !pairAccel {
			continue
		}
		best := -1
		for p := first; p < len(n.b); p++ {
			for q := p + 1; q < len(n.b); q++ {
				if c := countPair(sample, n.b[p], n.b[q], q-p, best); best < 0 || c < best {
					best, n.p, n.q = c, p, q
				}
			}
		}
	}
}

// countPair counts the places of a pair in s, stopping past limit (when
// not negative).
func countPair(s []byte, a, b byte, d, limit int) int {
	c := 0
	for i := 0; limit < 0 || c <= limit; c++ {
		j := indexPair(s[i:], a, b, d)
		if j < 0 {
			break
		}
		i += j + 1
	}
	return c
}

// index returns the offset of the first occurrence of n in s, or -1.
func (n *needle) index(s []byte) int {
	size := len(n.b)
	for i := n.p; i < len(s); {
		var j int
		if n.q == n.p {
			j = bytes.IndexByte(s[i:], n.b[n.p])
		} else {
			j = indexPair(s[i:], n.b[n.p], n.b[n.q], n.q-n.p)
		}
		if j < 0 {
			return -1
		}
		p := i + j - n.p
		if p+size <= len(s) && n.at(s[p:p+size]) {
			return p
		}
		i += j + 1
	}
	return -1
}

// at reports whether w (of the needle's length) is the needle.
func (n *needle) at(w []byte) bool {
	if !n.foldFirst {
		return bytes.Equal(w, n.b)
	}
	return (w[0] == n.b[0] || w[0] == n.b[0]-('a'-'A')) && bytes.Equal(w[1:], n.b[1:])
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
