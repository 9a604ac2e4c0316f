// Package testutil holds helpers shared by the project's tests: locating the
// read-only golden data in ../shared and reading its files.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// SharedDir returns the absolute path of the shared data folder (the
// "shared" directory that sits beside the repository checkout). It honours
// $GOCLIP_SHARED first. When the folder cannot be found the test fails under
// CI (CI=true) and is skipped elsewhere, with a message saying where it looked.
func SharedDir(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("GOCLIP_SHARED"); d != "" {
		return d
	}
	if d, ok := FindShared(); ok {
		return d
	}
	msg := "shared golden data not found: set $GOCLIP_SHARED or place the shared/ folder beside the checkout"
	if os.Getenv("CI") != "" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
	return ""
}

// startDir is the working directory the test process started in (the
// package's folder under go test), taken before any test can change folder
// with t.Chdir, so that the lookups below do not depend on test order.
var startDir, startErr = os.Getwd()

// FindShared walks up from the test process's starting folder looking for a
// sibling folder named "shared" that holds golden/README.md.
func FindShared() (string, bool) {
	dir, err := startDir, startErr
	if err != nil {
		return "", false
	}
	for {
		cand := filepath.Join(dir, "shared")
		if _, err := os.Stat(filepath.Join(cand, "golden", "README.md")); err == nil {
			return cand, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Golden returns the path of a file below shared/golden.
func Golden(tb testing.TB, elem ...string) string {
	tb.Helper()
	return filepath.Join(append([]string{SharedDir(tb), "golden"}, elem...)...)
}

// RepoRoot returns the repository root (the folder holding go.mod).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := startDir, startErr
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}
