//go:build !amd64

package audit

// pairBlock is how many positions indexPairBlocks compares at once.
const pairBlock = 32

// pairAccel: no vector loop on this architecture; indexPair is led by
// bytes.IndexByte.
var pairAccel = false

func indexPairBlocks(s []byte, a, b byte, d, n int) int { panic("unreachable") }
