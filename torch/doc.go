// Package torch is a small Go binding over libtorch's TorchScript runtime,
// through the C shim in cgo/ (libgoclip). It loads TorchScript modules onto a
// device, runs their named methods on tensors built from Go memory and copies
// the results back into Go memory.
//
// The shim must be built and installed first (scripts/setup.sh does it); Go
// finds it through pkg-config ("goclip"). Every libtorch failure comes back
// as a Go error from the call that caused it; no C++ exception reaches Go.
//
// A Module is safe for concurrent use by many goroutines: runs share a read
// lock, while To, CastParams and Close take the write lock. Close releases
// the native memory at once; a finalizer exists only as a safety net.
package torch
