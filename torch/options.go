package torch

// LoadOption configures Load.
type LoadOption func(*loadConfig)

type loadConfig struct {
	device   Device
	threads  int
	optimize bool
}

// WithDevice loads the module onto d (default: the CPU).
func WithDevice(d Device) LoadOption { return func(c *loadConfig) { c.device = d } }

// WithThreads sets libtorch's intra-op thread count for this module's runs:
// each run applies it on its calling OS thread when that thread's count
// differs (libtorch's setting is per thread), and sets OpenBLAS's
// process-wide pool to the same size when libtorch uses OpenBLAS (else
// concurrent callers oversubscribe the cores). 0 leaves both as they are.
func WithThreads(n int) LoadOption { return func(c *loadConfig) { c.threads = n } }

// WithOptimize turns TorchScript's graph optimizer (operator fusion) on for
// this module's runs. It is off by default because fused kernels change
// floating-point results; turn it on for speed when bit-exact agreement
// with eager PyTorch does not matter.
func WithOptimize(on bool) LoadOption { return func(c *loadConfig) { c.optimize = on } }
