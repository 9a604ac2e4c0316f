//go:build cgo

package preprocess

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// procStatus reads a "VmXXX:   123 kB" field of /proc/self/status in bytes.
func procStatus(field string) (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, field+":") {
			fs := strings.Fields(line[len(field)+1:])
			if len(fs) == 0 {
				break
			}
			kb, err := strconv.ParseInt(fs[0], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("%s not found", field)
}

// memoryBound is the most a 4000×3000 baseline JPEG may grow the peak
// resident set while it is preprocessed. Measured: 4.3 to 4.7 MB for
// colour (4:2:0 and 4:4:4, smooth or noisy), 2.7 MB for grey; the package
// documentation quotes these figures.
const memoryBound = 8 << 20

// TestMemoryPeak preprocesses 4000×3000 JPEGs in a fresh child process and
// checks the growth of its peak resident set (Go heap, libjpeg's buffers,
// everything) against memoryBound, a small fraction of the 36 MB decoded
// image.
func TestMemoryPeak(t *testing.T) {
	if path := os.Getenv("PREPROCESS_MEM_CHILD"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		base, err := procStatus("VmRSS")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := New(224).Bytes(data); err != nil {
			t.Fatal(err)
		}
		peak, err := procStatus("VmHWM")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("MEMPEAK %d %d\n", base, peak)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc/self/status")
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	const w, h = 4000, 3000
	// Smooth synthetic photo-sized JPEGs (Go's encoder: baseline, 4:2:0).
	colour := image.NewRGBA(image.Rect(0, 0, w, h))
	grey := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			colour.SetRGBA(x, y, color.RGBA{uint8(x / 16), uint8(y / 12), uint8((x + y) / 28), 255})
			grey.SetGray(x, y, color.Gray{uint8((x ^ y) / 24)})
		}
	}
	for _, c := range []struct {
		name string
		img  image.Image
	}{{"colour", colour}, {"grey", grey}} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, c.img, &jpeg.Options{Quality: 90}); err != nil {
				t.Fatal(err)
			}
			src := filepath.Join(t.TempDir(), "big.jpg")
			if err := os.WriteFile(src, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryPeak$", "-test.v")
			cmd.Env = append(os.Environ(), "PREPROCESS_MEM_CHILD="+src)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			var base, peak int64
			for _, line := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(line, "MEMPEAK ") {
					fmt.Sscan(strings.TrimPrefix(line, "MEMPEAK "), &base, &peak)
				}
			}
			if peak == 0 || base == 0 {
				t.Fatalf("the child measured nothing:\n%s", out)
			}
			growth := peak - base
			t.Logf("%s 4000x3000: peak RSS %.1f MB, growth during preprocessing %.1f MB (decoded size %.1f MB)",
				c.name, float64(peak)/1e6, float64(growth)/1e6, float64(w*h*3)/1e6)
			if growth > memoryBound {
				t.Errorf("memory grew by %.1f MB, more than %.1f MB", float64(growth)/1e6, float64(memoryBound)/1e6)
			}
		})
	}
}
