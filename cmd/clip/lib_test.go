package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/testutil"
	"github.com/goclip/goclip/npy"
	"github.com/goclip/goclip/torch"
)

// commandChildReport is what TestCommandChild prints for its parent.
type commandChildReport struct {
	Status int
	Stderr string
	Mapped []string // libgoclip, libtorch, libc10 mapped after the command
}

// TestCommandChild is not a test of its own: TestNoLibtorchWithoutModel
// runs the test binary again with GOCLIP_CLIP_CHILD set to a JSON command
// line, to run that command in a fresh process and report what it mapped.
func TestCommandChild(t *testing.T) {
	args := os.Getenv("GOCLIP_CLIP_CHILD")
	if args == "" {
		return
	}
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	e := &env{stdin: os.Stdin, stdout: io.Discard, stderr: &errb}
	r := commandChildReport{Status: run(context.Background(), e, argv), Stderr: errb.String()}
	var err error
	if r.Mapped, err = testutil.MappedLibraries("libgoclip", "libtorch", "libc10"); err != nil {
		t.Fatal(err)
	}
	json.NewEncoder(os.Stdout).Encode(r)
}

// TestNoLibtorchWithoutModel runs each command that needs no model in a
// fresh process and checks, from its /proc/self/maps, that neither the
// shim nor libtorch was loaded; doctor, which needs libtorch, is the
// control.
func TestNoLibtorchWithoutModel(t *testing.T) {
	img := filepath.Join(testutil.RepoRoot(t), "testdata", "images", "red-circle.png")
	out := filepath.Join(t.TempDir(), "px.npy")
	cases := []struct {
		name      string
		stdin     string
		args      []string
		wantTorch bool
	}{
		{"version", "", []string{"version"}, false},
		{"help", "", []string{"help"}, false},
		{"help embed", "", []string{"help", "embed"}, false},
		{"embed --help", "", []string{"embed", "--help"}, false},
		{"tokenize", `"a photo of a cat"` + "\n", []string{"tokenize", "--vocab", vocab(t)}, false},
		{"preprocess", "", []string{"preprocess", "--size", "224", "-o", out, img}, false},
		{"doctor", "", []string{"doctor", "--vocab", vocab(t)}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			argv, _ := json.Marshal(c.args)
			line := testutil.RunChild(t, "TestCommandChild", c.stdin, "GOCLIP_CLIP_CHILD="+string(argv))
			var r commandChildReport
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("child output %q: %v", line, err)
			}
			if r.Status != 0 {
				t.Fatalf("status %d: %s", r.Status, r.Stderr)
			}
			if c.wantTorch && len(r.Mapped) < 2 {
				t.Errorf("libtorch not mapped: %v", r.Mapped)
			}
			if !c.wantTorch && len(r.Mapped) != 0 {
				t.Errorf("needs no model but mapped %v", r.Mapped)
			}
		})
	}
}

// TestMovedBinary builds clip, puts it and a copy of the shim in a bin/,
// lib/ pair in a temporary folder, and runs it there with no GOCLIP_LIB:
// it must find the shim beside itself and embed a text.
func TestMovedBinary(t *testing.T) {
	if err := torch.Init(); err != nil {
		t.Fatal(err)
	}
	shim, err := filepath.EvalSymlinks(torch.ShimPath())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{"bin", "lib"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(shim)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lib", torch.LibraryName), data, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin", "clip")
	gocmd, err := exec.LookPath("go")
	if err != nil {
		gocmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	build := exec.Command(gocmd, "build", "-o", bin, ".")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOCLIP_LIB=") && !strings.HasPrefix(kv, "LD_LIBRARY_PATH=") {
			env = append(env, kv)
		}
	}
	clip := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = dir, env
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("clip %v: %v\n%s", args, err, b)
		}
		return b
	}
	var r doctorReport
	if err := json.Unmarshal(clip("doctor", "--json", "--vocab", vocab(t)), &r); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "lib", torch.LibraryName)
	if r.ShimPath != want || len(r.ShimSearch) == 0 || r.ShimSearch[0].Source != torch.SourceExecutable || r.ShimSearch[0].Status != "opened" {
		t.Fatalf("moved clip opened %q; search %+v; want %s beside the executable", r.ShimPath, r.ShimSearch, want)
	}
	model := testutil.ExportGolden(t, "tiny_vit_b32")
	clip("embed", "--model", model, "--vocab", vocab(t), "--text", "a photo of a cat", "-o", "out.npy")
	a, err := npy.ReadFile(filepath.Join(dir, "out.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Shape) != 2 || a.Shape[0] != 1 {
		t.Errorf("features shape %v", a.Shape)
	}
}
