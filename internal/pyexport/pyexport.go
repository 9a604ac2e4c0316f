// Package pyexport finds the Python side of goclip: the interpreter and
// export/export.py, which turn an official checkpoint into a TorchScript
// artifact. It is shared by package clip (exports on first use) and the
// command line; it is not part of the public API.
package pyexport

import (
	"errors"
	"os"
	"path/filepath"
)

// ErrNoScript reports that export/export.py could not be found.
var ErrNoScript = errors.New("export/export.py not found; set $GOCLIP_EXPORT to its path")

// Script locates export/export.py: $GOCLIP_EXPORT, then export/ beside the
// executable's parent (bin/clip in a checkout), then the working directory
// and its parents.
func Script() (string, error) {
	if p := os.Getenv("GOCLIP_EXPORT"); p != "" {
		return p, nil
	}
	var cands []string
	if exe, err := os.Executable(); err == nil {
		cands = append(cands, filepath.Join(filepath.Dir(filepath.Dir(exe)), "export", "export.py"))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			cands = append(cands, filepath.Join(d, "export", "export.py"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, c := range cands {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", ErrNoScript
}

// Python returns the interpreter used for exports: $GOCLIP_PYTHON, else
// /usr/bin/python3 when present, else python3 from PATH.
func Python() string {
	if p := os.Getenv("GOCLIP_PYTHON"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}
