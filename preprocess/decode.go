package preprocess

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// Format identifies a container format by its magic bytes.
type Format string

// Recognised formats.
const (
	FormatJPEG Format = "JPEG"
	FormatPNG  Format = "PNG"
	FormatGIF  Format = "GIF"
	FormatBMP  Format = "BMP"
	FormatTIFF Format = "TIFF"
	FormatWEBP Format = "WEBP"
)

// sniff identifies the format from the first bytes as Pillow's plugins'
// _accept functions do; "" when none matches.
func sniff(b []byte) Format {
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		return FormatJPEG
	case bytes.HasPrefix(b, pngMagic):
		return FormatPNG
	case bytes.HasPrefix(b, []byte("GIF87a")) || bytes.HasPrefix(b, []byte("GIF89a")):
		return FormatGIF
	case bytes.HasPrefix(b, []byte("BM")):
		return FormatBMP
	case bytes.HasPrefix(b, []byte("II*\x00")) || bytes.HasPrefix(b, []byte("MM\x00*")):
		return FormatTIFF
	case len(b) >= 12 && bytes.Equal(b[:4], []byte("RIFF")) && bytes.Equal(b[8:12], []byte("WEBP")):
		return FormatWEBP
	}
	return ""
}

// Decode decodes an image file held in memory to Pillow's mode and pixel
// values, as PIL.Image.open(...).load() does with Pillow 9.4 (first frame
// only). maxPixels is the decompression-bomb limit (Pillow's
// MAX_IMAGE_PIXELS: images above twice the limit fail with
// ErrTooManyPixels before any pixel buffer is allocated); 0 disables it.
func Decode(data []byte, maxPixels int64) (im *Image, err error) {
	defer recoverError(&err)
	switch sniff(data) {
	case FormatJPEG:
		return decodeJPEG(data, maxPixels)
	case FormatPNG:
		return decodePNG(data, maxPixels)
	case FormatGIF:
		return decodeGIF(data, maxPixels)
	case FormatBMP:
		return decodeBMP(data, maxPixels)
	case FormatTIFF:
		return decodeTIFF(data, maxPixels)
	case FormatWEBP:
		return decodeWebP(data, maxPixels)
	}
	return nil, unsupportedf("cannot identify image file")
}

// DecodeFile reads (see ReadFile: regular files only) and decodes the image
// file at path (see Decode).
func DecodeFile(path string, maxPixels int64) (*Image, error) {
	data, err := ReadFile(context.Background(), path)
	if err != nil {
		return nil, err
	}
	im, err := Decode(data, maxPixels)
	if err != nil {
		return nil, &fileError{path: path, err: err}
	}
	return im, nil
}

// recoverError turns a panic inside a decoder into an ErrCorrupt error, so
// no panic escapes the public API.
func recoverError(err *error) {
	if !recoverPanics {
		return
	}
	if r := recover(); r != nil {
		*err = corruptf("decoder failure: %v", r)
	}
}

// recoverPanics is switched off by the fuzz tests so that a bug shows up as
// a crash instead of an error.
var recoverPanics = true

// checkConfig applies the size checks to a header read by golang.org/x/image.
func checkConfig(data []byte, decodeConfig func(io.Reader) (image.Config, error), maxPixels int64) error {
	cfg, err := decodeConfig(bytes.NewReader(data))
	if err != nil {
		return corruptf("%v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return zeroSize(cfg.Width, cfg.Height)
	}
	return checkPixels(cfg.Width, cfg.Height, maxPixels)
}

// decodeBMP decodes BMP through golang.org/x/image/bmp (8-bit palette, 24-
// and 32-bit files) and maps it to Pillow's modes: a palette that is the
// identity gray ramp gives L, other palettes P, 24/32-bit files RGB, 32-bit
// files with alpha RGBA.
func decodeBMP(data []byte, maxPixels int64) (*Image, error) {
	if err := checkConfig(data, bmp.DecodeConfig, maxPixels); err != nil {
		return nil, err
	}
	g, err := bmp.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, corruptf("bmp: %v", err)
	}
	im, err := fromGoImage(g, true)
	if err != nil {
		return nil, err
	}
	im.Format = string(FormatBMP)
	return im, nil
}

// tiffInfo is the part of the first TIFF IFD that decides Pillow's mode.
type tiffInfo struct {
	photometric  int
	bitsPerSamp  int
	samples      int
	extraSamples int // first ExtraSamples value, -1 if absent
}

// readTIFFInfo reads a few tags of the first IFD.
func readTIFFInfo(data []byte) (tiffInfo, error) {
	ti := tiffInfo{photometric: -1, bitsPerSamp: 1, samples: 1, extraSamples: -1}
	if len(data) < 8 {
		return ti, errTruncated("TIFF header is truncated")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if data[0] == 'M' {
		bo = binary.BigEndian
	}
	off := int(bo.Uint32(data[4:]))
	if off < 8 || off+2 > len(data) {
		return ti, corruptf("bad TIFF IFD offset")
	}
	n := int(bo.Uint16(data[off:]))
	for i := 0; i < n; i++ {
		e := off + 2 + 12*i
		if e+12 > len(data) {
			return ti, errTruncated("TIFF IFD is truncated")
		}
		tag := bo.Uint16(data[e:])
		typ := bo.Uint16(data[e+2:])
		count := bo.Uint32(data[e+4:])
		val := func(k int) int {
			switch typ {
			case 3: // SHORT
				if count <= 2 {
					return int(bo.Uint16(data[e+8+2*k:]))
				}
				p := int(bo.Uint32(data[e+8:])) + 2*k
				if p < 0 || p+2 > len(data) {
					return -1
				}
				return int(bo.Uint16(data[p:]))
			case 4: // LONG
				return int(bo.Uint32(data[e+8:]))
			}
			return -1
		}
		switch tag {
		case 262:
			ti.photometric = val(0)
		case 258:
			ti.bitsPerSamp = val(0)
		case 277:
			ti.samples = val(0)
		case 338:
			ti.extraSamples = val(0)
		}
	}
	return ti, nil
}

// decodeTIFF decodes TIFF through golang.org/x/image/tiff and maps it to
// Pillow's modes: bilevel "1", 8-bit gray L, palette P, RGB, RGBA
// (unassociated alpha), RGBa (associated alpha, converted by
// un-premultiplying), CMYK. 16-bit gray opens as I;16 in Pillow 9.4, which
// cannot be resized, so it is reported as unsupported.
func decodeTIFF(data []byte, maxPixels int64) (*Image, error) {
	ti, err := readTIFFInfo(data)
	if err != nil {
		return nil, err
	}
	if err := checkConfig(data, tiff.DecodeConfig, maxPixels); err != nil {
		return nil, err
	}
	if (ti.photometric == 0 || ti.photometric == 1) && ti.bitsPerSamp == 16 {
		return nil, unsupportedf("16-bit gray TIFF (Pillow mode I;16 cannot be resized)")
	}
	g, err := tiff.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, corruptf("tiff: %v", err)
	}
	im, err := fromGoImage(g, false)
	if err != nil {
		return nil, err
	}
	if im.Mode == ModeL && ti.bitsPerSamp == 1 {
		im.Mode = Mode1
	}
	if ti.photometric == 2 && ti.samples == 4 && ti.extraSamples == 1 {
		// Associated alpha: Pillow opens "RGBa". x/image returns the
		// stored (premultiplied) samples as image.RGBA.
		if rgba, ok := g.(*image.RGBA); ok {
			im = newImage(ModeRGBa, g.Bounds().Dx(), g.Bounds().Dy())
			copyRows(im.Pix, rgba.Pix, rgba.Stride, im.Width*4, im.Height)
		}
	}
	im.Format = string(FormatTIFF)
	return im, nil
}

// decodeWebP decodes WebP through golang.org/x/image/webp. Lossy images
// are converted from Y'CbCr with libwebp's fancy upsampling and fixed-point
// formulas (what Pillow's libwebp does); lossless images are used as
// decoded. Images with an alpha channel open as RGBA, others as RGB.
func decodeWebP(data []byte, maxPixels int64) (*Image, error) {
	if err := checkConfig(data, webp.DecodeConfig, maxPixels); err != nil {
		return nil, err
	}
	g, err := webp.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, corruptf("webp: %v", err)
	}
	var im *Image
	switch m := g.(type) {
	case *image.YCbCr:
		im = webpYCbCrToRGB(m, nil, 0)
	case *image.NYCbCrA:
		im = webpYCbCrToRGB(&m.YCbCr, m.A, m.AStride)
	default:
		im, err = fromGoImage(g, false)
		if err != nil {
			return nil, err
		}
		if im.Mode == ModeRGBA && !webpHasAlpha(data) {
			im = dropAlpha(im)
		}
	}
	im.Format = string(FormatWEBP)
	return im, nil
}

// webpHasAlpha reports the alpha flag libwebp's WebPGetFeatures reports:
// the VP8X alpha bit or the VP8L alpha_is_used bit.
func webpHasAlpha(data []byte) bool {
	if len(data) < 30 {
		return false
	}
	switch string(data[12:16]) {
	case "VP8X":
		return data[20]&0x10 != 0
	case "VP8L":
		// signature 0x2f, then 14 bits width-1, 14 bits height-1, 1 bit alpha
		if len(data) < 25 {
			return false
		}
		v := binary.LittleEndian.Uint32(data[21:25])
		return v>>28&1 != 0
	}
	return false
}

func dropAlpha(m *Image) *Image {
	out := newImage(ModeRGB, m.Width, m.Height)
	for i, j := 0, 0; i < len(m.Pix); i, j = i+4, j+3 {
		out.Pix[j], out.Pix[j+1], out.Pix[j+2] = m.Pix[i], m.Pix[i+1], m.Pix[i+2]
	}
	return out
}

func copyRows(dst, src []uint8, srcStride, rowLen, h int) {
	for y := 0; y < h; y++ {
		copy(dst[y*rowLen:(y+1)*rowLen], src[y*srcStride:y*srcStride+rowLen])
	}
}

// fromGoImage converts a decoded Go image to Pillow's representation:
// Paletted -> P (or L when bmpGray and the palette is the identity ramp),
// Gray -> L, Gray16 -> I, opaque RGBA -> RGB, NRGBA -> RGBA, RGBA64 and
// NRGBA64 -> high bytes, CMYK -> CMYK, YCbCr -> RGB with Go's conversion.
// Other image types are converted through the color model to RGBA.
func fromGoImage(g image.Image, bmpGray bool) (*Image, error) {
	b := g.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, zeroSize(w, h)
	}
	switch m := g.(type) {
	case *image.Paletted:
		gray := bmpGray
		if gray {
			for i, c := range m.Palette {
				r, gg, bb, _ := c.RGBA()
				if r>>8 != uint32(i) || gg>>8 != uint32(i) || bb>>8 != uint32(i) {
					gray = false
					break
				}
			}
		}
		mode := ModeP
		if gray {
			mode = ModeL
		}
		im := newImage(mode, w, h)
		copyRows(im.Pix, m.Pix, m.Stride, w, h)
		if mode == ModeP {
			for i, c := range m.Palette {
				if i >= 256 {
					break
				}
				r, gg, bb := paletteRGB(c)
				im.Palette[3*i], im.Palette[3*i+1], im.Palette[3*i+2] = r, gg, bb
			}
		}
		return im, nil
	case *image.Gray:
		im := newImage(ModeL, w, h)
		copyRows(im.Pix, m.Pix, m.Stride, w, h)
		return im, nil
	case *image.Gray16:
		im := newImage(ModeI, w, h)
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				im.PixI[y*w+x] = int32(row[2*x])<<8 | int32(row[2*x+1])
			}
		}
		return im, nil
	case *image.RGBA:
		opaque := m.Opaque()
		if opaque {
			im := newImage(ModeRGB, w, h)
			for y := 0; y < h; y++ {
				row := m.Pix[y*m.Stride:]
				o := im.Pix[y*w*3:]
				for x := 0; x < w; x++ {
					o[3*x], o[3*x+1], o[3*x+2] = row[4*x], row[4*x+1], row[4*x+2]
				}
			}
			return im, nil
		}
		im := newImage(ModeRGBA, w, h)
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			o := im.Pix[y*w*4:]
			for x := 0; x < w; x++ {
				c := color.RGBA{row[4*x], row[4*x+1], row[4*x+2], row[4*x+3]}
				n := color.NRGBAModel.Convert(c).(color.NRGBA)
				o[4*x], o[4*x+1], o[4*x+2], o[4*x+3] = n.R, n.G, n.B, n.A
			}
		}
		return im, nil
	case *image.NRGBA:
		im := newImage(ModeRGBA, w, h)
		copyRows(im.Pix, m.Pix, m.Stride, w*4, h)
		return im, nil
	case *image.RGBA64:
		im := newImage(ModeRGB, w, h)
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			o := im.Pix[y*w*3:]
			for x := 0; x < w; x++ {
				o[3*x], o[3*x+1], o[3*x+2] = row[8*x], row[8*x+2], row[8*x+4]
			}
		}
		return im, nil
	case *image.NRGBA64:
		im := newImage(ModeRGBA, w, h)
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			o := im.Pix[y*w*4:]
			for x := 0; x < w; x++ {
				o[4*x], o[4*x+1], o[4*x+2], o[4*x+3] = row[8*x], row[8*x+2], row[8*x+4], row[8*x+6]
			}
		}
		return im, nil
	case *image.CMYK:
		im := newImage(ModeCMYK, w, h)
		copyRows(im.Pix, m.Pix, m.Stride, w*4, h)
		return im, nil
	}
	im := newImage(ModeRGBA, w, h)
	opaque := true
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := color.NRGBAModel.Convert(g.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			o := im.Pix[(y*w+x)*4:]
			o[0], o[1], o[2], o[3] = n.R, n.G, n.B, n.A
			if n.A != 255 {
				opaque = false
			}
		}
	}
	if opaque {
		return dropAlpha(im), nil
	}
	return im, nil
}

// paletteRGB returns the stored (non-premultiplied) RGB of a palette entry.
func paletteRGB(c color.Color) (uint8, uint8, uint8) {
	switch v := c.(type) {
	case color.NRGBA:
		return v.R, v.G, v.B
	case color.RGBA:
		if v.A == 255 || v.A == 0 {
			return v.R, v.G, v.B
		}
	}
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return n.R, n.G, n.B
}
