//go:build cgo

package preprocess

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/goclip/goclip/internal/testutil"
	"github.com/goclip/goclip/npy"
)

// manifest mirrors shared/golden/preprocess/manifest.json.
type manifest struct {
	Mean   []float64       `json:"mean"`
	Std    []float64       `json:"std"`
	Images []manifestImage `json:"images"`
}

type manifestArray struct {
	File  string `json:"file"`
	Shape []int  `json:"shape"`
	Mode  string `json:"mode"`
}

type manifestImage struct {
	File          string         `json:"file"`
	Format        string         `json:"format"`
	Mode          string         `json:"mode"`
	SizeWH        []int          `json:"size_wh"`
	DecodedRGB    *manifestArray `json:"decoded_rgb"`
	DecodedNative *manifestArray `json:"decoded_native"`
	Outputs       []struct {
		NPx          int           `json:"n_px"`
		ResizedWH    []int         `json:"resized_size_wh"`
		ResizeNoop   bool          `json:"resize_was_noop"`
		CropLeftTop  []int         `json:"crop_left_top"`
		Tensor       manifestArray `json:"tensor"`
		ResizedU8    manifestArray `json:"resized_u8"`
		ResampleUsed string        `json:"-"`
	} `json:"outputs"`
}

func loadManifest(t *testing.T) (string, *manifest) {
	t.Helper()
	dir := testutil.Golden(t, "preprocess")
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Images) == 0 {
		t.Fatal("manifest lists no images")
	}
	return dir, &m
}

func readU8(t *testing.T, path string, shape []int) []uint8 {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a.Shape) != fmt.Sprint(shape) {
		t.Fatalf("%s: shape %v, manifest says %v", path, a.Shape, shape)
	}
	d, ok := a.Data.([]uint8)
	if !ok {
		t.Fatalf("%s: dtype %s, want |u1", path, a.DType)
	}
	return d
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := a.Data.([]float32)
	if !ok {
		t.Fatalf("%s: dtype %s, want <f4", path, a.DType)
	}
	return d
}

// firstDiffU8 reports the first differing index and the count of
// differences.
func diffU8(got, want []uint8) (int, int) {
	first, n := -1, 0
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	return first, n
}

func TestGoldenDecoded(t *testing.T) {
	dir, m := loadManifest(t)
	for _, im := range m.Images {
		if im.DecodedRGB == nil && im.DecodedNative == nil {
			continue
		}
		t.Run(filepath.Base(im.File), func(t *testing.T) {
			dec, err := DecodeFile(filepath.Join(dir, im.File), DefaultMaxPixels)
			if err != nil {
				t.Fatal(err)
			}
			if string(dec.Mode) != im.Mode || dec.Width != im.SizeWH[0] || dec.Height != im.SizeWH[1] {
				t.Fatalf("decoded %s %dx%d, want %s %dx%d", dec.Mode, dec.Width, dec.Height, im.Mode, im.SizeWH[0], im.SizeWH[1])
			}
			if im.DecodedRGB != nil {
				want := readU8(t, filepath.Join(dir, im.DecodedRGB.File), im.DecodedRGB.Shape)
				got, err := dec.RGB()
				if err != nil {
					t.Fatal(err)
				}
				if i, n := diffU8(got, want); n > 0 {
					t.Errorf("decoded_rgb: %d of %d bytes differ, first at %d (got %d want %d)", n, len(want), i, got[i], want[i])
				}
			}
			if im.DecodedNative != nil {
				want := readU8(t, filepath.Join(dir, im.DecodedNative.File), im.DecodedNative.Shape)
				if i, n := diffU8(dec.Pix, want); n > 0 {
					t.Errorf("decoded_native: %d of %d bytes differ, first at %d (got %d want %d)", n, len(want), i, dec.Pix[i], want[i])
				}
			}
		})
	}
}

func TestGoldenOutputs(t *testing.T) {
	dir, m := loadManifest(t)
	count := 0
	for _, im := range m.Images {
		for _, out := range im.Outputs {
			count++
			t.Run(fmt.Sprintf("%s/n%d", filepath.Base(im.File), out.NPx), func(t *testing.T) {
				path := filepath.Join(dir, im.File)
				p, err := makePlan(im.SizeWH[0], im.SizeWH[1], out.NPx)
				if err != nil {
					t.Fatal(err)
				}
				if p.outW != out.ResizedWH[0] || p.outH != out.ResizedWH[1] || p.left != out.CropLeftTop[0] || p.top != out.CropLeftTop[1] || p.noop != out.ResizeNoop {
					t.Errorf("plan %+v, want resized %v crop %v noop %v", p, out.ResizedWH, out.CropLeftTop, out.ResizeNoop)
				}
				pp := New(out.NPx)
				wantU8 := readU8(t, filepath.Join(dir, out.ResizedU8.File), out.ResizedU8.Shape)
				gotU8, err := pp.U8File(path)
				if err != nil {
					t.Fatal(err)
				}
				if i, n := diffU8(gotU8, wantU8); n > 0 {
					t.Errorf("u8: %d of %d bytes differ, first at %d (pixel %d,%d ch %d) got %d want %d", n, len(wantU8), i, i/3%out.NPx, i/3/out.NPx, i%3, gotU8[i], wantU8[i])
				}
				wantF := readF32(t, filepath.Join(dir, out.Tensor.File))
				gotF, err := pp.File(path)
				if err != nil {
					t.Fatal(err)
				}
				if len(gotF) != len(wantF) {
					t.Fatalf("tensor has %d values, want %d", len(gotF), len(wantF))
				}
				bad := 0
				for i := range wantF {
					if math.Float32bits(gotF[i]) != math.Float32bits(wantF[i]) {
						if bad == 0 {
							t.Errorf("f32: first difference at %d: got %v want %v", i, gotF[i], wantF[i])
						}
						bad++
					}
				}
				if bad > 0 {
					t.Errorf("f32: %d of %d values differ", bad, len(wantF))
				}
			})
		}
	}
	if count == 0 {
		t.Fatal("manifest lists no outputs")
	}
}

func TestNormalizeLUTGolden(t *testing.T) {
	a, err := npy.ReadFile(testutil.Golden(t, "preprocess", "normalize_lut.npy"))
	if err != nil {
		t.Fatal(err)
	}
	want, ok := a.Data.([]float32)
	if !ok || fmt.Sprint(a.Shape) != "[3 256]" {
		t.Fatalf("normalize_lut.npy: dtype %s shape %v", a.DType, a.Shape)
	}
	lut := NormalizeLUT()
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			if math.Float32bits(lut[c][v]) != math.Float32bits(want[c*256+v]) {
				t.Errorf("lut[%d][%d] = %v (%08x), want %v (%08x)", c, v, lut[c][v], math.Float32bits(lut[c][v]), want[c*256+v], math.Float32bits(want[c*256+v]))
			}
		}
	}
}
