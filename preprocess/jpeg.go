package preprocess

import (
	"bytes"
)

// jpegInfo is what Pillow 9.4's JpegImagePlugin learns when it opens a file:
// the mode (from the number of components) and size of the last SOF.
type jpegInfo struct {
	mode          Mode
	width, height int
}

// pillowJPEGOpen walks the markers the way Pillow's JpegImageFile._open
// does, up to the first SOS, and fails where Pillow's open fails: missing or
// malformed markers, truncated segments, bit depth other than 8, component
// counts other than 1, 3 or 4, no SOF before the scan, zero size.
func pillowJPEGOpen(data []byte) (jpegInfo, error) {
	var info jpegInfo
	if len(data) < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF {
		return info, unsupportedf("not a JPEG file")
	}
	pos := 3
	var icc [][]byte
	layers := 0
	// s is Pillow's one- or two-byte look-ahead; cur holds its first byte.
	cur, haveCur := byte(0xFF), true
	readByte := func() (byte, bool) {
		if pos >= len(data) {
			return 0, false
		}
		b := data[pos]
		pos++
		return b, true
	}
	// segment reads a marker segment as Pillow's handlers do:
	// n = i16(read(2)) - 2; ImageFile._safe_read(n).
	segment := func() ([]byte, error) {
		if pos+2 > len(data) {
			return nil, errTruncated("JPEG marker segment length is truncated")
		}
		n := int(data[pos])<<8 | int(data[pos+1])
		pos += 2
		n -= 2
		if n <= 0 {
			return nil, nil
		}
		if pos+n > len(data) {
			return nil, errTruncated("Truncated File Read")
		}
		s := data[pos : pos+n]
		pos += n
		return s, nil
	}
	for {
		if !haveCur {
			return info, errTruncated("JPEG ends before the start of scan")
		}
		if cur != 0xFF {
			// Skip non-0xFF junk.
			cur, haveCur = readByte()
			continue
		}
		b, ok := readByte()
		if !ok {
			return info, errTruncated("JPEG ends inside a marker")
		}
		marker := 0xFF00 | int(b)
		switch {
		case marker == 0xFFFF:
			cur, haveCur = 0xFF, true
			continue
		case marker == 0xFF00:
			cur, haveCur = readByte()
			continue
		case marker < 0xFFC0:
			return info, corruptf("no marker found")
		}
		switch {
		case marker == 0xFFC4 || marker == 0xFFCC || marker == 0xFFDA || marker == 0xFFDC || marker == 0xFFDD || marker == 0xFFDF:
			// Skip handlers (DHT, DAC, SOS, DNL, DRI, EXP).
			if _, err := segment(); err != nil {
				return info, err
			}
		case marker >= 0xFFC0 && marker <= 0xFFCF && marker != 0xFFC8, marker == 0xFFDE:
			// SOF0-15 and DHP.
			s, err := segment()
			if err != nil {
				return info, err
			}
			if len(s) < 5 {
				return info, corruptf("SOF segment too short")
			}
			info.height = int(s[1])<<8 | int(s[2])
			info.width = int(s[3])<<8 | int(s[4])
			if s[0] != 8 {
				return info, unsupportedf("cannot handle %d-bit layers", s[0])
			}
			if len(s) < 6 {
				return info, corruptf("SOF segment too short")
			}
			layers = int(s[5])
			switch layers {
			case 1:
				info.mode = ModeL
			case 3:
				info.mode = ModeRGB
			case 4:
				info.mode = ModeCMYK
			default:
				return info, unsupportedf("cannot handle %d-layer images", layers)
			}
			if len(icc) > 0 {
				// Pillow sorts the ICC segments and reads byte 13 of the
				// smallest one.
				first := icc[0]
				for _, seg := range icc[1:] {
					if bytes.Compare(seg, first) < 0 {
						first = seg
					}
				}
				if len(first) < 14 {
					return info, corruptf("malformed ICC profile segment")
				}
				icc = icc[:0]
			}
			if (len(s)-6)%3 != 0 {
				return info, corruptf("SOF component table is truncated")
			}
		case marker == 0xFFDB:
			s, err := segment()
			if err != nil {
				return info, err
			}
			for len(s) > 0 {
				ql := 65
				if s[0]/16 != 0 {
					ql = 129
				}
				if len(s) < ql {
					return info, corruptf("bad quantization table marker")
				}
				s = s[ql:]
			}
		case marker >= 0xFFE0 && marker <= 0xFFEF:
			s, err := segment()
			if err != nil {
				return info, err
			}
			if err := pillowAPP(marker, s, &icc); err != nil {
				return info, err
			}
		case marker == 0xFFFE:
			if _, err := segment(); err != nil {
				return info, err
			}
		}
		if marker == 0xFFDA {
			break
		}
		cur, haveCur = readByte()
	}
	if info.mode == "" {
		return info, corruptf("JPEG scan before frame header")
	}
	if info.width <= 0 || info.height <= 0 {
		return info, zeroSize(info.width, info.height)
	}
	return info, nil
}

// pillowAPP applies the checks of Pillow's APP handler that can fail.
func pillowAPP(marker int, s []byte, icc *[][]byte) error {
	switch {
	case marker == 0xFFE0 && bytes.HasPrefix(s, []byte("JFIF")):
		if len(s) < 7 {
			return corruptf("JFIF segment too short")
		}
	case marker == 0xFFE2 && bytes.HasPrefix(s, []byte("ICC_PROFILE\x00")):
		*icc = append(*icc, s)
	case marker == 0xFFED && bytes.HasPrefix(s, []byte("Photoshop 3.0\x00")):
		off := 14
		for off+4 <= len(s) && bytes.Equal(s[off:off+4], []byte("8BIM")) {
			off += 4
			if off+2 > len(s) {
				break
			}
			code := int(s[off])<<8 | int(s[off+1])
			off += 2
			if off >= len(s) {
				// Pillow's s[offset] raises IndexError, which is not caught.
				return corruptf("truncated Photoshop resource block")
			}
			off += 1 + int(s[off])
			off += off & 1
			if off+4 > len(s) {
				break
			}
			size := int(uint32(s[off])<<24 | uint32(s[off+1])<<16 | uint32(s[off+2])<<8 | uint32(s[off+3]))
			off += 4
			if code == 0x03ED {
				end := off + size
				if end > len(s) {
					end = len(s)
				}
				if end-off < 14 {
					break
				}
			}
			off += size
			off += off & 1
		}
	case marker == 0xFFEE && bytes.HasPrefix(s, []byte("Adobe")):
		if len(s) < 7 {
			return corruptf("Adobe segment too short")
		}
	}
	return nil
}

// jpegOutput maps a Pillow JPEG mode to libjpeg's output colour space.
func jpegOutput(m Mode) jpegColorSpace {
	switch m {
	case ModeL:
		return jpegOutGray
	case ModeCMYK:
		return jpegOutCMYK
	}
	return jpegOutRGB
}

// openJPEG runs Pillow's open checks, the pixel limit, and libjpeg's header.
func openJPEG(data []byte, maxPixels int64) (jpegInfo, *libjpegDecoder, error) {
	info, err := pillowJPEGOpen(data)
	if err != nil {
		return info, nil, err
	}
	if err := checkPixels(info.width, info.height, maxPixels); err != nil {
		return info, nil, err
	}
	dec, h, err := newLibjpegDecoder(data)
	if err != nil {
		return info, nil, err
	}
	if h.width != info.width || h.height != info.height || h.components != info.mode.Channels() {
		dec.close()
		return info, nil, corruptf("JPEG frame header disagrees with libjpeg (%dx%d, %d components)", h.width, h.height, h.components)
	}
	return info, dec, nil
}

// invertBytes applies Pillow's "CMYK;I" raw mode (every CMYK JPEG is read
// with Adobe's inverted convention).
func invertBytes(b []uint8) {
	for i, v := range b {
		b[i] = 255 - v
	}
}

// decodeJPEG decodes a whole JPEG to Pillow's mode (L, RGB or CMYK).
func decodeJPEG(data []byte, maxPixels int64) (*Image, error) {
	info, dec, err := openJPEG(data, maxPixels)
	if err != nil {
		return nil, err
	}
	defer dec.close()
	if _, _, err := dec.start(jpegOutput(info.mode), 0, 0); err != nil {
		return nil, err
	}
	im := newImage(info.mode, info.width, info.height)
	im.Format = "JPEG"
	stride := info.width * info.mode.Channels()
	for y := 0; y < info.height; {
		k, err := dec.read(im.Pix[y*stride:], stride, info.height-y)
		if err != nil {
			return nil, err
		}
		if k == 0 {
			return nil, errTruncated("image file is truncated")
		}
		y += k
	}
	if err := dec.finish(); err != nil {
		return nil, err
	}
	if info.mode == ModeCMYK {
		invertBytes(im.Pix)
	}
	return im, nil
}

// jpegCropMargin is how many extra columns beyond those the resize needs
// are decoded on each side of a cropped JPEG, so that libjpeg's edge
// handling at the crop borders (fancy upsampling replicates the border
// chroma sample) never reaches a column that is used.
const jpegCropMargin = 32

// jpegSkipMargin is how many rows before the first needed row are decoded
// rather than skipped.
const jpegSkipMargin = 32

// jpegToRGB is the streaming JPEG path: it decodes only the columns the
// crop window needs, resamples each strip of rows horizontally as soon as
// libjpeg produces it, skips rows before and after the needed ones (libjpeg
// still entropy-decodes them, so truncation and corruption are detected as
// Pillow detects them),
// then runs the vertical pass and the RGB conversion into dst (n×n×3).
func jpegToRGB(data []byte, n int, maxPixels int64, dst []uint8) error {
	info, dec, err := openJPEG(data, maxPixels)
	if err != nil {
		return err
	}
	defer dec.close()
	p, err := makePlan(info.width, info.height, n)
	if err != nil {
		return err
	}
	ch := info.mode.Channels()
	s := getScratch()
	defer putScratch(s)
	r, err := newResampler8(p, ch, false, s)
	if err != nil {
		return err
	}
	want0, want1 := r.colLo-jpegCropMargin, r.colHi+jpegCropMargin
	if want0 < 0 {
		want0 = 0
	}
	if want1 > info.width {
		want1 = info.width
	}
	cropX, cropW, err := dec.start(jpegOutput(info.mode), want0, want1-want0)
	if err != nil {
		return err
	}
	if cropX > r.colLo || cropX+cropW < r.colHi {
		return corruptf("internal error: libjpeg crop window %d+%d misses columns %d..%d", cropX, cropW, r.colLo, r.colHi)
	}
	const strip = 16
	stride := cropW * ch
	s.strip = growU8(s.strip, strip*stride)
	buf := s.strip
	y := 0
	// Rows above the first needed one are skipped (libjpeg still entropy-
	// decodes them), leaving a margin so that the row groups feeding the
	// first needed row's chroma upsampling are decoded normally.
	if first := r.rowLo - jpegSkipMargin; first > 0 {
		if err := dec.skip(first); err != nil {
			return err
		}
		y = dec.scanline()
	}
	for y < r.rowHi {
		want := strip
		if r.rowHi-y < want {
			want = r.rowHi - y
		}
		k, err := dec.read(buf, stride, want)
		if err != nil {
			return err
		}
		if k == 0 {
			return errTruncated("image file is truncated")
		}
		for i := 0; i < k; i++ {
			if y+i >= r.rowLo {
				row := buf[i*stride : (i+1)*stride]
				if info.mode == ModeCMYK {
					invertBytes(row)
				}
				r.pushRow(y+i, row, cropX)
			}
		}
		y += k
	}
	// The remaining rows are skipped except the last one, which is read:
	// skipping to the very end would let libjpeg mark the input finished
	// without reading it, whereas Pillow decodes every row and so fails on
	// truncated or corrupt trailing data.
	if rest := info.height - dec.scanline(); rest > 1 {
		if err := dec.skip(rest - 1); err != nil {
			return err
		}
	}
	for dec.scanline() < info.height {
		k, err := dec.read(buf, stride, 1)
		if err != nil {
			return err
		}
		if k == 0 {
			return errTruncated("image file is truncated")
		}
	}
	if err := dec.finish(); err != nil {
		return err
	}
	s.out = growU8(s.out, n*n*ch)
	out := &Image{Mode: info.mode, Width: n, Height: n, Pix: s.out}
	r.finish(out.Pix)
	return imageToRGB(out, dst)
}

// hardMaxPixels bounds every image even when the limit is disabled: Pillow
// cannot allocate more (its sizes are C ints), and a Go allocation failure
// would abort the process instead of returning an error.
const hardMaxPixels = 1 << 31

// checkPixels is Pillow's decompression-bomb check: an error when
// width*height > 2*limit (limit 0 disables it).
func checkPixels(w, h int, limit int64) error {
	if limit > 0 && int64(w)*int64(h) > 2*limit {
		return tooManyPixels(w, h, 2*limit)
	}
	if int64(w)*int64(h) > hardMaxPixels {
		return tooLargef("image of %d x %d pixels is too large to decode", w, h)
	}
	return nil
}
