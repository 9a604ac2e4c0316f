package clip

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/goclip/goclip/npy"
)

// TestDirStateStreams checks that taking over a finished output and
// writing the new one stream the rows: the memory allocated stays far
// below the size of the features (the old code read the whole .npy, and
// held the output twice while finishing).
func TestDirStateStreams(t *testing.T) {
	const rows, dim = 2000, 2048 // 16 MB of features
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "photos")
	out := filepath.Join(tmp, "feats.npy")
	data := make([]float32, rows*dim)
	for i := range data {
		data[i] = float32(i)
	}
	if err := npy.WriteFile(out, []int{rows, dim}, data); err != nil {
		t.Fatal(err)
	}
	entries := make([]IndexEntry, rows)
	for i := range entries {
		entries[i] = IndexEntry{Row: i, File: fmt.Sprintf("f%05d.jpg", i), Dir: dir, Size: 100, MTime: 1}
	}
	if err := rewriteIndex(IndexPath(out), entries); err != nil {
		t.Fatal(err)
	}
	data = nil
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	st, err := openDirState(out, dir, dim, false)
	if err != nil {
		t.Fatal(err)
	}
	// One file removed: the output is rewritten from the old one.
	if err := st.finish(context.Background(), entries[1:]); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > rows*dim*4/2 {
		t.Errorf("resume and finish allocated %d bytes for %d bytes of features", alloc, rows*dim*4)
	}
	arr, err := npy.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := arr.Data.([]float32)
	if arr.Shape[0] != rows-1 || got[0] != float32(dim) || got[len(got)-1] != float32(rows*dim-1) {
		t.Errorf("rewritten output: shape %v, first %v, last %v", arr.Shape, got[0], got[len(got)-1])
	}
	idx, err := ReadIndex(IndexPath(out))
	if err != nil || len(idx) != rows-1 || idx[0].File != "f00001.jpg" || idx[0].Row != 0 {
		t.Errorf("index: %d lines, %v", len(idx), err)
	}
	if _, err := os.Stat(out + ".part"); !os.IsNotExist(err) {
		t.Errorf(".part left: %v", err)
	}
}
