// Package preprocess reproduces CLIP's image preprocessing bit for bit:
// clip.clip._transform(n_px) applied to PIL.Image.open(path), i.e.
//
//	Resize(n_px, BICUBIC) -> CenterCrop(n_px) -> convert("RGB") ->
//	ToTensor() -> Normalize(CLIP mean, CLIP std)
//
// as computed by Pillow 9.4, torchvision 0.14 and torch 1.13 on the CPU.
//
// Decoding follows Pillow. JPEG goes through libjpeg-turbo (the library
// Pillow links, via cgo) with its defaults, CMYK JPEGs read inverted, and
// Pillow's open-time checks and truncation rules. PNG and GIF are decoded by
// this package following Pillow's plugins: PNG image data is inflated by the
// system zlib (cgo) exactly as Pillow's ZipDecode drives it, GIF by an LZW
// decoder with Pillow's rules. BMP, TIFF and WebP go through
// golang.org/x/image and are mapped to Pillow's modes (lossy WebP with
// libwebp's fancy upsampling and fixed-point colour conversion). Images keep
// Pillow's modes (1, L, P, LA, RGB, RGBA, CMYK, I) until the end, because
// the mode decides the resize: P and 1 use NEAREST, RGBA and LA are resized
// premultiplied, CMYK and I are resized before the RGB conversion. The
// resize is Pillow's BICUBIC resampler (22-bit fixed point, horizontal pass
// into a clipped 8-bit intermediate, then vertical; double precision for
// mode I).
//
// Only the pixels that survive the centre crop are computed, with AVX2
// kernels where available (identical results to the portable code), and
// JPEGs are streamed: libjpeg decodes only the columns the crop needs, rows
// are resampled as they arrive, rows outside the crop are skipped (still
// entropy-decoded, so truncated or corrupt files fail exactly as in Pillow),
// and a 4000×3000 baseline JPEG grows the resident set by about 4.5 MB
// (2.7 MB in grey) instead of the decoded 36 MB. Progressive JPEGs are the
// exception: libjpeg keeps every DCT coefficient of the image until the
// last scan, about 40 MB for the same photo.
//
// Known differences from Pillow: formats other than JPEG, PNG, GIF, BMP,
// TIFF and WebP are not supported (ErrUnsupportedFormat); variants that
// golang.org/x/image cannot read fail (CMYK or JPEG-compressed TIFF, BMP
// other than 8-bit palette, 24- and 32-bit), as does 16-bit gray TIFF (Pillow 9.4 opens it as I;16 and then cannot
// resize it either); a few corrupt WebP files are judged differently by
// golang.org/x/image and libwebp; exceptions raised by Pillow's Python code
// while parsing EXIF or text chunks are not all reproduced (corrupt
// metadata is ignored); without cgo, JPEG and PNG are unsupported.
package preprocess

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

// DefaultMaxPixels is Pillow's Image.MAX_IMAGE_PIXELS. Images with more
// than twice this many pixels are refused (DecompressionBombError).
const DefaultMaxPixels int64 = 1024 * 1024 * 1024 / 4 / 3

// Preprocessor turns image files into CLIP input tensors of one size. It is
// safe for concurrent use.
type Preprocessor struct {
	size      int
	maxPixels int64
	workers   int
}

// Option configures a Preprocessor.
type Option func(*Preprocessor)

// WithMaxPixels sets the decompression-bomb limit, Pillow's
// MAX_IMAGE_PIXELS: an image whose header announces more than 2*n pixels
// fails with ErrTooManyPixels before any pixel buffer is allocated. The
// default is DefaultMaxPixels; n <= 0 disables the check.
func WithMaxPixels(n int64) Option {
	return func(p *Preprocessor) { p.maxPixels = n }
}

// WithWorkers sets how many images the batch methods process at once
// (default runtime.GOMAXPROCS(0); values below 1 mean the default).
func WithWorkers(n int) Option {
	return func(p *Preprocessor) { p.workers = n }
}

// New returns a Preprocessor producing size×size images (CLIP's n_px: 224
// for most models, 288, 336, ...). A size below 1 makes every call fail
// with ErrBadSize.
func New(size int, opts ...Option) *Preprocessor {
	p := &Preprocessor{size: size, maxPixels: DefaultMaxPixels}
	for _, o := range opts {
		o(p)
	}
	if p.workers < 1 {
		p.workers = runtime.GOMAXPROCS(0)
	}
	return p
}

// Size is the output side n_px.
func (p *Preprocessor) Size() int { return p.size }

// TensorLen is the number of float32 values of one image: 3*n*n.
func (p *Preprocessor) TensorLen() int { return 3 * p.size * p.size }

func (p *Preprocessor) checkSize() error {
	if p.size < 1 || p.size > 1<<15 {
		return fmt.Errorf("%w: output size %d", ErrBadSize, p.size)
	}
	return nil
}

// rgbBytes runs decode + resize + crop + RGB conversion into dst (n×n×3).
func (p *Preprocessor) rgbBytes(data []byte, dst []uint8) (err error) {
	defer recoverError(&err)
	if err := p.checkSize(); err != nil {
		return err
	}
	if sniff(data) == FormatJPEG {
		return jpegToRGB(data, p.size, p.maxPixels, dst)
	}
	im, err := Decode(data, p.maxPixels)
	if err != nil {
		return err
	}
	return resizeCropRGB(im, p.size, dst)
}

// U8Bytes returns the image after Resize, CenterCrop and convert("RGB"):
// n×n×3 bytes, row-major (np.asarray of the PIL image before ToTensor).
func (p *Preprocessor) U8Bytes(data []byte) ([]uint8, error) {
	if err := p.checkSize(); err != nil {
		return nil, err
	}
	out := make([]uint8, 3*p.size*p.size)
	if err := p.rgbBytes(data, out); err != nil {
		return nil, err
	}
	return out, nil
}

// U8File is U8Bytes for the regular file at path (see ReadFile).
func (p *Preprocessor) U8File(path string) ([]uint8, error) {
	data, err := ReadFile(context.Background(), path)
	if err != nil {
		return nil, err
	}
	out, err := p.U8Bytes(data)
	if err != nil {
		return nil, &fileError{path: path, err: err}
	}
	return out, nil
}

// Bytes preprocesses an image file held in memory and returns the
// [3,n,n] float32 tensor (channel-major).
func (p *Preprocessor) Bytes(data []byte) ([]float32, error) {
	if err := p.checkSize(); err != nil {
		return nil, err
	}
	out := make([]float32, p.TensorLen())
	if err := p.BytesInto(data, out); err != nil {
		return nil, err
	}
	return out, nil
}

// BytesInto is Bytes writing into dst, which must hold 3*n*n values.
func (p *Preprocessor) BytesInto(data []byte, dst []float32) error {
	if err := p.checkSize(); err != nil {
		return err
	}
	if len(dst) < p.TensorLen() {
		return fmt.Errorf("%w: destination holds %d values, need %d", ErrBadSize, len(dst), p.TensorLen())
	}
	s := getScratch()
	defer putScratch(s)
	s.rgb = growU8(s.rgb, 3*p.size*p.size)
	if err := p.rgbBytes(data, s.rgb); err != nil {
		return err
	}
	normalizeInto(s.rgb, p.size, dst)
	return nil
}

// File preprocesses the regular file at path (see Bytes and ReadFile).
func (p *Preprocessor) File(path string) ([]float32, error) {
	data, err := ReadFile(context.Background(), path)
	if err != nil {
		return nil, err
	}
	out, err := p.Bytes(data)
	if err != nil {
		return nil, &fileError{path: path, err: err}
	}
	return out, nil
}

// Reader preprocesses an image file read from r (see Bytes).
func (p *Preprocessor) Reader(r io.Reader) ([]float32, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return p.Bytes(data)
}

// Image preprocesses an already decoded Go image. Its pixels are mapped to
// the Pillow mode that holds them (Gray -> L, Paletted -> P, NRGBA -> RGBA,
// opaque RGBA -> RGB, Gray16 -> I, CMYK -> CMYK, anything else through
// color.NRGBAModel) and then go through the same resize, crop and
// normalisation as a decoded file.
func (p *Preprocessor) Image(img image.Image) (out []float32, err error) {
	defer recoverError(&err)
	if err := p.checkSize(); err != nil {
		return nil, err
	}
	if img == nil {
		return nil, fmt.Errorf("%w: nil image", ErrBadSize)
	}
	im, err := fromGoImage(img, false)
	if err != nil {
		return nil, err
	}
	return p.PillowImage(im)
}

// PillowImage preprocesses an image already in Pillow's representation
// (for example one returned by Decode).
func (p *Preprocessor) PillowImage(im *Image) (out []float32, err error) {
	defer recoverError(&err)
	if err := p.checkSize(); err != nil {
		return nil, err
	}
	if err := im.validate(); err != nil {
		return nil, err
	}
	if err := checkPixels(im.Width, im.Height, p.maxPixels); err != nil {
		return nil, err
	}
	rgb := make([]uint8, 3*p.size*p.size)
	if err := resizeCropRGB(im, p.size, rgb); err != nil {
		return nil, err
	}
	out = make([]float32, p.TensorLen())
	normalizeInto(rgb, p.size, out)
	return out, nil
}

// batchKind selects the output of runBatch.
type batchKind int

const (
	batchF32 batchKind = iota
	batchF16
	batchU8
)

// runBatch processes n inputs on the configured number of workers. load
// returns the bytes of input i. Each result goes to its own slot of dst;
// a failed input leaves its slot zero and its error in the result.
func (p *Preprocessor) runBatch(ctx context.Context, n int, load func(int) ([]byte, error), kind batchKind, f32 []float32, f16 []uint16, u8 []uint8) []error {
	errs := make([]error, n)
	if err := p.checkSize(); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	per := 3 * p.size * p.size
	var have int
	switch kind {
	case batchF32:
		have = len(f32)
	case batchF16:
		have = len(f16)
	default:
		have = len(u8)
	}
	if have < n*per {
		err := fmt.Errorf("%w: destination holds %d values, need %d", ErrBadSize, have, n*per)
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	if ctx == nil {
		ctx = context.Background()
	}
	workers := p.workers
	if workers > n {
		workers = n
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rgb := make([]uint8, per)
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				err := ctx.Err()
				if err == nil {
					var data []byte
					data, err = load(i)
					if err == nil {
						var slot []uint8
						if kind == batchU8 {
							slot = u8[i*per : (i+1)*per]
						} else {
							slot = rgb
						}
						err = p.rgbBytes(data, slot)
						if err == nil {
							switch kind {
							case batchF32:
								normalizeInto(slot, p.size, f32[i*per:(i+1)*per])
							case batchF16:
								normalizeInto16(slot, p.size, f16[i*per:(i+1)*per])
							}
						}
					}
				}
				if err != nil {
					errs[i] = err
					switch kind {
					case batchF32:
						clear(f32[i*per : (i+1)*per])
					case batchF16:
						clear(f16[i*per : (i+1)*per])
					default:
						clear(u8[i*per : (i+1)*per])
					}
				}
			}
		}()
	}
	wg.Wait()
	return errs
}

func wrapPaths(paths []string, errs []error) []error {
	for i, err := range errs {
		if err != nil {
			var pe *os.PathError
			if !errors.As(err, &pe) {
				errs[i] = &fileError{path: paths[i], err: err}
			}
		}
	}
	return errs
}

// BatchFiles preprocesses the files at paths on all workers into dst, a
// contiguous [N,3,n,n] float32 buffer (len(dst) >= N*3*n*n). The result
// has one entry per path: nil on success, else the error, in which case
// that image's slot is zero-filled; one bad file never fails the others.
// Only regular files are read (see ReadFile): a FIFO, socket, device or
// directory fails with ErrNotRegular. When ctx is cancelled, images not yet
// started, and files still being read, fail with ctx.Err().
func (p *Preprocessor) BatchFiles(ctx context.Context, paths []string, dst []float32) []error {
	errs := p.runBatch(ctx, len(paths), func(i int) ([]byte, error) { return ReadFile(ctx, paths[i]) }, batchF32, dst, nil, nil)
	return wrapPaths(paths, errs)
}

// BatchFilesF16 is BatchFiles producing IEEE half-precision bits (for a
// CUDA float16 model): each value is the float32 result rounded to nearest
// even, as torch's .half() does.
func (p *Preprocessor) BatchFilesF16(ctx context.Context, paths []string, dst []uint16) []error {
	errs := p.runBatch(ctx, len(paths), func(i int) ([]byte, error) { return ReadFile(ctx, paths[i]) }, batchF16, nil, dst, nil)
	return wrapPaths(paths, errs)
}

// BatchFilesU8 is BatchFiles producing the resized, cropped RGB bytes:
// a contiguous [N,n,n,3] uint8 buffer.
func (p *Preprocessor) BatchFilesU8(ctx context.Context, paths []string, dst []uint8) []error {
	errs := p.runBatch(ctx, len(paths), func(i int) ([]byte, error) { return ReadFile(ctx, paths[i]) }, batchU8, nil, nil, dst)
	return wrapPaths(paths, errs)
}

// BatchBytes is BatchFiles for images held in memory.
func (p *Preprocessor) BatchBytes(ctx context.Context, images [][]byte, dst []float32) []error {
	return p.runBatch(ctx, len(images), func(i int) ([]byte, error) { return images[i], nil }, batchF32, dst, nil, nil)
}
