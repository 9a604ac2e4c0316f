package main

import (
	"context"
	"fmt"
	"math"
	"runtime"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/pyexport"
	"github.com/goclip/goclip/npy"
)

// modelFlags are the flags of every command that loads a model.
var modelFlags = []flagSpec{
	{name: "model", kind: valueArg, usage: "official name (ViT-B/32, RN50, ...) or export directory"},
	{name: "device", kind: valueArg, usage: "auto (default), cpu, cuda or cuda:N"},
	{name: "precision", kind: valueArg, usage: "auto (default: fp16 on CUDA, fp32 on CPU), fp32 or fp16"},
	{name: "vocab", kind: valueArg, usage: "BPE vocabulary file (else $CLIP_VOCAB, else the cache, else download)"},
	{name: "threads", kind: valueArg, usage: "libtorch intra-op threads per call (default: the cores this process may use, at most 16)"},
	{name: "batch-size", kind: valueArg, usage: "images or texts per model call (default 32 on CPU, 256 on CUDA)"},
	{name: "workers", kind: valueArg, usage: "image preprocessing goroutines (default: all cores)"},
	{name: "truncate", kind: boolArg, usage: "truncate texts longer than the context instead of failing"},
	{name: "allow-unverified", kind: boolArg, usage: "load a bare TorchScript file that has no manifest (trusted files only)"},
	{name: "fast", kind: boolArg, usage: "let TorchScript fuse operators: faster, but CUDA fp16 outputs then differ from the reference (~2e-3)"},
}

// maxDefaultThreads caps the default thread count: past it, one call's
// batch no longer gets faster on more cores.
const maxDefaultThreads = 16

// defaultThreads is the libtorch thread count of a command without
// --threads: one process runs one call at a time, so it uses the cores it
// may (GOMAXPROCS, which follows the CPU affinity and cgroup limit), at most
// maxDefaultThreads.
func defaultThreads() int { return min(runtime.GOMAXPROCS(0), maxDefaultThreads) }

// loadModel loads the model named by --model with the common flags.
func loadModel(ctx context.Context, e *env, a *parsedArgs) (*clip.Model, error) {
	return loadModelNamed(ctx, e, a, a.str("model", ""))
}

// loadQueryModel loads the model named by --model and encodes the query
// text with it, for rank and search; the caller closes the model.
func loadQueryModel(ctx context.Context, e *env, a *parsedArgs, query string) (*clip.Model, []float32, error) {
	m, err := loadModel(ctx, e, a)
	if err != nil {
		return nil, nil, err
	}
	q, err := m.EncodeTexts(ctx, []string{query})
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, q.Row(0), nil
}

// loadModelNamed loads the model name with the common flags.
func loadModelNamed(ctx context.Context, e *env, a *parsedArgs, name string) (*clip.Model, error) {
	if name == "" {
		return nil, usagef("--model is required (one of %v, or an export directory)", clip.AvailableModels())
	}
	opts := []clip.Option{
		clip.WithDevice(a.str("device", "auto")),
		clip.WithPrecision(clip.Precision(a.str("precision", "auto"))),
		clip.WithTruncate(a.bools["truncate"]),
		clip.WithProgress(progressWriter(e)),
	}
	if v := a.str("vocab", ""); v != "" {
		opts = append(opts, clip.WithVocab(v))
	}
	for _, f := range []struct {
		name string
		opt  func(int) clip.Option
	}{{"threads", clip.WithThreads}, {"batch-size", clip.WithBatchSize}, {"workers", clip.WithWorkers}} {
		n, err := a.integer(f.name, 0)
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, usagef("--%s must not be negative", f.name)
		}
		if f.name == "threads" && a.str("threads", "") == "" {
			n = defaultThreads()
		}
		if n > 0 {
			opts = append(opts, f.opt(n))
		}
	}
	if a.bools["fast"] {
		opts = append(opts, clip.WithOptimize(true))
	}
	if a.bools["allow-unverified"] {
		opts = append(opts, clip.AllowUnverified())
	}
	return clip.Load(ctx, name, opts...)
}

func embedCmd() *command {
	flags := append([]flagSpec{
		{name: "o", kind: valueArg, usage: "output .npy: float32 [N,D] features, or [N_images,N_texts] logits"},
		{name: "pixels-npy", kind: valueArg, usage: "input: preprocessed float32 [N,3,R,R] .npy"},
		{name: "tokens-npy", kind: valueArg, usage: "input: int32 or int64 [N,L] token ids .npy"},
		{name: "image", kind: multiArg, usage: "input: image files"},
		{name: "text", kind: multiArg, usage: "input: texts"},
		{name: "images-dir", kind: valueArg, usage: "input: every image below DIR (writes OUT.npy and OUT.jsonl)"},
		{name: "logits", kind: boolArg, usage: "with one image and one text input: write logits_per_image"},
		{name: "shard", kind: valueArg, usage: "with --images-dir or --input: i/n, embed the i-th of n shards (0-based); with --input also auto (Kubernetes/Slurm index)"},
		{name: "no-resume", kind: boolArg, usage: "with --images-dir: start over instead of resuming"},
	}, append(layoutFlags, modelFlags...)...)
	return &command{
		name:    "embed",
		summary: "encode images or texts (or compute logits) with a model; writes .npy",
		usage:   "embed --model M [--device D] [--precision fp32|fp16] -o OUT.npy (--pixels-npy F | --tokens-npy F | --image FILE... | --text T... | --images-dir DIR) [--logits]\n   or: clip embed --model M --input SPEC --layout clip-retrieval -o OUTDIR [--shard auto|i/n] [--dtype f16|f32] [--normalize]",
		flags:   flags,
		argHint: "inputs go after --image or --text; quote a text with spaces",
		run:     runEmbed,
	}
}

func runEmbed(ctx context.Context, e *env, a *parsedArgs) error {
	out := a.str("o", "")
	if out == "" {
		return usagef("-o OUT.npy is required")
	}
	if isLayoutEmbed(a) {
		return runEmbedLayout(ctx, e, a, out)
	}
	var imageKinds, textKinds []string
	for _, k := range []string{"pixels-npy", "image", "images-dir"} {
		if len(a.values[k]) > 0 {
			imageKinds = append(imageKinds, "--"+k)
		}
	}
	for _, k := range []string{"tokens-npy", "text"} {
		if len(a.values[k]) > 0 {
			textKinds = append(textKinds, "--"+k)
		}
	}
	if len(imageKinds) > 1 || len(textKinds) > 1 {
		return usagef("give one image input and/or one text input, got %v %v", imageKinds, textKinds)
	}
	if a.bools["logits"] {
		if len(imageKinds) != 1 || len(textKinds) != 1 || imageKinds[0] == "--images-dir" {
			return usagef("--logits needs one image input (--pixels-npy or --image) and one text input (--tokens-npy or --text)")
		}
	} else if len(imageKinds)+len(textKinds) != 1 {
		return usagef("give exactly one input: --pixels-npy, --tokens-npy, --image, --text or --images-dir")
	}
	if len(imageKinds) == 1 && imageKinds[0] == "--images-dir" {
		return runEmbedDir(ctx, e, a, out)
	}
	if a.str("shard", "") != "" || a.bools["no-resume"] {
		return usagef("--shard and --no-resume go with --images-dir")
	}
	m, err := loadModel(ctx, e, a)
	if err != nil {
		return err
	}
	defer m.Close()
	var img, txt clip.Matrix
	haveImg, haveTxt := len(imageKinds) == 1, len(textKinds) == 1
	if haveImg {
		if img, err = imageFeatures(ctx, m, a); err != nil {
			return err
		}
	}
	if haveTxt {
		if txt, err = textFeatures(ctx, m, a); err != nil {
			return err
		}
	}
	res := img
	switch {
	case a.bools["logits"]:
		if res, err = m.Logits(img, txt); err != nil {
			return err
		}
	case haveTxt:
		res = txt
	}
	return npy.WriteFile(out, res.Shape(), res.Data)
}

func imageFeatures(ctx context.Context, m *clip.Model, a *parsedArgs) (clip.Matrix, error) {
	if files := a.values["image"]; len(files) > 0 {
		f, errs, err := m.EncodeImageFiles(ctx, files)
		if err != nil {
			return clip.Matrix{}, err
		}
		if err := firstFileError(files, errs); err != nil {
			return clip.Matrix{}, err
		}
		return f, nil
	}
	path := a.str("pixels-npy", "")
	arr, err := npy.ReadFile(path)
	if err != nil {
		return clip.Matrix{}, &exitError{code: 1, msg: err.Error()}
	}
	r := m.Info().ImageResolution
	px, ok := arr.Data.([]float32)
	if !ok || len(arr.Shape) != 4 || arr.Shape[1] != 3 || arr.Shape[2] != arr.Shape[3] {
		return clip.Matrix{}, &exitError{code: 1, msg: fmt.Sprintf("%s: want float32 [N,3,R,R] pixels, got %s %v", path, arr.DType, arr.Shape)}
	}
	if r > 0 && arr.Shape[2] != r {
		return clip.Matrix{}, &exitError{code: 1, msg: fmt.Sprintf("%s: images are %dx%d, the model takes %dx%d", path, arr.Shape[2], arr.Shape[3], r, r)}
	}
	n, plane := arr.Shape[0], 3*arr.Shape[2]*arr.Shape[3]
	return inBatches(n, m.BatchSize(), func(s, e int) (clip.Matrix, error) {
		return m.EncodeImage(px[s*plane:e*plane], e-s)
	})
}

func textFeatures(ctx context.Context, m *clip.Model, a *parsedArgs) (clip.Matrix, error) {
	if texts := a.values["text"]; len(texts) > 0 {
		return m.EncodeTexts(ctx, texts)
	}
	path := a.str("tokens-npy", "")
	arr, err := npy.ReadFile(path)
	if err != nil {
		return clip.Matrix{}, &exitError{code: 1, msg: err.Error()}
	}
	ids64, err := arr.Int64()
	if err != nil || len(arr.Shape) != 2 || (arr.DType != "<i4" && arr.DType != "<i8") {
		return clip.Matrix{}, &exitError{code: 1, msg: fmt.Sprintf("%s: want int32 or int64 [N,L] tokens, got %s %v", path, arr.DType, arr.Shape)}
	}
	ids := make([]int32, len(ids64))
	for i, v := range ids64 {
		ids[i] = int32(max(-1, min(v, math.MaxInt32))) // out of range stays out of the vocabulary
	}
	n, l := arr.Shape[0], arr.Shape[1]
	return inBatches(n, m.BatchSize(), func(s, e int) (clip.Matrix, error) {
		return m.EncodeTokens(ids[s*l:e*l], e-s, l)
	})
}

// inBatches calls fn on [s,e) ranges of at most bs rows and stacks the results.
func inBatches(n, bs int, fn func(s, e int) (clip.Matrix, error)) (clip.Matrix, error) {
	if n == 0 {
		return clip.Matrix{}, &exitError{code: 1, msg: "the input holds no rows"}
	}
	var out clip.Matrix
	for s := 0; s < n; s += bs {
		f, err := fn(s, min(s+bs, n))
		if err != nil {
			return clip.Matrix{}, err
		}
		out.Rows += f.Rows
		out.Cols = f.Cols
		out.Data = append(out.Data, f.Data...)
	}
	return out, nil
}

func exportCmd() *command {
	return &command{
		name:    "export",
		summary: "export an official checkpoint to a TorchScript artifact (runs export/export.py)",
		usage:   "export --checkpoint SRC --out DIR [--name NAME] [--cache-dir D]",
		flags: []flagSpec{
			{name: "checkpoint", kind: valueArg, usage: "a checkpoint file (TorchScript archive or state_dict) or an official name"},
			{name: "out", kind: valueArg, usage: "output directory (model.pt + manifest.json)"},
			{name: "name", kind: valueArg, usage: "model name recorded in the manifest"},
			{name: "cache-dir", kind: valueArg, usage: "where official checkpoints are downloaded"},
		},
		run: func(ctx context.Context, e *env, a *parsedArgs) error {
			if a.str("checkpoint", "") == "" || a.str("out", "") == "" {
				return usagef("--checkpoint and --out are required")
			}
			script, err := pyexport.Script()
			if err != nil {
				return err
			}
			args := []string{script}
			for _, k := range []string{"checkpoint", "out", "name", "cache-dir"} {
				if v := a.str(k, ""); v != "" {
					args = append(args, "--"+k, v)
				}
			}
			return runPython(ctx, e, args)
		},
	}
}
