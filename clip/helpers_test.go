package clip

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/goclip/goclip/internal/testutil"
	"github.com/goclip/goclip/npy"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.Cleanup()
	os.Exit(code)
}

// goldenModel exports one of the golden tiny models of ../shared.
func goldenModel(tb testing.TB, name string) string {
	tb.Helper()
	return testutil.ExportGolden(tb, name)
}

// testDevice is $GOCLIP_TEST_DEVICE (the GPU run) or "cpu".
func testDevice() string {
	if d := os.Getenv("GOCLIP_TEST_DEVICE"); d != "" {
		return d
	}
	return "cpu"
}

// testPrecision is $GOCLIP_TEST_PRECISION or fp32.
func testPrecision() Precision {
	if p := os.Getenv("GOCLIP_TEST_PRECISION"); p != "" {
		return Precision(p)
	}
	return FP32
}

func vocabPath(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(testutil.SharedDir(tb), "clip", VocabFile)
}

func loadGolden(tb testing.TB, name string, opts ...Option) *Model {
	tb.Helper()
	base := []Option{WithDevice(testDevice()), WithPrecision(testPrecision()), WithVocab(vocabPath(tb))}
	m, err := Load(context.Background(), goldenModel(tb, name), append(base, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

func readNpy(tb testing.TB, path string) *npy.Array {
	tb.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func readMatrix(tb testing.TB, path string) Matrix {
	tb.Helper()
	a := readNpy(tb, path)
	d, err := a.Float32()
	if err != nil || len(a.Shape) != 2 {
		tb.Fatalf("%s: %v %v", path, a.Shape, err)
	}
	return Matrix{Rows: a.Shape[0], Cols: a.Shape[1], Data: d}
}

// maxDiff returns max |a-b| and max |b|.
func maxDiff(tb testing.TB, a, b Matrix) (diff, ref float64) {
	tb.Helper()
	if a.Rows != b.Rows || a.Cols != b.Cols {
		tb.Fatalf("shape %dx%d, want %dx%d", a.Rows, a.Cols, b.Rows, b.Cols)
	}
	for i := range a.Data {
		diff = math.Max(diff, math.Abs(float64(a.Data[i])-float64(b.Data[i])))
		ref = math.Max(ref, math.Abs(float64(b.Data[i])))
	}
	return diff, ref
}
