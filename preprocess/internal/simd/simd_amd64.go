//go:build amd64 && !purego

package simd

//go:noescape
func cpuidex(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

//go:noescape
func xgetbv0() (eax, edx uint32)

//go:noescape
func transpose8(src *uint8, stride, n int, dst *uint8)

//go:noescape
func hpass8AVX2(tr *uint8, xmin, count, k *int32, n, ksize, ch int, dst *uint8, stride int)

//go:noescape
func vrowAVX2(src *uint8, stride int, k *int32, cnt int, out *uint8, n32 int)

func detectAVX2() bool {
	maxID, _, _, _ := cpuidex(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuidex(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if ecx1&osxsave == 0 || ecx1&avx == 0 {
		return false
	}
	if xcr0, _ := xgetbv0(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuidex(7, 0)
	return ebx7&(1<<5) != 0
}
