//go:build cgo

package preprocess

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/goclip/goclip/internal/testutil"
)

// benchSet returns the benchmark images: $PREPROCESS_BENCH_DIR, else the
// photographs made by scripts/make_photos.py (.bench/photos), else the
// shared golden images.
func benchSet(b *testing.B) []string {
	b.Helper()
	dir := os.Getenv("PREPROCESS_BENCH_DIR")
	if dir == "" {
		dir = filepath.Join(testutil.RepoRoot(b), ".bench", "photos")
		if _, err := os.Stat(dir); err != nil {
			dir = testutil.Golden(b, "preprocess", "images")
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var files []string
	for _, e := range ents {
		if !e.IsDir() {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		b.Fatalf("no images in %s", dir)
	}
	return files
}

// megapixels sums the source pixels of the files (header sizes).
func megapixels(b *testing.B, files []string) float64 {
	total := 0.0
	for _, f := range files {
		im, err := DecodeFile(f, 0)
		if err != nil {
			b.Fatalf("%s: %v", f, err)
		}
		total += float64(im.Width*im.Height) / 1e6
	}
	return total
}

// BenchmarkFile preprocesses the set one image at a time on one goroutine
// (one op = the whole set), like the official pipeline on one core.
func BenchmarkFile(b *testing.B) {
	files := benchSet(b)
	datas := make([][]byte, len(files))
	for i, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		datas[i] = d
	}
	mp := megapixels(b, files)
	p := New(224)
	dst := make([]float32, p.TensorLen())
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	for i := 0; i < b.N; i++ {
		for j, d := range datas {
			if err := p.BytesInto(d, dst); err != nil {
				b.Fatalf("%s: %v", files[j], err)
			}
		}
	}
	report(b, start, cpu0, len(files), mp)
}

// report adds throughput metrics: by wall clock, and by process CPU time
// (stable on a busy machine; for BenchmarkBatch it is the CPU time of all
// workers together, i.e. throughput per core).
func report(b *testing.B, start time.Time, cpu0 time.Duration, files int, mp float64) {
	el := time.Since(start).Seconds()
	cpu := (processCPU() - cpu0).Seconds()
	b.ReportMetric(float64(b.N*files)/el, "images/s")
	b.ReportMetric(float64(b.N)*mp/el, "MP/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N*files)/cpu, "images/cpu-s")
	}
}

// BenchmarkBatch runs BatchBytes with the default number of workers,
// GOMAXPROCS (run with -cpu 1,2,... to see the scaling across cores). One
// op is one batch: the set repeated to at least 64 images, so that the
// largest photographs do not leave workers idle at the end of a batch.
func BenchmarkBatch(b *testing.B) {
	set := benchSet(b)
	mpSet := megapixels(b, set)
	var files []string
	mp := 0.0
	for len(files) < 64 {
		files = append(files, set...)
		mp += mpSet
	}
	datas := make([][]byte, len(files))
	for i, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		datas[i] = d
	}
	p := New(224)
	dst := make([]float32, len(files)*p.TensorLen())
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	for i := 0; i < b.N; i++ {
		for j, err := range p.BatchBytes(context.Background(), datas, dst) {
			if err != nil {
				b.Fatalf("%s: %v", files[j], err)
			}
		}
	}
	report(b, start, cpu0, len(files), mp)
}
