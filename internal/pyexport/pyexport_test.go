package pyexport

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestScript(t *testing.T) {
	t.Setenv("GOCLIP_EXPORT", "/opt/x/export.py")
	if p, err := Script(); err != nil || p != "/opt/x/export.py" {
		t.Errorf("with $GOCLIP_EXPORT: %q, %v", p, err)
	}
	t.Setenv("GOCLIP_EXPORT", "")
	// The test runs in internal/pyexport of a checkout: found in a parent.
	p, err := Script()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if want := filepath.Join(filepath.Dir(filepath.Dir(wd)), "export", "export.py"); p != want {
		t.Errorf("Script() = %q, want %q", p, want)
	}
	// Nowhere to be found.
	t.Chdir(t.TempDir())
	if _, err := Script(); !errors.Is(err, ErrNoScript) {
		t.Errorf("outside a checkout: %v", err)
	}
}

func TestPython(t *testing.T) {
	t.Setenv("GOCLIP_PYTHON", "/opt/py/bin/python3.12")
	if p := Python(); p != "/opt/py/bin/python3.12" {
		t.Errorf("with $GOCLIP_PYTHON: %q", p)
	}
	t.Setenv("GOCLIP_PYTHON", "")
	want := "python3"
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		want = "/usr/bin/python3"
	}
	if p := Python(); p != want {
		t.Errorf("Python() = %q, want %q", p, want)
	}
}
