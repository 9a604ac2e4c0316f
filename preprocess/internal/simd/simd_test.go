package simd

import (
	"math/rand"
	"testing"
)

func clip(acc int64) uint8 {
	v := acc >> 22
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

func TestKernels(t *testing.T) {
	if !HasAVX2 {
		t.Skip("no AVX2 on this machine")
	}
	rng := rand.New(rand.NewSource(3))
	// Transpose8.
	const stride, n = 80, 64
	src := make([]uint8, 8*stride)
	rng.Read(src)
	dst := make([]uint8, 8*n)
	Transpose8(src, stride, n, dst)
	for i := 0; i < n; i++ {
		for r := 0; r < 8; r++ {
			if dst[i*8+r] != src[r*stride+i] {
				t.Fatalf("Transpose8: column %d row %d", i, r)
			}
		}
	}
	// HPass8 for every channel count, with weights that overshoot both
	// ways so that clipping is exercised.
	for ch := 1; ch <= 4; ch++ {
		const pixels, outs, ksize = 40, 9, 7
		tr := make([]uint8, pixels*ch*8)
		rng.Read(tr)
		xmin := make([]int32, outs)
		count := make([]int32, outs)
		k := make([]int32, outs*ksize)
		for i := range xmin {
			count[i] = int32(rng.Intn(ksize + 1))
			xmin[i] = int32(rng.Intn(pixels - int(count[i]) + 1))
			for j := 0; j < int(count[i]); j++ {
				k[i*ksize+j] = int32(rng.Intn(1<<24) - 1<<23)
			}
		}
		const dstStride = 64
		out := make([]uint8, 8*dstStride)
		HPass8(tr, xmin, count, k, ksize, ch, out, dstStride)
		for r := 0; r < 8; r++ {
			for i := 0; i < outs; i++ {
				for c := 0; c < ch; c++ {
					acc := int64(1 << 21)
					for j := 0; j < int(count[i]); j++ {
						acc += int64(tr[((int(xmin[i])+j)*ch+c)*8+r]) * int64(k[i*ksize+j])
					}
					// The kernel works in int32, like Pillow; keep the
					// reference in range so both agree.
					if acc != int64(int32(acc)) {
						continue
					}
					if got := out[r*dstStride+i*ch+c]; got != clip(acc) {
						t.Fatalf("HPass8 ch=%d row %d out %d chan %d: %d, want %d", ch, r, i, c, got, clip(acc))
					}
				}
			}
		}
	}
	// VRow.
	const rows, width = 11, 96
	vs := make([]uint8, rows*width)
	rng.Read(vs)
	kv := make([]int32, rows)
	for j := range kv {
		kv[j] = int32(rng.Intn(1<<20) - 1<<19) // sums stay within int32
	}
	vo := make([]uint8, width)
	VRow(vs, width, kv, vo, width/32)
	for x := 0; x < width; x++ {
		acc := int64(1 << 21)
		for j, k := range kv {
			acc += int64(vs[j*width+x]) * int64(k)
		}
		if vo[x] != clip(acc) {
			t.Fatalf("VRow x=%d: %d, want %d", x, vo[x], clip(acc))
		}
	}
}
