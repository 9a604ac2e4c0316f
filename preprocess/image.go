package preprocess

import "fmt"

// Mode is a Pillow image mode: how Pillow 9.4 represents a decoded image.
// The mode decides how the image is resized and converted to RGB.
type Mode string

// The Pillow modes this package produces.
const (
	Mode1    Mode = "1"    // bilevel, one byte per pixel holding 0 or 255
	ModeL    Mode = "L"    // 8-bit gray
	ModeP    Mode = "P"    // 8-bit palette indices
	ModeLA   Mode = "LA"   // gray + alpha, two bytes per pixel
	ModeRGB  Mode = "RGB"  // three bytes per pixel
	ModeRGBA Mode = "RGBA" // four bytes per pixel, alpha not premultiplied
	ModeCMYK Mode = "CMYK" // four bytes per pixel (Pillow's CMYK, i.e. JPEG data inverted)
	ModeI    Mode = "I"    // 32-bit signed integer gray (16-bit PNG gray opens as I)
	ModeRGBa Mode = "RGBa" // four bytes per pixel, alpha premultiplied (TIFF with associated alpha)
)

// Channels is the number of bytes per pixel of an 8-bit mode (1 for I,
// whose samples are int32 values in PixI).
func (m Mode) Channels() int {
	switch m {
	case ModeLA:
		return 2
	case ModeRGB:
		return 3
	case ModeRGBA, ModeCMYK, ModeRGBa:
		return 4
	default:
		return 1
	}
}

// Image is a decoded image in Pillow's mode and pixel values, before any
// resizing: what PIL.Image.open(path).load() holds.
type Image struct {
	Mode   Mode
	Width  int
	Height int
	// Pix holds the samples of 8-bit modes, row-major, Mode.Channels()
	// bytes per pixel, no padding.
	Pix []uint8
	// PixI holds the samples of mode I, row-major.
	PixI []int32
	// Palette is the RGB palette of mode P: 256 entries of 3 bytes. Entries
	// the file does not define hold Pillow's default gray ramp (i, i, i).
	Palette []uint8
	// Format names the container format the image was decoded from
	// ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", or "" for a Go image).
	Format string
}

// newImage allocates an image of the given mode and size.
func newImage(mode Mode, w, h int) *Image {
	im := &Image{Mode: mode, Width: w, Height: h}
	if mode == ModeI {
		im.PixI = make([]int32, w*h)
	} else {
		im.Pix = make([]uint8, w*h*mode.Channels())
	}
	if mode == ModeP {
		im.Palette = rampPalette()
	}
	return im
}

// rampPalette returns Pillow's default palette: a gray ramp.
func rampPalette() []uint8 {
	p := make([]uint8, 256*3)
	for i := 0; i < 256; i++ {
		p[3*i], p[3*i+1], p[3*i+2] = uint8(i), uint8(i), uint8(i)
	}
	return p
}

// validate checks the internal consistency of an image given to the
// public API.
func (m *Image) validate() error {
	if m == nil {
		return fmt.Errorf("%w: nil image", ErrBadSize)
	}
	if m.Width <= 0 || m.Height <= 0 {
		return zeroSize(m.Width, m.Height)
	}
	n := m.Width * m.Height
	if n/m.Width != m.Height {
		return tooLargef("image dimensions overflow")
	}
	switch m.Mode {
	case Mode1, ModeL, ModeP, ModeLA, ModeRGB, ModeRGBA, ModeCMYK, ModeRGBa:
		if len(m.Pix) != n*m.Mode.Channels() {
			return fmt.Errorf("%w: mode %s image %dx%d needs %d bytes, has %d", ErrBadSize, m.Mode, m.Width, m.Height, n*m.Mode.Channels(), len(m.Pix))
		}
		if m.Mode == ModeP && len(m.Palette) != 256*3 {
			return fmt.Errorf("%w: mode P image needs a 768-byte palette, has %d", ErrBadSize, len(m.Palette))
		}
	case ModeI:
		if len(m.PixI) != n {
			return fmt.Errorf("%w: mode I image %dx%d needs %d samples, has %d", ErrBadSize, m.Width, m.Height, n, len(m.PixI))
		}
	default:
		return unsupportedf("image mode %q", string(m.Mode))
	}
	return nil
}

// RGB returns the image converted to RGB the way Pillow's
// Image.convert("RGB") does, as rows of width*3 bytes.
func (m *Image) RGB() ([]uint8, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	out := make([]uint8, m.Width*m.Height*3)
	for y := 0; y < m.Height; y++ {
		convertRowToRGB(m, y, 0, m.Width, out[y*m.Width*3:(y+1)*m.Width*3])
	}
	return out, nil
}
