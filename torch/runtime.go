package torch

/*
#include <stdlib.h>
#include "goclip.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Version returns the libtorch version the shim was built against.
func Version() string { return C.GoString(C.gc_torch_version()) }

// CUDAAvailable reports whether libtorch was built with CUDA and sees a GPU.
func CUDAAvailable() bool { return C.gc_cuda_available() != 0 }

// CUDADeviceCount returns the number of CUDA devices libtorch sees.
func CUDADeviceCount() int { return int(C.gc_cuda_device_count()) }

// CUDADeviceName returns the name of CUDA device i, such as
// "NVIDIA H100 80GB HBM3".
func CUDADeviceName(i int) (string, error) {
	var name *C.char
	if err := errString("cuda device name", "", C.gc_cuda_device_name(C.int32_t(i), &name)); err != nil {
		return "", err
	}
	defer C.free(unsafe.Pointer(name))
	return C.GoString(name), nil
}

// NumThreads returns libtorch's intra-op thread count on the calling OS
// thread.
func NumThreads() int { return int(C.gc_num_threads()) }

// SetNumThreads sets libtorch's intra-op thread count. libtorch applies it to
// the calling OS thread only; prefer WithThreads, which each run applies on
// its own thread.
func SetNumThreads(n int) error {
	if n <= 0 {
		return fmt.Errorf("torch: thread count must be positive, got %d", n)
	}
	return errString("set threads", "", C.gc_set_num_threads(C.int32_t(n)))
}

// SetBLASThreads sets OpenBLAS's own thread pool size when libtorch uses
// OpenBLAS (Debian's libtorch may). With concurrent callers, 1 avoids
// oversubscription. It reports whether OpenBLAS was found.
func SetBLASThreads(n int) bool { return C.gc_set_blas_threads(C.int32_t(n)) != 0 }

// BLAS names the BLAS library in the process ("openblas", "mkl", "blas"), or
// "" when none is known.
func BLAS() string { return C.GoString(C.gc_blas_name()) }

// ShimPath returns the path of the loaded libgoclip shared library.
func ShimPath() string { return C.GoString(C.gc_shim_path()) }

// LibtorchPath returns the path of the loaded libtorch library that holds
// the ATen runtime.
func LibtorchPath() string { return C.GoString(C.gc_libtorch_path()) }
