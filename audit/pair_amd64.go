package audit

import "golang.org/x/sys/cpu"

// pairBlock is how many positions indexPairBlocks compares at once.
const pairBlock = 32

// pairAccel: the AVX2 loop of pair_amd64.s can run here.
var pairAccel = cpu.X86.HasAVX2

// indexPairBlocks is indexPair over the positions [0, n) only; n is a
// positive multiple of pairBlock and n+d <= len(s).
//
//go:noescape
func indexPairBlocks(s []byte, a, b byte, d, n int) int
