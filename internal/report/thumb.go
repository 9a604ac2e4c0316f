package report

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"image"
	"image/color"
	_ "image/gif" // GIF input
	"image/jpeg"
	_ "image/png" // PNG input
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/goclip/goclip/preprocess"
	_ "golang.org/x/image/bmp"  // BMP input
	"golang.org/x/image/draw"   // CatmullRom resampling
	_ "golang.org/x/image/tiff" // TIFF input
	_ "golang.org/x/image/webp" // WebP input
)

const (
	// thumbSize is the longest side of an embedded thumbnail, in pixels.
	thumbSize = 256
	// thumbQuality is the JPEG quality of embedded thumbnails.
	thumbQuality = 82
	// maxPixels bounds the size of an image we agree to decode (a guard
	// against decompression bombs): 100 megapixels.
	maxPixels = 100_000_000
)

// fillThumbs sets the image source (or the placeholder reason) of every
// card. With ThumbEmbed the images are decoded concurrently.
func fillThumbs(cards []card, files []string, opts PageOptions) error {
	if opts.Thumbnail == ThumbLink {
		base, err := filepath.Abs(opts.BaseDir)
		if err != nil {
			return fmt.Errorf("report: base directory: %w", err)
		}
		for i, f := range files {
			src, err := linkURL(base, f)
			if err != nil {
				return err
			}
			cards[i].Src = src
		}
		return nil
	}
	workers := min(runtime.GOMAXPROCS(0), len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				uri, err := embedThumb(files[i])
				if err != nil {
					cards[i].Unreadable = err.Error()
					continue
				}
				cards[i].Src = uri
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	return nil
}

// linkURL returns the URL, relative to the directory base (absolute), of
// the image file. Each path segment is percent-escaped. A first segment
// with a colon is prefixed by "./" so that it cannot be read as a URL
// scheme. When no relative path exists (another Windows volume) an absolute
// file: URL is returned.
func linkURL(base, file string) (any, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("report: image path %q: %w", file, err)
	}
	rel, err := filepath.Rel(base, abs)
	if err != nil {
		u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
		if !strings.HasPrefix(u.Path, "/") {
			u.Path = "/" + u.Path
		}
		// Built here from a file path, so the scheme is ours: mark it safe.
		return template.URL(u.String()), nil
	}
	segs := strings.Split(filepath.ToSlash(rel), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	if strings.Contains(segs[0], ":") {
		segs[0] = "./" + segs[0]
	}
	// A plain string: html/template still vets it as a URL.
	return strings.Join(segs, "/"), nil
}

// embedThumb reads and decodes the image file and returns its thumbnail as
// a JPEG data: URI. A panicking decoder is reported as an error.
func embedThumb(file string) (uri template.URL, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder failed: %v", r)
		}
	}()
	data, err := preprocess.ReadFile(context.Background(), file) // regular files only: a FIFO must not hang the page
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already on the card
		}
		return "", err
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return "", fmt.Errorf("image too large or empty: %dx%d", cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, thumbnail(img), &jpeg.Options{Quality: thumbQuality}); err != nil {
		return "", err
	}
	// Base64 of our own JPEG: safe to mark as a URL.
	return template.URL("data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())), nil
}

// thumbnail returns img scaled with Catmull-Rom to at most thumbSize pixels
// on its long side (never enlarged), composited over white so that
// transparent images look as they do in a browser. A large JPEG (YCbCr)
// image is first shrunk by box averaging to between 2 and 4 times the
// thumbnail size, which makes a 12-megapixel photo several times faster
// and changes the result little: at such ratios Catmull-Rom itself averages
// over wide windows.
func thumbnail(img image.Image) *image.RGBA {
	b := img.Bounds()
	w, h := thumbDims(b.Dx(), b.Dy()) // from the original size
	if y, ok := img.(*image.YCbCr); ok {
		img = boxReduce(y, max(b.Dx(), b.Dy())/(2*thumbSize))
		b = img.Bounds()
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	if w == b.Dx() && h == b.Dy() {
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Over)
	} else {
		draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Over, nil)
	}
	return dst
}

// thumbDims returns the thumbnail size for a w×h image: the long side
// becomes thumbSize (if it was longer), the short side is scaled in
// proportion and rounded, and is at least 1.
func thumbDims(w, h int) (int, int) {
	long := max(w, h)
	if long <= thumbSize {
		return w, h
	}
	scale := func(n int) int {
		return max(1, int((int64(n)*thumbSize*2+int64(long))/(2*int64(long))))
	}
	return scale(w), scale(h)
}

// boxReduce shrinks img by the integer factor f (when f >= 2), each output
// pixel being the mean of an f×f block (smaller at the right and bottom
// edges) of the YCbCr samples, converted to RGB. Averaging before the
// conversion equals averaging after it, up to rounding, since the
// conversion is affine.
func boxReduce(img *image.YCbCr, f int) image.Image {
	if f < 2 {
		return img
	}
	r := img.Rect
	w, h := (r.Dx()+f-1)/f, (r.Dy()+f-1)/f
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for oy := range h {
		y0, y1 := r.Min.Y+oy*f, min(r.Min.Y+(oy+1)*f, r.Max.Y)
		for ox := range w {
			x0, x1 := r.Min.X+ox*f, min(r.Min.X+(ox+1)*f, r.Max.X)
			var sy, scb, scr, n int
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					c := img.COffset(x, y)
					sy += int(img.Y[img.YOffset(x, y)])
					scb += int(img.Cb[c])
					scr += int(img.Cr[c])
					n++
				}
			}
			cr, cg, cb := color.YCbCrToRGB(uint8((sy+n/2)/n), uint8((scb+n/2)/n), uint8((scr+n/2)/n))
			i := dst.PixOffset(ox, oy)
			dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = cr, cg, cb, 255
		}
	}
	return dst
}
