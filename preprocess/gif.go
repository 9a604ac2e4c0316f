package preprocess

import "bytes"

// GIF decoding with Pillow 9.4's semantics for the first frame
// (GifImagePlugin + libImaging/GifDecode.c behaviour): the frame opens as
// mode P with its local palette, else the global one; a palette that is the
// identity gray ramp is dropped and the frame opens as mode L; the canvas
// grows to hold a frame that extends past the logical screen; pixels
// outside the frame are the transparency index of frame 0 if it has one,
// else 0; palette indices are used as stored (transparency never changes
// them). The LZW decoder accepts minimum code sizes 0..12; the image is
// complete once every pixel is written, and running out of data before
// that is "image file is truncated".

// gifPaletteNeeded is GifImageFile._is_palette_needed: false when every
// entry i is (i, i, i).
func gifPaletteNeeded(p []byte) bool {
	for i := 0; i+2 < len(p); i += 3 {
		if !(int(p[i]) == i/3 && p[i] == p[i+1] && p[i+1] == p[i+2]) {
			return true
		}
	}
	return false
}

type gifFrame struct {
	w, h           int // canvas size
	x0, y0, fw, fh int // frame extent
	interlace      bool
	palette        []byte // nil: mode L
	transparency   int    // -1 if none
	bits           int    // LZW minimum code size
	offset         int    // first byte of the LZW sub-blocks
}

// openGIF parses the header and the blocks before the first image.
func openGIF(data []byte, maxPixels int64) (*gifFrame, error) {
	if len(data) < 6 || !(bytes.Equal(data[:6], []byte("GIF87a")) || bytes.Equal(data[:6], []byte("GIF89a"))) {
		return nil, unsupportedf("not a GIF file")
	}
	if len(data) < 11 {
		return nil, errTruncated("GIF header is truncated")
	}
	f := &gifFrame{transparency: -1}
	f.w = int(data[6]) | int(data[7])<<8
	f.h = int(data[8]) | int(data[9])<<8
	flags := data[10]
	pos := 13
	if pos > len(data) {
		pos = len(data)
	}
	var global []byte
	if flags&128 != 0 {
		if len(data) < 12 {
			return nil, errTruncated("GIF header is truncated")
		}
		n := 3 << (flags&7 + 1)
		end := pos + n
		if end > len(data) {
			end = len(data)
		}
		p := data[pos:end]
		pos = end
		if len(p)%3 != 0 {
			return nil, errTruncated("GIF global palette is truncated")
		}
		if gifPaletteNeeded(p) {
			global = p
		}
	}
	readByte := func() (byte, bool) {
		if pos >= len(data) {
			return 0, false
		}
		b := data[pos]
		pos++
		return b, true
	}
	// subBlock is GifImageFile.data(): a length byte and that many bytes
	// (fewer at the end of the file); nil for a zero length or EOF.
	subBlock := func() []byte {
		n, ok := readByte()
		if !ok || n == 0 {
			return nil
		}
		end := pos + int(n)
		if end > len(data) {
			end = len(data)
		}
		b := data[pos:end]
		pos = end
		return b
	}
	var s byte
	haveS := false
	for {
		if !haveS {
			b, ok := readByte()
			if !ok {
				return nil, errTruncated("GIF has no image")
			}
			s, haveS = b, true
		}
		if s == ';' {
			return nil, corruptf("GIF has no image")
		}
		switch s {
		case '!':
			label, ok := readByte()
			if !ok {
				return nil, errTruncated("GIF extension is truncated")
			}
			block := subBlock()
			switch label {
			case 249: // graphic control extension
				if len(block) == 0 {
					return nil, corruptf("empty GIF graphic control extension")
				}
				fl := block[0]
				if fl&1 != 0 {
					if len(block) < 4 {
						return nil, corruptf("GIF graphic control extension is truncated")
					}
					f.transparency = int(block[3])
				}
				if len(block) < 3 {
					return nil, corruptf("GIF graphic control extension is truncated")
				}
			case 254: // comment: the loop below reads the rest
				for block != nil {
					block = subBlock()
				}
				haveS = false
				continue
			case 255:
				if block != nil && bytes.HasPrefix(block, []byte("NETSCAPE2.0")) {
					block = subBlock()
					if block == nil {
						return nil, corruptf("malformed NETSCAPE2.0 extension")
					}
				}
			}
			for subBlock() != nil {
			}
		case ',':
			if pos+9 > len(data) {
				return nil, errTruncated("GIF image descriptor is truncated")
			}
			d := data[pos : pos+9]
			pos += 9
			f.x0 = int(d[0]) | int(d[1])<<8
			f.y0 = int(d[2]) | int(d[3])<<8
			f.fw = int(d[4]) | int(d[5])<<8
			f.fh = int(d[6]) | int(d[7])<<8
			if f.x0+f.fw > f.w {
				f.w = f.x0 + f.fw
			}
			if f.y0+f.fh > f.h {
				f.h = f.y0 + f.fh
			}
			fl := d[8]
			f.interlace = fl&64 != 0
			f.palette = global
			if fl&128 != 0 {
				n := 3 << (fl&7 + 1)
				end := pos + n
				if end > len(data) {
					end = len(data)
				}
				p := data[pos:end]
				pos = end
				if len(p)%3 != 0 {
					return nil, errTruncated("GIF local palette is truncated")
				}
				if gifPaletteNeeded(p) {
					f.palette = p
				} else {
					f.palette = nil
				}
			}
			b, ok := readByte()
			if !ok {
				return nil, errTruncated("GIF image data is missing")
			}
			f.bits = int(b)
			f.offset = pos
			if f.w <= 0 || f.h <= 0 {
				return nil, zeroSize(f.w, f.h)
			}
			if err := checkPixels(f.w, f.h, maxPixels); err != nil {
				return nil, err
			}
			if f.fw <= 0 || f.fh <= 0 {
				return nil, corruptf("tile cannot extend outside image")
			}
			return f, nil
		}
		haveS = false
	}
}

// decodeGIF decodes the first frame of a GIF to Pillow's mode (P or L).
func decodeGIF(data []byte, maxPixels int64) (*Image, error) {
	f, err := openGIF(data, maxPixels)
	if err != nil {
		return nil, err
	}
	mode := ModeL
	if f.palette != nil {
		mode = ModeP
	}
	im := newImage(mode, f.w, f.h)
	im.Format = "GIF"
	if mode == ModeP {
		copy(im.Palette, f.palette)
	}
	if f.transparency >= 0 {
		for i := range im.Pix {
			im.Pix[i] = uint8(f.transparency)
		}
	}
	if err := gifLZW(data[f.offset:], f, im); err != nil {
		return nil, err
	}
	return im, nil
}

const (
	gifTable  = 4096
	gifBuffer = 4096
	gifMaxBit = 12
)

// gifLZW decodes the LZW sub-blocks into the frame rectangle of im. Pillow
// feeds its decoder 64 KiB at a time; whenever the decoder stops (an end
// code, or a sub-block not yet complete in the buffer) and the file has no
// more bytes to feed, the result is "image file is truncated". The end code
// itself does not end the image: only writing every pixel does.
func gifLZW(src []byte, f *gifFrame, im *Image) error {
	if f.bits < 0 || f.bits > 12 {
		return corruptf("bad GIF LZW code size %d", f.bits)
	}
	const feedBlock = 65536
	clear := 1 << f.bits
	end := clear + 1
	var (
		data      [gifTable]uint8
		link      [gifTable]uint16
		buffer    [gifBuffer]uint8
		bufIdx    = gifBuffer
		next      int
		codesize  int
		codemask  int
		bitbuf    uint32
		bitcount  int
		blocksize int
		lastdata  uint8
		lastcode  int
		state     = 1 // 1: reset, 2: expect first code, 3: running
		ptr       int
		fed       int // bytes of src handed to the decoder so far
	)
	feed := func() bool {
		if fed >= len(src) {
			return false
		}
		fed += feedBlock
		if fed > len(src) {
			fed = len(src)
		}
		return true
	}
	xsize, ysize := f.fw, f.fh
	x, y := 0, 0
	step, inter := 1, 0
	if f.interlace {
		step, inter = 8, 1
	}
	out := im.Pix[f.y0*im.Width+f.x0:]
	// newline advances to the next row; it reports true when the image is
	// complete.
	newline := func() bool {
		x = 0
		y += step
		for y >= ysize {
			switch inter {
			case 1:
				y, inter = 4, 2
			case 2:
				step, y, inter = 4, 2, 3
			case 3:
				step, y, inter = 2, 1, 0
			default:
				return true
			}
		}
		out = im.Pix[(y+f.y0)*im.Width+f.x0:]
		return false
	}
	var one [1]uint8
	for {
		if state == 1 {
			next = clear + 2
			codesize = f.bits + 1
			codemask = 1<<codesize - 1
			bufIdx = gifBuffer
			state = 2
		}
		var p []uint8
		if bufIdx < gifBuffer {
			p = buffer[bufIdx:]
			bufIdx = gifBuffer
		} else {
			for bitcount < codesize {
				if blocksize > 0 {
					bitbuf |= uint32(src[ptr]) << uint(bitcount)
					ptr++
					blocksize--
					bitcount += 8
					continue
				}
				// A new sub-block is only started once it is complete in
				// the buffer.
				for ptr >= fed || ptr+int(src[ptr])+1 > fed {
					if !feed() {
						return errTruncated("image file is truncated")
					}
				}
				blocksize = int(src[ptr])
				ptr++
			}
			c := int(bitbuf) & codemask
			bitbuf >>= uint(codesize)
			bitcount -= codesize
			if c == clear {
				if state != 2 {
					state = 1
				}
				continue
			}
			if c == end {
				if !feed() {
					return errTruncated("image file is truncated")
				}
				continue
			}
			if state == 2 {
				if c > clear {
					return corruptf("broken GIF data stream")
				}
				lastdata, lastcode = uint8(c), c
				state = 3
			} else {
				thiscode := c
				if c > next {
					return corruptf("broken GIF data stream")
				}
				if c == next {
					if bufIdx <= 0 {
						return corruptf("broken GIF data stream")
					}
					bufIdx--
					buffer[bufIdx] = lastdata
					c = lastcode
				}
				for c >= clear {
					if bufIdx <= 0 || c >= gifTable {
						return corruptf("broken GIF data stream")
					}
					bufIdx--
					buffer[bufIdx] = data[c]
					c = int(link[c])
				}
				lastdata = uint8(c)
				if next < gifTable {
					data[next] = uint8(c)
					link[next] = uint16(lastcode)
					if next == codemask && codesize < gifMaxBit {
						codesize++
						codemask = 1<<codesize - 1
					}
					next++
				}
				lastcode = thiscode
			}
			one[0] = lastdata
			p = one[:]
		}
		if y >= ysize {
			return corruptf("GIF decoder overrun")
		}
		for _, v := range p {
			out[x] = v
			x++
			if x >= xsize {
				if newline() {
					return nil
				}
			}
		}
	}
}
