package clip

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

// indexFiles returns the relative file names of an index.
func indexFiles(idx []IndexEntry) []string {
	var out []string
	for _, e := range idx {
		out = append(out, e.File)
	}
	return out
}

// TestEmbedDirResumeFolderAsTyped interrupts a run given a relative folder
// and resumes it with the absolute one: the rows are those of the files,
// once each. Another folder writing to the same output is refused.
func TestEmbedDirResumeFolderAsTyped(t *testing.T) {
	m := loadGolden(t, "tiny_vit_b32", WithBatchSize(3))
	dir := makeImages(t, 8)
	out := filepath.Join(t.TempDir(), "feats.npy")
	t.Chdir(filepath.Dir(dir))
	ctx, cancel := context.WithCancel(context.Background())
	_, err := m.EmbedDir(ctx, filepath.Base(dir), out, DirOptions{OnProgress: func(p DirProgress) {
		if p.NewFiles >= 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	sum, err := m.EmbedDir(context.Background(), dir, out, DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Done != 8 || sum.Resumed < 3 || sum.Failed != 1 {
		t.Errorf("resumed with the absolute folder: %+v", sum.DirProgress)
	}
	feats, idx := readRows(t, out)
	all, _ := ListImages(dir, nil)
	var want []string
	for _, f := range all {
		if !strings.HasSuffix(f, "broken.jpg") {
			want = append(want, f)
		}
	}
	if feats.Rows != 8 || strings.Join(indexFiles(idx), ",") != strings.Join(want, ",") {
		t.Errorf("%d rows, files %v; want %v", feats.Rows, indexFiles(idx), want)
	}
	other := makeImages(t, 2)
	if _, err := m.EmbedDir(context.Background(), other, out, DirOptions{}); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("another folder into the same output: %v", err)
	}
	if _, err := m.EmbedDir(context.Background(), other, out, DirOptions{Fresh: true}); err != nil {
		t.Errorf("fresh run for another folder: %v", err)
	}
}

// TestEmbedDirChangedFiles re-runs after a file was removed, one added and
// one rewritten: the output holds the current files in sorted order, the
// unchanged rows are reused and the others embedded.
func TestEmbedDirChangedFiles(t *testing.T) {
	m := loadGolden(t, "tiny_vit_b32", WithBatchSize(4))
	dir := makeImages(t, 9)
	out := filepath.Join(t.TempDir(), "feats.npy")
	if _, err := m.EmbedDir(context.Background(), dir, out, DirOptions{}); err != nil {
		t.Fatal(err)
	}
	before, beforeIdx := readRows(t, out)
	if err := os.Remove(filepath.Join(dir, "set0", "img03.png")); err != nil {
		t.Fatal(err)
	}
	// A new file sorting first, and a rewritten one (another image's bytes).
	src, _ := os.ReadFile(filepath.Join(dir, "set1", "img01.png"))
	os.WriteFile(filepath.Join(dir, "a-new.png"), src, 0o644)
	src, _ = os.ReadFile(filepath.Join(dir, "set2", "img02.jpg"))
	changed := filepath.Join(dir, "set1", "img04.jpg")
	os.WriteFile(changed, src, 0o644)
	later := time.Now().Add(time.Hour)
	os.Chtimes(changed, later, later)

	sum, err := m.EmbedDir(context.Background(), dir, out, DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// 9 images - 1 removed + 1 added = 9; broken.jpg fails again.
	if sum.Done != 9 || sum.NewFiles != 2 || sum.Resumed != 7 || sum.Failed != 1 {
		t.Errorf("summary %+v", sum.DirProgress)
	}
	feats, idx := readRows(t, out)
	files := indexFiles(idx)
	if !sort.StringsAreSorted(files) || len(files) != 9 || files[0] != "a-new.png" || feats.Rows != 9 {
		t.Fatalf("files %v, %d rows", files, feats.Rows)
	}
	old := map[string][]float32{}
	for i, e := range beforeIdx {
		old[e.File] = before.Row(i)
	}
	for i, e := range idx {
		if e.Row != i {
			t.Fatalf("line %d names row %d", i, e.Row)
		}
		var want []float32
		switch e.File {
		case "a-new.png":
			want = old["set1/img01.png"]
		case "set1/img04.jpg":
			want = old["set2/img02.jpg"]
		default:
			want = old[e.File]
		}
		d, ref := maxDiff(t, Matrix{Rows: 1, Cols: feats.Cols, Data: feats.Row(i)}, Matrix{Rows: 1, Cols: feats.Cols, Data: want})
		if d > 1e-5*ref {
			t.Errorf("row %d (%s) differs by %g", i, e.File, d)
		}
	}
	for _, p := range []string{out + ".part", out + ".part.jsonl"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after a finished run", p)
		}
	}
}

// TestEmbedDirSpecialFiles embeds a folder holding a FIFO, a socket, a link
// to /dev/zero and a link loop named like images: the run ends, the good
// files are embedded and each special file is reported.
func TestEmbedDirSpecialFiles(t *testing.T) {
	m := loadGolden(t, "tiny_vit_b32", WithBatchSize(4))
	dir := makeImages(t, 3)
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.jpg"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "sock.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	os.Symlink("/dev/zero", filepath.Join(dir, "zero.jpg"))
	os.Symlink("loop.jpg", filepath.Join(dir, "loop.jpg"))
	os.Symlink(filepath.Join(dir, "set0", "img00.jpg"), filepath.Join(dir, "link.jpg"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	failed := map[string]string{}
	out := filepath.Join(t.TempDir(), "feats.npy")
	var sum DirSummary
	done := make(chan struct{})
	go func() {
		defer close(done)
		sum, err = m.EmbedDir(ctx, dir, out, DirOptions{OnError: func(f string, err error) { failed[filepath.Base(f)] = err.Error() }})
	}()
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		t.Fatal("EmbedDir hangs on a special file")
	}
	if err != nil {
		t.Fatalf("%v (summary %+v)", err, sum.DirProgress)
	}
	if sum.Done != 4 || sum.Failed != 5 {
		t.Errorf("summary %+v, failed %v", sum.DirProgress, failed)
	}
	for _, n := range []string{"fifo.jpg", "sock.png", "zero.jpg"} {
		if !strings.Contains(failed[n], "not a regular file") {
			t.Errorf("%s: %q", n, failed[n])
		}
	}
	if failed["loop.jpg"] == "" || failed["broken.jpg"] == "" {
		t.Errorf("failed: %v", failed)
	}
	if _, idx := readRows(t, out); len(idx) != 4 || idx[0].File != "link.jpg" {
		t.Errorf("index %v", idx)
	}
}

// TestEmbedDirLocked checks that a run fails clearly while another holds
// the output.
func TestEmbedDirLocked(t *testing.T) {
	m := loadGolden(t, "tiny_vit_b32")
	dir := makeImages(t, 2)
	out := filepath.Join(t.TempDir(), "feats.npy")
	lock := flock.New(out + ".lock")
	if ok, err := lock.TryLock(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	_, err := m.EmbedDir(context.Background(), dir, out, DirOptions{})
	var le *LockedError
	if !errors.As(err, &le) || err.Error() != "clip: another run holds "+out {
		t.Fatalf("while locked: %v", err)
	}
	lock.Unlock()
	if _, err := m.EmbedDir(context.Background(), dir, out, DirOptions{}); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	if _, err := os.Stat(out + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left: %v", err)
	}
	// Outputs get the mode os.Create gives, like every other output.
	ref, _ := os.Create(filepath.Join(filepath.Dir(out), "ref"))
	ref.Close()
	want, _ := os.Stat(ref.Name())
	for _, p := range []string{out, IndexPath(out)} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want.Mode().Perm() {
			t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode(), err, want.Mode())
		}
	}
}
