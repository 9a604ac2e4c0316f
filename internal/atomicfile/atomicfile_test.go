package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.bin")
	ref := filepath.Join(dir, "ref")
	f, err := os.Create(ref)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()

	if err := Write(out, func(f *os.File) error { _, err := f.WriteString("new"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "new" {
		t.Errorf("content %q", b)
	}
	a, _ := os.Stat(out)
	r, _ := os.Stat(ref)
	if a.Mode().Perm() != r.Mode().Perm() {
		t.Errorf("mode %v, os.Create gives %v", a.Mode().Perm(), r.Mode().Perm())
	}

	// A failing writer leaves the old file and no temporary file.
	boom := errors.New("boom")
	if err := Write(out, func(f *os.File) error { f.WriteString("partial"); return boom }); !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "new" {
		t.Errorf("after a failed write: %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestCreateTempHidden(t *testing.T) {
	final := filepath.Join(t.TempDir(), "a.npy")
	f, err := CreateTemp(final)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if m, _ := filepath.Match("*.npy", filepath.Base(f.Name())); m || filepath.Base(f.Name())[0] != '.' {
		t.Errorf("temporary name %q is not hidden from *.npy", f.Name())
	}
}
