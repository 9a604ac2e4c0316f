package preprocess

import (
	"math"
)

// Pillow 9.4 BICUBIC resampling (libImaging/Resample.c), reproduced from its
// documented behaviour: Keys cubic with a = -0.5, support 2*max(scale, 1),
// per-output weights normalised to sum 1, then converted to 22-bit fixed
// point rounding half away from zero. 8-bit images run a horizontal pass into
// a clipped 8-bit intermediate, then a vertical pass; each accumulator starts
// at 1<<21 and the result is clip8(acc >> 22). Mode I (int32) uses the double
// weights directly and rounds half away from zero.
//
// Every output sample depends only on its own weights, so this package
// computes just the samples that survive the centre crop: the same values
// Pillow computes, for a fraction of the work.

const precisionBits = 32 - 8 - 2

const intMax = math.MaxInt32

// bicubic is Keys' cubic convolution kernel with a = -0.5. The explicit
// float64 conversions keep Go from fusing multiply-adds, so the rounding
// matches the C code compiled without FMA contraction.
func bicubic(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		t := float64((a+2.0)*x) - (a + 3.0)
		t = float64(t * x)
		t = float64(t * x)
		return t + 1
	}
	if x < 2 {
		t := x - 5
		t = float64(t*x) + 8
		t = float64(t*x) - 4
		return float64(t * a)
	}
	return 0
}

// coeffs holds the filter of one resampling direction for the output
// samples [lo, hi).
type coeffs struct {
	ksize  int
	lo, hi int
	xmin   []int     // first input sample of each output
	count  []int     // number of input samples of each output
	k      []float64 // normalised weights, ksize per output
	kfix   []int32   // 22-bit fixed-point weights, ksize per output
	kfix64 []uint64  // kfix sign-extended to 64 bits (for two-lane sums)
	inLo   int       // lowest input sample used by [lo, hi)
	inHi   int       // one past the highest input sample used
}

// precomputeCoeffs mirrors Pillow's precompute_coeffs for the box
// [0, inSize) resampled to outSize samples, keeping outputs [lo, hi).
func precomputeCoeffs(inSize, outSize, lo, hi int) (*coeffs, error) {
	return precomputeCoeffsInto(new(coeffs), inSize, outSize, lo, hi)
}

// precomputeCoeffsInto is precomputeCoeffs reusing c's slices.
func precomputeCoeffsInto(c *coeffs, inSize, outSize, lo, hi int) (*coeffs, error) {
	in1 := float64(float32(inSize)) // Pillow passes the box as C floats
	scale := in1 / float64(outSize)
	filterscale := scale
	if filterscale < 1.0 {
		filterscale = 1.0
	}
	support := 2.0 * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	if outSize > intMax/(ksize*8) {
		return nil, tooLargef("resize to %d samples needs coefficient tables Pillow refuses to allocate", outSize)
	}
	m := (hi - lo) * ksize
	c.ksize, c.lo, c.hi = ksize, lo, hi
	c.xmin = growInts(c.xmin, hi-lo)
	c.count = growInts(c.count, hi-lo)
	c.k = growF64(c.k, m)
	c.kfix = growI32(c.kfix, m)
	c.kfix64 = growU64(c.kfix64, m)
	clear(c.k)
	clear(c.kfix)
	clear(c.kfix64)
	c.inLo, c.inHi = inSize, 0
	ss := 1.0 / filterscale
	for xx := lo; xx < hi; xx++ {
		center := (float64(xx) + 0.5) * scale
		ww := 0.0
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		k := c.k[(xx-lo)*ksize : (xx-lo+1)*ksize]
		for x := 0; x < xmax; x++ {
			w := bicubic(float64((float64(x+xmin) - center + 0.5) * ss))
			k[x] = w
			ww += w
		}
		for x := 0; x < xmax; x++ {
			if ww != 0.0 {
				k[x] /= ww
			}
		}
		kf := c.kfix[(xx-lo)*ksize : (xx-lo+1)*ksize]
		for x := 0; x < xmax; x++ {
			v := float64(k[x] * (1 << precisionBits))
			if k[x] < 0 {
				kf[x] = int32(-0.5 + v)
			} else {
				kf[x] = int32(0.5 + v)
			}
			c.kfix64[(xx-lo)*ksize+x] = uint64(int64(kf[x]))
		}
		c.xmin[xx-lo] = xmin
		c.count[xx-lo] = xmax
		if xmax > 0 {
			if xmin < c.inLo {
				c.inLo = xmin
			}
			if xmin+xmax > c.inHi {
				c.inHi = xmin + xmax
			}
		}
	}
	if c.inHi < c.inLo {
		c.inLo, c.inHi = 0, 0
	}
	return c, nil
}

func growInts(b []int, n int) []int {
	if cap(b) < n {
		return make([]int, n)
	}
	return b[:n]
}

func growF64(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

func growI32(b []int32, n int) []int32 {
	if cap(b) < n {
		return make([]int32, n)
	}
	return b[:n]
}

func growU64(b []uint64, n int) []uint64 {
	if cap(b) < n {
		return make([]uint64, n)
	}
	return b[:n]
}

// growU8 returns b resized to n bytes, reallocating when it is too small
// (the contents are not preserved or cleared).
func growU8(b []uint8, n int) []uint8 {
	if cap(b) < n {
		return make([]uint8, n)
	}
	return b[:n]
}

// clipShift is Pillow's clip8 applied to a fixed-point accumulator.
func clipShift(acc int32) uint8 {
	v := acc >> precisionBits
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v)
}

// hpass8 resamples one row horizontally: src holds ch-byte pixels starting
// at input column base; dst receives (c.hi-c.lo) pixels.
func hpass8(c *coeffs, src []uint8, base, ch int, dst []uint8) {
	ks := c.ksize
	n := c.hi - c.lo
	switch ch {
	case 3:
		dst = dst[:3*n]
		for i := 0; i < n; i++ {
			cnt := c.count[i]
			k := c.kfix[i*ks : i*ks+cnt]
			s := src[(c.xmin[i]-base)*3:]
			s = s[:3*len(k)]
			r, g, b := int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1))
			for j, kv := range k {
				p := s[3*j : 3*j+3 : 3*j+3]
				r += int32(p[0]) * kv
				g += int32(p[1]) * kv
				b += int32(p[2]) * kv
			}
			d := dst[3*i : 3*i+3 : 3*i+3]
			d[0] = clipShift(r)
			d[1] = clipShift(g)
			d[2] = clipShift(b)
		}
	case 1:
		dst = dst[:n]
		for i := 0; i < n; i++ {
			cnt := c.count[i]
			k := c.kfix[i*ks : i*ks+cnt]
			s := src[c.xmin[i]-base:]
			s = s[:len(k)]
			acc := int32(1 << (precisionBits - 1))
			for j, kv := range k {
				acc += int32(s[j]) * kv
			}
			dst[i] = clipShift(acc)
		}
	default:
		dst = dst[:ch*n]
		var acc [4]int32
		for i := 0; i < n; i++ {
			cnt := c.count[i]
			k := c.kfix[i*ks : i*ks+cnt]
			s := src[(c.xmin[i]-base)*ch:]
			s = s[:ch*len(k)]
			for q := 0; q < ch; q++ {
				acc[q] = 1 << (precisionBits - 1)
			}
			for j, kv := range k {
				for q := 0; q < ch; q++ {
					acc[q] += int32(s[ch*j+q]) * kv
				}
			}
			for q := 0; q < ch; q++ {
				dst[ch*i+q] = clipShift(acc[q])
			}
		}
	}
}

// Two-lane arithmetic: a uint64 holds the sums of two rows in 32-bit lanes.
// With wrapping arithmetic, T = S0 + S1*2^32 (mod 2^64) for the true signed
// sums S0, S1; both fit in an int32 (|S| < 2^31 because the weights are
// normalised), so the low lane gives S0 exactly and (T - S0) >> 32 gives S1.
const laneInit = uint64(1<<(precisionBits-1)) | uint64(1<<(precisionBits-1))<<32

func splitLanes(t uint64) (int32, int32) {
	lo := int32(uint32(t))
	hi := int32(uint32((t - uint64(int64(lo))) >> 32))
	return lo, hi
}

// packRows interleaves two rows of ch-byte pixels into two-lane words:
// out[i] = row0[i] | row1[i]<<32.
func packRows(row0, row1 []uint8, out []uint64) {
	out = out[:len(row0)]
	row1 = row1[:len(row0)]
	for i, v := range row0 {
		out[i] = uint64(v) | uint64(row1[i])<<32
	}
}

// hpass8x2 resamples two rows at once from their packed samples (packed
// starts at input column base); dst0 and dst1 receive (c.hi-c.lo) pixels.
func hpass8x2(c *coeffs, packed []uint64, base, ch int, dst0, dst1 []uint8) {
	ks := c.ksize
	n := c.hi - c.lo
	switch ch {
	case 3:
		dst0 = dst0[:3*n]
		dst1 = dst1[:3*n]
		for i := 0; i < n; i++ {
			k := c.kfix64[i*ks : i*ks+c.count[i]]
			s := packed[(c.xmin[i]-base)*3:]
			s = s[:3*len(k)]
			a0, a1, a2 := laneInit, laneInit, laneInit
			j := 0
			for ; j+1 < len(k); j += 2 {
				k0, k1 := k[j], k[j+1]
				p := s[3*j : 3*j+6 : 3*j+6]
				a0 += p[0]*k0 + p[3]*k1
				a1 += p[1]*k0 + p[4]*k1
				a2 += p[2]*k0 + p[5]*k1
			}
			if j < len(k) {
				k0 := k[j]
				p := s[3*j : 3*j+3 : 3*j+3]
				a0 += p[0] * k0
				a1 += p[1] * k0
				a2 += p[2] * k0
			}
			r0, r1 := splitLanes(a0)
			g0, g1 := splitLanes(a1)
			b0, b1 := splitLanes(a2)
			d0 := dst0[3*i : 3*i+3 : 3*i+3]
			d1 := dst1[3*i : 3*i+3 : 3*i+3]
			d0[0], d0[1], d0[2] = clipShift(r0), clipShift(g0), clipShift(b0)
			d1[0], d1[1], d1[2] = clipShift(r1), clipShift(g1), clipShift(b1)
		}
	case 1:
		dst0 = dst0[:n]
		dst1 = dst1[:n]
		for i := 0; i < n; i++ {
			k := c.kfix64[i*ks : i*ks+c.count[i]]
			s := packed[c.xmin[i]-base:]
			s = s[:len(k)]
			a, b := laneInit, uint64(0)
			j := 0
			for ; j+1 < len(k); j += 2 {
				a += s[j] * k[j]
				b += s[j+1] * k[j+1]
			}
			if j < len(k) {
				a += s[j] * k[j]
			}
			v0, v1 := splitLanes(a + b)
			dst0[i], dst1[i] = clipShift(v0), clipShift(v1)
		}
	default:
		dst0 = dst0[:ch*n]
		dst1 = dst1[:ch*n]
		var acc [4]uint64
		for i := 0; i < n; i++ {
			k := c.kfix64[i*ks : i*ks+c.count[i]]
			s := packed[(c.xmin[i]-base)*ch:]
			s = s[:ch*len(k)]
			for q := 0; q < ch; q++ {
				acc[q] = laneInit
			}
			for j, kv := range k {
				for q := 0; q < ch; q++ {
					acc[q] += s[ch*j+q] * kv
				}
			}
			for q := 0; q < ch; q++ {
				v0, v1 := splitLanes(acc[q])
				dst0[ch*i+q], dst1[ch*i+q] = clipShift(v0), clipShift(v1)
			}
		}
	}
}

// vpass8 resamples vertically: tmp holds rows [rowBase, ...) of stride
// bytes each; dst receives (c.hi-c.lo) rows of rowLen bytes. acc is scratch
// of rowLen int32s.
func vpass8(c *coeffs, tmp []uint8, rowBase, stride, rowLen int, dst []uint8, acc []int32) {
	ks := c.ksize
	acc = acc[:rowLen]
	for i := 0; i < c.hi-c.lo; i++ {
		for x := range acc {
			acc[x] = 1 << (precisionBits - 1)
		}
		cnt := c.count[i]
		k := c.kfix[i*ks : i*ks+cnt]
		y0 := c.xmin[i] - rowBase
		for j, kv := range k {
			row := tmp[(y0+j)*stride:]
			row = row[:len(acc)]
			for x, v := range row {
				acc[x] += int32(v) * kv
			}
		}
		out := dst[i*rowLen:]
		out = out[:len(acc)]
		for x, a := range acc {
			out[x] = clipShift(a)
		}
	}
}

// roundUp is Pillow's ROUND_UP for the 32-bit resampler: round half away
// from zero, then truncate to int.
func roundUp(f float64) int32 {
	if f >= 0 {
		return int32(f + 0.5)
	}
	return int32(f - 0.5)
}

// hpassI resamples one mode-I row horizontally with double weights.
func hpassI(c *coeffs, src []int32, base int, dst []int32) {
	ks := c.ksize
	for i := 0; i < c.hi-c.lo; i++ {
		cnt := c.count[i]
		k := c.k[i*ks : i*ks+cnt]
		s := src[c.xmin[i]-base:]
		s = s[:len(k)]
		ss := 0.0
		for j, kv := range k {
			ss += float64(float64(s[j]) * kv)
		}
		dst[i] = roundUp(ss)
	}
}

// vpassI resamples mode-I rows vertically with double weights.
func vpassI(c *coeffs, tmp []int32, rowBase, rowLen int, dst []int32) {
	ks := c.ksize
	for i := 0; i < c.hi-c.lo; i++ {
		cnt := c.count[i]
		k := c.k[i*ks : i*ks+cnt]
		y0 := c.xmin[i] - rowBase
		out := dst[i*rowLen : (i+1)*rowLen]
		for x := range out {
			ss := 0.0
			for j, kv := range k {
				ss += float64(float64(tmp[(y0+j)*rowLen+x]) * kv)
			}
			out[x] = roundUp(ss)
		}
	}
}

// nearestIndex mirrors Pillow's affine NEAREST scaling (ImagingScaleAffine)
// for the box [0, inSize) scaled to outSize samples: the source position
// starts at scale/2 and is advanced by repeated addition of scale. It
// returns the source index of outputs [lo, hi), or -1 where Pillow leaves
// the fill value 0.
func nearestIndex(inSize, outSize, lo, hi int) []int {
	a := float64(float32(inSize)) / float64(outSize)
	xo := 0.0 + a*0.5
	idx := make([]int, hi-lo)
	for x := 0; x < hi; x++ {
		if x >= lo {
			xin := -1
			if xo >= 0 {
				xin = int(xo)
			}
			if xin < 0 || xin >= inSize {
				xin = -1
			}
			idx[x-lo] = xin
		}
		xo += a
	}
	return idx
}
