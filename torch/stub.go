//go:build !cgo

package torch

// Built without cgo: the same API, every call that needs libtorch returning
// ErrNoCgo, so that programs using only the pure-Go parts still build.

// Module is a loaded TorchScript module; without cgo none can be loaded.
type Module struct {
	path   string
	device Device
}

// SetLibraryPath returns ErrNoCgo.
func SetLibraryPath(path string) error { return ErrNoCgo }

// Init returns ErrNoCgo.
func Init() error { return ErrNoCgo }

// Loaded reports false: no shim can be open without cgo.
func Loaded() bool { return false }

// LibrarySearch returns nil: nothing is searched without cgo.
func LibrarySearch() []Candidate { return nil }

// Load returns ErrNoCgo.
func Load(path string, opts ...LoadOption) (*Module, error) { return nil, ErrNoCgo }

// Path returns the file the module was loaded from.
func (m *Module) Path() string { return m.path }

// Device returns the device the module lives on.
func (m *Module) Device() Device { return m.device }

// Methods returns ErrNoCgo.
func (m *Module) Methods() ([]string, error) { return nil, ErrNoCgo }

// Run returns ErrNoCgo.
func (m *Module) Run(method string, inputs ...Tensor) ([]Tensor, error) { return nil, ErrNoCgo }

// RunFloat32 returns ErrNoCgo.
func (m *Module) RunFloat32(method string, inputs ...Tensor) ([]Tensor, error) {
	return nil, ErrNoCgo
}

// To returns ErrNoCgo.
func (m *Module) To(d Device, dtype DType) error { return ErrNoCgo }

// CastParams returns ErrNoCgo.
func (m *Module) CastParams(names []string, dtype DType) error { return ErrNoCgo }

// Close does nothing.
func (m *Module) Close() error { return nil }

// Version returns "".
func Version() string { return "" }

// CUDAAvailable reports false.
func CUDAAvailable() bool { return false }

// CUDADeviceCount returns 0.
func CUDADeviceCount() int { return 0 }

// CUDADeviceName returns ErrNoCgo.
func CUDADeviceName(i int) (string, error) { return "", ErrNoCgo }

// NumThreads returns 0.
func NumThreads() int { return 0 }

// SetNumThreads returns ErrNoCgo.
func SetNumThreads(n int) error { return ErrNoCgo }

// SetBLASThreads reports false.
func SetBLASThreads(n int) bool { return false }

// BLAS returns "".
func BLAS() string { return "" }

// ShimPath returns "".
func ShimPath() string { return "" }

// LibtorchPath returns "".
func LibtorchPath() string { return "" }
