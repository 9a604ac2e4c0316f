// Package parity checks goclip against PyTorch on the user's machine: it
// runs the reference CLIP in Python (export/parity_ref.py: the official clip
// package when importable, else the project's export module) on the
// original checkpoint, runs goclip on the exported artifact with the same
// images and texts, and compares the chain stage by stage — token ids,
// preprocessed pixels, encode_image, encode_text, logits and zero-shot
// probabilities.
package parity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/download"
	"github.com/goclip/goclip/npy"
	"github.com/goclip/goclip/torch"
)

// Options says what to compare.
type Options struct {
	// Model is an official model name or an export directory (clip.Load).
	Model string
	// Checkpoint is the original checkpoint the reference loads: a file or
	// an official name. Empty: the official name's cached download, else
	// the file the artifact's manifest names as its source.
	Checkpoint string
	// Device and Precision are clip.Load's ("" means auto).
	Device, Precision string
	// Images and Texts are the inputs; each runs as one batch.
	Images []string
	Texts  []string
	// Tol holds --tol values (see ParseTolerances) applied over the
	// defaults of the resolved device and precision.
	Tol []string
	// Python runs RefScript (export/parity_ref.py).
	Python, RefScript string
	// Version is goclip's version, for the report.
	Version string
	// LoadOptions are passed to clip.Load after parity's own.
	LoadOptions []clip.Option
}

// Versions names what was compared.
type Versions struct {
	Goclip           string `json:"goclip"`
	Libtorch         string `json:"libtorch"`
	GoclipDevice     string `json:"goclip_device"`
	Precision        string `json:"precision"`
	ArtifactSHA256   string `json:"artifact_sha256"`
	ArtifactTorch    string `json:"artifact_torch"`
	Checkpoint       string `json:"checkpoint"`
	CheckpointSHA256 string `json:"checkpoint_sha256"`
	ReferenceVersions
	Reference string `json:"reference"` // the Python implementation used
}

// ReferenceVersions are the reference side's versions, as parity_ref.py
// reports them.
type ReferenceVersions struct {
	Python           string `json:"python"`
	PythonExecutable string `json:"python_executable"`
	Torch            string `json:"torch"`
	CUDA             string `json:"cuda"`
	Device           string `json:"device"`
	DeviceName       string `json:"device_name"`
	Torchvision      string `json:"torchvision,omitempty"`
	Pillow           string `json:"pillow,omitempty"`
}

// Report is the result of a parity run.
type Report struct {
	Model    string   `json:"model"`
	Artifact string   `json:"artifact"`
	Images   []string `json:"images"`
	Texts    []string `json:"texts"`
	Versions Versions `json:"versions"`
	Stages   []Stage  `json:"stages"`
	// Pass is true when no stage exceeds its tolerance.
	Pass bool `json:"pass"`
	// FirstFailing names the first failing stage in chain order.
	FirstFailing string   `json:"first_failing,omitempty"`
	Notes        []string `json:"notes,omitempty"`
	// ImageDiff is each image's largest encode_image difference.
	ImageDiff []float64 `json:"image_max_abs"`
}

// ErrNoTorch reports a reference Python that cannot import torch (or
// numpy, Pillow, torchvision); the message names the module.
var ErrNoTorch = errors.New("the reference Python is missing a package")

// Run compares goclip with the reference. The returned report's Pass says
// whether every stage is within tolerance; errors are for runs that could
// not compare at all.
func Run(ctx context.Context, o Options) (*Report, error) {
	if len(o.Images) == 0 || len(o.Texts) == 0 {
		return nil, errors.New("parity needs at least one image and one text")
	}
	if err := ParseTolerances(Tolerances{}, o.Tol); err != nil {
		return nil, err
	}
	// One batch for all images and one for all texts on both sides: BLAS
	// results can depend on the batch size in the last bits.
	loadOpts := []clip.Option{
		clip.WithDevice(orDefault(o.Device, "auto")),
		clip.WithPrecision(clip.Precision(orDefault(o.Precision, "auto"))),
		clip.WithTruncate(true),
		clip.WithBatchSize(max(len(o.Images), len(o.Texts))),
	}
	m, err := clip.Load(ctx, o.Model, append(loadOpts, o.LoadOptions...)...)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	info := m.Info()
	rep := &Report{Model: o.Model, Artifact: info.Artifact, Images: o.Images, Texts: o.Texts}
	man, _ := clip.ReadManifest(info.Dir)
	v := &rep.Versions
	v.Goclip, v.Libtorch, v.GoclipDevice, v.Precision = o.Version, torch.Version(), info.Device.String(), string(info.Precision)
	if man != nil {
		v.ArtifactSHA256, v.ArtifactTorch = man.ArtifactSHA256, man.TorchVersion
		if man.RandomWeights {
			rep.Notes = append(rep.Notes, "the model has random weights (a demo or test model)")
		}
	}
	tmp, err := os.MkdirTemp("", "goclip-parity-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	ckpt, err := findCheckpoint(ctx, o, man, tmp)
	if err != nil {
		return nil, err
	}
	v.Checkpoint = ckpt
	if strings.HasPrefix(ckpt, tmp) {
		v.Checkpoint = man.Source + " (regenerated)"
	}
	if v.CheckpointSHA256, err = download.SHA256File(ckpt); err != nil {
		return nil, err
	}
	if man != nil && man.SourceSHA256 != "" && !strings.EqualFold(man.SourceSHA256, v.CheckpointSHA256) {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the artifact was exported from a file with sha256 %s, not from this checkpoint", man.SourceSHA256))
	}

	tokens, err := goclipTokens(ctx, m, o.Texts)
	if err != nil {
		return nil, err
	}
	ref, err := runReference(ctx, o, tmp, ckpt, info, tokens)
	if err != nil {
		return nil, err
	}
	v.ReferenceVersions = ref.info.ReferenceVersions
	v.Reference = ref.info.Implementation

	got, err := runGoclip(ctx, m, o.Images, tokens, o.Texts)
	if err != nil {
		return nil, err
	}
	tol := DefaultTolerances(info.Device.String(), string(info.Precision))
	if err := ParseTolerances(tol, o.Tol); err != nil {
		return nil, err
	}
	rep.compareAll(got, ref, tol)
	return rep, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// compareAll fills the stage table, the verdict and the per-image diffs.
func (rep *Report) compareAll(got *goclipOutputs, ref *reference, tol Tolerances) {
	imgNames := baseNames(rep.Images)
	model := ref.info.Model
	add := func(name, reference string, g, w []float64, rows int, names []string) *Stage {
		st := Stage{Name: name, Reference: reference}
		compare(&st, g, w, rows, names, tol[name])
		rep.Stages = append(rep.Stages, st)
		return &rep.Stages[len(rep.Stages)-1]
	}
	if ref.tokens == nil {
		rep.Stages = append(rep.Stages, Stage{Name: StageTokens, Status: StatusNotChecked, Rows: len(got.tokens), Tol: tol[StageTokens],
			Reference: "none: the official clip package is not importable and the project has no Python tokenizer; " +
				"the reference text encoder ran on goclip's ids (goclip's tokenizer is tested against 417 texts of the official clip.tokenize)"})
	} else {
		var flat []int64
		for _, r := range got.tokens {
			for _, id := range r {
				flat = append(flat, int64(id))
			}
		}
		add(StageTokens, *ref.info.Tokens, int64s(flat), int64s(ref.tokens), len(rep.Texts), rep.Texts)
	}
	add(StagePixels, ref.info.Pixels, float32s(got.pixels), float32s(ref.pixels), len(rep.Images), imgNames)
	add(StageEncodeImage, model+", on the reference pixels", float32s(got.encodeImage.Data), float32s(ref.encodeImage), len(rep.Images), imgNames)
	txtInput := ", on the reference token ids"
	if ref.tokens == nil {
		txtInput = ", on goclip's token ids"
	}
	add(StageEncodeText, model+txtInput, float32s(got.encodeText.Data), float32s(ref.encodeText), len(rep.Texts), rep.Texts)
	add(StageLogits, "logits_per_image of the reference model(image, text)", float32s(got.logits.Data), float32s(ref.logits), len(rep.Images), imgNames)
	add(StageProbs, "logits_per_image.softmax(dim=-1) of the reference", float32s(got.probs), float32s(ref.probs), len(rep.Images), imgNames)
	rep.Pass = true
	for _, st := range rep.Stages {
		if st.Status == StatusFail {
			rep.Pass = false
			if rep.FirstFailing == "" {
				rep.FirstFailing = st.Name
			}
		}
	}
	rep.ImageDiff = rowMaxAbs(float32s(got.encodeImage.Data), float32s(ref.encodeImage), len(rep.Images))
}

// rowMaxAbs returns each row's largest |a-b| (nil on a shape mismatch).
func rowMaxAbs(a, b []float64, rows int) []float64 {
	if len(a) != len(b) || rows == 0 || len(a)%rows != 0 {
		return nil
	}
	cols := len(a) / rows
	out := make([]float64, rows)
	for r := range out {
		for c := 0; c < cols; c++ {
			d := a[r*cols+c] - b[r*cols+c]
			if d < 0 {
				d = -d
			}
			if d > out[r] || d != d {
				out[r] = d
			}
		}
	}
	return out
}

func baseNames(files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = filepath.Base(f)
	}
	return out
}

// findCheckpoint returns the original checkpoint file: --checkpoint (a
// file, or an official name's cached download), the official name's cached
// download, or the file the manifest records as its source. The random
// checkpoint a demo model was made from (make_tiny.py's source
// "random_checkpoint:ARCH:seed=N") is regenerated into tmp and checked
// against the manifest's source_sha256.
func findCheckpoint(ctx context.Context, o Options, man *clip.Manifest, tmp string) (string, error) {
	cand := o.Checkpoint
	if cand == "" {
		cand = o.Model
		if _, err := clip.LookupModel(cand); err != nil {
			cand = ""
		}
	}
	if cand == "" && man != nil {
		for _, s := range []string{man.SourcePath, man.Source} {
			if s == "" {
				continue
			}
			if st, err := os.Stat(s); err == nil && st.Mode().IsRegular() {
				return s, nil
			}
			if _, err := clip.LookupModel(s); err == nil {
				cand = s
				break
			}
		}
		if rest, ok := strings.CutPrefix(man.Source, "random_checkpoint:"); ok && cand == "" {
			arch, seed, _ := strings.Cut(rest, ":seed=")
			if p, err := regenerate(ctx, o, arch, seed, man.SourceSHA256, tmp); err == nil {
				return p, nil
			}
			return "", fmt.Errorf("%s was made from a random checkpoint that was not kept; recreate it with "+
				"%s export/random_checkpoint.py --arch %s --seed %s --out F and pass --checkpoint F", o.Model, o.Python, arch, seed)
		}
		if cand == "" {
			return "", fmt.Errorf("cannot find the original checkpoint of %s (its manifest names %q, which is not a file here); pass --checkpoint F",
				o.Model, joinNonEmpty(man.SourcePath, man.Source))
		}
	}
	if cand == "" {
		return "", fmt.Errorf("cannot find the original checkpoint of %s (no manifest); pass --checkpoint F", o.Model)
	}
	if st, err := os.Stat(cand); err == nil {
		if !st.Mode().IsRegular() {
			return "", fmt.Errorf("checkpoint %s is not a regular file", cand)
		}
		return cand, nil
	}
	spec, err := clip.LookupModel(cand)
	if err != nil {
		return "", fmt.Errorf("checkpoint %s: no such file, and %w", cand, err)
	}
	cache, err := download.CacheDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(cache, "checkpoints", spec.File)
	if err := download.Fetch(ctx, download.Options{URL: spec.URL, SHA256: spec.SHA256, Dest: path}); err != nil {
		return "", fmt.Errorf("fetching %s: %w", spec.Name, err)
	}
	return path, nil
}

// regenerate writes the random checkpoint of arch and seed
// (export/random_checkpoint.py, beside the reference script) into dir and
// checks its sha256 against want.
func regenerate(ctx context.Context, o Options, arch, seed, want, dir string) (string, error) {
	if _, err := strconv.Atoi(seed); err != nil || arch == "" || want == "" {
		return "", fmt.Errorf("random checkpoint %q seed %q", arch, seed)
	}
	p := filepath.Join(dir, "checkpoint-"+arch+".pt")
	script := filepath.Join(filepath.Dir(o.RefScript), "random_checkpoint.py")
	if b, err := exec.CommandContext(ctx, o.Python, script, "--arch", arch, "--seed", seed, "--out", p).CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: %s", err, b)
	}
	sum, err := download.SHA256File(p)
	if err != nil {
		return "", err
	}
	if !strings.EqualFold(sum, want) {
		return "", fmt.Errorf("the regenerated checkpoint has sha256 %s, the manifest says %s", sum, want)
	}
	return p, nil
}

func joinNonEmpty(a, b string) string {
	if a == "" || a == b {
		return b
	}
	if b == "" {
		return a
	}
	return a + `" or "` + b
}

// refInfo is parity_ref.py's info.json.
type refInfo struct {
	Implementation string  `json:"implementation"`
	Model          string  `json:"model"`
	Tokens         *string `json:"tokens"`
	Pixels         string  `json:"pixels"`
	ReferenceVersions
}

// reference holds the reference's outputs.
type reference struct {
	info                                           refInfo
	tokens                                         []int64 // nil when not checked
	pixels, encodeImage, encodeText, logits, probs []float32
}

// exitMissing is parity_ref.py's status when torch or an image library
// cannot be imported.
const exitMissing = 3

// runReference runs parity_ref.py and reads its outputs.
func runReference(ctx context.Context, o Options, dir, ckpt string, info clip.Info, tokens [][]int32) (*reference, error) {
	flat := make([]int64, 0, len(tokens)*info.ContextLength)
	for _, r := range tokens {
		for _, id := range r {
			flat = append(flat, int64(id))
		}
	}
	tokPath := filepath.Join(dir, "goclip_tokens.npy")
	if err := npy.WriteFile(tokPath, []int{len(tokens), len(flat) / max(len(tokens), 1)}, flat); err != nil {
		return nil, err
	}
	absImages := make([]string, len(o.Images))
	for i, f := range o.Images {
		a, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		absImages[i] = a
	}
	device := info.Device.String()
	req, err := json.Marshal(map[string]any{
		"checkpoint": ckpt, "images": absImages, "texts": o.Texts, "tokens": tokPath,
		"device": device, "precision": string(info.Precision),
	})
	if err != nil {
		return nil, err
	}
	reqPath := filepath.Join(dir, "request.json")
	if err := os.WriteFile(reqPath, req, 0o600); err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "ref")
	if err := os.Mkdir(out, 0o700); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, o.Python, o.RefScript, reqPath, out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndex(msg, "parity_ref: error: "); i >= 0 {
			msg = msg[i+len("parity_ref: error: "):]
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == exitMissing {
			return nil, fmt.Errorf("%w: %s", ErrNoTorch, msg)
		}
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("reference run (%s %s) failed: %s", o.Python, o.RefScript, msg)
	}
	ref := &reference{}
	b, err := os.ReadFile(filepath.Join(out, "info.json"))
	if err != nil {
		return nil, fmt.Errorf("reference wrote no info.json: %w", err)
	}
	if err := json.Unmarshal(b, &ref.info); err != nil {
		return nil, fmt.Errorf("reference info.json: %w", err)
	}
	if ref.info.Tokens != nil {
		a, err := npy.ReadFile(filepath.Join(out, "tokens.npy"))
		if err != nil {
			return nil, fmt.Errorf("reference tokens: %w", err)
		}
		if ref.tokens, err = a.Int64(); err != nil {
			return nil, fmt.Errorf("reference tokens: %w", err)
		}
	}
	for _, f := range []struct {
		name string
		dst  *[]float32
	}{{"pixels", &ref.pixels}, {"encode_image", &ref.encodeImage}, {"encode_text", &ref.encodeText},
		{"logits_per_image", &ref.logits}, {"probs", &ref.probs}} {
		a, err := npy.ReadFile(filepath.Join(out, f.name+".npy"))
		if err != nil {
			return nil, fmt.Errorf("reference %s: %w", f.name, err)
		}
		if *f.dst, err = a.Float32(); err != nil {
			return nil, fmt.Errorf("reference %s: %w", f.name, err)
		}
	}
	return ref, nil
}
