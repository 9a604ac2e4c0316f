package npy

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/goclip/goclip/internal/testutil"
)

func TestReadGolden(t *testing.T) {
	cases := []struct {
		file  []string
		dtype string
		shape []int
	}{
		{[]string{"models", "tiny_vit_b32", "input_text_tokens.npy"}, "<i8", []int{6, 77}},
		{[]string{"models", "tiny_vit_b32", "input_images.f32.npy.gz"}, "<f4", []int{4, 3, 224, 224}},
		{[]string{"models", "tiny_vit_b32", "encode_image.npy"}, "<f4", []int{4, 32}},
		{[]string{"preprocess", "normalize_lut.npy"}, "<f4", []int{3, 256}},
		{[]string{"preprocess", "arrays", "synth-1x1.png.n224.u8.npy.gz"}, "|u1", []int{224, 224, 3}},
	}
	for _, c := range cases {
		a, err := ReadFile(testutil.Golden(t, c.file...))
		if err != nil {
			t.Fatal(err)
		}
		if a.DType != c.dtype || !reflect.DeepEqual(a.Shape, c.shape) || a.Len() != reflect.ValueOf(a.Data).Len() {
			t.Errorf("%v: got %s %v (%d elems)", c.file, a.DType, a.Shape, reflect.ValueOf(a.Data).Len())
		}
	}
	// Tokens start with SOT and the LUT's first value is (0-mean)/std.
	a, _ := ReadFile(testutil.Golden(t, "models", "tiny_vit_b32", "input_text_tokens.npy"))
	if a.Data.([]int64)[0] != 49406 {
		t.Errorf("first token = %d, want 49406", a.Data.([]int64)[0])
	}
	lut, _ := ReadFile(testutil.Golden(t, "preprocess", "normalize_lut.npy"))
	if got := lut.Data.([]float32)[0]; math.Abs(float64(got)-(-0.48145466/0.26862954)) > 1e-6 {
		t.Errorf("lut[0] = %v", got)
	}
}

func TestRoundTrip(t *testing.T) {
	cases := []struct {
		shape []int
		data  any
	}{
		{[]int{2, 3}, []float32{1, -2, 3.5, 0, float32(math.Inf(1)), 1e-30}},
		{[]int{4}, []int32{1, -1, math.MaxInt32, math.MinInt32}},
		{[]int{1, 2, 1}, []int64{math.MaxInt64, -7}},
		{[]int{3}, []uint8{0, 128, 255}},
		{[]int{2}, []uint16{0x3c00, 0xc000}},
		{[]int{}, []float32{42}},
		{[]int{0, 5}, []float32{}},
	}
	dir := t.TempDir()
	for i, c := range cases {
		p := filepath.Join(dir, "a.npy")
		if err := WriteFile(p, c.shape, c.data); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		a, err := ReadFile(p)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !reflect.DeepEqual(a.Shape, c.shape) || !reflect.DeepEqual(a.Data, c.data) {
			t.Errorf("case %d: got %v %v, want %v %v", i, a.Shape, a.Data, c.shape, c.data)
		}
	}
}

func TestBadInput(t *testing.T) {
	var good bytes.Buffer
	if err := Write(&good, []int{4}, []float32{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":     nil,
		"magic":     []byte("PK\x03\x04 not numpy at all"),
		"truncated": good.Bytes()[:good.Len()-3],
		"version":   append([]byte("\x93NUMPY\x09\x00"), good.Bytes()[8:]...),
	}
	for name, b := range cases {
		if _, err := Read(bytes.NewReader(b)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
	if err := Write(&good, []int{3}, []float32{1}); err == nil {
		t.Error("shape/data mismatch accepted")
	}
	if err := Write(&good, []int{1}, []float64{1}); err == nil {
		t.Error("float64 accepted")
	}
}
func TestWriteFileMode(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "a.npy")
	if err := WriteFile(out, []int{2}, []float32{1, 2}); err != nil {
		t.Fatal(err)
	}
	ref := filepath.Join(dir, "ref")
	f, err := os.Create(ref)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	a, _ := os.Stat(out)
	b, _ := os.Stat(ref)
	if a.Mode().Perm() != b.Mode().Perm() {
		t.Errorf("WriteFile mode %v, os.Create gives %v", a.Mode().Perm(), b.Mode().Perm())
	}
}
