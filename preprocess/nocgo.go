//go:build !cgo

package preprocess

// Without cgo there is no libjpeg-turbo and no zlib, so JPEG and PNG files
// cannot be decoded the way Pillow decodes them; they fail with
// ErrUnsupportedFormat. GIF, BMP, TIFF and WebP still work.

type jpegColorSpace int

const (
	jpegOutGray jpegColorSpace = 1
	jpegOutRGB  jpegColorSpace = 2
	jpegOutCMYK jpegColorSpace = 4
)

type jpegHeader struct {
	width, height, components int
	colorSpace                int
	progressive               bool
}

type libjpegDecoder struct{}

func newLibjpegDecoder(data []byte) (*libjpegDecoder, jpegHeader, error) {
	return nil, jpegHeader{}, unsupportedf("JPEG decoding needs cgo (libjpeg-turbo); this binary was built without it")
}

func (d *libjpegDecoder) start(cs jpegColorSpace, xoff, width int) (int, int, error) {
	return 0, 0, unsupportedf("JPEG decoding needs cgo")
}
func (d *libjpegDecoder) read(buf []byte, stride, n int) (int, error) {
	return 0, unsupportedf("JPEG decoding needs cgo")
}
func (d *libjpegDecoder) skip(n int) error { return unsupportedf("JPEG decoding needs cgo") }
func (d *libjpegDecoder) scanline() int    { return 0 }
func (d *libjpegDecoder) finish() error    { return unsupportedf("JPEG decoding needs cgo") }
func (d *libjpegDecoder) close()           {}

const (
	zStreamEnd = 1
	zDataError = -3
)

type inflater struct{}

func newInflater() (*inflater, error) {
	return nil, unsupportedf("PNG decoding needs cgo (zlib); this binary was built without it")
}
func (f *inflater) inflate(in, out []byte) (rc, nIn, nOut int) { return zDataError, 0, 0 }
func (f *inflater) close()                                     {}
