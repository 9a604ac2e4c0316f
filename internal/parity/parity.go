// Package parity checks goclip against the PyTorch reference on the
// user's own machine: it runs export/parity_ref.py (the official clip
// package when importable, else the project's export module) on the
// original checkpoint and goclip on the exported artifact, with the same
// images and texts, and compares them stage by stage: token ids,
// preprocessed pixels, encode_image, encode_text, logits and zero-shot
// probabilities. It backs "clip parity"; it is not part of the public API.
package parity

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/download"
	"github.com/goclip/goclip/internal/pyexport"
	"github.com/goclip/goclip/npy"
	"github.com/goclip/goclip/torch"
)

// DefaultTexts are the texts checked when none are given.
var DefaultTexts = []string{
	"a photo of a cat",
	"a photo of a dog",
	"a red circle",
	"a green triangle",
	"a blue square",
	"a diagram",
	"an empty room with a wooden floor",
	"Ein Foto von einem Hund, 2024!",
}

//go:embed demo/*
var demoImages embed.FS

// ErrReference reports that the Python reference could not run (no torch,
// no torchvision, a checkpoint it cannot read, ...).
var ErrReference = errors.New("reference run failed")

// ErrNoCheckpoint reports that no original checkpoint was given or found.
var ErrNoCheckpoint = errors.New("no original checkpoint")

// Options says what to check.
type Options struct {
	// Model is an official name or an export directory, as for clip.Load.
	Model string
	// Checkpoint is the original checkpoint the reference loads; empty:
	// the manifest's source when it is an existing file, or the cached
	// download of an official name.
	Checkpoint string
	// LoadOptions are passed to clip.Load (device, precision, vocabulary);
	// Run adds WithTruncate(true) and WithThreads(Threads).
	LoadOptions []clip.Option
	// Images are image files; empty: the built-in demo images, written to
	// a temporary folder that is gone when Run returns.
	Images []string
	// Texts are the texts; empty: DefaultTexts.
	Texts []string
	// Tolerances overrides the defaults of the device and precision, by
	// stage name.
	Tolerances map[string]Tolerance
	// TolSpec is "stage=value,..." applied after Tolerances.
	TolSpec string
	// Threads is the intra-op thread count of both sides (0: the cores
	// this process may use, at most 16), so that both split sums alike.
	Threads int
	// Python and Script override the interpreter (pyexport.Python) and
	// export/parity_ref.py (found beside export/export.py).
	Python, Script string
	// Version is goclip's version, reported as is.
	Version string
}

// Versions are what was compared.
type Versions struct {
	Goclip           string `json:"goclip"`
	Libtorch         string `json:"libtorch"`
	Reference        string `json:"reference"`
	Python           string `json:"python"`
	PythonTorch      string `json:"python_torch"`
	Torchvision      string `json:"torchvision,omitempty"`
	CUDA             string `json:"cuda,omitempty"`
	Device           string `json:"device"`
	DeviceName       string `json:"device_name"`
	Precision        string `json:"precision"`
	Threads          int    `json:"threads"`
	ArtifactSHA256   string `json:"artifact_sha256"`
	Checkpoint       string `json:"checkpoint"`
	CheckpointSHA256 string `json:"checkpoint_sha256"`
}

// Report is the outcome of a parity check.
type Report struct {
	Model         string   `json:"model"`
	Artifact      string   `json:"artifact"`
	RandomWeights bool     `json:"random_weights,omitempty"`
	Images        []string `json:"images"`
	Texts         []string `json:"texts"`
	Versions      Versions `json:"versions"`
	Stages        []Stage  `json:"stages"`
	// Verdict is PASS or FAIL; FirstFailure names the first failing stage.
	Verdict      string `json:"verdict"`
	FirstFailure string `json:"first_failure,omitempty"`
}

// Passed reports whether every checked stage is within its tolerance.
func (r *Report) Passed() bool { return r.Verdict == "PASS" }

// refMeta is parity_ref.py's meta.json.
type refMeta struct {
	Reference         string  `json:"reference"`
	OfficialTokenizer bool    `json:"official_tokenizer"`
	Python            string  `json:"python"`
	Torch             string  `json:"torch"`
	Torchvision       *string `json:"torchvision"`
	CUDA              *string `json:"cuda"`
	Device            string  `json:"device"`
	Threads           int     `json:"threads"`
}

// Run loads the model, runs both sides and compares them. An error means
// the check could not be made; a made check that fails is a Report whose
// Verdict is FAIL.
func Run(ctx context.Context, o Options) (*Report, error) {
	threads := o.Threads
	if threads <= 0 {
		threads = min(runtime.GOMAXPROCS(0), 16)
	}
	tmp, err := os.MkdirTemp("", "goclip-parity-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	images := o.Images
	if len(images) == 0 {
		if images, err = WriteDemoImages(filepath.Join(tmp, "images")); err != nil {
			return nil, err
		}
	}
	texts := o.Texts
	if len(texts) == 0 {
		texts = DefaultTexts
	}
	for _, t := range texts {
		if strings.ContainsAny(t, "\r\n") || strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("text %q: texts must be one non-blank line each", t)
		}
	}
	script, err := refScript(o.Script)
	if err != nil {
		return nil, err
	}

	m, err := clip.Load(ctx, o.Model, append(append([]clip.Option(nil), o.LoadOptions...), clip.WithTruncate(true), clip.WithThreads(threads))...)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	info := m.Info()
	if o.Python == "" {
		o.Python = pyexport.Python()
	}
	ckpt, ckptLabel, err := checkpointFor(ctx, o, info, tmp, filepath.Dir(script))
	if err != nil {
		return nil, err
	}
	cuda, fp16 := info.Device.IsCUDA(), info.Precision == clip.FP16
	tol := DefaultTolerances(cuda, fp16)
	for k, v := range o.Tolerances {
		if _, ok := tol[k]; !ok {
			return nil, fmt.Errorf("tolerance for unknown stage %q", k)
		}
		tol[k] = v
	}
	if err := ParseTolerances(o.TolSpec, tol); err != nil {
		return nil, err
	}

	// goclip: the whole chain, one batch of images and one of texts.
	gTokens, err := m.Tokenize(ctx, texts)
	if err != nil {
		return nil, err
	}
	pre := m.Preprocessor()
	gPixels := make([]float32, len(images)*pre.TensorLen())
	for _, e := range pre.BatchFiles(ctx, images, gPixels) {
		if e != nil {
			return nil, e
		}
	}
	gImg, err := m.EncodeImage(gPixels, len(images))
	if err != nil {
		return nil, err
	}
	gTxt, err := m.EncodeText(gTokens)
	if err != nil {
		return nil, err
	}
	gLogits, err := m.Logits(gImg, gTxt)
	if err != nil {
		return nil, err
	}
	gProbs := softmaxRows(gLogits.Data, gLogits.Cols)

	// the reference
	out := filepath.Join(tmp, "ref")
	meta, err := runReference(ctx, o.Python, script, tmp, out, ckpt, images, texts, gTokens, info, threads)
	if err != nil {
		return nil, err
	}
	ref := func(name string) ([]float32, error) {
		a, err := npy.ReadFile(filepath.Join(out, name+".npy"))
		if err != nil {
			return nil, fmt.Errorf("%w: reading its %s: %w", ErrReference, name, err)
		}
		return a.Float32()
	}

	imgNames, txtNames := displayNames(images), textNames(texts)
	imgFile := map[string]string{}
	for i, n := range imgNames {
		imgFile[n] = images[i]
	}
	var stages []Stage
	if meta.OfficialTokenizer {
		a, err := npy.ReadFile(filepath.Join(out, "tokens.npy"))
		if err != nil {
			return nil, fmt.Errorf("%w: reading its tokens: %w", ErrReference, err)
		}
		ids, err := a.Int64()
		if err != nil {
			return nil, fmt.Errorf("%w: reading its tokens: %w", ErrReference, err)
		}
		stages = append(stages, compareTokens(gTokens, ids, txtNames, tol[StageTokens]))
	} else {
		stages = append(stages, Stage{Name: StageTokens, Status: StatusNotChecked, Tolerance: tol[StageTokens], Rows: len(texts),
			Note: "the official clip package is not importable: the reference encoded goclip's token ids"})
	}
	for _, s := range []struct {
		stage, file string
		got         []float32
		names       []string
	}{
		{StagePixels, "pixels", gPixels, imgNames},
		{StageEncodeImage, "image_features", gImg.Data, imgNames},
		{StageEncodeText, "text_features", gTxt.Data, txtNames},
		{StageLogits, "logits_per_image", gLogits.Data, imgNames},
		{StageProbs, "probs", gProbs, imgNames},
	} {
		r, err := ref(s.file)
		if err != nil {
			return nil, err
		}
		st := compare(s.stage, s.got, r, s.names, tol[s.stage])
		if s.stage != StageEncodeText {
			for i := range st.Worst {
				st.Worst[i].File = imgFile[st.Worst[i].Input]
			}
		}
		stages = append(stages, st)
	}

	rep := &Report{
		Model: info.Name, Artifact: info.Artifact, RandomWeights: info.RandomWeights,
		Images: images, Texts: texts, Stages: stages, Verdict: "PASS",
		Versions: Versions{
			Goclip: o.Version, Libtorch: torch.Version(), Reference: meta.Reference,
			Python: meta.Python, PythonTorch: meta.Torch, Device: info.Device.String(), DeviceName: meta.Device,
			Precision: string(info.Precision), Threads: threads, Checkpoint: ckptLabel,
		},
	}
	if meta.Torchvision != nil {
		rep.Versions.Torchvision = *meta.Torchvision
	}
	if meta.CUDA != nil {
		rep.Versions.CUDA = *meta.CUDA
	}
	if man, err := clip.ReadManifest(info.Dir); err == nil {
		rep.Versions.ArtifactSHA256 = man.ArtifactSHA256
	}
	if rep.Versions.CheckpointSHA256, err = download.SHA256File(ckpt); err != nil {
		return nil, err
	}
	for _, s := range stages {
		if !s.Passed() {
			rep.Verdict, rep.FirstFailure = "FAIL", s.Name
			break
		}
	}
	return rep, nil
}

// checkpointFor is the original checkpoint of the model: given, else the
// manifest's source when it is an existing file or a random checkpoint
// (export/random_checkpoint.py, regenerated into tmp and checked against
// the manifest's source_sha256), else the cached download of the official
// name of the manifest's source or of the model. The label is what the
// report calls it.
func checkpointFor(ctx context.Context, o Options, info clip.Info, tmp, scriptDir string) (path, label string, err error) {
	if o.Checkpoint != "" {
		st, err := os.Stat(o.Checkpoint)
		if err != nil {
			return "", "", fmt.Errorf("checkpoint: %w", err)
		}
		if !st.Mode().IsRegular() {
			return "", "", fmt.Errorf("checkpoint %s is not a regular file", o.Checkpoint)
		}
		return o.Checkpoint, o.Checkpoint, nil
	}
	names := []string{o.Model}
	if man, err := clip.ReadManifest(info.Dir); info.Dir != "" && err == nil && man.Source != "" {
		if st, err := os.Stat(man.Source); err == nil && st.Mode().IsRegular() {
			return man.Source, man.Source, nil
		}
		if arch, seed, ok := randomSource(man.Source); ok {
			p, err := regenerate(ctx, o.Python, filepath.Join(scriptDir, "random_checkpoint.py"), arch, seed, man.SourceSHA256, tmp)
			return p, man.Source + " (regenerated)", err
		}
		names = append(names, man.Source) // an official name, exported by export.py NAME
	}
	for _, name := range names {
		spec, err := clip.LookupModel(name)
		if err != nil {
			continue
		}
		if cache, err := download.CacheDir(); err == nil {
			p := filepath.Join(cache, "checkpoints", spec.File)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, p, nil
			}
		}
	}
	return "", "", fmt.Errorf("%w for %s: the reference needs the checkpoint the artifact was exported from; give it with --checkpoint F", ErrNoCheckpoint, o.Model)
}

// randomSource parses the source "random_checkpoint:ARCH:seed=N" that
// make_tiny.py records.
func randomSource(src string) (arch, seed string, ok bool) {
	rest, ok := strings.CutPrefix(src, "random_checkpoint:")
	if !ok {
		return "", "", false
	}
	arch, seed, ok = strings.Cut(rest, ":seed=")
	if _, err := strconv.Atoi(seed); !ok || err != nil || arch == "" {
		return "", "", false
	}
	return arch, seed, true
}

// regenerate writes the random checkpoint of arch and seed into dir and
// checks its sha256 against want.
func regenerate(ctx context.Context, python, script, arch, seed, want, dir string) (string, error) {
	p := filepath.Join(dir, "checkpoint-"+arch+".pt")
	cmd := exec.CommandContext(ctx, python, script, "--arch", arch, "--seed", seed, "--out", p)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: regenerating the random checkpoint %s seed %s: %s", ErrNoCheckpoint, arch, seed, lastLine(string(b)))
	}
	sum, err := download.SHA256File(p)
	if err != nil {
		return "", err
	}
	if !strings.EqualFold(sum, want) {
		return "", fmt.Errorf("%w: the regenerated random checkpoint %s seed %s has sha256 %s, the manifest says %s (another torch?); give the original with --checkpoint F",
			ErrNoCheckpoint, arch, seed, sum, want)
	}
	return p, nil
}

// refScript is export/parity_ref.py: given, else beside export/export.py.
func refScript(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	exp, err := pyexport.Script()
	if err != nil {
		return "", fmt.Errorf("finding parity_ref.py: %w", err)
	}
	p := filepath.Join(filepath.Dir(exp), "parity_ref.py")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("finding parity_ref.py: %w", err)
	}
	return p, nil
}

// runReference writes the inputs into dir, runs the reference script into
// out and reads its meta.json.
func runReference(ctx context.Context, python, script, dir, out, ckpt string, images, texts []string, tokens [][]int32, info clip.Info, threads int) (*refMeta, error) {
	abs := make([]string, len(images))
	for i, p := range images {
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		abs[i] = a
	}
	list, textFile, tokFile := filepath.Join(dir, "images.txt"), filepath.Join(dir, "texts.txt"), filepath.Join(dir, "tokens.npy")
	if err := os.WriteFile(list, []byte(strings.Join(abs, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(textFile, []byte(strings.Join(texts, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	ctxLen := 0
	if len(tokens) > 0 {
		ctxLen = len(tokens[0])
	}
	flat := make([]int64, 0, len(tokens)*ctxLen)
	for _, row := range tokens {
		for _, v := range row {
			flat = append(flat, int64(v))
		}
	}
	if err := npy.WriteFile(tokFile, []int{len(tokens), ctxLen}, flat); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, python, script, "--checkpoint", ckpt, "--images-list", list, "--texts-file", textFile,
		"--device", info.Device.String(), "--precision", string(info.Precision), "--out", out,
		"--tokens-npy", tokFile, "--threads", strconv.Itoa(threads))
	n := strconv.Itoa(threads)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+n, "OPENBLAS_NUM_THREADS="+n, "MKL_NUM_THREADS="+n)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := lastLine(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("%w (%s %s): %s", ErrReference, python, filepath.Base(script), strings.TrimPrefix(msg, "parity_ref: error: "))
	}
	b, err := os.ReadFile(filepath.Join(out, "meta.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrReference, err)
	}
	var meta refMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("%w: meta.json: %w", ErrReference, err)
	}
	return &meta, nil
}

// writeDemoImages writes the embedded demo images into dir.
func WriteDemoImages(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(demoImages, "demo")
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, e := range entries {
		b, err := demoImages.ReadFile("demo/" + e.Name())
		if err != nil {
			return nil, err
		}
		p := filepath.Join(dir, e.Name())
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// displayNames are the images' base names, or their paths when two share
// a base name.
func displayNames(paths []string) []string {
	seen := map[string]int{}
	for _, p := range paths {
		seen[filepath.Base(p)]++
	}
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
		if seen[out[i]] > 1 {
			out[i] = p
		}
	}
	return out
}

// textNames are the texts quoted, shortened to 40 characters.
func textNames(texts []string) []string {
	out := make([]string, len(texts))
	for i, t := range texts {
		if utf8.RuneCountInString(t) > 40 {
			t = string([]rune(t)[:39]) + "…"
		}
		out[i] = strconv.Quote(t)
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
