//go:build cgo

package preprocess

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/goclip/goclip/internal/testutil"
)

// streamedMatchesFull checks that the streaming JPEG path (cropped libjpeg
// window, rows resampled as they arrive, trailing rows skipped) gives the
// same bytes as decoding the whole image and resizing it.
func streamedMatchesFull(t *testing.T, name string, data []byte, sizes []int) {
	t.Helper()
	full, err := decodeJPEG(data, 0)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, n := range sizes {
		want := make([]uint8, n*n*3)
		if err := resizeCropRGB(full, n, want); err != nil {
			t.Fatalf("%s n=%d: %v", name, n, err)
		}
		got := make([]uint8, n*n*3)
		if err := jpegToRGB(data, n, 0, got); err != nil {
			t.Fatalf("%s n=%d: streaming: %v", name, n, err)
		}
		if i, k := diffU8(got, want); k > 0 {
			t.Errorf("%s n=%d: streaming differs from full decode in %d bytes, first at %d", name, n, k, i)
		}
	}
}

// synthJPEG encodes a noisy gradient with Go's encoder (4:2:0 for colour).
func synthJPEG(t *testing.T, w, h int, gray bool, seed int64) []byte {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	var img image.Image
	if gray {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range g.Pix {
			x, y := i%w, i/w
			g.Pix[i] = uint8((x*7+y*3)%256) ^ uint8(rng.Intn(32))
		}
		img = g
	} else {
		m := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				m.SetRGBA(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8(rng.Intn(256)), 255})
			}
		}
		img = m
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestStreamingJPEGMatchesFullDecode(t *testing.T) {
	dir := testutil.Golden(t, "preprocess", "images")
	for _, f := range []string{"skimage-rocket.jpg", "video-001.jpeg", "video-001.progressive.jpeg", "video-001.cmyk.jpeg", "video-005.gray.jpeg", "video-001.q50.422.jpeg", "video-001.restart2.jpeg", "synth-exif6.jpg"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		streamedMatchesFull(t, f, data, []int{7, 32, 64, 100, 150, 224, 336})
	}
	// Crop windows at many offsets: wide, tall, gray, odd sizes.
	for i, c := range []struct {
		w, h int
		gray bool
	}{{1200, 300, false}, {301, 1100, false}, {999, 517, true}, {517, 999, false}, {2000, 97, false}} {
		data := synthJPEG(t, c.w, c.h, c.gray, int64(i))
		streamedMatchesFull(t, fmt.Sprintf("synth%dx%d", c.w, c.h), data, []int{16, 45, 96, 97, 128, 224})
	}
	// Ordinary photographs from scripts/make_photos.py, when present.
	photos, _ := filepath.Glob(filepath.Join(testutil.RepoRoot(t), ".bench", "photos", "*.jpg"))
	if len(photos) > 4 && os.Getenv("PREPROCESS_ALL_PHOTOS") == "" {
		photos = photos[:4]
	}
	for _, f := range photos {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		streamedMatchesFull(t, filepath.Base(f), data, []int{224, 336})
	}
}
