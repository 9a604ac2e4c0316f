/*
 * shim.h: the Go package's view of the shim, which it opens at run time
 * (dlopen) instead of linking it. Every function of goclip.h is reached
 * through a pointer (p_gc_*), resolved by dl_gc_open (lib.go), and called
 * through a small trampoline dl_gc_* that cgo can call.
 */
#ifndef GOCLIP_SHIM_H
#define GOCLIP_SHIM_H

#include <stdint.h>

#include "goclip.h"

/* X(return type, name, parameters, arguments) for functions returning a
 * value, V(name, parameters, arguments) for void ones. */
#define GC_FUNCS(X, V)                                                                  \
  X(int32_t, gc_abi_version, (void), ())                                                \
  X(char *, gc_module_load, (const char *a, const char *b, gc_module *c), (a, b, c))   \
  X(char *, gc_module_methods, (gc_module a, char ***b, int32_t *c), (a, b, c))        \
  X(char *, gc_module_run,                                                              \
    (gc_module a, const char *b, const gc_tensor *c, int32_t d, int32_t e, int32_t f,   \
     gc_tensor **g, int32_t *h),                                                        \
    (a, b, c, d, e, f, g, h))                                                           \
  X(char *, gc_module_run_direct,                                                       \
    (gc_module a, const char *b, const gc_tensor *c, int32_t d, void *e, void *f,       \
     void *g, void *h, int32_t i, int32_t j, gc_tensor **k, int32_t *l),                \
    (a, b, c, d, e, f, g, h, i, j, k, l))                                               \
  X(char *, gc_module_to, (gc_module a, const char *b, int32_t c), (a, b, c))          \
  X(char *, gc_module_set_optimize, (gc_module a, int32_t b), (a, b))                   \
  X(char *, gc_module_cast, (gc_module a, const char *const *b, int32_t c, int32_t d),  \
    (a, b, c, d))                                                                       \
  X(char *, gc_module_device, (gc_module a, char **b), (a, b))                          \
  V(gc_module_free, (gc_module a), (a))                                                 \
  V(gc_tensors_free, (gc_tensor *a, int32_t b), (a, b))                                 \
  V(gc_strings_free, (char **a, int32_t b), (a, b))                                     \
  V(gc_free, (void *a), (a))                                                            \
  X(const char *, gc_torch_version, (void), ())                                         \
  X(int32_t, gc_cuda_available, (void), ())                                             \
  X(int32_t, gc_cuda_device_count, (void), ())                                          \
  X(char *, gc_cuda_device_name, (int32_t a, char **b), (a, b))                         \
  X(int32_t, gc_num_threads, (void), ())                                                \
  X(char *, gc_set_num_threads, (int32_t a), (a))                                       \
  X(int32_t, gc_set_blas_threads, (int32_t a), (a))                                     \
  X(const char *, gc_shim_path, (void), ())                                             \
  X(const char *, gc_libtorch_path, (void), ())                                         \
  X(const char *, gc_blas_name, (void), ())                                             \
  V(gc_test_fail_alloc, (int32_t a), (a))

#define GC_PTR_DECL(ret, name, params, args) extern ret(*p_##name) params;
#define GC_PTR_DECL_V(name, params, args) extern void(*p_##name) params;
GC_FUNCS(GC_PTR_DECL, GC_PTR_DECL_V)

#define GC_TRAMPOLINE(ret, name, params, args) \
  static inline ret dl_##name params { return p_##name args; }
#define GC_TRAMPOLINE_V(name, params, args) \
  static inline void dl_##name params { p_##name args; }
GC_FUNCS(GC_TRAMPOLINE, GC_TRAMPOLINE_V)

#endif
