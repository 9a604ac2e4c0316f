//go:build amd64 && !purego

#include "textflag.h"

// func cpuidex(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuidex(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv0() (eax, edx uint32)
TEXT ·xgetbv0(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET

// func transpose8(src *uint8, stride, n int, dst *uint8)
TEXT ·transpose8(SB), NOSPLIT, $0-32
	MOVQ src+0(FP), SI
	MOVQ stride+8(FP), BX
	MOVQ n+16(FP), CX
	MOVQ dst+24(FP), DI
	LEAQ (BX)(BX*2), DX      // 3*stride
	SHRQ $4, CX
	JZ   tdone
tloop:
	// rows 0..7, 16 bytes each
	MOVOU (SI), X0
	MOVOU (SI)(BX*1), X1
	MOVOU (SI)(BX*2), X2
	MOVOU (SI)(DX*1), X3
	LEAQ  (SI)(BX*4), R8
	MOVOU (R8), X4
	MOVOU (R8)(BX*1), X5
	MOVOU (R8)(BX*2), X6
	MOVOU (R8)(DX*1), X7
	// bytes: pairs of rows
	VPUNPCKLBW X1, X0, X8
	VPUNPCKHBW X1, X0, X9
	VPUNPCKLBW X3, X2, X10
	VPUNPCKHBW X3, X2, X11
	VPUNPCKLBW X5, X4, X12
	VPUNPCKHBW X5, X4, X13
	VPUNPCKLBW X7, X6, X14
	VPUNPCKHBW X7, X6, X15
	// words: rows 0-3 and 4-7
	VPUNPCKLWD X10, X8, X0  // rows0-3 cols 0-3
	VPUNPCKHWD X10, X8, X1  // rows0-3 cols 4-7
	VPUNPCKLWD X11, X9, X2  // rows0-3 cols 8-11
	VPUNPCKHWD X11, X9, X3  // rows0-3 cols 12-15
	VPUNPCKLWD X14, X12, X4 // rows4-7 cols 0-3
	VPUNPCKHWD X14, X12, X5
	VPUNPCKLWD X15, X13, X6
	VPUNPCKHWD X15, X13, X7
	// dwords: columns with all 8 rows
	VPUNPCKLDQ X4, X0, X8
	VPUNPCKHDQ X4, X0, X9
	VPUNPCKLDQ X5, X1, X10
	VPUNPCKHDQ X5, X1, X11
	VPUNPCKLDQ X6, X2, X12
	VPUNPCKHDQ X6, X2, X13
	VPUNPCKLDQ X7, X3, X14
	VPUNPCKHDQ X7, X3, X15
	MOVOU X8, 0(DI)
	MOVOU X9, 16(DI)
	MOVOU X10, 32(DI)
	MOVOU X11, 48(DI)
	MOVOU X12, 64(DI)
	MOVOU X13, 80(DI)
	MOVOU X14, 96(DI)
	MOVOU X15, 112(DI)
	ADDQ $16, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  tloop
tdone:
	VZEROUPPER
	RET

// CLIPSTORE8 turns the 8 int32 sums in Yacc into clip8(acc>>22) bytes and
// stores byte r at (R12 + r*BX). Clobbers Xtmp, AX, R12.
#define CLIPSTORE8(Yacc, Xacc, Xtmp) \
	VPSRAD $22, Yacc, Yacc; \
	VEXTRACTI128 $1, Yacc, Xtmp; \
	VPACKSSDW Xtmp, Xacc, Xacc; \
	VPACKUSWB Xacc, Xacc, Xacc; \
	VMOVQ Xacc, AX; \
	MOVB AX, (R12); SHRQ $8, AX; ADDQ BX, R12; \
	MOVB AX, (R12); SHRQ $8, AX; ADDQ BX, R12; \
	MOVB AX, (R12); SHRQ $8, AX; ADDQ BX, R12; \
	MOVB AX, (R12); SHRQ $8, AX; ADDQ BX, R12; \
	MOVB AX, (R12); SHRQ $8, AX; ADDQ BX, R12; \
	MOVB AX, (R12); SHRQ $8, AX; ADDQ BX, R12; \
	MOVB AX, (R12); SHRQ $8, AX; ADDQ BX, R12; \
	MOVB AX, (R12)

// func hpass8AVX2(tr *uint8, xmin, count, k *int32, n, ksize, ch int, dst *uint8, stride int)
TEXT ·hpass8AVX2(SB), NOSPLIT, $0-72
	MOVQ tr+0(FP), SI
	MOVQ xmin+8(FP), R8
	MOVQ count+16(FP), R9
	MOVQ k+24(FP), R10
	MOVQ n+32(FP), R11
	MOVQ ksize+40(FP), R13
	SHLQ $2, R13             // ksize in bytes
	MOVQ ch+48(FP), CX
	MOVQ dst+56(FP), DI
	MOVQ stride+64(FP), BX
	MOVL $0x200000, AX
	MOVD AX, X15
	VPBROADCASTD X15, Y15    // accumulator start 1<<21
	TESTQ R11, R11
	JZ   hdone
	LEAQ (CX*8), R14         // bytes between taps: ch*8
	CMPQ CX, $3
	JEQ  h3
	CMPQ CX, $1
	JEQ  h1
	CMPQ CX, $4
	JEQ  h4
	JMP  h2

// ---- ch == 3 ----
h3:
	MOVLQSX (R8), DX         // xmin
	MOVLQSX (R9), R12        // count
	LEAQ (DX)(DX*2), DX
	SHLQ $3, DX
	LEAQ (SI)(DX*1), DX      // p = tr + xmin*24
	MOVQ R10, AX             // weights
	VMOVDQA Y15, Y0
	VMOVDQA Y15, Y1
	VMOVDQA Y15, Y2
	TESTQ R12, R12
	JZ   h3store
h3tap:
	VPBROADCASTD (AX), Y3
	VPMOVZXBD 0(DX), Y4
	VPMOVZXBD 8(DX), Y5
	VPMOVZXBD 16(DX), Y6
	VPMULLD Y3, Y4, Y4
	VPMULLD Y3, Y5, Y5
	VPMULLD Y3, Y6, Y6
	VPADDD Y4, Y0, Y0
	VPADDD Y5, Y1, Y1
	VPADDD Y6, Y2, Y2
	ADDQ $4, AX
	ADDQ $24, DX
	DECQ R12
	JNZ  h3tap
h3store:
	MOVQ DI, R12
	CLIPSTORE8(Y0, X0, X7)
	LEAQ 1(DI), R12
	CLIPSTORE8(Y1, X1, X7)
	LEAQ 2(DI), R12
	CLIPSTORE8(Y2, X2, X7)
	ADDQ $3, DI
	ADDQ $4, R8
	ADDQ $4, R9
	ADDQ R13, R10
	DECQ R11
	JNZ  h3
	JMP  hdone

// ---- ch == 1 ----
h1:
	MOVLQSX (R8), DX
	MOVLQSX (R9), R12
	SHLQ $3, DX
	LEAQ (SI)(DX*1), DX
	MOVQ R10, AX
	VMOVDQA Y15, Y0
	VPXOR Y1, Y1, Y1
	TESTQ R12, R12
	JZ   h1store
h1tap:
	VPBROADCASTD (AX), Y3
	VPMOVZXBD 0(DX), Y4
	VPMULLD Y3, Y4, Y4
	VPADDD Y4, Y0, Y0
	ADDQ $4, AX
	ADDQ $8, DX
	DECQ R12
	JNZ  h1tap
h1store:
	MOVQ DI, R12
	CLIPSTORE8(Y0, X0, X7)
	ADDQ $1, DI
	ADDQ $4, R8
	ADDQ $4, R9
	ADDQ R13, R10
	DECQ R11
	JNZ  h1
	JMP  hdone

// ---- ch == 4 ----
h4:
	MOVLQSX (R8), DX
	MOVLQSX (R9), R12
	SHLQ $5, DX
	LEAQ (SI)(DX*1), DX
	MOVQ R10, AX
	VMOVDQA Y15, Y0
	VMOVDQA Y15, Y1
	VMOVDQA Y15, Y2
	VMOVDQA Y15, Y8
	TESTQ R12, R12
	JZ   h4store
h4tap:
	VPBROADCASTD (AX), Y3
	VPMOVZXBD 0(DX), Y4
	VPMOVZXBD 8(DX), Y5
	VPMOVZXBD 16(DX), Y6
	VPMOVZXBD 24(DX), Y9
	VPMULLD Y3, Y4, Y4
	VPMULLD Y3, Y5, Y5
	VPMULLD Y3, Y6, Y6
	VPMULLD Y3, Y9, Y9
	VPADDD Y4, Y0, Y0
	VPADDD Y5, Y1, Y1
	VPADDD Y6, Y2, Y2
	VPADDD Y9, Y8, Y8
	ADDQ $4, AX
	ADDQ $32, DX
	DECQ R12
	JNZ  h4tap
h4store:
	MOVQ DI, R12
	CLIPSTORE8(Y0, X0, X7)
	LEAQ 1(DI), R12
	CLIPSTORE8(Y1, X1, X7)
	LEAQ 2(DI), R12
	CLIPSTORE8(Y2, X2, X7)
	LEAQ 3(DI), R12
	CLIPSTORE8(Y8, X8, X7)
	ADDQ $4, DI
	ADDQ $4, R8
	ADDQ $4, R9
	ADDQ R13, R10
	DECQ R11
	JNZ  h4
	JMP  hdone

// ---- ch == 2 ----
h2:
	MOVLQSX (R8), DX
	MOVLQSX (R9), R12
	SHLQ $4, DX
	LEAQ (SI)(DX*1), DX
	MOVQ R10, AX
	VMOVDQA Y15, Y0
	VMOVDQA Y15, Y1
	TESTQ R12, R12
	JZ   h2store
h2tap:
	VPBROADCASTD (AX), Y3
	VPMOVZXBD 0(DX), Y4
	VPMOVZXBD 8(DX), Y5
	VPMULLD Y3, Y4, Y4
	VPMULLD Y3, Y5, Y5
	VPADDD Y4, Y0, Y0
	VPADDD Y5, Y1, Y1
	ADDQ $4, AX
	ADDQ $16, DX
	DECQ R12
	JNZ  h2tap
h2store:
	MOVQ DI, R12
	CLIPSTORE8(Y0, X0, X7)
	LEAQ 1(DI), R12
	CLIPSTORE8(Y1, X1, X7)
	ADDQ $2, DI
	ADDQ $4, R8
	ADDQ $4, R9
	ADDQ R13, R10
	DECQ R11
	JNZ  h2

hdone:
	VZEROUPPER
	RET

// func vrowAVX2(src *uint8, stride int, k *int32, cnt int, out *uint8, n32 int)
TEXT ·vrowAVX2(SB), NOSPLIT, $0-48
	MOVQ src+0(FP), SI
	MOVQ stride+8(FP), BX
	MOVQ k+16(FP), R10
	MOVQ cnt+24(FP), R11
	MOVQ out+32(FP), DI
	MOVQ n32+40(FP), CX
	MOVL $0x200000, AX
	MOVD AX, X15
	VPBROADCASTD X15, Y15
	TESTQ CX, CX
	JZ   vdone
vchunk:
	VMOVDQA Y15, Y0
	VMOVDQA Y15, Y1
	VMOVDQA Y15, Y2
	VMOVDQA Y15, Y3
	MOVQ SI, DX
	MOVQ R10, AX
	MOVQ R11, R12
	TESTQ R12, R12
	JZ   vstore
vtap:
	VPBROADCASTD (AX), Y8
	VPMOVZXBD 0(DX), Y4
	VPMOVZXBD 8(DX), Y5
	VPMOVZXBD 16(DX), Y6
	VPMOVZXBD 24(DX), Y7
	VPMULLD Y8, Y4, Y4
	VPMULLD Y8, Y5, Y5
	VPMULLD Y8, Y6, Y6
	VPMULLD Y8, Y7, Y7
	VPADDD Y4, Y0, Y0
	VPADDD Y5, Y1, Y1
	VPADDD Y6, Y2, Y2
	VPADDD Y7, Y3, Y3
	ADDQ $4, AX
	ADDQ BX, DX
	DECQ R12
	JNZ  vtap
vstore:
	// 32 sums -> 32 clipped bytes, in order
	VPSRAD $22, Y0, Y0
	VPSRAD $22, Y1, Y1
	VPSRAD $22, Y2, Y2
	VPSRAD $22, Y3, Y3
	VPACKSSDW Y1, Y0, Y0     // lanes: [0-3,8-11 | 4-7,12-15]
	VPACKSSDW Y3, Y2, Y2     // [16-19,24-27 | 20-23,28-31]
	VPACKUSWB Y2, Y0, Y0     // [0-3,8-11,16-19,24-27 | 4-7,12-15,20-23,28-31]
	VPERMQ $0xD8, Y0, Y0     // qwords 0,2,1,3
	VPSHUFD $0xD8, Y0, Y0    // dwords 0,2,1,3 within lanes
	VMOVDQU Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  vchunk
vdone:
	VZEROUPPER
	RET
