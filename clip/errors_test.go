package clip

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/pyexport"
)

// TestErrorsKeepTheirCause: errors wrap their cause (errors.Is works on
// both the package's sentinel and the underlying error) and name the
// package once: "clip: " starts the message and appears nowhere else.
func TestErrorsKeepTheirCause(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	t.Setenv("CLIP_VOCAB", "")
	t.Setenv("GOCLIP_EXPORT", "")
	src := goldenModel(t, "tiny_vit_b32")
	truncated := copyDir(t, src)
	os.Truncate(filepath.Join(truncated, "model.pt"), 100)
	missingArtifact := copyDir(t, src)
	os.Remove(filepath.Join(missingArtifact, "model.pt"))
	m := loadGolden(t, "tiny_vit_b32")

	cases := []struct {
		name  string
		err   error
		is    []error
		exact string // the whole message, when given
	}{
		{name: "vocabulary download cancelled", err: second(FindVocab(cancelled, VocabOptions{CacheDir: t.TempDir(), URL: "http://127.0.0.1:1/v.gz"})),
			is: []error{ErrVocab, context.Canceled}},
		{name: "vocabulary path missing", err: second(FindVocab(cancelled, VocabOptions{Path: "/nonexistent/v.gz"})),
			is: []error{ErrVocab, fs.ErrNotExist}},
		{name: "manifest missing", err: errOf(ReadManifest(t.TempDir())), is: []error{ErrManifest, fs.ErrNotExist}},
		{name: "artifact missing", err: verify(t, missingArtifact), is: []error{ErrArtifactMismatch, fs.ErrNotExist}},
		{name: "artifact truncated", err: verify(t, truncated), is: []error{ErrArtifactMismatch}},
		{name: "bad matrix", err: errOf(m.Logits(Matrix{Rows: 2, Cols: 2, Data: []float32{1}}, NewMatrix(1, 32))), is: []error{ErrInput},
			exact: "clip: invalid input: matrix 2x2 holds 1 values"},
		{name: "cosine widths", err: errOf(Cosine(NewMatrix(1, 2), NewMatrix(1, 3))), is: []error{ErrInput},
			exact: "clip: invalid input: cosine of 2- and 3-dimensional features"},
		{name: "no labels", err: errOf(m.NewClassifier(context.Background(), nil)), is: []error{ErrLabels},
			exact: "clip: invalid labels or templates: no labels"},
		{name: "closed", err: errOf(closedModel(t).EncodeTexts(context.Background(), []string{"x"})), is: []error{ErrClosed},
			exact: "clip: model is closed"},
		{name: "no export script", err: exportIn(t, t.TempDir(), ""), is: []error{pyexport.ErrNoScript},
			exact: "clip: exporting RN50: export/export.py not found; set $GOCLIP_EXPORT to its path"},
		{name: "export fails", err: exportIn(t, "", "/nonexistent/export.py"), is: []error{new(exec.ExitError)}},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		msg := c.err.Error()
		for _, target := range c.is {
			var ee *exec.ExitError
			if _, ok := target.(*exec.ExitError); ok {
				if !errors.As(c.err, &ee) {
					t.Errorf("%s: %q does not wrap an *exec.ExitError", c.name, msg)
				}
			} else if !errors.Is(c.err, target) {
				t.Errorf("%s: errors.Is(%q, %v) is false", c.name, msg, target)
			}
		}
		if !strings.HasPrefix(msg, "clip: ") || strings.Count(msg, "clip: ") != 1 {
			t.Errorf("%s: %q should start with the package name, once", c.name, msg)
		}
		if c.exact != "" && msg != c.exact {
			t.Errorf("%s: message %q, want %q", c.name, msg, c.exact)
		}
	}
}

func second[A, B any](_ A, _ B, err error) error { return err }

func errOf[T any](_ T, err error) error { return err }

func verify(t *testing.T, dir string) error {
	t.Helper()
	man, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return man.Verify(dir, "99.0")
}

func closedModel(t *testing.T) *Model {
	m := loadGolden(t, "tiny_vit_b32")
	m.Close()
	return m
}

// exportIn runs the first-use export from directory wd (when given) with
// the given script (empty: searched for).
func exportIn(t *testing.T, wd, script string) error {
	if wd != "" {
		t.Chdir(wd)
	}
	cfg := defaultConfig()
	cfg.exportScript = script
	return runExport(context.Background(), &cfg, "/nonexistent/ckpt.pt", t.TempDir(), "RN50")
}
