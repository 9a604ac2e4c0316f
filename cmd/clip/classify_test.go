package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/testutil"
	"github.com/goclip/goclip/npy"
)

// TestClassifyCLI checks the JSON output of "clip classify" against
// probabilities computed here from the official logits of the golden model.
func TestClassifyCLI(t *testing.T) {
	model := testutil.ExportGolden(t, "tiny_vit_b32")
	images := []string{"skimage-rocket.jpg", "video-001.q50.420.jpeg", "basn3p08-trns.png", "synth-rgba.png"}
	var files []string
	for _, n := range images {
		files = append(files, testutil.Golden(t, "preprocess", "images", n))
	}
	// Golden texts 0 and 2 ("a photo of a cat", "hello <|endoftext|> world")
	// as labels used verbatim.
	labels := []string{"a photo of a cat", "hello <|endoftext|> world"}
	cols := []int{0, 2}
	args := append([]string{"classify", "--model", model, "--device", "cpu", "--vocab", vocab(t),
		"--labels", strings.Join(labels, ","), "--template", "{}", "--json"}, files...)
	code, out, errs := clipRun(t, "", args...)
	if code != 0 {
		t.Fatalf("status %d: %s", code, errs)
	}
	ref, _ := npy.ReadFile(testutil.Golden(t, "models", "tiny_vit_b32", "logits_per_image.npy"))
	logits := ref.Data.([]float32)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(files) {
		t.Fatalf("%d lines for %d images", len(lines), len(files))
	}
	for i, line := range lines {
		var r struct {
			File   string    `json:"file"`
			Labels []string  `json:"labels"`
			Probs  []float64 `json:"probs"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if r.File != files[i] || strings.Join(r.Labels, "|") != strings.Join(labels, "|") {
			t.Errorf("line %d: %+v", i, r)
		}
		a, b := float64(logits[i*6+cols[0]]), float64(logits[i*6+cols[1]])
		m := math.Max(a, b)
		pa := math.Exp(a-m) / (math.Exp(a-m) + math.Exp(b-m))
		if math.Abs(r.Probs[0]-pa) > 1e-5 || math.Abs(r.Probs[1]-(1-pa)) > 1e-5 {
			t.Errorf("%s: probs %v, want [%v %v]", images[i], r.Probs, pa, 1-pa)
		}
	}
	// The table, top-k, the imagenet templates, a labels file, and a bad image.
	lf := filepath.Join(t.TempDir(), "labels.txt")
	os.WriteFile(lf, []byte("cat\n\ndog\nrocket\n"), 0o644)
	bad := filepath.Join(t.TempDir(), "bad.png")
	os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\n broken"), 0o644)
	page := filepath.Join(t.TempDir(), "page.html")
	code, out, errs = clipRun(t, "", "classify", "--model", model, "--device", "cpu", "--vocab", vocab(t),
		"--labels-file", lf, "--templates", "imagenet", "--top", "2", "--html", page, files[0], bad)
	if code != 1 || !strings.Contains(errs, "bad.png") {
		t.Errorf("bad image: status %d, stderr %q", code, errs)
	}
	if !strings.Contains(out, "FILE") || strings.Count(out, "%") != 2 {
		t.Errorf("table with top 2:\n%s", out)
	}
	if b, err := os.ReadFile(page); err != nil || !strings.Contains(string(b), "rocket") {
		t.Errorf("html page: %v", err)
	}
	for _, a := range [][]string{
		{"classify", "--model", model, files[0]},
		{"classify", "--model", model, "--labels", "a,b"},
		{"classify", "--model", model, "--labels", "a,b", "--templates", "nope", files[0]},
	} {
		if code, _, _ := clipRun(t, "", a...); code != 2 {
			t.Errorf("%v: status %d, want 2", a, code)
		}
	}
	if code, _, errs := clipRun(t, "", "classify", "--model", model, "--device", "cpu", "--vocab", vocab(t), "--labels", "a,,b", files[0]); code != 1 || !strings.Contains(errs, "empty") {
		t.Errorf("empty label: status %d, %q", code, errs)
	}
}

// TestRankAndSearchCLI embeds a folder, searches it, and ranks files.
func TestRankAndSearchCLI(t *testing.T) {
	model := testutil.ExportGolden(t, "tiny_vit_b32")
	dir := t.TempDir()
	src := []string{"skimage-rocket.jpg", "skimage-chelsea.png", "basn3p08-trns.png", "synth-rgba.png"}
	for _, n := range src {
		b, err := os.ReadFile(testutil.Golden(t, "preprocess", "images", n))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, n), b, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "zz-broken.jpg"), []byte("nope"), 0o644)
	out := filepath.Join(t.TempDir(), "emb.npy")
	code, _, errs := clipRun(t, "", "embed", "--model", model, "--device", "cpu", "--images-dir", dir, "-o", out)
	if code != 0 || !strings.Contains(errs, "zz-broken.jpg") || !strings.Contains(errs, "embedded 4 of 5") {
		t.Fatalf("embed dir: status %d: %s", code, errs)
	}
	code, sout, errs := clipRun(t, "", "search", "--model", model, "--device", "cpu", "--vocab", vocab(t), "--embeddings", out, "--text", "a rocket", "--top", "3", "--json")
	if code != 0 {
		t.Fatalf("search: %s", errs)
	}
	lines := strings.Split(strings.TrimSpace(sout), "\n")
	if len(lines) != 3 {
		t.Fatalf("search printed %d lines", len(lines))
	}
	prev := math.Inf(1)
	for _, l := range lines {
		var r struct {
			Rank  int     `json:"rank"`
			File  string  `json:"file"`
			Score float64 `json:"score"`
		}
		json.Unmarshal([]byte(l), &r)
		if r.Score > prev || !strings.HasPrefix(r.File, filepath.ToSlash(dir)) {
			t.Errorf("search line %q", l)
		}
		prev = r.Score
	}
	// rank over the same files, in the folder's (sorted) order so that the
	// model sees the same batch, gives the same order and scores. (BLAS
	// results can depend on a row's place in its batch in the last bits.)
	var files []string
	for _, n := range src {
		files = append(files, filepath.ToSlash(filepath.Join(dir, n)))
	}
	sort.Strings(files)
	code, rout, errs := clipRun(t, "", append([]string{"rank", "--model", model, "--device", "cpu", "--vocab", vocab(t), "--text", "a rocket", "--top", "3", "--json"}, files...)...)
	if code != 0 {
		t.Fatal(errs)
	}
	if strings.TrimSpace(rout) != strings.TrimSpace(sout) {
		t.Errorf("rank and search disagree:\n%s\n%s", rout, sout)
	}
	page := filepath.Join(t.TempDir(), "s.html")
	if code, _, errs := clipRun(t, "", "search", "--model", model, "--device", "cpu", "--vocab", vocab(t), "--embeddings", out, "--text", "cat", "--html", page); code != 0 {
		t.Fatal(errs)
	}
	if b, _ := os.ReadFile(page); !strings.Contains(string(b), "cat") {
		t.Error("search page lacks the query")
	}
}

func TestHelpAndDoctor(t *testing.T) {
	if code, out, _ := clipRun(t, "", "help"); code != 0 || !strings.Contains(out, "classify") {
		t.Errorf("help: %d %q", code, out)
	}
	if code, _, _ := clipRun(t, ""); code != 2 {
		t.Errorf("no args: status %d", code)
	}
	if code, _, errs := clipRun(t, "", "frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") || strings.Count(errs, "\n") != 2 {
		t.Errorf("unknown command: %d %q", code, errs)
	}
	if code, out, _ := clipRun(t, "", "embed", "--help"); code != 0 || !strings.Contains(out, "--pixels-npy") {
		t.Errorf("embed --help: %d", code)
	}
	code, out, _ := clipRun(t, "", "doctor", "--json", "--vocab", vocab(t))
	var r doctorReport
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
		t.Fatalf("doctor: %d %q", code, out)
	}
	if r.Libtorch == "" || r.ShimPath == "" || r.Vocab != vocab(t) || r.VocabSource != "option" {
		t.Errorf("doctor report %+v", r)
	}
}
