//go:build !amd64 || purego

package simd

func detectAVX2() bool { return false }

func transpose8(src *uint8, stride, n int, dst *uint8) { panic("simd: no AVX2") }

func hpass8AVX2(tr *uint8, xmin, count, k *int32, n, ksize, ch int, dst *uint8, stride int) {
	panic("simd: no AVX2")
}

func vrowAVX2(src *uint8, stride int, k *int32, cnt int, out *uint8, n32 int) { panic("simd: no AVX2") }
