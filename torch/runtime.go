package torch

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// These functions open the shim on first use (see Init). Those without an
// error result return their zero value when it cannot be opened; Init says
// why.

// Version returns the libtorch version the shim was built against, or ""
// when the shim cannot be opened.
func Version() string {
	if Init() != nil {
		return ""
	}
	return C.GoString(C.dl_gc_torch_version())
}

// CUDAAvailable reports whether libtorch was built with CUDA and sees a GPU.
func CUDAAvailable() bool { return Init() == nil && C.dl_gc_cuda_available() != 0 }

// CUDADeviceCount returns the number of CUDA devices libtorch sees.
func CUDADeviceCount() int {
	if Init() != nil {
		return 0
	}
	return int(C.dl_gc_cuda_device_count())
}

// CUDADeviceName returns the name of CUDA device i, such as
// "NVIDIA H100 80GB HBM3".
func CUDADeviceName(i int) (string, error) {
	if err := Init(); err != nil {
		return "", err
	}
	var name *C.char
	if err := errString("cuda device name", "", C.dl_gc_cuda_device_name(C.int32_t(i), &name)); err != nil {
		return "", err
	}
	defer C.dl_gc_free(unsafe.Pointer(name))
	return C.GoString(name), nil
}

// NumThreads returns libtorch's intra-op thread count on the calling OS
// thread (0 when the shim cannot be opened).
func NumThreads() int {
	if Init() != nil {
		return 0
	}
	return int(C.dl_gc_num_threads())
}

// SetNumThreads sets libtorch's intra-op thread count. libtorch applies it to
// the calling OS thread only; prefer WithThreads, which each run applies on
// its own thread.
func SetNumThreads(n int) error {
	if n <= 0 {
		return fmt.Errorf("torch: thread count must be positive, got %d", n)
	}
	if err := Init(); err != nil {
		return err
	}
	return errString("set threads", "", C.dl_gc_set_num_threads(C.int32_t(n)))
}

// SetBLASThreads sets OpenBLAS's own thread pool size when libtorch uses
// OpenBLAS (Debian's libtorch may). With concurrent callers, 1 avoids
// oversubscription. It reports whether OpenBLAS was found.
func SetBLASThreads(n int) bool { return Init() == nil && C.dl_gc_set_blas_threads(C.int32_t(n)) != 0 }

// BLAS names the BLAS library in the process ("openblas", "mkl", "blas"), or
// "" when none is known.
func BLAS() string {
	if Init() != nil {
		return ""
	}
	return C.GoString(C.dl_gc_blas_name())
}

// ShimPath returns the absolute path of the open libgoclip shared library
// ("" when it cannot be opened).
func ShimPath() string {
	if Init() != nil {
		return ""
	}
	return loadedPath()
}

// LibtorchPath returns the path of the loaded libtorch library that holds
// the ATen runtime.
func LibtorchPath() string {
	if Init() != nil {
		return ""
	}
	return C.GoString(C.dl_gc_libtorch_path())
}
