package clip

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"testing"
)

// makeImages writes n distinct small images (JPEG and PNG, in nested
// folders) and one corrupt file; it returns the folder.
func makeImages(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i < n; i++ {
		img := image.NewRGBA(image.Rect(0, 0, 64+i*7, 48+i*5))
		for y := 0; y < img.Bounds().Dy(); y++ {
			for x := 0; x < img.Bounds().Dx(); x++ {
				img.Set(x, y, color.RGBA{uint8(x * (i + 1)), uint8(y * 3 * (i + 2)), uint8((x + y) * i), 255})
			}
		}
		sub := filepath.Join(dir, fmt.Sprintf("set%d", i%3))
		os.MkdirAll(sub, 0o755)
		var err error
		f, _ := os.Create(filepath.Join(sub, fmt.Sprintf("img%02d.%s", i, map[bool]string{true: "jpg", false: "png"}[i%2 == 0])))
		if i%2 == 0 {
			err = jpeg.Encode(f, img, &jpeg.Options{Quality: 90})
		} else {
			err = png.Encode(f, img)
		}
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "set1", "broken.jpg"), []byte("\xff\xd8\xff\xe0 not really a jpeg"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image extension"), 0o644)
	return dir
}

func readRows(t *testing.T, out string) (Matrix, []IndexEntry) {
	t.Helper()
	m := readMatrix(t, out)
	idx, err := ReadIndex(IndexPath(out))
	if err != nil {
		t.Fatal(err)
	}
	return m, idx
}

func TestEmbedDir(t *testing.T) {
	m := loadGolden(t, "tiny_vit_b32", WithBatchSize(4), WithWorkers(4))
	dir := makeImages(t, 11)
	out := filepath.Join(t.TempDir(), "feats.npy")
	var failed []string
	sum, err := m.EmbedDir(context.Background(), dir, out, DirOptions{OnError: func(f string, err error) { failed = append(failed, f) }})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Total != 12 || sum.Done != 11 || sum.Failed != 1 || len(failed) != 1 || path.Base(failed[0]) != "broken.jpg" {
		t.Fatalf("summary %+v, failed %v", sum.DirProgress, failed)
	}
	feats, idx := readRows(t, out)
	if feats.Rows != 11 || len(idx) != 11 {
		t.Fatalf("%d rows, %d index lines", feats.Rows, len(idx))
	}
	// Rows follow the sorted file order, and each row is that file's
	// features (checked against encoding the file on its own).
	var files []string
	for i, e := range idx {
		if e.Row != i {
			t.Fatalf("index line %d names row %d", i, e.Row)
		}
		files = append(files, e.File)
	}
	if !sort.StringsAreSorted(files) {
		t.Errorf("rows not in sorted order: %v", files)
	}
	for i, f := range files {
		if idx[i].Dir != dir {
			t.Fatalf("index line %d: dir %q, want %q", i, idx[i].Dir, dir)
		}
		single, errs, err := m.EncodeImageFiles(context.Background(), []string{idx[i].Path()})
		if err != nil || errs[0] != nil {
			t.Fatal(err, errs[0])
		}
		d, ref := maxDiff(t, Matrix{Rows: 1, Cols: feats.Cols, Data: feats.Row(i)}, single)
		if d > 1e-5*ref {
			t.Errorf("row %d (%s) differs from the file's own features by %g", i, f, d)
		}
	}
	if _, err := os.Stat(out + ".part"); !errors.Is(err, os.ErrNotExist) {
		t.Error(".part left after a finished run")
	}
	// Running again resumes everything and changes nothing.
	sum2, err := m.EmbedDir(context.Background(), dir, out, DirOptions{})
	if err != nil || sum2.Resumed != 11 || sum2.NewFiles != 0 {
		t.Fatalf("rerun: %+v %v", sum2.DirProgress, err)
	}
	again, _ := readRows(t, out)
	if d, _ := maxDiff(t, again, feats); d != 0 {
		t.Error("rerun changed the features")
	}
}

// TestEmbedDirResume interrupts a run after its first batch, tears the end
// of its files as a crash would, and checks that the resumed run gives the
// same result as an uninterrupted one.
func TestEmbedDirResume(t *testing.T) {
	m := loadGolden(t, "tiny_vit_b32", WithBatchSize(3))
	dir := makeImages(t, 10)
	full := filepath.Join(t.TempDir(), "full.npy")
	if _, err := m.EmbedDir(context.Background(), dir, full, DirOptions{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "part.npy")
	ctx, cancel := context.WithCancel(context.Background())
	_, err := m.EmbedDir(ctx, dir, out, DirOptions{OnProgress: func(p DirProgress) {
		if p.NewFiles >= 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("an interrupted run wrote the final .npy")
	}
	// A crash in the middle of the next batch's writes.
	f, _ := os.OpenFile(out+".part", os.O_APPEND|os.O_WRONLY, 0)
	f.Write(make([]byte, 50))
	f.Close()
	g, _ := os.OpenFile(out+".part.jsonl", os.O_APPEND|os.O_WRONLY, 0)
	g.Write([]byte(`{"row": 3, "file": "set0/img`))
	g.Close()

	sum, err := m.EmbedDir(context.Background(), dir, out, DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Resumed < 3 || sum.Done != 10 {
		t.Errorf("resume summary %+v", sum.DirProgress)
	}
	a, ia := readRows(t, out)
	b, ib := readRows(t, full)
	if fmt.Sprint(ia) != fmt.Sprint(ib) {
		t.Errorf("index differs:\n%v\n%v", ia, ib)
	}
	if d, ref := maxDiff(t, a, b); d > 1e-5*ref {
		t.Errorf("resumed features differ by %g", d)
	}
}

func TestEmbedDirShards(t *testing.T) {
	m := loadGolden(t, "tiny_vit_b32", WithBatchSize(5))
	dir := makeImages(t, 13)
	seen := map[string]int{}
	tmp := t.TempDir()
	for i := 0; i < 3; i++ {
		out := filepath.Join(tmp, fmt.Sprintf("s%d.npy", i))
		if _, err := m.EmbedDir(context.Background(), dir, out, DirOptions{Shard: i, Shards: 3}); err != nil {
			t.Fatal(err)
		}
		_, idx := readRows(t, out)
		for _, e := range idx {
			seen[e.File]++
		}
	}
	all, _ := ListImages(dir, nil)
	if len(all) != 14 {
		t.Fatalf("ListImages found %d files", len(all))
	}
	for _, f := range all {
		want := 1
		if path.Base(f) == "broken.jpg" {
			want = 0
		}
		if seen[f] != want {
			t.Errorf("%s embedded %d times", f, seen[f])
		}
	}
	if _, err := m.EmbedDir(context.Background(), dir, filepath.Join(tmp, "x.npy"), DirOptions{Shard: 3, Shards: 3}); err == nil {
		t.Error("shard 3/3 accepted")
	}
	var _ = math.Abs
}
