package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/parity"
	"github.com/goclip/goclip/internal/testutil"
)

// parityJSON runs "clip parity --json" with args and decodes its report.
func parityJSON(t *testing.T, args ...string) (int, *parity.Report, string) {
	t.Helper()
	code, out, errs := clipRun(t, "", append([]string{"parity", "--json", "--vocab", vocab(t)}, args...)...)
	if out == "" {
		return code, nil, errs
	}
	var rep parity.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not one JSON report: %v\n%s", err, out)
	}
	return code, &rep, errs
}

func stageOf(t *testing.T, rep *parity.Report, name string) parity.Stage {
	t.Helper()
	for _, s := range rep.Stages {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no stage %s in %+v", name, rep.Stages)
	return parity.Stage{}
}

// TestParityGolden checks the golden tiny models against their original
// checkpoints: on the CPU with the same libtorch, goclip equals the
// reference bit for bit up to the logits; the probabilities (softmax in
// float64 here, float32 in torch) agree to 1e-5.
func TestParityGolden(t *testing.T) {
	for _, name := range []string{"tiny_vit_b32", "tiny_rn"} {
		t.Run(name, func(t *testing.T) {
			model := testutil.ExportGolden(t, name)
			ckpt := testutil.Golden(t, "models", name, "model.jit.pt")
			code, rep, errs := parityJSON(t, "--model", model, "--checkpoint", ckpt, "--device", "cpu")
			if code != 0 || rep == nil {
				t.Fatalf("status %d, stderr %s", code, errs)
			}
			if rep.Verdict != "PASS" || rep.FirstFailure != "" {
				t.Errorf("verdict %s, first failure %q", rep.Verdict, rep.FirstFailure)
			}
			if len(rep.Stages) != len(parity.Stages) {
				t.Fatalf("%d stages, want %d", len(rep.Stages), len(parity.Stages))
			}
			for i, s := range rep.Stages {
				if s.Name != parity.Stages[i] {
					t.Errorf("stage %d is %s, want %s", i, s.Name, parity.Stages[i])
				}
			}
			tok := stageOf(t, rep, parity.StageTokens)
			if tok.Status != parity.StatusNotChecked || !strings.Contains(tok.Note, "official clip package") {
				t.Errorf("tokens stage %+v, want not checked (no official clip package here)", tok)
			}
			for _, st := range []string{parity.StagePixels, parity.StageEncodeImage, parity.StageEncodeText, parity.StageLogits} {
				s := stageOf(t, rep, st)
				t.Logf("%s: max abs %.3g, identical rows %d/%d", st, s.MaxAbs, s.RowsIdentical, s.Rows)
				if s.Status != parity.StatusPass || s.MaxAbs != 0 || s.RowsIdentical != s.Rows {
					t.Errorf("%s: %+v, want bit-identical", st, s)
				}
			}
			if s := stageOf(t, rep, parity.StagePixels); s.Rows != 3 {
				t.Errorf("pixels compared %d images, want the 3 demo images", s.Rows)
			}
			if s := stageOf(t, rep, parity.StageEncodeText); s.Rows != len(parity.DefaultTexts) {
				t.Errorf("encode_text compared %d texts, want %d", s.Rows, len(parity.DefaultTexts))
			}
			p := stageOf(t, rep, parity.StageProbs)
			t.Logf("probs: max abs %.3g", p.MaxAbs)
			if p.Status != parity.StatusPass || p.MaxAbs > 1e-6 {
				t.Errorf("probs: %+v", p)
			}
			v := rep.Versions
			if v.Reference != "goclip export module" || v.Libtorch == "" || v.PythonTorch == "" || v.Device != "cpu" ||
				len(v.ArtifactSHA256) != 64 || len(v.CheckpointSHA256) != 64 || v.Checkpoint != ckpt {
				t.Errorf("versions %+v", v)
			}
		})
	}
}

// perturbScript writes a copy of a checkpoint's state_dict with one weight
// tensor scaled by 1+1e-3 (kept in float32) and exports it.
const perturbScript = `
import sys, torch
sys.path.insert(0, sys.argv[1])
import export
sd, _ = export.read_state_dict(sys.argv[2])
k = sys.argv[3]
sd[k] = sd[k].float() * (1 + 1e-3)
torch.save(sd, sys.argv[4])
export.export_checkpoint(sys.argv[4], sys.argv[5], name="perturbed")
`

// TestParityPerturbed checks an artifact exported from a perturbed copy of
// the checkpoint against the original: parity fails and names the first
// stage that differs.
func TestParityPerturbed(t *testing.T) {
	ckpt := testutil.Golden(t, "models", "tiny_vit_b32", "model.jit.pt")
	dir := t.TempDir()
	out := filepath.Join(dir, "perturbed")
	cmd := exec.Command(testutil.Python(), "-c", perturbScript, filepath.Join(testutil.RepoRoot(t), "export"), ckpt,
		"visual.transformer.resblocks.0.mlp.c_fc.weight", filepath.Join(dir, "perturbed.pt"), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("perturbing: %v\n%s", err, b)
	}
	code, rep, errs := parityJSON(t, "--model", out, "--checkpoint", ckpt)
	if code != 1 || rep == nil {
		t.Fatalf("status %d, want 1; stderr %s", code, errs)
	}
	if rep.Verdict != "FAIL" || rep.FirstFailure != parity.StageEncodeImage {
		t.Errorf("verdict %s, first failure %q, want FAIL at encode_image", rep.Verdict, rep.FirstFailure)
	}
	if !strings.Contains(errs, "first failing stage encode_image") {
		t.Errorf("stderr %q does not name encode_image", errs)
	}
	img := stageOf(t, rep, parity.StageEncodeImage)
	t.Logf("perturbed encode_image: max rel %.3g, worst %+v", img.MaxRel, img.Worst)
	if img.MaxRel <= 1e-5 || len(img.Worst) != 3 || img.Worst[0].File == "" || img.RowsIdentical != 0 {
		t.Errorf("encode_image stage %+v", img)
	}
	for _, st := range []string{parity.StagePixels, parity.StageEncodeText} {
		if s := stageOf(t, rep, st); s.Status != parity.StatusPass || s.MaxAbs != 0 {
			t.Errorf("%s should be untouched: %+v", st, s)
		}
	}
	if s := stageOf(t, rep, parity.StageLogits); s.Status != parity.StatusFail {
		t.Errorf("logits should differ too: %+v", s)
	}

}

// TestParityNoTorch runs the reference with a Python that cannot import
// torch: the error says so.
func TestParityNoTorch(t *testing.T) {
	model := testutil.ExportGolden(t, "tiny_vit_b32")
	ckpt := testutil.Golden(t, "models", "tiny_vit_b32", "model.jit.pt")
	py := filepath.Join(t.TempDir(), "python-without-torch")
	// -S: no site-packages, hence no torch
	if err := os.WriteFile(py, []byte("#!/bin/sh\nexec /usr/bin/python3 -S \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOCLIP_PYTHON", py)
	code, out, errs := clipRun(t, "", "parity", "--vocab", vocab(t), "--model", model, "--checkpoint", ckpt)
	if code != 1 || out != "" {
		t.Errorf("status %d, stdout %q", code, out)
	}
	if !strings.Contains(errs, "torch is not importable") || !strings.Contains(errs, py) || strings.Count(errs, "\n") != 1 {
		t.Errorf("stderr %q: want one line saying torch is missing from %s", errs, py)
	}
}

// TestParityDemoModel checks a tiny random model made by make_tiny.py
// (models/tiny-vit is one): its manifest's source is a random checkpoint,
// which parity regenerates and verifies; the report notes the random
// weights, and --html writes the page.
func TestParityDemoModel(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "tiny-vit")
	cmd := exec.Command(testutil.Python(), filepath.Join(testutil.RepoRoot(t), "export", "make_tiny.py"), "--arch", "tiny-vit", "--out", model)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make_tiny: %v\n%s", err, b)
	}
	page := filepath.Join(dir, "parity.html")
	texts := filepath.Join(dir, "texts.txt")
	if err := os.WriteFile(texts, []byte("a cat\n\nthe letter é\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(testutil.RepoRoot(t), "testdata", "images", "red-circle.png")
	code, out, errs := clipRun(t, "", "parity", "--vocab", vocab(t), "--model", model, "--html", page,
		"--images", img, "--texts-file", texts)
	if code != 0 {
		t.Fatalf("status %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"random_checkpoint:tiny-vit:seed=1234 (regenerated)", "1 images, 2 texts", "encode_image  0", "has random weights", "PASS"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{"Parity: tiny-vit", "encode_text", "PASS", "random weights", "goclip export module"} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestParityUsage covers the command line's mistakes.
func TestParityUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"parity"}, 2, "--model is required"},
		{[]string{"parity", "--model", "x", "--tol", "pixels"}, 2, "want stage=value"},
		{[]string{"parity", "--model", "x", "--tol", "speed=1"}, 2, "unknown stage"},
		{[]string{"parity", "--model", "x", "--tol", "probs=-1"}, 2, "finite number"},
		{[]string{"parity", "--model", "x", "--images", "a.png", "--images-dir", "."}, 2, "not both"},
		{[]string{"parity", "--model", "x", "--texts-file", "/nonexistent/texts"}, 1, "no such file"},
		{[]string{"parity", "--model", "x", "extra"}, 2, "unexpected argument"},
	} {
		code, _, errs := clipRun(t, "", c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: status %d, stderr %q; want %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
}

// TestParityNoCheckpoint: an export whose manifest's source is an official
// name whose download is not in the cache, and no --checkpoint, is a clear
// error asking for one; once the cache holds the download, it is the
// checkpoint.
func TestParityNoCheckpoint(t *testing.T) {
	src := testutil.ExportGolden(t, "tiny_vit_b32")
	dir := t.TempDir()
	for _, f := range []string{"model.pt", "manifest.json"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "manifest.json" {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			m["source"] = "ViT-B/32"
			b, _ = json.Marshal(m)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cache := t.TempDir()
	t.Setenv("GOCLIP_CACHE", cache)
	code, out, errs := clipRun(t, "", "parity", "--vocab", vocab(t), "--model", dir)
	if code != 1 || out != "" || !strings.Contains(errs, "give it with --checkpoint F") {
		t.Errorf("status %d, stdout %q, stderr %q", code, out, errs)
	}

	// the cached "download" (here the golden checkpoint the export came from)
	ckpt := filepath.Join(cache, "checkpoints", "ViT-B-32.pt")
	if err := os.MkdirAll(filepath.Dir(ckpt), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(testutil.Golden(t, "models", "tiny_vit_b32", "model.jit.pt"), ckpt); err != nil {
		t.Fatal(err)
	}
	code, rep, errs := parityJSON(t, "--model", dir, "--images", filepath.Join(testutil.RepoRoot(t), "testdata", "images", "blue-square.jpg"))
	if code != 0 || rep == nil || rep.Versions.Checkpoint != ckpt {
		t.Errorf("status %d, report %+v: %s", code, rep, errs)
	}
}

// officialStandIn is a stand-in for the official clip package, which is
// not installable here: load builds the model with the export module (the
// official module tree) and the official transform, tokenize returns the
// official clip.tokenize ids recorded in the golden tokenizer file. It lets
// the test drive parity_ref.py's official branch and the token stage.
const officialStandIn = `
import json, os, sys, torch
sys.path.insert(0, os.environ["STANDIN_EXPORT_DIR"])
import export, parity_ref
_ids = {}
with open(os.environ["STANDIN_TOKENS"], encoding="utf-8") as f:
    for line in f:
        c = json.loads(line)
        if not c["too_long"]:
            _ids[c["text"]] = c["tokenize77"]

def load(name, device="cpu", jit=False):
    sd, _ = export.read_state_dict(name)
    model, arch = export.build_loaded_model(export.clean_state_dict(sd))
    return model.to(device).eval(), parity_ref.official_transform(arch["image_resolution"])

def tokenize(texts, context_length=77, truncate=False):
    rows = [list(_ids[t]) for t in texts]
    if os.environ.get("STANDIN_TAMPER"):
        rows[1][1] += 1
    return torch.tensor(rows, dtype=torch.int)
`

// TestParityOfficialBranch runs the reference through its official-package
// branch (with the stand-in above), with a tokenizer that differs from the
// official one in one id: the token ids are compared, and the check fails
// at the tokens stage.
func TestParityOfficialBranch(t *testing.T) {
	pkg := t.TempDir()
	if err := os.MkdirAll(filepath.Join(pkg, "clip"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "clip", "__init__.py"), []byte(officialStandIn), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PYTHONPATH", pkg)
	t.Setenv("STANDIN_EXPORT_DIR", filepath.Join(testutil.RepoRoot(t), "export"))
	t.Setenv("STANDIN_TOKENS", testutil.Golden(t, "tokenizer", "tokenize.jsonl"))
	var texts []string
	for _, c := range readCases(t, "tokenize.jsonl") {
		if !c.TooLong && len(texts) < 12 && !strings.ContainsAny(c.Text, "\r\n") && strings.TrimSpace(c.Text) != "" {
			texts = append(texts, c.Text)
		}
	}
	textFile := filepath.Join(pkg, "texts.txt")
	if err := os.WriteFile(textFile, []byte(strings.Join(texts, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	model := testutil.ExportGolden(t, "tiny_rn")
	ckpt := testutil.Golden(t, "models", "tiny_rn", "model.jit.pt")
	args := []string{"--model", model, "--checkpoint", ckpt, "--texts-file", textFile}

	// One id of the second text differs: the other rows are compared equal,
	// that one fails the tokens stage, and its text features differ. A
	// --tol past that difference moves the failure no further than tokens.
	t.Setenv("STANDIN_TAMPER", "1")
	code, rep, errs := parityJSON(t, append(args, "--tol", "encode_text=1e9")...)
	if code != 1 || rep == nil || rep.FirstFailure != parity.StageTokens {
		t.Fatalf("tampered tokenizer: status %d, report %+v: %s", code, rep, errs)
	}
	if !strings.HasPrefix(rep.Versions.Reference, "openai clip") {
		t.Errorf("reference %q, want the official package's branch", rep.Versions.Reference)
	}
	tok := stageOf(t, rep, parity.StageTokens)
	if tok.RowsIdentical != len(texts)-1 || len(tok.Worst) != 1 || tok.Worst[0].Input != strconv.Quote(texts[1]) {
		t.Errorf("tampered tokens %+v", tok)
	}
	s := stageOf(t, rep, parity.StageEncodeText)
	if s.Status != parity.StatusPass || s.Tolerance.Value != 1e9 || s.RowsIdentical != len(texts)-1 || s.MaxAbs == 0 || len(s.Worst) != 1 {
		t.Errorf("encode_text from the other tokens, under --tol encode_text=1e9: %+v", s)
	}
	for _, st := range []string{parity.StagePixels, parity.StageEncodeImage} {
		if s := stageOf(t, rep, st); s.Status != parity.StatusPass || s.MaxAbs != 0 {
			t.Errorf("%s: %+v", st, s)
		}
	}
}
