// Package simd holds the AVX2 kernels of the preprocess resampler. They
// compute exactly what the portable Go code in package preprocess computes:
// 32-bit integer products of 8-bit samples and 22-bit fixed-point weights,
// summed from 1<<21, then clip8(sum >> 22). Assembly lives in its own
// package because package preprocess uses cgo.
package simd

// HasAVX2 reports whether the kernels may be called on this machine.
var HasAVX2 = detectAVX2()

// Transpose8 writes dst[i*8+r] = src[r*stride+i] for the 8 rows r < 8 and
// the n columns i < n; n must be a multiple of 16, src must hold 8 rows of
// stride bytes with n <= stride, dst 8*n bytes.
func Transpose8(src []uint8, stride, n int, dst []uint8) {
	if n <= 0 {
		return
	}
	if n%16 != 0 || n > stride || len(src) < 7*stride+n || len(dst) < 8*n {
		panic("simd: Transpose8: bad arguments")
	}
	transpose8(&src[0], stride, n, &dst[0])
}

// HPass8 runs the horizontal pass for 8 rows held transposed in tr
// (tr[(x*ch+c)*8+r] is channel c of pixel x of row r). Output i uses
// count[i] weights k[i*ksize:] on pixels xmin[i], xmin[i]+1, ...; the
// clipped results go to dst[r*stride+i*ch+c]. ch is 1..4.
func HPass8(tr []uint8, xmin, count, k []int32, ksize, ch int, dst []uint8, stride int) {
	n := len(xmin)
	if n == 0 {
		return
	}
	if ch < 1 || ch > 4 || len(count) < n || len(k) < n*ksize || len(dst) < 7*stride+n*ch {
		panic("simd: HPass8: bad arguments")
	}
	for i := 0; i < n; i++ {
		if count[i] < 0 || int(count[i]) > ksize || xmin[i] < 0 || (int(xmin[i])+int(count[i]))*ch*8 > len(tr) {
			panic("simd: HPass8: weights out of range")
		}
	}
	hpass8AVX2(&tr[0], &xmin[0], &count[0], &k[0], n, ksize, ch, &dst[0], stride)
}

// VRow computes one output row of the vertical pass over n32*32 bytes:
// out[x] = clip8((1<<21 + sum_j src[j*stride+x]*k[j]) >> 22) for the
// len(k) rows j.
func VRow(src []uint8, stride int, k []int32, out []uint8, n32 int) {
	if n32 <= 0 {
		return
	}
	if len(k) == 0 {
		for i := range out[:n32*32] {
			out[i] = 0 // clip8((1<<21)>>22) == 0
		}
		return
	}
	if len(src) < (len(k)-1)*stride+n32*32 || len(out) < n32*32 {
		panic("simd: VRow: bad arguments")
	}
	vrowAVX2(&src[0], stride, &k[0], len(k), &out[0], n32)
}
