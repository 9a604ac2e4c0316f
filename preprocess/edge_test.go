//go:build cgo

package preprocess

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/goclip/goclip/internal/half"
	"github.com/goclip/goclip/internal/testutil"
	"github.com/goclip/goclip/npy"
)

// TestEdgeCases checks the geometry and Pillow mode rules on the shared
// golden images that exercise them, then compares the bytes with the
// golden u8 arrays.
func TestEdgeCases(t *testing.T) {
	dir := testutil.Golden(t, "preprocess")
	cases := []struct {
		file          string
		mode          Mode
		n             int
		resized       [2]int
		crop          [2]int
		noop          bool
		resampleRule  string
		decodedW, dec int
	}{
		{"synth-1x1.png", ModeRGB, 224, [2]int{224, 224}, [2]int{0, 0}, false, "bicubic", 1, 1},
		{"synth-3000x20.png", ModeRGB, 224, [2]int{33600, 224}, [2]int{16688, 0}, false, "bicubic", 3000, 20},
		{"synth-20x3000.png", ModeRGB, 224, [2]int{224, 33600}, [2]int{0, 16688}, false, "bicubic", 20, 3000},
		{"synth-224x224.png", ModeRGB, 224, [2]int{224, 224}, [2]int{0, 0}, true, "none", 224, 224},
		{"synth-224x229.png", ModeRGB, 224, [2]int{224, 229}, [2]int{0, 2}, true, "none", 224, 229},
		{"synth-7x5.png", ModeRGB, 224, [2]int{313, 224}, [2]int{44, 0}, false, "bicubic", 7, 5},
		{"synth-rgba.png", ModeRGBA, 336, [2]int{504, 336}, [2]int{84, 0}, false, "premultiplied", 300, 200},
		{"synth-la.png", ModeLA, 224, [2]int{224, 336}, [2]int{0, 56}, false, "premultiplied", 100, 150},
		{"synth-i16.png", ModeI, 224, [2]int{298, 224}, [2]int{37, 0}, false, "int32", 120, 90},
		{"basn0g16.png", ModeI, 336, [2]int{336, 336}, [2]int{0, 0}, false, "int32", 32, 32},
		// EXIF orientation 6 is ignored: the stored 160x120 pixels are used.
		{"synth-exif6.jpg", ModeRGB, 224, [2]int{298, 224}, [2]int{37, 0}, false, "bicubic", 160, 120},
		{"benchPaletted.png", ModeP, 288, [2]int{288, 288}, [2]int{0, 0}, false, "nearest", 256, 256},
		{"triangle-001.gif", ModeP, 224, [2]int{448, 224}, [2]int{112, 0}, false, "nearest", 256, 128},
		{"video-001.cmyk.jpeg", ModeCMYK, 224, [2]int{326, 224}, [2]int{51, 0}, false, "bicubic", 150, 103},
		{"gray-gradient.png", ModeL, 224, [2]int{224, 3584}, [2]int{0, 1680}, false, "bicubic", 1, 16},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join(dir, "images", c.file)
			im, err := DecodeFile(path, DefaultMaxPixels)
			if err != nil {
				t.Fatal(err)
			}
			if im.Mode != c.mode || im.Width != c.decodedW || im.Height != c.dec {
				t.Fatalf("decoded %s %dx%d, want %s %dx%d", im.Mode, im.Width, im.Height, c.mode, c.decodedW, c.dec)
			}
			p, err := makePlan(im.Width, im.Height, c.n)
			if err != nil {
				t.Fatal(err)
			}
			if p.outW != c.resized[0] || p.outH != c.resized[1] || p.left != c.crop[0] || p.top != c.crop[1] || p.noop != c.noop {
				t.Fatalf("plan %+v, want resized %v crop %v noop %v", p, c.resized, c.crop, c.noop)
			}
			got, err := New(c.n).U8File(path)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join(dir, "arrays", c.file+".n"+strconv.Itoa(c.n)+".u8.npy.gz")
			want := readU8(t, golden, []int{c.n, c.n, 3})
			if i, k := diffU8(got, want); k > 0 {
				t.Errorf("%d bytes differ from %s, first at %d", k, filepath.Base(golden), i)
			}
		})
	}
}

// pngChunk builds one PNG chunk with a valid CRC.
func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// pngHeaderOnly builds a PNG whose IHDR announces w×h 8-bit RGB pixels,
// followed by a tiny IDAT and IEND.
func pngHeaderOnly(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	out := append([]byte{}, pngMagic...)
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(out, pngChunk("IEND", nil)...)
}

// jpegHeaderOnly patches the SOF of a real JPEG to announce w×h.
func jpegHeaderOnly(t *testing.T, w, h int) []byte {
	data, err := os.ReadFile(testutil.Golden(t, "preprocess", "images", "video-001.jpeg"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0")
	}
	binary.BigEndian.PutUint16(data[i+5:], uint16(h))
	binary.BigEndian.PutUint16(data[i+7:], uint16(w))
	return data
}

func gifHeaderOnly(w, h int) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, uint16(w))
	b = binary.LittleEndian.AppendUint16(b, uint16(h))
	b = append(b, 0, 0, 0)
	b = append(b, ',', 0, 0, 0, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(w))
	b = binary.LittleEndian.AppendUint16(b, uint16(h))
	return append(b, 0, 2, 2, 0x4c, 0x01, 0, ';')
}

func TestBadInput(t *testing.T) {
	golden := func(name string) []byte {
		b, err := os.ReadFile(testutil.Golden(t, "preprocess", "images", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	jpg := golden("video-001.jpeg")
	png := golden("basn6a08.png")
	garbage := make([]byte, 5000)
	rand.New(rand.NewSource(1)).Read(garbage)
	corruptJPEG := append(append([]byte{}, jpg[:700]...), garbage...)
	zeroW := pngHeaderOnly(0, 10)
	cases := []struct {
		name  string
		data  []byte
		limit int64
		want  error
	}{
		{"empty", nil, DefaultMaxPixels, ErrUnsupportedFormat},
		{"text", []byte("hello, this is not an image"), DefaultMaxPixels, ErrUnsupportedFormat},
		{"garbage", garbage, DefaultMaxPixels, ErrUnsupportedFormat},
		{"jpeg magic only", []byte{0xFF, 0xD8, 0xFF}, DefaultMaxPixels, ErrTruncated},
		{"jpeg truncated", jpg[:len(jpg)/2], DefaultMaxPixels, ErrTruncated},
		{"jpeg truncated before EOI", jpg[:len(jpg)-2], DefaultMaxPixels, ErrTruncated},
		{"jpeg corrupt scan", corruptJPEG, DefaultMaxPixels, ErrCorrupt},
		{"png truncated", png[:len(png)-30], DefaultMaxPixels, ErrTruncated},
		{"png zero width", zeroW, DefaultMaxPixels, ErrZeroSize},
		{"jpeg zero height", jpegHeaderOnly(t, 150, 0), DefaultMaxPixels, ErrZeroSize},
		{"gif zero size", gifHeaderOnly(0, 0), DefaultMaxPixels, ErrZeroSize},
		{"small limit", jpg, 1000, ErrTooManyPixels},
		{"limit is half the pixels: allowed", jpg, 150 * 103 / 2, nil},
		{"one below half the pixels", jpg, 150*103/2 - 1, ErrTooManyPixels},
		{"png claims 100000x100000", pngHeaderOnly(100000, 100000), DefaultMaxPixels, ErrTooManyPixels},
		{"png claims 2^31-1 square", pngHeaderOnly(1<<31-1, 1<<31-1), DefaultMaxPixels, ErrTooManyPixels},
		{"jpeg claims 65535x65535", jpegHeaderOnly(t, 65535, 65535), DefaultMaxPixels, ErrTooManyPixels},
		{"gif claims 65535x65535", gifHeaderOnly(65535, 65535), DefaultMaxPixels, ErrTooManyPixels},
		{"no limit, absurd png", pngHeaderOnly(1<<31-1, 1<<31-1), 0, ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := New(32, WithMaxPixels(c.limit))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			out, err := p.Bytes(c.data)
			runtime.ReadMemStats(&after)
			if c.want == nil {
				if err != nil || len(out) != p.TensorLen() {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			// Refusals are decided from the header: no pixel buffer.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("allocated %d bytes before failing", alloc)
			}
		})
	}
}

func TestBadSizeAndBuffers(t *testing.T) {
	img := filepath.Join("testdata", "rgb.bmp")
	for _, n := range []int{0, -3} {
		if _, err := New(n).File(img); !errors.Is(err, ErrBadSize) {
			t.Errorf("New(%d).File: %v, want ErrBadSize", n, err)
		}
	}
	p := New(16)
	data, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.BytesInto(data, make([]float32, 10)); !errors.Is(err, ErrBadSize) {
		t.Errorf("BytesInto small buffer: %v", err)
	}
	errs := p.BatchFiles(context.Background(), []string{img, img}, make([]float32, p.TensorLen()))
	for _, err := range errs {
		if !errors.Is(err, ErrBadSize) {
			t.Errorf("BatchFiles short buffer: %v", err)
		}
	}
	if _, err := p.Image(nil); !errors.Is(err, ErrBadSize) {
		t.Errorf("Image(nil): %v", err)
	}
	if _, err := p.PillowImage(&Image{Mode: ModeRGB, Width: 2, Height: 2, Pix: make([]uint8, 5)}); !errors.Is(err, ErrBadSize) {
		t.Errorf("PillowImage inconsistent: %v", err)
	}
	if _, err := p.PillowImage(&Image{Mode: "YCbCr", Width: 1, Height: 1, Pix: make([]uint8, 3)}); !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("PillowImage unknown mode: %v", err)
	}
	if _, err := p.File(filepath.Join("testdata", "does-not-exist.png")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestNormalizeLUTHalf checks that every value of the normalisation table
// survives the float16 round trip the F16 batches rely on.
func TestNormalizeLUTHalf(t *testing.T) {
	lut := NormalizeLUT()
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			h := half.FromFloat32(lut[c][v])
			if back := half.ToFloat32(h); half.FromFloat32(back) != h {
				t.Fatalf("lut[%d][%d]=%v: round trip of %#04x", c, v, lut[c][v], h)
			}
		}
	}
}

func TestBatch(t *testing.T) {
	dir := testutil.Golden(t, "preprocess", "images")
	paths := []string{
		filepath.Join(dir, "skimage-rocket.jpg"),
		filepath.Join(dir, "does-not-exist.png"),
		filepath.Join(dir, "synth-rgba.png"),
		filepath.Join("testdata", "lossy.webp"),
		filepath.Join(dir, "video-001.gif"),
	}
	bad := filepath.Join(t.TempDir(), "bad.jpg")
	if err := os.WriteFile(bad, []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 16}, 0o644); err != nil {
		t.Fatal(err)
	}
	paths = append(paths, bad)
	p := New(64, WithWorkers(3))
	per := p.TensorLen()
	dst := make([]float32, len(paths)*per)
	for i := range dst {
		dst[i] = 42 // failed slots must be zeroed
	}
	errs := p.BatchFiles(context.Background(), paths, dst)
	if len(errs) != len(paths) {
		t.Fatalf("%d results for %d paths", len(errs), len(paths))
	}
	half16 := make([]uint16, len(paths)*per)
	errs16 := p.BatchFilesF16(context.Background(), paths, half16)
	u8 := make([]uint8, len(paths)*per)
	errsU8 := p.BatchFilesU8(context.Background(), paths, u8)
	for i, path := range paths {
		single, err := p.File(path)
		if (err == nil) != (errs[i] == nil) || (err == nil) != (errs16[i] == nil) || (err == nil) != (errsU8[i] == nil) {
			t.Fatalf("%s: batch errors %v / %v / %v, single %v", path, errs[i], errs16[i], errsU8[i], err)
		}
		slot := dst[i*per : (i+1)*per]
		if err != nil {
			if i != 1 && i != 5 {
				t.Errorf("%s: unexpected failure %v", path, err)
			}
			for _, v := range slot {
				if v != 0 {
					t.Fatalf("%s: failed slot not zero-filled", path)
				}
			}
			continue
		}
		u, err := p.U8File(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(u, u8[i*per:(i+1)*per]) {
			t.Errorf("%s: BatchFilesU8 differs from U8File", path)
		}
		for j, v := range single {
			if math.Float32bits(slot[j]) != math.Float32bits(v) {
				t.Fatalf("%s: batch value %d differs", path, j)
			}
			if half16[i*per+j] != half.FromFloat32(v) {
				t.Fatalf("%s: f16 value %d differs", path, j)
			}
		}
	}
	if !errors.Is(errs[1], os.ErrNotExist) || !errors.Is(errs[5], ErrTruncated) {
		t.Errorf("errors: %v, %v", errs[1], errs[5])
	}
	// A cancelled context fails every image that has not started.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i, err := range p.BatchFiles(ctx, paths, make([]float32, len(dst))) {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled batch, item %d: %v", i, err)
		}
	}
	// In-memory batch.
	datas := make([][]byte, 0, 2)
	for _, f := range []string{paths[0], paths[2]} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		datas = append(datas, b)
	}
	mem := make([]float32, 2*per)
	for _, err := range p.BatchBytes(context.Background(), datas, mem) {
		if err != nil {
			t.Fatal(err)
		}
	}
	for j := 0; j < per; j++ {
		if mem[j] != dst[j] || mem[per+j] != dst[2*per+j] {
			t.Fatal("BatchBytes differs from BatchFiles")
		}
	}
}

func TestReaderAndImage(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "rgb.bmp"))
	if err != nil {
		t.Fatal(err)
	}
	p := New(40)
	a, err := p.Bytes(data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Reader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	im, err := Decode(data, DefaultMaxPixels)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.PillowImage(im)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i] != b[i] || a[i] != c[i] {
			t.Fatalf("Bytes/Reader/PillowImage differ at %d", i)
		}
	}
}

func TestWriteNPY(t *testing.T) {
	p := New(8)
	paths := []string{filepath.Join("testdata", "rgb.bmp"), filepath.Join("testdata", "la.png")}
	f := make([]float32, 2*p.TensorLen())
	u := make([]uint8, 2*p.TensorLen())
	for _, err := range append(p.BatchFiles(context.Background(), paths, f), p.BatchFilesU8(context.Background(), paths, u)...) {
		if err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	if err := WriteTensorsNPY(filepath.Join(dir, "f.npy"), 8, f); err != nil {
		t.Fatal(err)
	}
	if err := WriteU8NPY(filepath.Join(dir, "u.npy"), 8, u); err != nil {
		t.Fatal(err)
	}
	a, err := npy.ReadFile(filepath.Join(dir, "f.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := a.Data.([]float32); !ok || len(got) != len(f) || got[77] != f[77] || a.DType != "<f4" || len(a.Shape) != 4 || a.Shape[0] != 2 || a.Shape[1] != 3 {
		t.Errorf("float32 npy: dtype %s shape %v", a.DType, a.Shape)
	}
	b, err := npy.ReadFile(filepath.Join(dir, "u.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := b.Data.([]uint8); !ok || !bytes.Equal(got, u) || b.Shape[3] != 3 {
		t.Errorf("uint8 npy: dtype %s shape %v", b.DType, b.Shape)
	}
	if err := WriteTensorsNPY(filepath.Join(dir, "x.npy"), 8, f[:10]); !errors.Is(err, ErrBadSize) {
		t.Errorf("partial batch: %v", err)
	}
	if DetectFormat([]byte("\x89PNG\r\n\x1a\n....")) != FormatPNG || DetectFormat([]byte("nope")) != "" {
		t.Error("DetectFormat")
	}
}
