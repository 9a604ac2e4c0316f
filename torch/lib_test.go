//go:build cgo

package torch

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/testutil"
)

// nativeLibs are the libraries that must not be mapped before a model is
// needed: the shim, libtorch and its c10 core.
var nativeLibs = []string{"libgoclip", "libtorch", "libc10"}

// childReport is what TestLoadChild prints for its parent.
type childReport struct {
	BeforeInit []string // native libraries mapped before Init
	InitErr    string
	AfterInit  []string
	Search     []string // source, path, opened, error
}

// TestLoadChild is not a test of its own: the tests below run the test
// binary again with GOCLIP_TORCH_CHILD=1 to get a fresh process, in which
// this uses the package's pure-Go parts, opens the shim, and reports what
// was mapped when.
func TestLoadChild(t *testing.T) {
	if os.Getenv("GOCLIP_TORCH_CHILD") != "1" {
		return
	}
	var r childReport
	if _, err := ParseDevice("cuda:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := NewTensor([]float32{1, 2, 3}, 3); err != nil {
		t.Fatal(err)
	}
	var err error
	if r.BeforeInit, err = testutil.MappedLibraries(nativeLibs...); err != nil {
		t.Fatal(err)
	}
	if err := Init(); err != nil {
		r.InitErr = err.Error()
		if !errors.Is(err, ErrNoLibrary) {
			r.InitErr = "not ErrNoLibrary: " + r.InitErr
		}
		if _, lerr := Load("x.pt"); lerr == nil || lerr.Error() != err.Error() {
			r.InitErr = "Load did not return Init's error: " + r.InitErr
		}
	}
	r.AfterInit, _ = testutil.MappedLibraries(nativeLibs...)
	for _, c := range LibrarySearch() {
		r.Search = append(r.Search, fmt.Sprintf("%s %s %v %v", c.Source, c.Path, c.Opened, c.Err))
	}
	json.NewEncoder(os.Stdout).Encode(r)
}

// child runs TestLoadChild in a new process with the environment changed
// by env ("NAME=value"; "NAME=" unsets it) and GOCLIP_LIB unset unless env
// sets it.
func child(t *testing.T, env ...string) childReport {
	t.Helper()
	env = append([]string{"GOCLIP_LIB=", "GOCLIP_TORCH_CHILD=1"}, env...)
	line := testutil.RunChild(t, "TestLoadChild", "", env...)
	var r childReport
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("child output %q: %v", line, err)
	}
	return r
}

// TestLoadedOnFirstUse checks in a fresh process that importing the
// package and using its pure-Go parts maps no libtorch, and that Init
// then maps the shim and libtorch from the file named by GOCLIP_LIB.
func TestLoadedOnFirstUse(t *testing.T) {
	if err := Init(); err != nil {
		t.Fatal(err)
	}
	shim := ShimPath()
	r := child(t, "GOCLIP_LIB="+shim)
	if len(r.BeforeInit) != 0 {
		t.Errorf("mapped before the first use: %v", r.BeforeInit)
	}
	if r.InitErr != "" {
		t.Fatalf("Init: %s", r.InitErr)
	}
	joined := strings.Join(r.AfterInit, " ")
	for _, lib := range []string{"libgoclip", "libtorch", "libc10"} {
		if !strings.Contains(joined, lib) {
			t.Errorf("%s not mapped after Init: %v", lib, r.AfterInit)
		}
	}
	if want := SourceEnv + " " + shim + " true <nil>"; len(r.Search) != 1 || r.Search[0] != want {
		t.Errorf("search = %+v, want only GOCLIP_LIB=%s, opened", r.Search, shim)
	}
}

// TestLibraryErrors checks that a missing or wrong shim gives an error
// naming what was tried, and maps no libtorch.
func TestLibraryErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text.so")
	os.WriteFile(text, []byte("not a library\n"), 0o644)
	libc, err := filepath.Glob("/lib/x86_64-linux-gnu/libz.so.1")
	if err != nil || len(libc) == 0 {
		libc = []string{"libz.so.1"}
	}
	cases := []struct {
		name string
		env  string
		want []string
	}{
		{"missing file", filepath.Join(dir, "nope.so"), []string{"GOCLIP_LIB " + filepath.Join(dir, "nope.so") + ": no such file"}},
		{"folder without the shim", dir + "/", []string{"GOCLIP_LIB " + filepath.Join(dir, "libgoclip.so") + ": no such file"}},
		{"not a library", text, []string{"GOCLIP_LIB " + text + ": file too short"}},
		{"another library", libc[0], []string{"no function gc_abi_version: not a goclip shim"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := child(t, "GOCLIP_LIB="+c.env)
			if r.InitErr == "" {
				t.Fatal("Init succeeded")
			}
			for _, w := range append(c.want, "set GOCLIP_LIB") {
				if !strings.Contains(r.InitErr, w) {
					t.Errorf("error %q does not mention %q", r.InitErr, w)
				}
			}
			if len(r.AfterInit) != 0 {
				t.Errorf("mapped after a failed Init: %v", r.AfterInit)
			}
		})
	}
}

// TestCandidates checks the search order and that a name given by the
// caller or the environment is the only place tried.
func TestCandidates(t *testing.T) {
	dir := t.TempDir()
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	besideExe := filepath.Join(filepath.Dir(exe), "..", "lib", LibraryName)
	saved, savedExplicit := installLibDir, libExplicit
	defer func() { installLibDir, libExplicit = saved, savedExplicit }()
	type cand struct{ path, source string }
	cases := []struct {
		name     string
		explicit string
		env      string
		prefix   string
		want     []cand
	}{
		{"search", "", "", "/opt/goclip/lib", []cand{{besideExe, SourceExecutable}, {"/opt/goclip/lib/" + LibraryName, SourcePrefix}, {LibraryName, SourceSystem}}},
		{"no recorded prefix", "", "", "", []cand{{besideExe, SourceExecutable}, {LibraryName, SourceSystem}}},
		{"environment", "", "/x/libgoclip.so", "/opt/goclip/lib", []cand{{"/x/libgoclip.so", SourceEnv}}},
		{"environment folder", "", dir, "", []cand{{filepath.Join(dir, LibraryName), SourceEnv}}},
		{"option over environment", "/y/libgoclip.so", "/x/libgoclip.so", "", []cand{{"/y/libgoclip.so", SourceOption}}},
		{"bare name", "libgoclip-cuda.so", "", "", []cand{{"libgoclip-cuda.so", SourceOption}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			libExplicit, installLibDir = c.explicit, c.prefix
			t.Setenv("GOCLIP_LIB", c.env)
			got := candidates()
			var have []cand
			for _, g := range got {
				have = append(have, cand{g.Path, g.Source})
			}
			if len(have) != len(c.want) {
				t.Fatalf("candidates = %v, want %v", have, c.want)
			}
			for i := range have {
				if have[i] != c.want[i] {
					t.Errorf("candidate %d = %v, want %v", i, have[i], c.want[i])
				}
			}
		})
	}
}

// TestSetLibraryPathAfterOpen: once a shim is open, another cannot be
// named, the same one can.
func TestSetLibraryPathAfterOpen(t *testing.T) {
	if err := Init(); err != nil {
		t.Fatal(err)
	}
	if err := SetLibraryPath("/elsewhere/libgoclip.so"); err == nil || !strings.Contains(err.Error(), "already open") {
		t.Errorf("switching shims: err = %v", err)
	}
	if err := SetLibraryPath(ShimPath()); err != nil {
		t.Errorf("naming the open shim: %v", err)
	}
}
