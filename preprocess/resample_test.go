//go:build cgo

package preprocess

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"

	"github.com/goclip/goclip/preprocess/internal/simd"
)

// naiveResize8 is an independent, unoptimised statement of Pillow's 8-bit
// BICUBIC resize of a whole image (all output pixels, no crop window, one
// row and one channel at a time), used to check the optimised kernels.
func naiveResize8(src []uint8, w, h, ch, outW, outH int) []uint8 {
	pass := func(inSize, outSize int) ([]int, []int, [][]int32) {
		c, err := precomputeCoeffs(inSize, outSize, 0, outSize)
		if err != nil {
			panic(err)
		}
		ks := make([][]int32, outSize)
		for i := range ks {
			ks[i] = c.kfix[i*c.ksize : i*c.ksize+c.count[i]]
		}
		return c.xmin, c.count, ks
	}
	clip := func(acc int64) uint8 {
		v := acc >> 22
		if v < 0 {
			return 0
		}
		if v > 255 {
			return 255
		}
		return uint8(v)
	}
	tmp := src
	tw := w
	if outW != w {
		xmin, _, ks := pass(w, outW)
		tmp = make([]uint8, outW*h*ch)
		for y := 0; y < h; y++ {
			for x := 0; x < outW; x++ {
				for c := 0; c < ch; c++ {
					acc := int64(1 << 21)
					for j, k := range ks[x] {
						acc += int64(src[(y*w+xmin[x]+j)*ch+c]) * int64(k)
					}
					tmp[(y*outW+x)*ch+c] = clip(acc)
				}
			}
		}
		tw = outW
	}
	if outH == h {
		return tmp
	}
	ymin, _, ks := pass(h, outH)
	out := make([]uint8, tw*outH*ch)
	for y := 0; y < outH; y++ {
		for x := 0; x < tw*ch; x++ {
			acc := int64(1 << 21)
			for j, k := range ks[y] {
				acc += int64(tmp[(ymin[y]+j)*tw*ch+x]) * int64(k)
			}
			out[y*tw*ch+x] = clip(acc)
		}
	}
	return out
}

// TestResampleKernels runs the crop-restricted resampler (AVX2 when
// available, and the portable two-lane kernels) on random images of every
// 8-bit channel count and checks both against the naive full resize
// followed by the crop.
func TestResampleKernels(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	modes := []Mode{ModeL, ModeLA, ModeRGB, ModeRGBA, ModeCMYK}
	sizes := [][2]int{{1, 1}, {3, 2}, {17, 40}, {40, 17}, {123, 77}, {300, 31}, {64, 64}, {9, 500}}
	ns := []int{1, 5, 16, 33, 64}
	defer func() { useSIMD = true }()
	for _, m := range modes {
		for _, sz := range sizes {
			n := ns[rng.Intn(len(ns))]
			w, h := sz[0], sz[1]
			im := newImage(m, w, h)
			// Extreme values make the fixed-point sums overshoot, which
			// exercises the clipping.
			for i := range im.Pix {
				switch rng.Intn(3) {
				case 0:
					im.Pix[i] = 0
				case 1:
					im.Pix[i] = 255
				default:
					im.Pix[i] = uint8(rng.Intn(256))
				}
			}
			name := fmt.Sprintf("%s_%dx%d_n%d", m, w, h, n)
			p, err := makePlan(w, h, n)
			if err != nil {
				t.Fatal(err)
			}
			ch := m.Channels()
			src := im.Pix
			if m == ModeRGBA || m == ModeLA {
				src = append([]uint8{}, im.Pix...)
				premultiplyRow(src, ch)
			}
			full := src
			if !p.noop {
				full = naiveResize8(src, w, h, ch, p.outW, p.outH)
			}
			want := &Image{Mode: m, Width: n, Height: n, Pix: make([]uint8, n*n*ch)}
			for y := 0; y < n; y++ {
				copy(want.Pix[y*n*ch:(y+1)*n*ch], full[((p.top+y)*p.outW+p.left)*ch:])
			}
			if m == ModeRGBA || m == ModeLA {
				unpremultiplyRow(want.Pix, ch)
			}
			wantRGB := make([]uint8, n*n*3)
			imageToRGB(want, wantRGB)
			for _, useS := range []bool{true, false} {
				if useS && !simd.HasAVX2 {
					continue
				}
				useSIMD = useS
				got := make([]uint8, n*n*3)
				if err := resizeCropRGB(im, n, got); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, wantRGB) {
					i, k := diffU8(got, wantRGB)
					t.Errorf("%s simd=%v: %d bytes differ from the naive resize, first at %d", name, useS, k, i)
				}
			}
		}
	}
}

// TestTwoLaneArithmetic checks the lane split on sums at the edges of the
// int32 range.
func TestTwoLaneArithmetic(t *testing.T) {
	vals := []int64{0, 1, -1, 1 << 21, -(1 << 30), 1<<31 - 1, -(1 << 31), 255 << 22, -12345678}
	for _, a := range vals {
		for _, b := range vals {
			tw := uint64(a) + uint64(b)<<32
			lo, hi := splitLanes(tw)
			if int64(lo) != a || int64(hi) != b {
				t.Errorf("split(%d, %d) = %d, %d", a, b, lo, hi)
			}
		}
	}
}

func BenchmarkResize4000x3000(b *testing.B) {
	im := newImage(ModeRGB, 4000, 3000)
	rng := rand.New(rand.NewSource(1))
	rng.Read(im.Pix)
	dst := make([]uint8, 224*224*3)
	for _, s := range []bool{true, false} {
		if s && !simd.HasAVX2 {
			continue
		}
		b.Run(fmt.Sprintf("simd=%v", s), func(b *testing.B) {
			useSIMD = s
			defer func() { useSIMD = true }()
			for i := 0; i < b.N; i++ {
				if err := resizeCropRGB(im, 224, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
