//go:build unix

package preprocess

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SpecialDir makes a folder with one good image and, named like images, a
// FIFO nobody writes to, a listening Unix socket, a link to /dev/zero, a
// link loop and a directory. It returns the folder and the names.
func specialDir(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	img, err := os.ReadFile(filepath.Join("testdata", "la.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "good.png"), img, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.jpg"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "sock.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("loop.jpg", filepath.Join(dir, "loop.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "folder.jpg"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, []string{"good.png", "fifo.jpg", "sock.jpg", "zero.jpg", "loop.jpg", "folder.jpg"}
}

// TestBatchFilesSpecialFiles checks that FIFOs, sockets, devices, link loops
// and directories fail per file, without blocking, while the good file
// goes through.
func TestBatchFilesSpecialFiles(t *testing.T) {
	dir, names := specialDir(t)
	var paths []string
	for _, n := range names {
		paths = append(paths, filepath.Join(dir, n))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := New(32, WithWorkers(2))
	dst := make([]float32, len(paths)*p.TensorLen())
	errs := p.BatchFiles(ctx, paths, dst)
	if ctx.Err() != nil {
		t.Fatal("BatchFiles blocked on a special file")
	}
	if errs[0] != nil {
		t.Errorf("good file: %v", errs[0])
	}
	for i, n := range names[1:] {
		err := errs[i+1]
		if err == nil || !strings.Contains(err.Error(), n) {
			t.Errorf("%s: error %v, want one naming the file", n, err)
			continue
		}
		wantNotRegular := n != "loop.jpg"
		if errors.Is(err, ErrNotRegular) != wantNotRegular || !strings.Contains(err.Error(), "not a regular file") == wantNotRegular {
			t.Errorf("%s: %v (not-regular expected: %v)", n, err, wantNotRegular)
		}
	}
	for _, n := range []string{"fifo.jpg", "zero.jpg"} {
		if _, err := p.File(filepath.Join(dir, n)); !errors.Is(err, ErrNotRegular) {
			t.Errorf("File(%s): %v", n, err)
		}
		if _, err := DecodeFile(filepath.Join(dir, n), 0); !errors.Is(err, ErrNotRegular) {
			t.Errorf("DecodeFile(%s): %v", n, err)
		}
	}
}

// TestReadFileCancelled checks that a cancelled context stops ReadFile.
func TestReadFileCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadFile(ctx, filepath.Join("testdata", "la.png")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	b, err := ReadFile(context.Background(), filepath.Join("testdata", "la.png"))
	want, _ := os.ReadFile(filepath.Join("testdata", "la.png"))
	if err != nil || string(b) != string(want) {
		t.Fatalf("read %d bytes, %v; want %d", len(b), err, len(want))
	}
}
