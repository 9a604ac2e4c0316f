package clip

import (
	"context"
	"errors"
	"fmt"
	"image"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/goclip/goclip/internal/half"
	"github.com/goclip/goclip/preprocess"
	"github.com/goclip/goclip/tokenizer"
	"github.com/goclip/goclip/torch"
)

// Info describes a loaded model.
type Info struct {
	Name            string       // official name or the manifest's name
	Family          string       // "vit" or "resnet"
	ImageResolution int          // input side in pixels
	ContextLength   int          // text tokens per row
	EmbedDim        int          // feature dimension
	VocabSize       int          // token vocabulary size
	Device          torch.Device // where the model runs
	Precision       Precision    // FP32 or FP16
	Threads         int          // libtorch intra-op threads per run (0: libtorch's default)
	TorchVersion    string       // torch that exported the artifact
	Dir             string       // export directory ("" for a bare file)
	Artifact        string       // path of the TorchScript file
	// RandomWeights is true for a model with random weights (the tiny
	// demo and test models): its results mean nothing, and outputs should
	// say so.
	RandomWeights bool
}

// ErrClosed is returned by a Model's methods after Close.
var ErrClosed = errors.New("clip: model is closed")

// ErrInput reports inputs of the wrong shape, dtype or range.
var ErrInput = errors.New("clip: invalid input")

// Model is a loaded CLIP model. It is safe for concurrent use.
type Model struct {
	mod       *torch.Module
	info      Info
	manifest  *Manifest
	cfg       config
	halfParam bool

	tokLoad chan struct{} // held (capacity 1) while the vocabulary loads
	tok     atomic.Pointer[tokenizer.Tokenizer]

	preOnce sync.Once
	pre     *preprocess.Preprocessor

	classifiers *lru[*Classifier] // classifierKey -> classifier, bounded

	hasU8 bool // the artifact has encode_image_u8
}

// Load loads a model by official name (downloaded, verified and exported on
// first use into the cache) or from an export directory (or the model.pt in
// one). The manifest's sha256 of the artifact is checked before libtorch
// sees the file.
func Load(ctx context.Context, nameOrPath string, opts ...Option) (*Model, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	// Open the shim first: its failure (a *torch.LibraryError naming every
	// place tried) is the error to show, before any download.
	if err := torch.Init(); err != nil {
		return nil, err
	}
	dev, err := torch.ParseDevice(cfg.device)
	if err != nil {
		return nil, err
	}
	prec := cfg.precision
	switch prec {
	case PrecisionAuto, "":
		prec = FP32
		if dev.IsCUDA() {
			prec = FP16
		}
	case FP32:
	case FP16:
		if !dev.IsCUDA() {
			return nil, fmt.Errorf("clip: fp16 needs a CUDA device (device %s); use fp32 on the CPU, as the reference does", dev)
		}
	default:
		return nil, fmt.Errorf("clip: unknown precision %q (want auto, fp32 or fp16)", prec)
	}
	runtimeTorch := torch.Version()
	dir, bare, err := resolve(ctx, nameOrPath, &cfg, runtimeTorch)
	if err != nil {
		return nil, err
	}
	info := Info{Device: dev, Precision: prec, Threads: cfg.threads}
	var man *Manifest
	artifact := bare
	if dir != "" {
		man, err = ReadManifest(dir)
		if err != nil {
			return nil, err
		}
		if err := man.Verify(dir, runtimeTorch); err != nil {
			return nil, err
		}
		artifact = man.ArtifactPath(dir)
		info.Name, info.Family = man.Name, man.Family
		info.ImageResolution, info.ContextLength = man.ImageResolution, man.ContextLength
		info.EmbedDim, info.VocabSize = man.EmbedDim, man.VocabSize
		info.TorchVersion, info.Dir = man.TorchVersion, dir
		info.RandomWeights = man.RandomWeights
	}
	info.Artifact = artifact
	mod, err := torch.Load(artifact, torch.WithDevice(dev), torch.WithThreads(cfg.threads), torch.WithOptimize(cfg.optimize))
	if err != nil {
		return nil, err
	}
	m := &Model{mod: mod, info: info, manifest: man, cfg: cfg, classifiers: newLRU[*Classifier](cfg.classifierCache), tokLoad: make(chan struct{}, 1)}
	if prec == FP16 {
		if man == nil {
			mod.Close()
			return nil, errors.New("clip: fp16 needs the manifest's list of half parameters; load an export directory")
		}
		if err := mod.CastParams(man.HalfParams, torch.Float16); err != nil {
			mod.Close()
			return nil, err
		}
	}
	if err := m.checkMethods(); err != nil {
		mod.Close()
		return nil, err
	}
	return m, nil
}

func (m *Model) checkMethods() error {
	have, err := m.mod.Methods()
	if err != nil {
		return err
	}
	set := map[string]bool{}
	for _, h := range have {
		set[h] = true
	}
	for _, need := range []string{"encode_image", "encode_text", "forward"} {
		if !set[need] {
			return fmt.Errorf("clip: %s is not a CLIP artifact: it has no %s method", m.info.Artifact, need)
		}
	}
	m.hasU8 = set["encode_image_u8"]
	return nil
}

// Info describes the model.
func (m *Model) Info() Info { return m.info }

// Close frees the model. It is idempotent.
func (m *Model) Close() error { return m.mod.Close() }

func (m *Model) torchErr(err error) error {
	if errors.Is(err, torch.ErrClosed) {
		return ErrClosed
	}
	return err
}

// EncodeImage returns image features [n, EmbedDim] (unnormalised, like the
// reference's encode_image) for n preprocessed images in pixels, a
// contiguous float32 [n, 3, R, R] buffer.
func (m *Model) EncodeImage(pixels []float32, n int) (Matrix, error) {
	r := m.info.ImageResolution
	if n <= 0 {
		return Matrix{}, fmt.Errorf("%w: image count %d", ErrInput, n)
	}
	if r > 0 && len(pixels) != n*3*r*r {
		return Matrix{}, fmt.Errorf("%w: %d images of 3x%dx%d need %d values, got %d", ErrInput, n, r, r, n*3*r*r, len(pixels))
	}
	if r == 0 { // bare file: infer a square resolution
		side := 0
		for side*side*3*n < len(pixels) {
			side++
		}
		if side*side*3*n != len(pixels) {
			return Matrix{}, fmt.Errorf("%w: %d values are not %d square RGB images", ErrInput, len(pixels), n)
		}
		r = side
	}
	t := torch.Tensor{Shape: []int64{int64(n), 3, int64(r), int64(r)}, DType: torch.Float32, Data: pixels}
	return m.features("encode_image", t)
}

// EncodeImageU8 returns image features [n, EmbedDim] for n images given as
// resized, cropped RGB pixels: a contiguous uint8 [n, R, R, 3] buffer (what
// preprocess's U8 functions produce). The last steps of the reference
// transform (ToTensor, Normalize) run on the model's device with
// torchvision's float32 arithmetic, so the features equal EncodeImage's on
// the normalised pixels bit for bit, while a quarter of the bytes cross to
// a GPU. Artifacts exported before encode_image_u8 existed are served by
// normalising here.
func (m *Model) EncodeImageU8(pixels []uint8, n int) (Matrix, error) {
	r := m.info.ImageResolution
	if n <= 0 || r == 0 || len(pixels) != n*r*r*3 {
		return Matrix{}, fmt.Errorf("%w: %d bytes for %d images of %dx%dx3", ErrInput, len(pixels), n, r, r)
	}
	if !m.hasU8 {
		f := make([]float32, n*3*r*r)
		for i := 0; i < n; i++ {
			if err := preprocess.Normalize(pixels[i*r*r*3:(i+1)*r*r*3], r, f[i*3*r*r:(i+1)*3*r*r]); err != nil {
				return Matrix{}, err
			}
		}
		return m.EncodeImage(f, n)
	}
	t := torch.Tensor{Shape: []int64{int64(n), int64(r), int64(r), 3}, DType: torch.Uint8, Data: pixels}
	return m.features("encode_image_u8", t)
}

// EncodeText returns text features [len(tokens), EmbedDim] for token rows of
// the model's context length (as Tokenize makes them).
func (m *Model) EncodeText(tokens [][]int32) (Matrix, error) {
	t, err := m.tokenTensor(tokens)
	if err != nil {
		return Matrix{}, err
	}
	return m.features("encode_text", t)
}

// EncodeTokens is EncodeText over a flat [n, length] buffer of token ids.
func (m *Model) EncodeTokens(tokens []int32, n, length int) (Matrix, error) {
	t, err := m.flatTokenTensor(tokens, n, length)
	if err != nil {
		return Matrix{}, err
	}
	return m.features("encode_text", t)
}

// tokenTensor flattens token rows into the int64 [n, length] tensor the
// model takes, checking them as EncodeTokens does.
func (m *Model) tokenTensor(tokens [][]int32) (torch.Tensor, error) {
	if len(tokens) == 0 {
		return torch.Tensor{}, fmt.Errorf("%w: no token rows", ErrInput)
	}
	l := len(tokens[0])
	flat := make([]int32, 0, len(tokens)*l)
	for i, row := range tokens {
		if len(row) != l {
			return torch.Tensor{}, fmt.Errorf("%w: token row %d has %d tokens, row 0 has %d", ErrInput, i, len(row), l)
		}
		flat = append(flat, row...)
	}
	return m.flatTokenTensor(flat, len(tokens), l)
}

// flatTokenTensor checks a flat [n, length] buffer against the model's
// context length and vocabulary and widens it to the int64 tensor the
// model takes (the reference's tokens are int64 once on the device).
func (m *Model) flatTokenTensor(tokens []int32, n, length int) (torch.Tensor, error) {
	if n <= 0 || length <= 0 || len(tokens) != n*length {
		return torch.Tensor{}, fmt.Errorf("%w: %d token ids for %d rows of %d", ErrInput, len(tokens), n, length)
	}
	if c := m.info.ContextLength; c > 0 && length != c {
		return torch.Tensor{}, fmt.Errorf("%w: token rows have %d ids; the model's context length is %d", ErrInput, length, c)
	}
	v := m.info.VocabSize
	wide := make([]int64, len(tokens))
	for i, id := range tokens {
		if id < 0 || (v > 0 && int(id) >= v) {
			return torch.Tensor{}, fmt.Errorf("%w: token id %d at row %d, position %d is outside the vocabulary [0, %d)", ErrInput, id, i/length, i%length, v)
		}
		wide[i] = int64(id)
	}
	return torch.Tensor{Shape: []int64{int64(n), int64(length)}, DType: torch.Int64, Data: wide}, nil
}

func (m *Model) features(method string, in torch.Tensor) (Matrix, error) {
	outs, err := m.mod.RunFloat32(method, in)
	if err != nil {
		return Matrix{}, m.torchErr(err)
	}
	return toMatrix(outs[0], method)
}

func toMatrix(t torch.Tensor, what string) (Matrix, error) {
	d, err := t.Float32s()
	if err != nil || len(t.Shape) != 2 {
		return Matrix{}, fmt.Errorf("clip: %s returned %s %v, want a 2-D float tensor", what, t.DType, t.Shape)
	}
	return Matrix{Rows: int(t.Shape[0]), Cols: int(t.Shape[1]), Data: d}, nil
}

// featureTensor builds the model-dtype tensor of a feature matrix: float16 for
// fp16 models (features widened from float16 convert back exactly).
func (m *Model) featureTensor(f Matrix) torch.Tensor {
	shape := []int64{int64(f.Rows), int64(f.Cols)}
	if m.info.Precision != FP16 {
		return torch.Tensor{Shape: shape, DType: torch.Float32, Data: f.Data}
	}
	h := make([]uint16, len(f.Data))
	for i, v := range f.Data {
		h[i] = half.FromFloat32(v)
	}
	return torch.Tensor{Shape: shape, DType: torch.Float16, Data: h}
}

// Logits returns logits_per_image [images.Rows, texts.Rows] from features,
// computed by the model as the reference's forward does: both normalised,
// scaled by logit_scale.exp(). logits_per_text is its transpose.
func (m *Model) Logits(images, texts Matrix) (Matrix, error) {
	if err := images.check(); err != nil {
		return Matrix{}, err
	}
	if err := texts.check(); err != nil {
		return Matrix{}, err
	}
	if images.Cols != texts.Cols || (m.info.EmbedDim > 0 && images.Cols != m.info.EmbedDim) {
		return Matrix{}, fmt.Errorf("%w: feature widths %d and %d (model: %d)", ErrInput, images.Cols, texts.Cols, m.info.EmbedDim)
	}
	outs, err := m.mod.RunFloat32("logits", m.featureTensor(images), m.featureTensor(texts))
	if err != nil {
		return Matrix{}, m.torchErr(err)
	}
	return toMatrix(outs[0], "logits")
}

// Forward runs the model's forward on preprocessed pixels [nImages,3,R,R]
// and token rows, returning logits_per_image.
func (m *Model) Forward(pixels []float32, nImages int, tokens [][]int32) (Matrix, error) {
	r := m.info.ImageResolution
	if nImages <= 0 || len(pixels) != nImages*3*r*r {
		return Matrix{}, fmt.Errorf("%w: %d values for %d images of 3x%dx%d", ErrInput, len(pixels), nImages, r, r)
	}
	txt, err := m.tokenTensor(tokens)
	if err != nil {
		return Matrix{}, err
	}
	img := torch.Tensor{Shape: []int64{int64(nImages), 3, int64(r), int64(r)}, DType: torch.Float32, Data: pixels}
	outs, err := m.mod.RunFloat32("forward", img, txt)
	if err != nil {
		return Matrix{}, m.torchErr(err)
	}
	return toMatrix(outs[0], "forward")
}

// LogitScale returns exp(logit_scale), the temperature of the logits.
func (m *Model) LogitScale() (float32, error) {
	outs, err := m.mod.RunFloat32("logit_scale_exp")
	if err != nil {
		return 0, m.torchErr(err)
	}
	d, err := outs[0].Float32s()
	if err != nil || len(d) != 1 {
		return 0, fmt.Errorf("clip: logit_scale_exp returned %v", outs[0].Shape)
	}
	return d[0], nil
}

// Tokenizer returns the model's tokenizer, loading the vocabulary on first
// use (see FindVocab: this may download it, so ctx bounds the wait). A
// failed or cancelled load is not remembered: the next call tries again.
func (m *Model) Tokenizer(ctx context.Context) (*tokenizer.Tokenizer, error) {
	if tok := m.tok.Load(); tok != nil {
		return tok, nil
	}
	select { // one load at a time; the others wait for it, or for their ctx
	case m.tokLoad <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-m.tokLoad }()
	if tok := m.tok.Load(); tok != nil {
		return tok, nil
	}
	tok, err := LoadTokenizer(ctx, m.cfg.vocab)
	if err != nil {
		return nil, err
	}
	m.tok.Store(tok)
	return tok, nil
}

// Tokenize turns texts into token rows of the model's context length, with
// the reference's clip.tokenize semantics (truncation per WithTruncate). It
// loads the vocabulary on first use (see Tokenizer).
func (m *Model) Tokenize(ctx context.Context, texts []string) ([][]int32, error) {
	tok, err := m.Tokenizer(ctx)
	if err != nil {
		return nil, err
	}
	ctxLen := m.info.ContextLength
	if ctxLen == 0 {
		ctxLen = tokenizer.DefaultContextLength
	}
	return tok.Tokenize(texts, ctxLen, m.cfg.truncate)
}

// EncodeTexts tokenizes and encodes texts in batches of BatchSize,
// returning their features [len(texts), EmbedDim]. It stops with ctx's
// error when ctx is done before a batch.
func (m *Model) EncodeTexts(ctx context.Context, texts []string) (Matrix, error) {
	if len(texts) == 0 {
		return Matrix{}, fmt.Errorf("%w: no texts", ErrInput)
	}
	rows, err := m.Tokenize(ctx, texts)
	if err != nil {
		return Matrix{}, err
	}
	return m.inBatches(ctx, len(rows), func(s, e int) (Matrix, error) { return m.EncodeText(rows[s:e]) })
}

// inBatches calls encode on [s, e) ranges of at most BatchSize items,
// checking ctx before each, and stacks the feature rows.
func (m *Model) inBatches(ctx context.Context, n int, encode func(s, e int) (Matrix, error)) (Matrix, error) {
	out := Matrix{Cols: m.info.EmbedDim}
	bs := m.BatchSize()
	for s := 0; s < n; s += bs {
		if err := ctx.Err(); err != nil {
			return Matrix{}, err
		}
		f, err := encode(s, min(s+bs, n))
		if err != nil {
			return Matrix{}, err
		}
		out.Cols = f.Cols
		out.Rows += f.Rows
		out.Data = append(out.Data, f.Data...)
	}
	return out, nil
}

// BatchSize is how many images or texts the convenience encoders send to
// the model at once: WithBatchSize's value, else 256 for fp16 models and 32
// otherwise.
func (m *Model) BatchSize() int {
	if m.cfg.batchSize > 0 {
		return m.cfg.batchSize
	}
	if m.info.Precision == FP16 {
		return 256
	}
	return 32
}

// Preprocessor returns the image preprocessor for the model's resolution.
func (m *Model) Preprocessor() *preprocess.Preprocessor {
	m.preOnce.Do(func() {
		workers := m.cfg.workers
		if workers <= 0 {
			workers = runtime.GOMAXPROCS(0)
		}
		m.pre = preprocess.New(m.info.ImageResolution, preprocess.WithWorkers(workers))
	})
	return m.pre
}

// EncodeImageFiles preprocesses and encodes image files in batches. The
// returned slice holds one error per file (nil when it was encoded); the
// feature row of a failed file is zero. The error result is for failures of
// the model itself.
func (m *Model) EncodeImageFiles(ctx context.Context, paths []string) (Matrix, []error, error) {
	if m.info.ImageResolution == 0 {
		return Matrix{}, nil, errNoResolution
	}
	bs := m.BatchSize()
	pix := newPixelIO(m, bs)
	buf := pix.alloc()
	out := NewMatrix(len(paths), m.info.EmbedDim)
	errs := make([]error, len(paths))
	for start := 0; start < len(paths); start += bs {
		if err := ctx.Err(); err != nil {
			return Matrix{}, nil, err
		}
		end := min(start+bs, len(paths))
		copy(errs[start:end], pix.fill(ctx, paths[start:end], buf))
		f, err := pix.encode(buf, end-start)
		if err != nil {
			return Matrix{}, nil, err
		}
		for i := start; i < end; i++ {
			if errs[i] == nil {
				copy(out.Row(i), f.Row(i-start))
			}
		}
	}
	return out, errs, nil
}

// EncodeImages preprocesses and encodes decoded Go images in batches of
// BatchSize, returning their features [len(imgs), EmbedDim]. It stops with
// ctx's error when ctx is done before an image or a batch.
func (m *Model) EncodeImages(ctx context.Context, imgs []image.Image) (Matrix, error) {
	if len(imgs) == 0 {
		return Matrix{}, fmt.Errorf("%w: no images", ErrInput)
	}
	if m.info.ImageResolution == 0 {
		return Matrix{}, errNoResolution
	}
	pre := m.Preprocessor()
	r := m.info.ImageResolution
	plane := 3 * r * r
	buf := make([]float32, min(len(imgs), m.BatchSize())*plane)
	return m.inBatches(ctx, len(imgs), func(s, e int) (Matrix, error) {
		for i := s; i < e; i++ {
			if err := ctx.Err(); err != nil {
				return Matrix{}, err
			}
			px, err := pre.Image(imgs[i])
			if err != nil {
				return Matrix{}, fmt.Errorf("clip: image %d: %w", i, err)
			}
			copy(buf[(i-s)*plane:], px)
		}
		return m.EncodeImage(buf[:(e-s)*plane], e-s)
	})
}

var errNoResolution = fmt.Errorf("%w: image resolution unknown (bare artifact without manifest)", ErrInput)
