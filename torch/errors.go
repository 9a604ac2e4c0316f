package torch

import (
	"errors"
	"fmt"
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
