/*
 * goclip.h: a thin, pure C interface over libtorch's TorchScript runtime.
 *
 * Conventions:
 *   - Every call that can fail returns a heap-allocated error message (free
 *     it with gc_free) or NULL on success. The message belongs to the call
 *     that returned it: there is no thread-local "last error".
 *   - No C++ exception ever leaves this library.
 *   - Handles are opaque pointers; each is freed by its own gc_*_free call.
 *   - Threads: gc_module_run, gc_module_run_direct, gc_module_methods and
 *     gc_module_device may be called concurrently on one module from many
 *     threads (the Go binding relies on it). gc_module_to, gc_module_cast,
 *     gc_module_set_optimize and gc_module_free change the module: no other
 *     call on the same module may run at the same time.
 *   - Out of memory while building an error message still returns an error
 *     (a static "out of memory" message that gc_free accepts), never NULL.
 *   - Loading: the Go binding opens this library at run time (dlopen) and
 *     checks gc_abi_version() == GC_ABI_VERSION before using it. Bump
 *     GC_ABI_VERSION on any change of a signature or of a struct here.
 *
 * This header is the one copy: the shim (cgo/goclip.cpp) is compiled
 * against it, and the Go package needs nothing else to build.
 */
#ifndef GOCLIP_H
#define GOCLIP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GC_MAX_DIMS 8
#define GC_ABI_VERSION 1

/* The GC_ABI_VERSION this library was built with. */
int32_t gc_abi_version(void);

/* Element types, stable numbering shared with the Go package. */
enum {
  GC_FLOAT32 = 0,
  GC_FLOAT16 = 1,
  GC_BFLOAT16 = 2,
  GC_INT32 = 3,
  GC_INT64 = 4,
  GC_UINT8 = 5,
  GC_FLOAT64 = 6
};

/* A dense, C-contiguous tensor in host memory. For inputs, data is caller
 * memory that is only read during the call. For outputs, data is allocated
 * by the library and released by gc_tensors_free. */
typedef struct {
  int32_t dtype;
  int32_t ndim;
  int64_t shape[GC_MAX_DIMS];
  void *data;
} gc_tensor;

typedef struct gc_module_s *gc_module;

/* Loads a TorchScript file onto device ("cpu", "cuda", "cuda:N"). */
char *gc_module_load(const char *path, const char *device, gc_module *out);

/* Lists the module's methods (forward included when present). Free the
 * array with gc_strings_free. */
char *gc_module_methods(gc_module m, char ***names, int32_t *n);

/* Runs a named method under torch::InferenceMode with n_in inputs, each
 * moved to the module's device. Outputs (a tensor, or a tuple/list of
 * tensors) are copied to host memory; when out_dtype >= 0 every floating
 * output is converted to that type first. num_threads > 0 sets libtorch's
 * intra-op thread count on the calling thread when it differs. */
char *gc_module_run(gc_module m, const char *method, const gc_tensor *inputs,
                    int32_t n_in, int32_t out_dtype, int32_t num_threads,
                    gc_tensor **outputs, int32_t *n_out);

/* gc_module_run with the data pointers of up to four inputs passed as
 * arguments (inputs[i].data is ignored): callers whose runtime forbids
 * storing their pointers in an array (Go) need not pin the memory. */
char *gc_module_run_direct(gc_module m, const char *method, const gc_tensor *inputs,
                           int32_t n_in, void *d0, void *d1, void *d2, void *d3,
                           int32_t out_dtype, int32_t num_threads,
                           gc_tensor **outputs, int32_t *n_out);

/* Moves the module to device (NULL keeps it) and, when dtype >= 0, converts
 * its floating parameters and buffers to dtype (a floating type). All or
 * nothing: on error the module is left exactly as it was. */
char *gc_module_to(gc_module m, const char *device, int32_t dtype);

/* Turns TorchScript's graph optimizer (operator fusion and the like) on or
 * off for this module's runs. It is off by default: fused kernels change
 * floating-point results (on CUDA in float16 notably), and this library's
 * point is to reproduce the reference's numbers. */
char *gc_module_set_optimize(gc_module m, int32_t on);

/* Converts only the named parameters/buffers ("visual.conv1.weight") to a
 * floating dtype. Unknown names are an error. */
char *gc_module_cast(gc_module m, const char *const *names, int32_t n,
                     int32_t dtype);

/* The module's current device as a string ("cpu", "cuda:0"). */
char *gc_module_device(gc_module m, char **device);

void gc_module_free(gc_module m);
void gc_tensors_free(gc_tensor *t, int32_t n);
void gc_strings_free(char **s, int32_t n);
void gc_free(void *p);

/* Runtime facts. */
const char *gc_torch_version(void);
int32_t gc_cuda_available(void);
int32_t gc_cuda_device_count(void);
char *gc_cuda_device_name(int32_t index, char **name);
int32_t gc_num_threads(void);
char *gc_set_num_threads(int32_t n);
/* Sets OpenBLAS's own thread count when libtorch uses OpenBLAS; returns 1 if
 * OpenBLAS was found, 0 otherwise. */
int32_t gc_set_blas_threads(int32_t n);
/* Absolute paths of the loaded shim library and of libtorch (for
 * diagnostics); "" when unknown. */
const char *gc_shim_path(void);
const char *gc_libtorch_path(void);

/* Name of the BLAS library the process uses, or "" when none is known. */
const char *gc_blas_name(void);

/* Fault injection, for tests of the out-of-memory paths: the allocation
 * made by this library `after` allocations from now (0: the next one)
 * fails, once. A negative value turns it off. Not for production use. */
void gc_test_fail_alloc(int32_t after);

#ifdef __cplusplus
}
#endif
#endif
