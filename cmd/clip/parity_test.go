package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/testutil"
)

// parityJSON is the part of "clip parity --json" the tests read.
type parityJSON struct {
	Pass         bool   `json:"pass"`
	FirstFailing string `json:"first_failing"`
	Verdict      string `json:"verdict"`
	Versions     struct {
		Torch          string `json:"torch"`
		Libtorch       string `json:"libtorch"`
		ArtifactSHA256 string `json:"artifact_sha256"`
		Reference      string `json:"reference"`
	} `json:"versions"`
	Stages []struct {
		Name      string  `json:"name"`
		Status    string  `json:"status"`
		Rows      int     `json:"rows"`
		Identical int     `json:"rows_identical"`
		MaxRel    float64 `json:"max_rel"`
		Worst     []struct {
			Input string `json:"input"`
		} `json:"worst"`
	} `json:"stages"`
}

func parseParity(t *testing.T, out string) parityJSON {
	t.Helper()
	var r parityJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return r
}

// TestParityGolden: goclip on the exported golden models equals PyTorch on
// the original archives, with the default inputs (demo images, built-in
// texts) and with the golden images.
func TestParityGolden(t *testing.T) {
	t.Setenv("CLIP_VOCAB", vocab(t))
	t.Setenv("GOCLIP_PYTHON", testutil.Python())
	var goldenImages []string
	for _, n := range []string{"skimage-rocket.jpg", "video-001.q50.420.jpeg", "basn3p08-trns.png", "synth-rgba.png", "synth-1x1.png"} {
		goldenImages = append(goldenImages, testutil.Golden(t, "preprocess", "images", n))
	}
	texts := filepath.Join(t.TempDir(), "texts.txt")
	if err := os.WriteFile(texts, []byte("a photo of a cat\n\nhello <|endoftext|> world\n一只猫\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		model       string
		args        []string
		images, txt int
	}{
		{"tiny_vit_b32", nil, 3, len(defaultParityTexts)},
		{"tiny_rn", append(append([]string{"--texts-file", texts, "--images"}, goldenImages...), "--tol", "encode_image=1e-5"), len(goldenImages), 4},
	} {
		t.Run(c.model, func(t *testing.T) {
			dir := testutil.ExportGolden(t, c.model)
			page := filepath.Join(t.TempDir(), "parity.html")
			args := append([]string{"parity", "--model", dir, "--device", "cpu", "--checkpoint",
				testutil.Golden(t, "models", c.model, "model.jit.pt"), "--json", "--html", page}, c.args...)
			code, out, errs := clipRun(t, "", args...)
			if code != 0 {
				t.Fatalf("status %d: %s\n%s", code, errs, out)
			}
			r := parseParity(t, out)
			if !r.Pass || r.FirstFailing != "" || !strings.HasPrefix(r.Verdict, "PASS") {
				t.Errorf("verdict %q, first failing %q", r.Verdict, r.FirstFailing)
			}
			if r.Versions.Torch == "" || r.Versions.Libtorch == "" || len(r.Versions.ArtifactSHA256) != 64 {
				t.Errorf("versions missing: %+v", r.Versions)
			}
			if len(r.Stages) != 6 {
				t.Fatalf("%d stages", len(r.Stages))
			}
			official := strings.HasPrefix(r.Versions.Reference, "official clip package")
			for i, want := range []string{"tokens", "pixels", "encode_image", "encode_text", "logits", "probs"} {
				st := r.Stages[i]
				if st.Name != want {
					t.Errorf("stage %d is %s, want %s", i, st.Name, want)
				}
				rows := c.images
				if want == "tokens" || want == "encode_text" {
					rows = c.txt
				}
				if st.Rows != rows {
					t.Errorf("%s: %d rows, want %d", want, st.Rows, rows)
				}
				switch {
				case want == "tokens" && !official:
					if st.Status != "not checked" {
						t.Errorf("tokens without the official package: status %q", st.Status)
					}
				case want == "tokens" || want == "pixels" || want == "encode_text":
					// exact stages, and the text tower is bit-identical on the same libtorch
					if st.Status != "pass" || st.Identical != st.Rows {
						t.Errorf("%s: %s, %d/%d rows identical", want, st.Status, st.Identical, st.Rows)
					}
				default:
					if st.Status != "pass" || st.MaxRel > 1e-5 {
						t.Errorf("%s: %s, max rel %g", want, st.Status, st.MaxRel)
					}
				}
			}
			b, err := os.ReadFile(page)
			if err != nil {
				t.Fatal(err)
			}
			html := string(b)
			for _, want := range []string{"goclip parity", "encode_image", "PASS", "data:image/jpeg;base64,", r.Versions.ArtifactSHA256} {
				if !strings.Contains(html, want) {
					t.Errorf("page lacks %q", want)
				}
			}
		})
	}
}

// TestParityPerturbed: an artifact exported from a copy of the checkpoint
// with one weight scaled by 1+1e-3, checked against the original, fails
// with exit 1 and names encode_image, the first stage that differs.
func TestParityPerturbed(t *testing.T) {
	t.Setenv("CLIP_VOCAB", vocab(t))
	t.Setenv("GOCLIP_PYTHON", testutil.Python())
	orig := testutil.Golden(t, "models", "tiny_vit_b32", "model.jit.pt")
	perturbed := filepath.Join(t.TempDir(), "perturbed.pt")
	script := `import sys, torch
sd = dict(torch.jit.load(sys.argv[1], map_location="cpu").state_dict())
sd["visual.conv1.weight"] = sd["visual.conv1.weight"].float() * (1 + 1e-3)
torch.save(sd, sys.argv[2])`
	if b, err := exec.Command(testutil.Python(), "-c", script, orig, perturbed).CombinedOutput(); err != nil {
		t.Fatalf("perturbing: %v\n%s", err, b)
	}
	dir := testutil.Export(t, perturbed, "perturbed")
	code, out, errs := clipRun(t, "", "parity", "--model", dir, "--device", "cpu", "--checkpoint", orig, "--json")
	if code != 1 {
		t.Fatalf("status %d, want 1: %s\n%s", code, errs, out)
	}
	if !strings.Contains(errs, "FAIL: first differing stage: encode_image") {
		t.Errorf("stderr %q does not name encode_image", errs)
	}
	r := parseParity(t, out)
	if r.Pass || r.FirstFailing != "encode_image" {
		t.Fatalf("pass %v, first failing %q", r.Pass, r.FirstFailing)
	}
	for _, st := range r.Stages {
		switch st.Name {
		case "pixels", "encode_text":
			if st.Status != "pass" {
				t.Errorf("%s: %s", st.Name, st.Status)
			}
		case "encode_image", "logits":
			if st.Status != "FAIL" || st.MaxRel <= 1e-5 || len(st.Worst) == 0 {
				t.Errorf("%s: %s, max rel %g, worst %v", st.Name, st.Status, st.MaxRel, st.Worst)
			}
		}
	}
	// The text report says the same, with the note about the source.
	code, out, _ = clipRun(t, "", "parity", "--model", dir, "--device", "cpu", "--checkpoint", orig)
	if code != 1 || !strings.Contains(out, "not from this checkpoint") || !strings.Contains(out, "encode_image  FAIL") {
		t.Errorf("status %d, report:\n%s", code, out)
	}
}

// TestParityNoTorch: a Python without torch (a fresh venv, which does not
// see the system's packages) is reported as such.
func TestParityNoTorch(t *testing.T) {
	t.Setenv("CLIP_VOCAB", vocab(t))
	dir := testutil.ExportGolden(t, "tiny_vit_b32") // with the Python that has torch
	venv := filepath.Join(t.TempDir(), "venv")
	if b, err := exec.Command(testutil.Python(), "-m", "venv", "--without-pip", venv).CombinedOutput(); err != nil {
		t.Fatalf("making a venv: %v\n%s", err, b)
	}
	py := filepath.Join(venv, "bin", "python3")
	t.Setenv("GOCLIP_PYTHON", py)
	code, out, errs := clipRun(t, "", "parity", "--model", dir, "--device", "cpu", "--checkpoint",
		testutil.Golden(t, "models", "tiny_vit_b32", "model.jit.pt"))
	if code != 1 || out != "" {
		t.Fatalf("status %d, stdout %q", code, out)
	}
	for _, want := range []string{"missing a package", py + " cannot import torch", "No module named 'torch'", "GOCLIP_PYTHON"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

// TestParityBadInput: a missing image is named before anything runs.
func TestParityBadInput(t *testing.T) {
	code, _, errs := clipRun(t, "", "parity", "--model", "x", "--images", "no-such.png")
	if code != 1 || !strings.Contains(errs, "no-such.png") {
		t.Errorf("status %d: %s", code, errs)
	}
}

// TestParityUsage: bad flags are usage errors (status 2).
func TestParityUsage(t *testing.T) {
	for _, args := range [][]string{
		{"parity"},
		{"parity", "--model", "x", "--tol", "bogus=1"},
		{"parity", "--model", "x", "--tol", "-1"},
		{"parity", "--model", "x", "extra"},
		{"parity", "--model", "x", "--images", "a.png", "--images-dir", "."},
	} {
		if code, _, errs := clipRun(t, "", args...); code != 2 {
			t.Errorf("%v: status %d: %s", args, code, errs)
		}
	}
}

// TestParityDemoModel: a tiny random model made by make_tiny.py before it
// kept checkpoint.pt (models/tiny-vit of an existing checkout; setup.sh does
// not remake it) needs no --checkpoint: parity regenerates the random
// checkpoint its manifest names, checks it against the manifest's
// source_sha256, and passes; a manifest whose source_sha256 does not match
// is refused with the recipe to recreate it.
func TestParityDemoModel(t *testing.T) {
	t.Setenv("CLIP_VOCAB", vocab(t))
	t.Setenv("GOCLIP_PYTHON", testutil.Python())
	model := filepath.Join(t.TempDir(), "tiny-vit")
	cmd := exec.Command(testutil.Python(), filepath.Join(testutil.RepoRoot(t), "export", "make_tiny.py"), "--arch", "tiny-vit", "--out", model)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make_tiny: %v\n%s", err, b)
	}
	if err := os.Remove(filepath.Join(model, "checkpoint.pt")); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(testutil.RepoRoot(t), "testdata", "images", "red-circle.png")
	code, out, errs := clipRun(t, "", "parity", "--model", model, "--device", "cpu", "--images", img)
	if code != 0 {
		t.Fatalf("status %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"random_checkpoint:tiny-vit:seed=1234 (regenerated)", "random weights", "PASS"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}

	man := filepath.Join(model, "manifest.json")
	b, err := os.ReadFile(man)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["source_sha256"] = strings.Repeat("0", 64)
	b, _ = json.Marshal(m)
	if err := os.WriteFile(man, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = clipRun(t, "", "parity", "--model", model, "--device", "cpu", "--images", img)
	if code != 1 || !strings.Contains(errs, "random_checkpoint.py --arch tiny-vit --seed 1234") {
		t.Errorf("a source_sha256 that does not match: status %d, stderr %q", code, errs)
	}
}

// officialStandIn stands in for the official clip package, which is not
// installable here: load builds the model with the export module (the
// official module tree) and the official transform, tokenize returns the
// official clip.tokenize ids recorded in the golden tokenizer file, with one
// id of the second text changed.
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
    return model.to(device).eval(), parity_ref.transform(arch["image_resolution"])

def tokenize(texts, context_length=77, truncate=False):
    rows = [list(_ids[t]) for t in texts]
    rows[1][1] += 1
    return torch.tensor(rows, dtype=torch.int)
`

// TestParityOfficialBranch drives parity_ref.py's official-package branch
// (with the stand-in above): the token ids are compared, the changed one
// fails the tokens stage, first in the chain, and the rest are identical.
func TestParityOfficialBranch(t *testing.T) {
	t.Setenv("CLIP_VOCAB", vocab(t))
	t.Setenv("GOCLIP_PYTHON", testutil.Python())
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
		if !c.TooLong && len(texts) < 12 && !strings.ContainsAny(c.Text, "\r\n") && strings.TrimSpace(c.Text) == c.Text && c.Text != "" {
			texts = append(texts, c.Text)
		}
	}
	textFile := filepath.Join(pkg, "texts.txt")
	if err := os.WriteFile(textFile, []byte(strings.Join(texts, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The ViT: its features through this stand-in's eager model are
	// bit-identical to the artifact's on every CPU seen. (The tiny ResNet's
	// eager image features came out 4e-7 relative off on one machine, within
	// tolerance but not identical.)
	model := testutil.ExportGolden(t, "tiny_vit_b32")
	code, out, errs := clipRun(t, "", "parity", "--json", "--model", model, "--device", "cpu", "--texts-file", textFile,
		"--checkpoint", testutil.Golden(t, "models", "tiny_vit_b32", "model.jit.pt"))
	if code != 1 {
		t.Fatalf("status %d, want 1\n%s%s", code, out, errs)
	}
	r := parseParity(t, out)
	if r.FirstFailing != "tokens" || !strings.Contains(r.Versions.Reference, "official clip package") {
		t.Errorf("first failing %q, reference %q", r.FirstFailing, r.Versions.Reference)
	}
	for _, s := range r.Stages {
		switch s.Name {
		case "tokens":
			if !strings.EqualFold(s.Status, "fail") || s.Rows != len(texts) || s.Identical != len(texts)-1 || len(s.Worst) != 1 || s.Worst[0].Input != texts[1] {
				t.Errorf("tokens %+v", s)
			}
		case "pixels", "encode_image":
			if !strings.EqualFold(s.Status, "pass") || s.Identical != s.Rows {
				t.Errorf("%s %+v", s.Name, s)
			}
		case "encode_text":
			if s.Identical != len(texts)-1 {
				t.Errorf("encode_text %+v: only the changed text's row should differ", s)
			}
		}
	}
}
