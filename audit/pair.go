package audit

import "bytes"

// indexPair returns the first i with s[i] == a and s[i+d] == b (d > 0),
// or -1. Two bytes at a distance are far rarer together than either
// alone, so a search led by a pair stops at few false starts where one
// led by a single byte (bytes.IndexByte) stops at every attribute that
// shares it.
func indexPair(s []byte, a, b byte, d int) int {
	n := len(s) - d
	if n <= 0 {
		return -1
	}
	i := 0
	if blocks := n &^ (pairBlock - 1); blocks > 0 && pairAccel {
		if j := indexPairBlocks(s, a, b, d, blocks); j >= 0 {
			return j
		}
		i = blocks
	}
	for i < n {
		j := bytes.IndexByte(s[i:n], a)
		if j < 0 {
			return -1
		}
		if i += j; s[i+d] == b {
			return i
		}
		i++
	}
	return -1
}
