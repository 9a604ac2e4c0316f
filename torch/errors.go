package torch

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, usable with errors.Is.
var (
	// ErrClosed is returned by every method of a Module after Close.
	ErrClosed = errors.New("torch: module is closed")
	// ErrInvalidDevice reports a device string that cannot be parsed.
	ErrInvalidDevice = errors.New("torch: invalid device")
	// ErrCUDAUnavailable reports a CUDA device asked of a libtorch or a
	// machine without CUDA.
	ErrCUDAUnavailable = errors.New("torch: CUDA is not available")
	// ErrInvalidTensor reports a Tensor whose shape, dtype and data disagree.
	ErrInvalidTensor = errors.New("torch: invalid tensor")
	// ErrTorch is wrapped by every *Error, for errors.Is checks.
	ErrTorch = errors.New("torch: libtorch error")
)

// Error is a failure reported by libtorch, with the operation that failed.
type Error struct {
	Op     string // "load", "run", "to", "cast", ...
	Target string // file path or method name, when relevant
	Msg    string // libtorch's message, without C++ backtrace
}

func (e *Error) Error() string {
	if e.Target != "" {
		return fmt.Sprintf("torch: %s %s: %s", e.Op, e.Target, e.Msg)
	}
	return fmt.Sprintf("torch: %s: %s", e.Op, e.Msg)
}

// Unwrap makes errors.Is(err, ErrTorch) true for every *Error.
func (e *Error) Unwrap() error { return ErrTorch }

// LibraryName is the file name of the shim.
const LibraryName = "libgoclip.so"

// ErrNoLibrary is wrapped by the error returned when the shim cannot be
// opened (a *LibraryError).
var ErrNoLibrary = errors.New("torch: cannot load the goclip shim")

// ErrNoCgo is returned by every call that needs libtorch in a program built
// without cgo (CGO_ENABLED=0).
var ErrNoCgo = errors.New("torch: built without cgo (CGO_ENABLED=0): libtorch cannot be used; rebuild with cgo and a C compiler")

// Where a Candidate comes from.
const (
	SourceOption     = "SetLibraryPath"
	SourceEnv        = "GOCLIP_LIB"
	SourceExecutable = "beside the executable"
	SourcePrefix     = "install prefix"
	SourceSystem     = "system library path"
)

// Candidate is one place the shim was looked for.
type Candidate struct {
	Path   string // file, or the bare name given to the system's search
	Source string // SourceOption, SourceEnv, ...
	Tried  bool   // dlopen was called on it
	Opened bool   // this one is in use
	Err    error  // why it was not used (missing file, dlopen's message, ...)
}

// LibraryError reports that no shim could be opened, with every place
// tried.
type LibraryError struct {
	Tried []Candidate
}

func (e *LibraryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v %s (tried:", ErrNoLibrary, LibraryName)
	for i, c := range e.Tried {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s %s: %v", c.Source, c.Path, c.Err)
	}
	b.WriteString("); build it with scripts/setup.sh, or set GOCLIP_LIB to its path")
	return b.String()
}

// Unwrap makes errors.Is(err, ErrNoLibrary) true.
func (e *LibraryError) Unwrap() error { return ErrNoLibrary }
