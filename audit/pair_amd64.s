#include "textflag.h"

// func indexPairBlocks(s []byte, a, b byte, d, n int) int
//
// For each block of 32 positions i: compare s[i:i+32] with a and
// s[i+d:i+d+32] with b, both broadcast, and AND the two masks; the
// lowest set bit of a non-zero mask is the first position of the pair.
TEXT ·indexPairBlocks(SB), NOSPLIT, $0-56
	MOVQ    s_base+0(FP), SI
	MOVQ    d+32(FP), DX
	MOVQ    n+40(FP), CX
	LEAQ    (SI)(DX*1), R9 // s[d:]
	VPBROADCASTB a+24(FP), Y0
	VPBROADCASTB b+25(FP), Y1
	XORQ    DI, DI

loop:
	VMOVDQU   (SI)(DI*1), Y2
	VMOVDQU   (R9)(DI*1), Y3
	VPCMPEQB  Y0, Y2, Y2
	VPCMPEQB  Y1, Y3, Y3
	VPAND     Y2, Y3, Y2
	VPMOVMSKB Y2, R10
	TESTL     R10, R10
	JNZ       found
	ADDQ      $32, DI
	CMPQ      DI, CX
	JB        loop
	MOVQ      $-1, ret+48(FP)
	VZEROUPPER
	RET

found:
	BSFL      R10, R10
	ADDQ      R10, DI
	MOVQ      DI, ret+48(FP)
	VZEROUPPER
	RET
