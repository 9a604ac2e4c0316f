package clip

import (
	"io"
)

// Precision is the floating type a model computes in.
type Precision string

// Precisions. PrecisionAuto is float16 on CUDA and float32 on the CPU, like
// the reference's clip.load.
const (
	PrecisionAuto Precision = "auto"
	FP32          Precision = "fp32"
	FP16          Precision = "fp16"
)

// Option configures Load.
type Option func(*config)

type config struct {
	device       string
	precision    Precision
	cacheDir     string
	threads      int
	vocab        VocabOptions
	truncate     bool
	batchSize    int
	allowBare    bool
	python       string
	exportScript string
	progress     io.Writer
	workers      int
	optimize     bool
	// classifierCache bounds the classifiers NewClassifier keeps.
	classifierCache int
}

func defaultConfig() config {
	return config{device: "auto", precision: PrecisionAuto, classifierCache: DefaultClassifierCache}
}

// WithDevice picks the device: "auto" (default: CUDA when present),
// "cpu", "cuda" or "cuda:N".
func WithDevice(d string) Option { return func(c *config) { c.device = d } }

// WithPrecision picks fp32 or fp16 (fp16 needs CUDA); default auto.
func WithPrecision(p Precision) Option { return func(c *config) { c.precision = p } }

// WithCacheDir sets where checkpoints, exports and the vocabulary are kept
// (default: $GOCLIP_CACHE, $XDG_CACHE_HOME/goclip or ~/.cache/goclip).
func WithCacheDir(dir string) Option {
	return func(c *config) { c.cacheDir = dir; c.vocab.CacheDir = dir }
}

// WithThreads sets libtorch's intra-op threads (and OpenBLAS's) for each of
// the model's runs. The default, 0, leaves libtorch's own default (often 1
// thread per call), which suits a server or pool running many calls side by
// side; a single process that runs one call at a time should pass the cores
// it has, as the command line does. The count changes results in the last
// bits (BLAS splits sums differently), so compare runs with equal counts.
func WithThreads(n int) Option { return func(c *config) { c.threads = n } }

// WithVocab sets the vocabulary file used by EncodeTexts.
func WithVocab(path string) Option { return func(c *config) { c.vocab.Path = path } }

// WithTruncate makes EncodeTexts truncate texts longer than the context
// (the reference's truncate=True) instead of failing.
func WithTruncate(t bool) Option { return func(c *config) { c.truncate = t } }

// WithBatchSize sets how many images or texts the convenience encoders
// send to the model at once (default 32 on the CPU, 256 on CUDA).
func WithBatchSize(n int) Option { return func(c *config) { c.batchSize = n } }

// WithWorkers sets how many goroutines preprocess images (default: all cores).
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// AllowUnverified lets Load take a bare TorchScript file that has no
// manifest. TorchScript archives carry code: only use it for files you trust.
func AllowUnverified() Option { return func(c *config) { c.allowBare = true } }

// WithExporter sets the Python interpreter and export/export.py script used
// to export an official checkpoint on first use (defaults: $GOCLIP_PYTHON or
// /usr/bin/python3, and $GOCLIP_EXPORT or export/export.py found beside the
// executable or the working directory).
func WithExporter(python, script string) Option {
	return func(c *config) { c.python = python; c.exportScript = script }
}

// WithProgress sends download and export progress to w (nil: silent).
func WithProgress(w io.Writer) Option {
	return func(c *config) { c.progress = w; c.vocab.Progress = w }
}

// WithOptimize turns TorchScript's graph optimizer (operator fusion) on. It
// is off by default so that outputs reproduce the reference: with it, CUDA
// float16 features differ from the official ones by about 2e-3. Turn it on
// when throughput matters more than bit-exact agreement.
func WithOptimize(on bool) Option { return func(c *config) { c.optimize = on } }

// DefaultClassifierCache is how many classifiers a model keeps by default
// (see WithClassifierCache).
const DefaultClassifierCache = 16

// WithClassifierCache bounds how many zero-shot classifiers the model keeps
// for NewClassifier to return again without encoding their prompts: the n
// most recently used label and template sets (default
// DefaultClassifierCache; 0 keeps none). A server that sees many label
// sets keeps bounded memory.
func WithClassifierCache(n int) Option { return func(c *config) { c.classifierCache = n } }
