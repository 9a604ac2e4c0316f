package preprocess

import (
	"math"
	"sync"

	"github.com/goclip/goclip/preprocess/internal/simd"
)

// plan is the geometry of torchvision's Resize(n) + CenterCrop(n) for one
// image.
type plan struct {
	inW, inH   int
	n          int
	outW, outH int // size after Resize
	left, top  int // CenterCrop offset
	noop       bool
}

// makePlan computes torchvision 0.14's resize size (short side n, long side
// int(n*long/short)) and crop offset (int(round((size-n)/2.0)), half to
// even).
func makePlan(w, h, n int) (plan, error) {
	if w <= 0 || h <= 0 {
		return plan{}, zeroSize(w, h)
	}
	short, long := w, h
	if w > h {
		short, long = h, w
	}
	// n*long is exact in float64 here; Python's true division of ints
	// is correctly rounded, as is float64 division of exact values.
	newLongF := float64(n) * float64(long) / float64(short)
	if newLongF > intMax {
		return plan{}, tooLargef("resized side %.0f exceeds a C int", newLongF)
	}
	newLong := int(newLongF)
	p := plan{inW: w, inH: h, n: n}
	if w <= h {
		p.outW, p.outH = n, newLong
	} else {
		p.outW, p.outH = newLong, n
	}
	p.noop = p.outW == w && p.outH == h
	p.left = int(math.RoundToEven(float64(p.outW-n) / 2.0))
	p.top = int(math.RoundToEven(float64(p.outH-n) / 2.0))
	return p, nil
}

// resampler8 runs Pillow's two-pass BICUBIC resize of an 8-bit image with
// ch bytes per pixel, restricted to the n×n crop window. Source rows are
// pushed one at a time (so a decoder can stream them); rows outside
// [rowLo, rowHi) are not needed. With AVX2 the horizontal pass runs on
// groups of 8 rows (transposed so that one vector lane is one row) and the
// vertical pass on 32 output bytes at a time; otherwise rows are resampled
// in pairs with two 32-bit lanes per 64-bit word. All paths produce the
// same bytes.
type resampler8 struct {
	p            plan
	ch           int
	needH, needV bool
	hc, vc       *coeffs
	rowLo, rowHi int // source rows needed
	colLo, colHi int // source columns needed
	premultiply  bool
	rowLen       int     // n*ch: bytes of one intermediate / output row
	tmpStride    int     // rowLen rounded up to 32
	tmp          []uint8 // rows [rowLo, rowHi) (+7 rows slack), tmpStride bytes each
	simd         bool
	// staging holds up to 8 consecutive source rows (columns [colLo,
	// colHi)) waiting to be resampled together.
	staging  []uint8
	stageLen int // bytes of one staged row
	stageRow int // stride of staging rows (multiple of 16)
	stageY   int // source row of staging row 0
	staged   int
	tr       []uint8  // transposed staging rows (SIMD path)
	packed   []uint64 // two-lane words (portable path)
	xminRel  []int32  // xmin - colLo per output (SIMD path)
	count32  []int32
	s        *scratch // where the buffers come from
}

// newResampler8 prepares the coefficient tables for plan p, with buffers
// from s (nil: fresh ones).
func newResampler8(p plan, ch int, premultiply bool, s *scratch) (*resampler8, error) {
	if s == nil {
		s = new(scratch)
	}
	r := &resampler8{p: p, ch: ch, premultiply: premultiply, simd: simd.HasAVX2 && useSIMD, s: s}
	if !p.noop {
		// Pillow: need_horizontal = xsize != imIn->xsize (box is the whole
		// image), likewise vertical.
		r.needH = p.outW != p.inW
		r.needV = p.outH != p.inH
	}
	n := p.n
	if r.needH {
		c, err := precomputeCoeffsInto(&s.hc, p.inW, p.outW, p.left, p.left+n)
		if err != nil {
			return nil, err
		}
		r.hc = c
		r.colLo, r.colHi = c.inLo, c.inHi
	} else {
		r.colLo, r.colHi = p.left, p.left+n
	}
	if r.needV {
		c, err := precomputeCoeffsInto(&s.vc, p.inH, p.outH, p.top, p.top+n)
		if err != nil {
			return nil, err
		}
		r.vc = c
		r.rowLo, r.rowHi = c.inLo, c.inHi
	} else {
		r.rowLo, r.rowHi = p.top, p.top+n
	}
	r.rowLen = n * ch
	r.tmpStride = (r.rowLen + 31) &^ 31
	s.tmp = growU8(s.tmp, (r.rowHi-r.rowLo+7)*r.tmpStride)
	r.tmp = s.tmp
	r.stageLen = (r.colHi - r.colLo) * ch
	r.stageRow = (r.stageLen + 15) &^ 15
	if r.needH {
		if r.simd {
			s.staging = growU8(s.staging, 8*r.stageRow)
			s.tr = growU8(s.tr, 8*r.stageRow)
			s.xminRel = growI32(s.xminRel, n)
			s.count32 = growI32(s.count32, n)
			r.staging, r.tr, r.xminRel, r.count32 = s.staging, s.tr, s.xminRel, s.count32
			for i := 0; i < n; i++ {
				r.xminRel[i] = int32(r.hc.xmin[i] - r.colLo)
				r.count32[i] = int32(r.hc.count[i])
			}
		} else {
			s.staging = growU8(s.staging, 2*r.stageRow)
			s.packed = growU64(s.packed, r.stageLen)
			r.staging, r.packed = s.staging, s.packed
		}
	} else if premultiply {
		s.staging = growU8(s.staging, r.stageRow)
		r.staging = s.staging
	}
	return r, nil
}

// pushRow feeds source row y; row holds ch-byte pixels starting at source
// column base and must cover [colLo, colHi). Rows must come in increasing
// order.
func (r *resampler8) pushRow(y int, row []uint8, base int) {
	if y < r.rowLo || y >= r.rowHi {
		return
	}
	ch := r.ch
	seg := row[(r.colLo-base)*ch : (r.colHi-base)*ch]
	if !r.needH {
		if r.premultiply {
			copy(r.staging, seg)
			premultiplyRow(r.staging[:len(seg)], ch)
			seg = r.staging[:len(seg)]
		}
		copy(r.tmp[(y-r.rowLo)*r.tmpStride:], seg)
		return
	}
	if r.staged == 0 {
		r.stageY = y
	}
	dst := r.staging[r.staged*r.stageRow : r.staged*r.stageRow+r.stageLen]
	copy(dst, seg)
	if r.premultiply {
		premultiplyRow(dst, ch)
	}
	r.staged++
	if r.simd && r.staged == 8 || !r.simd && r.staged == 2 {
		r.flush()
	}
}

// flush resamples the staged rows.
func (r *resampler8) flush() {
	if r.staged == 0 {
		return
	}
	out := r.tmp[(r.stageY-r.rowLo)*r.tmpStride:]
	switch {
	case r.simd:
		simd.Transpose8(r.staging, r.stageRow, r.stageRow, r.tr)
		simd.HPass8(r.tr, r.xminRel, r.count32, r.hc.kfix, r.hc.ksize, r.ch, out, r.tmpStride)
	case r.staged == 2:
		packRows(r.staging[:r.stageLen], r.staging[r.stageRow:r.stageRow+r.stageLen], r.packed)
		hpass8x2(r.hc, r.packed, r.colLo, r.ch, out, out[r.tmpStride:])
	default:
		hpass8(r.hc, r.staging[:r.stageLen], r.colLo, r.ch, out)
	}
	r.staged = 0
}

// finish runs the vertical pass into dst (n×n×ch bytes) and, for
// premultiplied modes, converts back to straight alpha.
func (r *resampler8) finish(dst []uint8) {
	r.flush()
	n := r.p.n
	rl := r.rowLen
	switch {
	case !r.needV:
		for y := 0; y < n; y++ {
			copy(dst[y*rl:(y+1)*rl], r.tmp[(r.p.top-r.rowLo+y)*r.tmpStride:])
		}
	case r.simd:
		r.s.line = growU8(r.s.line, r.tmpStride)
		line := r.s.line
		ks := r.vc.ksize
		for i := 0; i < n; i++ {
			cnt := r.vc.count[i]
			k := r.vc.kfix[i*ks : i*ks+cnt]
			simd.VRow(r.tmp[(r.vc.xmin[i]-r.rowLo)*r.tmpStride:], r.tmpStride, k, line, r.tmpStride/32)
			copy(dst[i*rl:(i+1)*rl], line)
		}
	default:
		r.s.acc = growI32(r.s.acc, rl)
		vpass8(r.vc, r.tmp, r.rowLo, r.tmpStride, rl, dst, r.s.acc)
	}
	if r.premultiply {
		unpremultiplyRow(dst[:n*n*r.ch], r.ch)
	}
}

// useSIMD lets tests force the portable kernels.
var useSIMD = true

// scratch holds the buffers of one resize, reused across images through
// scratchPool so that a batch does not churn the garbage collector.
type scratch struct {
	tmp, staging, tr, line, strip, out, rgb []uint8
	xminRel, count32, acc                   []int32
	packed                                  []uint64
	hc, vc                                  coeffs
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch  { return scratchPool.Get().(*scratch) }
func putScratch(s *scratch) { scratchPool.Put(s) }

// resizeCropRGB applies Resize(n, BICUBIC) + CenterCrop(n) +
// convert("RGB") to a decoded image, writing n×n×3 bytes to dst.
func resizeCropRGB(m *Image, n int, dst []uint8) error {
	p, err := makePlan(m.Width, m.Height, n)
	if err != nil {
		return err
	}
	if p.noop {
		for y := 0; y < n; y++ {
			convertRowToRGB(m, p.top+y, p.left, n, dst[y*n*3:(y+1)*n*3])
		}
		return nil
	}
	switch m.Mode {
	case ModeP, Mode1:
		// Pillow forces NEAREST for P and 1.
		xi := nearestIndex(m.Width, p.outW, p.left, p.left+n)
		yi := nearestIndex(m.Height, p.outH, p.top, p.top+n)
		out := &Image{Mode: m.Mode, Width: n, Height: n, Pix: make([]uint8, n*n), Palette: m.Palette}
		for y, sy := range yi {
			if sy < 0 {
				continue
			}
			src := m.Pix[sy*m.Width : (sy+1)*m.Width]
			o := out.Pix[y*n : (y+1)*n]
			for x, sx := range xi {
				if sx >= 0 {
					o[x] = src[sx]
				}
			}
		}
		return imageToRGB(out, dst)
	case ModeI:
		out, err := resizeI(m, p)
		if err != nil {
			return err
		}
		return imageToRGB(out, dst)
	}
	ch := m.Mode.Channels()
	premult := m.Mode == ModeRGBA || m.Mode == ModeLA
	s := getScratch()
	defer putScratch(s)
	r, err := newResampler8(p, ch, premult, s)
	if err != nil {
		return err
	}
	rowLen := m.Width * ch
	for y := r.rowLo; y < r.rowHi; y++ {
		r.pushRow(y, m.Pix[y*rowLen:(y+1)*rowLen], 0)
	}
	s.out = growU8(s.out, n*n*ch)
	out := &Image{Mode: m.Mode, Width: n, Height: n, Pix: s.out}
	r.finish(out.Pix)
	return imageToRGB(out, dst)
}

// imageToRGB converts a whole image to RGB bytes in dst.
func imageToRGB(m *Image, dst []uint8) error {
	w := m.Width
	for y := 0; y < m.Height; y++ {
		convertRowToRGB(m, y, 0, w, dst[y*w*3:(y+1)*w*3])
	}
	return nil
}

// resizeI resizes a mode-I image (Pillow's 32-bit resampler) to the crop
// window of p.
func resizeI(m *Image, p plan) (*Image, error) {
	n := p.n
	needH := p.outW != p.inW
	needV := p.outH != p.inH
	var hc, vc *coeffs
	var err error
	colLo, colHi := p.left, p.left+n
	rowLo, rowHi := p.top, p.top+n
	if needH {
		if hc, err = precomputeCoeffs(p.inW, p.outW, p.left, p.left+n); err != nil {
			return nil, err
		}
		colLo, colHi = hc.inLo, hc.inHi
	}
	if needV {
		if vc, err = precomputeCoeffs(p.inH, p.outH, p.top, p.top+n); err != nil {
			return nil, err
		}
		rowLo, rowHi = vc.inLo, vc.inHi
	}
	_ = colHi
	tmp := make([]int32, (rowHi-rowLo)*n)
	for y := rowLo; y < rowHi; y++ {
		src := m.PixI[y*m.Width : (y+1)*m.Width]
		dst := tmp[(y-rowLo)*n : (y-rowLo+1)*n]
		if needH {
			hpassI(hc, src, 0, dst)
		} else {
			copy(dst, src[colLo:colLo+n])
		}
	}
	out := &Image{Mode: ModeI, Width: n, Height: n, PixI: make([]int32, n*n)}
	if needV {
		vpassI(vc, tmp, rowLo, n, out.PixI)
	} else {
		copy(out.PixI, tmp[(p.top-rowLo)*n:])
	}
	return out, nil
}
