package preprocess

import (
	"bytes"
	"compress/zlib"
	"errors"
	"hash/crc32"
	"io"
)

// PNG decoding with Pillow 9.4's semantics (PngImagePlugin + ZipDecode):
// chunk CRCs are verified for the chunks read while opening (everything
// before the first IDAT) and not for image data; the image data ends at the
// first chunk after the IDAT run; decoding stops as soon as all rows are
// present (trailing data and a missing zlib trailer are fine); a zlib stream
// that ends early on a row boundary leaves the remaining rows zero; a bad
// zlib checksum that is reached is an error; chunks after the image are
// parsed and a truncated one is an error. Modes follow Pillow's table:
// 1-bit gray opens as "1", 16-bit gray as "I", 16-bit colour keeps the high
// byte, 16-bit gray+alpha opens as RGBA, palettes keep Pillow's gray ramp
// beyond the PLTE entries and transparency never changes pixel values.

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// pngMaxTextChunk is Pillow's MAX_TEXT_CHUNK (ImageFile.SAFEBLOCK).
const pngMaxTextChunk = 1024 * 1024

// pngModes is Pillow's _MODES table: (bit depth, colour type) -> mode.
func pngMode(bd, ct int) (Mode, bool) {
	switch ct {
	case 0:
		switch bd {
		case 1:
			return Mode1, true
		case 2, 4, 8:
			return ModeL, true
		case 16:
			return ModeI, true
		}
	case 2:
		if bd == 8 || bd == 16 {
			return ModeRGB, true
		}
	case 3:
		if bd == 1 || bd == 2 || bd == 4 || bd == 8 {
			return ModeP, true
		}
	case 4:
		if bd == 8 {
			return ModeLA, true
		}
		if bd == 16 {
			return ModeRGBA, true
		}
	case 6:
		if bd == 8 || bd == 16 {
			return ModeRGBA, true
		}
	}
	return "", false
}

// pngState is what Pillow's PngStream accumulates.
type pngState struct {
	data      []byte
	w, h      int
	bd, ct    int
	mode      Mode
	interlace bool
	palette   []byte // PLTE of a P image (nil: none)
	bbox      [4]int
	hasBBox   bool
	seqNum    int
	hasSeq    bool
	nFrames   int // from acTL, 0 if none
	// the first image data chunk
	idatPos, idatLen int
	isFdAT           bool
}

func be32(b []byte) int {
	return int(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
}

func isCID(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	for _, c := range b[:4] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// safeRead is ImageFile._safe_read: exactly n bytes or "Truncated File Read".
func (st *pngState) safeRead(pos, n int) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	if pos+n > len(st.data) || pos+n < pos {
		return nil, errTruncated("Truncated File Read")
	}
	return st.data[pos : pos+n], nil
}

// pngSafeDecompress is Pillow's _safe_zlib_decompress: zlib errors are
// reported as errZlib (callers ignore them); more than MAX_TEXT_CHUNK of
// output is an error.
var errZlib = errors.New("zlib error")

func pngSafeDecompress(b []byte) error {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return errZlib
	}
	n, err := io.Copy(io.Discard, io.LimitReader(zr, pngMaxTextChunk+1))
	if n > pngMaxTextChunk {
		return corruptf("Decompressed Data Too Large")
	}
	if err != nil {
		return errZlib
	}
	return nil
}

// chunkResult says how a chunk handler ended.
type chunkResult int

const (
	chunkRead    chunkResult = iota // handler read the data
	chunkEOF                        // handler raised EOFError (IDAT, IEND, fdAT)
	chunkUnknown                    // no handler
)

// handle runs Pillow's handler for chunk cid whose data starts at pos.
// It returns the data read (for the CRC check) and how it ended.
func (st *pngState) handle(cid string, pos, length int, opening bool) ([]byte, chunkResult, error) {
	switch cid {
	case "IHDR":
		s, err := st.safeRead(pos, length)
		if err != nil {
			return nil, 0, err
		}
		if length < 13 {
			return nil, 0, corruptf("Truncated IHDR chunk")
		}
		st.w, st.h = be32(s[0:]), be32(s[4:])
		if m, ok := pngMode(int(s[8]), int(s[9])); ok {
			st.mode, st.bd, st.ct = m, int(s[8]), int(s[9])
		}
		if s[12] != 0 {
			st.interlace = true
		}
		if s[11] != 0 {
			return nil, 0, unsupportedf("unknown PNG filter category")
		}
		return s, chunkRead, nil
	case "IDAT":
		if opening {
			st.idatPos, st.idatLen = pos, length
		}
		return nil, chunkEOF, nil
	case "IEND":
		return nil, chunkEOF, nil
	case "PLTE":
		s, err := st.safeRead(pos, length)
		if err != nil {
			return nil, 0, err
		}
		if st.mode == ModeP {
			st.palette = s
			if st.palette == nil {
				st.palette = []byte{}
			}
		}
		return s, chunkRead, nil
	case "tRNS":
		s, err := st.safeRead(pos, length)
		if err != nil {
			return nil, 0, err
		}
		switch st.mode {
		case Mode1, ModeL, ModeI:
			if len(s) < 2 {
				return nil, 0, corruptf("truncated tRNS chunk")
			}
		case ModeRGB:
			if len(s) < 6 {
				return nil, 0, corruptf("truncated tRNS chunk")
			}
		}
		return s, chunkRead, nil
	case "gAMA":
		s, err := st.safeRead(pos, length)
		if err != nil {
			return nil, 0, err
		}
		if len(s) < 4 {
			return nil, 0, corruptf("truncated gAMA chunk")
		}
		return s, chunkRead, nil
	case "cHRM":
		s, err := st.safeRead(pos, length)
		if err != nil {
			return nil, 0, err
		}
		if len(s)%4 != 0 {
			return nil, 0, corruptf("bad cHRM chunk length")
		}
		return s, chunkRead, nil
	case "sRGB":
		s, err := st.safeRead(pos, length)
		if err != nil {
			return nil, 0, err
		}
		if length < 1 {
			return nil, 0, corruptf("Truncated sRGB chunk")
		}
		return s, chunkRead, nil
	case "pHYs":
		s, err := st.safeRead(pos, length)
		if err != nil {
			return nil, 0, err
		}
		if length < 9 {
			return nil, 0, corruptf("Truncated pHYs chunk")
		}
		return s, chunkRead, nil
	case "iCCP":
		s, err := st.safeRead(pos, length)
		if err != nil {
			return nil, 0, err
		}
		i := bytes.IndexByte(s, 0)
		if i < 0 {
			if len(s) == 0 {
				return nil, 0, corruptf("empty iCCP chunk")
			}
			i = len(s) - 1 // Pillow indexes s[-1]
		}
		if s[i] != 0 {
			return nil, 0, corruptf("Unknown compression method %d in iCCP chunk", s[i])
		}
		if i+2 <= len(s) {
			if err := pngSafeDecompress(s[i+2:]); err != nil && err != errZlib {
				return nil, 0, err
			}
		} else if err := pngSafeDecompress(nil); err != nil && err != errZlib {
			return nil, 0, err
		}
		return s, chunkRead, nil
	case "zTXt":
		s, err := st.safeRead(pos, length)
		if err != nil {
			return nil, 0, err
		}
		var v []byte
		if i := bytes.IndexByte(s, 0); i >= 0 {
			v = s[i+1:]
		}
		if len(v) > 0 && v[0] != 0 {
			return nil, 0, corruptf("Unknown compression method %d in zTXt chunk", v[0])
		}
		var z []byte
		if len(v) > 1 {
			z = v[1:]
		}
		if err := pngSafeDecompress(z); err != nil && err != errZlib {
			return nil, 0, err
		}
		return s, chunkRead, nil
	case "iTXt":
		s, err := st.safeRead(pos, length)
		if err != nil {
			return nil, 0, err
		}
		i := bytes.IndexByte(s, 0)
		if i < 0 {
			return s, chunkRead, nil
		}
		r := s[i+1:]
		if len(r) < 2 {
			return s, chunkRead, nil
		}
		cf, cm, r := r[0], r[1], r[2:]
		j := bytes.IndexByte(r, 0)
		if j < 0 {
			return s, chunkRead, nil
		}
		k := bytes.IndexByte(r[j+1:], 0)
		if k < 0 {
			return s, chunkRead, nil
		}
		v := r[j+1+k+1:]
		if cf != 0 && cm == 0 {
			if err := pngSafeDecompress(v); err != nil && err != errZlib {
				return nil, 0, err
			}
		}
		return s, chunkRead, nil
	case "acTL":
		s, err := st.safeRead(pos, length)
		if err != nil {
			return nil, 0, err
		}
		if length < 8 {
			return nil, 0, corruptf("APNG contains truncated acTL chunk")
		}
		if st.nFrames != 0 {
			st.nFrames = 0
			return s, chunkRead, nil
		}
		if n := uint32(be32(s)); n != 0 && n <= 0x80000000 {
			st.nFrames = int(n)
		}
		return s, chunkRead, nil
	case "fcTL":
		s, err := st.safeRead(pos, length)
		if err != nil {
			return nil, 0, err
		}
		if length < 26 {
			return nil, 0, corruptf("APNG contains truncated fcTL chunk")
		}
		seq := be32(s)
		if (!st.hasSeq && seq != 0) || (st.hasSeq && st.seqNum != seq-1) {
			return nil, 0, corruptf("APNG contains frame sequence errors")
		}
		st.seqNum, st.hasSeq = seq, true
		w, h, px, py := be32(s[4:]), be32(s[8:]), be32(s[12:]), be32(s[16:])
		if px+w > st.w || py+h > st.h {
			return nil, 0, corruptf("APNG contains invalid frames")
		}
		st.bbox = [4]int{px, py, px + w, py + h}
		st.hasBBox = true
		return s, chunkRead, nil
	case "fdAT":
		if length < 4 {
			return nil, 0, corruptf("APNG contains truncated fDAT chunk")
		}
		s, err := st.safeRead(pos, 4)
		if err != nil {
			return nil, 0, err
		}
		seq := be32(s)
		if !st.hasSeq || st.seqNum != seq-1 {
			return nil, 0, corruptf("APNG contains frame sequence errors")
		}
		st.seqNum = seq
		if opening {
			st.idatPos, st.idatLen, st.isFdAT = pos+4, length-4, true
		}
		return nil, chunkEOF, nil
	case "tEXt", "eXIf":
		s, err := st.safeRead(pos, length)
		if err != nil {
			return nil, 0, err
		}
		return s, chunkRead, nil
	}
	s, err := st.safeRead(pos, length)
	if err != nil {
		return nil, 0, err
	}
	return s, chunkUnknown, nil
}

// openPNG parses the chunks before the image data as PngImageFile._open
// does.
func openPNG(data []byte, maxPixels int64) (*pngState, error) {
	if !bytes.HasPrefix(data, pngMagic) {
		return nil, unsupportedf("not a PNG file")
	}
	st := &pngState{data: data}
	pos := 8
	for {
		if pos+8 > len(data) {
			return nil, errTruncated("PNG ends before the image data")
		}
		length := be32(data[pos:])
		cid := data[pos+4 : pos+8]
		if !isCID(cid) {
			return nil, corruptf("broken PNG file (chunk %q)", cid)
		}
		pos += 8
		s, res, err := st.handle(string(cid), pos, length, true)
		if err != nil {
			return nil, err
		}
		if res == chunkEOF {
			if string(cid) == "IEND" {
				return nil, corruptf("PNG has no image data")
			}
			break
		}
		pos += length
		// CRC of every chunk read while opening.
		if pos+4 > len(data) {
			return nil, errTruncated("broken PNG file (incomplete checksum)")
		}
		crc := crc32.NewIEEE()
		crc.Write(cid)
		crc.Write(s)
		if crc.Sum32() != uint32(be32(data[pos:])) {
			return nil, corruptf("broken PNG file (bad header checksum in %q)", cid)
		}
		pos += 4
	}
	if st.mode == "" {
		return nil, unsupportedf("unknown PNG mode (bit depth %d, colour type %d)", st.bd, st.ct)
	}
	if st.w <= 0 || st.h <= 0 {
		return nil, zeroSize(st.w, st.h)
	}
	if err := checkPixels(st.w, st.h, maxPixels); err != nil {
		return nil, err
	}
	if st.mode == ModeP && st.palette != nil && len(st.palette)/3 > 256 {
		return nil, corruptf("invalid palette size")
	}
	return st, nil
}

// pngFeeds lists the image data the way PngImageFile.load_read serves it:
// the first IDAT (or fdAT) payload, then the payloads of the IDAT/DDAT/fdAT
// chunks that immediately follow (empty ones skipped). ends[i] is the end
// of the chunk data feeds[i] came from. A chunk cut short by the end of the
// file ends the data.
func (st *pngState) pngFeeds() (feeds [][]byte, ends []int, err error) {
	data := st.data
	pos, end := st.idatPos, st.idatPos+st.idatLen
	for {
		if end < pos {
			end = pos
		}
		e := end
		if e > len(data) {
			e = len(data)
		}
		if e > pos {
			feeds = append(feeds, data[pos:e])
			ends = append(ends, end)
		}
		if end > len(data) {
			return feeds, ends, nil
		}
		hp := end + 4 // skip the CRC
		if hp+8 > len(data) {
			return feeds, ends, nil
		}
		length := be32(data[hp:])
		cidB := data[hp+4 : hp+8]
		if !isCID(cidB) {
			// Pillow raises SyntaxError here if it still needs data; the
			// error is reported if the decoder asks for more.
			return feeds, ends, corruptf("broken PNG file (chunk %q)", cidB)
		}
		dp := hp + 8
		switch string(cidB) {
		case "IDAT", "DDAT":
			pos, end = dp, dp+length
		case "fdAT":
			if _, _, err := st.handle("fdAT", dp, length, false); err != nil {
				return feeds, ends, err
			}
			pos, end = dp+4, dp+length
		default:
			return feeds, ends, nil
		}
	}
}

// decodePNG decodes a PNG to Pillow's mode.
func decodePNG(data []byte, maxPixels int64) (*Image, error) {
	st, err := openPNG(data, maxPixels)
	if err != nil {
		return nil, err
	}
	im := newImage(st.mode, st.w, st.h)
	im.Format = "PNG"
	if st.mode == ModeP && st.palette != nil {
		copy(im.Palette, st.palette[:len(st.palette)/3*3])
	}
	x0, y0, tw, th := 0, 0, st.w, st.h
	if st.hasBBox {
		x0, y0, tw, th = st.bbox[0], st.bbox[1], st.bbox[2]-st.bbox[0], st.bbox[3]-st.bbox[1]
	}
	if tw <= 0 || th <= 0 {
		return nil, corruptf("tile cannot extend outside image")
	}
	resume, err := st.inflateRows(im, x0, y0, tw, th)
	if err != nil {
		return nil, err
	}
	if err := st.parseAfterImage(resume); err != nil {
		return nil, err
	}
	return im, nil
}

// channels of the raw PNG pixel.
func (st *pngState) samples() int {
	switch st.ct {
	case 2:
		return 3
	case 4:
		return 2
	case 6:
		return 4
	}
	return 1
}

// pngRow is one scanline of the data stream: its Adam7 pass geometry.
type pngRow struct {
	y, x0, dx, pw, length int
	newPass               bool // first row of a pass: the previous row is zero
}

// Adam7 as Pillow's ZipDecode walks it.
var (
	adamOffset   = [7]int{7, 3, 3, 1, 1, 0, 0}
	adamStartCol = [7]int{0, 4, 0, 2, 0, 1, 0}
	adamStartRow = [7]int{0, 0, 4, 0, 2, 0, 1}
	adamColInc   = [7]int{8, 8, 4, 4, 2, 2, 1}
	adamRowInc   = [7]int{8, 8, 8, 4, 4, 2, 2}
)

// rowPlan lists the scanlines of a tw×th tile in stream order.
func (st *pngState) rowPlan(tw, th int) []pngRow {
	bits := st.bd * st.samples()
	if !st.interlace {
		rows := make([]pngRow, th)
		for y := range rows {
			rows[y] = pngRow{y: y, dx: 1, pw: tw, length: (tw*bits + 7) / 8, newPass: y == 0}
		}
		return rows
	}
	var rows []pngRow
	for pass := 0; pass < 7; pass++ {
		pw := (tw + adamOffset[pass]) / adamColInc[pass]
		length := (pw*bits + 7) / 8
		if length <= 0 {
			continue
		}
		first := true
		for y := adamStartRow[pass]; y < th; y += adamRowInc[pass] {
			rows = append(rows, pngRow{y: y, x0: adamStartCol[pass], dx: adamColInc[pass], pw: pw, length: length, newPass: first})
			first = false
		}
	}
	return rows
}

// inflateRows runs Pillow's ZipDecode over the image data with zlib: each
// inflate call gets the output space of the rest of one scanline; a call
// that fails is an error; a feed is processed only while zlib has input
// left, so when zlib has consumed all the data before the last scanline is
// out, the image is truncated; the image is done at its last scanline or
// when zlib reports the end of the stream on a scanline boundary. It
// returns where Pillow resumes parsing chunks.
func (st *pngState) inflateRows(im *Image, x0, y0, tw, th int) (int, error) {
	feeds, ends, feedErr := st.pngFeeds()
	rows := st.rowPlan(tw, th)
	if len(rows) == 0 {
		return st.idatPos + st.idatLen, nil
	}
	zf, err := newInflater()
	if err != nil {
		return 0, err
	}
	defer zf.close()
	bpp := (st.bd*st.samples() + 7) / 8
	maxLen := 0
	for _, r := range rows {
		if r.length > maxLen {
			maxLen = r.length
		}
	}
	cur := make([]byte, maxLen+1)
	prev := make([]byte, maxLen+1)
	last := 0 // bytes of the current scanline already inflated
	ri := 0
	for fi, in := range feeds {
		for len(in) > 0 {
			r := rows[ri]
			rc, nIn, nOut := zf.inflate(in, cur[last:r.length+1])
			in = in[nIn:]
			if rc < 0 {
				if rc == zDataError {
					return 0, corruptf("broken data stream when reading image file")
				}
				return 0, corruptf("zlib error %d when reading image file", rc)
			}
			n := last + nOut
			if n < r.length+1 {
				last = n
				break // need more input
			}
			if r.newPass {
				clear(prev[:r.length+1])
			}
			row := cur[:r.length+1]
			if err := unfilter(row, prev[:r.length+1], bpp); err != nil {
				return 0, err
			}
			st.storeRow(im, row[1:], r.pw, x0+r.x0, y0+r.y, r.dx)
			last = 0
			ri++
			if ri == len(rows) || rc == zStreamEnd {
				return ends[fi], nil
			}
			cur, prev = prev, cur
		}
	}
	if feedErr != nil {
		return 0, feedErr
	}
	return 0, errTruncated("image file is truncated")
}

// unfilter reverses the PNG filter of row (row[0] is the filter type) in
// place, given the previous unfiltered row.
func unfilter(row, prev []byte, bpp int) error {
	cdat, pdat := row[1:], prev[1:]
	switch row[0] {
	case 0:
	case 1:
		for i := bpp; i < len(cdat); i++ {
			cdat[i] += cdat[i-bpp]
		}
	case 2:
		for i, p := range pdat {
			cdat[i] += p
		}
	case 3:
		for i := 0; i < bpp && i < len(cdat); i++ {
			cdat[i] += pdat[i] / 2
		}
		for i := bpp; i < len(cdat); i++ {
			cdat[i] += uint8((int(cdat[i-bpp]) + int(pdat[i])) / 2)
		}
	case 4:
		for i := 0; i < bpp && i < len(cdat); i++ {
			cdat[i] += pdat[i]
		}
		for i := bpp; i < len(cdat); i++ {
			a, b, c := int(cdat[i-bpp]), int(pdat[i]), int(pdat[i-bpp])
			p := a + b - c
			pa, pb, pc := p-a, p-b, p-c
			if pa < 0 {
				pa = -pa
			}
			if pb < 0 {
				pb = -pb
			}
			if pc < 0 {
				pc = -pc
			}
			if pa <= pb && pa <= pc {
				cdat[i] += uint8(a)
			} else if pb <= pc {
				cdat[i] += uint8(b)
			} else {
				cdat[i] += uint8(c)
			}
		}
	default:
		return corruptf("unrecognized data stream contents when reading image file (PNG filter %d)", row[0])
	}
	return nil
}

// storeRow unpacks one unfiltered row of pw pixels into im at (x, y),
// stepping dx pixels, mapping samples to Pillow's mode.
func (st *pngState) storeRow(im *Image, src []byte, pw, x, y, dx int) {
	w := im.Width
	switch {
	case st.bd < 8: // gray or palette, 1/2/4 bits
		mask := byte(1<<st.bd - 1)
		scale := byte(1)
		if st.ct == 0 {
			switch st.bd {
			case 1:
				scale = 255
			case 2:
				scale = 0x55
			case 4:
				scale = 0x11
			}
		}
		perByte := 8 / st.bd
		o := im.Pix[y*w:]
		for i := 0; i < pw; i++ {
			b := src[i/perByte]
			shift := uint(8 - st.bd*(i%perByte+1))
			o[x+i*dx] = (b >> shift & mask) * scale
		}
	case st.mode == ModeI:
		o := im.PixI[y*w:]
		for i := 0; i < pw; i++ {
			o[x+i*dx] = int32(src[2*i])<<8 | int32(src[2*i+1])
		}
	case st.bd == 8:
		ch := st.samples()
		o := im.Pix[y*w*ch:]
		if dx == 1 {
			copy(o[x*ch:], src[:pw*ch])
			return
		}
		for i := 0; i < pw; i++ {
			copy(o[(x+i*dx)*ch:(x+i*dx)*ch+ch], src[i*ch:i*ch+ch])
		}
	default: // 16-bit colour: high bytes
		ch := st.samples()
		oc := im.Mode.Channels()
		o := im.Pix[y*w*oc:]
		for i := 0; i < pw; i++ {
			d := o[(x+i*dx)*oc : (x+i*dx)*oc+oc]
			s := src[i*ch*2:]
			if st.ct == 4 { // LA;16B -> RGBA
				d[0], d[1], d[2], d[3] = s[0], s[0], s[0], s[2]
				continue
			}
			for c := 0; c < ch; c++ {
				d[c] = s[2*c]
			}
		}
	}
}

// parseAfterImage mirrors PngImageFile.load_end: the chunks after the image
// data are read (not CRC-checked) until IEND or an unreadable header; a
// handler error or a chunk cut short is an error.
func (st *pngState) parseAfterImage(pos int) error {
	data := st.data
	for {
		pos += 4 // CRC
		if pos+8 > len(data) || pos < 0 {
			return nil
		}
		length := be32(data[pos:])
		cidB := data[pos+4 : pos+8]
		if !isCID(cidB) {
			return nil
		}
		cid := string(cidB)
		pos += 8
		if cid == "IEND" {
			return nil
		}
		if cid == "fcTL" && st.nFrames > 1 {
			return nil
		}
		_, res, err := st.handle(cid, pos, length, false)
		if err != nil {
			return err
		}
		if res == chunkEOF {
			l := length
			p := pos
			if cid == "fdAT" {
				l -= 4
				p += 4
			}
			if _, err := st.safeRead(p, l); err != nil {
				return err
			}
		}
		pos += length
	}
}
