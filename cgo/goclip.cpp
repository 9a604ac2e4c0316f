// goclip.cpp: the C++ side of the shim. Every entry point is wrapped in
// guard(), which turns any exception into an error string returned by the
// same call; nothing C++ ever crosses into the caller.
#include "goclip.h"

#include <dlfcn.h>
#include <link.h>
#include <torch/cuda.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>
#include <torch/version.h>
#include <ATen/Parallel.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <vector>

struct gc_module_s {
  torch::jit::Module mod;
  c10::Device device{c10::kCPU};
  bool optimize = false;
};

namespace {

// The message returned when even the error message cannot be allocated:
// static, and gc_free leaves it alone, so an error never turns into a NULL
// (success) for want of memory.
char oom_msg[] = "out of memory";

// Fault injection (gc_test_fail_alloc): the allocation numbered fail_at
// from the setting fails. -1: off.
std::atomic<int64_t> fail_at{-1};

bool fault() {
  if (fail_at.load(std::memory_order_relaxed) < 0) return false;
  return fail_at.fetch_sub(1) == 0;
}

void *gc_malloc(size_t n) { return fault() ? nullptr : std::malloc(n); }
void *gc_calloc(size_t n, size_t size) { return fault() ? nullptr : std::calloc(n, size); }

// dup_error copies an error message; on failure it returns oom_msg.
char *dup_error(const std::string &s) {
  char *p = static_cast<char *>(gc_malloc(s.size() + 1));
  if (p == nullptr) return oom_msg;
  std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

// dup copies a result string; on failure it throws, so the call fails.
char *dup(const std::string &s) {
  char *p = static_cast<char *>(gc_malloc(s.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

// guard runs fn and converts any exception into an error message. (A
// template, not std::function: no allocation on the per-call path.)
template <typename F>
char *guard(F &&fn) {
  try {
    fn();
    return nullptr;
  } catch (const c10::Error &e) {
    return dup_error(e.what_without_backtrace());
  } catch (const std::bad_alloc &) {
    return oom_msg;
  } catch (const std::exception &e) {
    return dup_error(e.what());
  } catch (...) {
    return dup_error("unknown C++ exception");
  }
}

struct Fail : std::exception {
  std::string msg;
  explicit Fail(std::string m) : msg(std::move(m)) {}
  const char *what() const noexcept override { return msg.c_str(); }
};

at::ScalarType to_scalar(int32_t dt) {
  switch (dt) {
    case GC_FLOAT32: return at::kFloat;
    case GC_FLOAT16: return at::kHalf;
    case GC_BFLOAT16: return at::kBFloat16;
    case GC_INT32: return at::kInt;
    case GC_INT64: return at::kLong;
    case GC_UINT8: return at::kByte;
    case GC_FLOAT64: return at::kDouble;
  }
  throw Fail("unsupported dtype code " + std::to_string(dt));
}

int32_t from_scalar(at::ScalarType st) {
  switch (st) {
    case at::kFloat: return GC_FLOAT32;
    case at::kHalf: return GC_FLOAT16;
    case at::kBFloat16: return GC_BFLOAT16;
    case at::kInt: return GC_INT32;
    case at::kLong: return GC_INT64;
    case at::kByte: return GC_UINT8;
    case at::kDouble: return GC_FLOAT64;
    default: break;
  }
  throw Fail(std::string("unsupported output dtype ") + c10::toString(st));
}

c10::Device parse_device(const char *s) {
  if (s == nullptr) throw Fail("device is NULL");
  c10::Device d(s);  // throws c10::Error on a bad string
  if (d.is_cuda()) {
    if (!torch::cuda::is_available())
      throw Fail(std::string("device ") + s +
                 ": CUDA is not available in this libtorch (" +
                 gc_torch_version() + ") or on this machine");
    int idx = d.has_index() ? d.index() : 0;
    if (idx >= static_cast<int>(torch::cuda::device_count()))
      throw Fail(std::string("device ") + s + ": only " +
                 std::to_string(torch::cuda::device_count()) +
                 " CUDA device(s) present");
    d = c10::Device(c10::kCUDA, idx);
  } else if (!d.is_cpu()) {
    throw Fail(std::string("unsupported device type: ") + s);
  }
  return d;
}

void collect(const c10::IValue &v, std::vector<at::Tensor> &out) {
  if (v.isTensor()) {
    out.push_back(v.toTensor());
  } else if (v.isTuple()) {
    for (const auto &e : v.toTupleRef().elements()) collect(e, out);
  } else if (v.isTensorList()) {
    for (const at::Tensor &t : v.toTensorVector()) out.push_back(t);
  } else if (v.isList()) {
    for (const auto &e : v.toListRef()) collect(e, out);
  } else if (v.isDouble()) {
    out.push_back(torch::tensor(v.toDouble(), at::kDouble));
  } else if (v.isInt()) {
    out.push_back(torch::tensor(v.toInt(), at::kLong));
  } else {
    throw Fail("method returned " + v.tagKind() +
               "; only tensors, numbers and tuples/lists of them are supported");
  }
}

// find_symbol looks a C symbol up in every loaded object. The Go binding
// opens this library with RTLD_LOCAL, so libtorch's dependencies (OpenBLAS,
// the CUDA runtime) are not in the global scope RTLD_DEFAULT searches; each
// loaded object is asked in turn.
void *find_symbol(const char *name) {
  if (void *p = dlsym(RTLD_DEFAULT, name)) return p;
  struct Query {
    const char *name;
    void *found;
  } q{name, nullptr};
  dl_iterate_phdr(
      [](struct dl_phdr_info *info, size_t, void *data) -> int {
        auto *q = static_cast<Query *>(data);
        if (info->dlpi_name == nullptr || info->dlpi_name[0] == 0) return 0;
        void *h = dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
        if (h == nullptr) return 0;
        q->found = dlsym(h, q->name);
        dlclose(h);
        return q->found != nullptr ? 1 : 0;
      },
      &q);
  return q.found;
}

// OpenBLAS keeps one process-wide thread pool of its own; with several
// callers each running libtorch with N threads, it must use N too, or the
// calls oversubscribe the cores. Set it only when the count changes.
std::atomic<int> blas_threads{-1};

void apply_blas_threads(int n) {
  if (blas_threads.exchange(n) != n) {
    using set_fn = void (*)(int);
    auto fn = reinterpret_cast<set_fn>(find_symbol("openblas_set_num_threads"));
    if (fn != nullptr) fn(n);
  }
}

}  // namespace

extern "C" {

char *gc_module_load(const char *path, const char *device, gc_module *out) {
  return guard([&] {
    if (path == nullptr || out == nullptr) throw Fail("NULL argument");
    c10::Device dev = parse_device(device);
    auto *m = new gc_module_s();
    try {
      m->mod = torch::jit::load(path, dev);
      m->mod.eval();
      m->device = dev;
    } catch (...) {
      delete m;
      throw;
    }
    *out = m;
  });
}

char *gc_module_methods(gc_module m, char ***names, int32_t *n) {
  return guard([&] {
    if (m == nullptr) throw Fail("module is NULL");
    std::vector<std::string> v;
    for (const auto &meth : m->mod.get_methods()) v.push_back(meth.name());
    char **arr = static_cast<char **>(gc_calloc(v.size() + 1, sizeof(char *)));
    if (arr == nullptr) throw std::bad_alloc();
    for (size_t i = 0; i < v.size(); i++) {
      arr[i] = static_cast<char *>(gc_malloc(v[i].size() + 1));
      if (arr[i] == nullptr) {
        gc_strings_free(arr, static_cast<int32_t>(i));
        throw std::bad_alloc();
      }
      std::memcpy(arr[i], v[i].c_str(), v[i].size() + 1);
    }
    *names = arr;
    *n = static_cast<int32_t>(v.size());
  });
}

char *gc_module_run(gc_module m, const char *method, const gc_tensor *inputs,
                    int32_t n_in, int32_t out_dtype, int32_t num_threads,
                    gc_tensor **outputs, int32_t *n_out) {
  gc_tensor *res = nullptr;
  int32_t nres = 0;
  char *err = guard([&] {
    if (m == nullptr) throw Fail("module is NULL");
    if (method == nullptr) throw Fail("method name is NULL");
    if (n_in < 0 || (n_in > 0 && inputs == nullptr)) throw Fail("bad input list");
    if (num_threads > 0) {
      if (at::get_num_threads() != num_threads) at::set_num_threads(num_threads);
      apply_blas_threads(num_threads);
    }
    c10::InferenceMode inference;
    // Executors are cached per optimizer setting, so a per-call guard picks
    // the plain or the optimized plan for this module.
    torch::jit::GraphOptimizerEnabledGuard optimizer(m->optimize);
    auto fn = m->mod.find_method(method);
    if (!fn) {
      std::string have;
      for (const auto &meth : m->mod.get_methods())
        have += (have.empty() ? "" : ", ") + meth.name();
      throw Fail(std::string("module has no method \"") + method +
                 "\" (it has: " + have + ")");
    }
    std::vector<c10::IValue> args;
    args.reserve(n_in);
    for (int32_t i = 0; i < n_in; i++) {
      const gc_tensor &in = inputs[i];
      if (in.ndim < 0 || in.ndim > GC_MAX_DIMS)
        throw Fail("input " + std::to_string(i) + ": bad rank " + std::to_string(in.ndim));
      std::vector<int64_t> shape(in.shape, in.shape + in.ndim);
      int64_t numel = 1;
      for (int64_t d : shape) {
        if (d < 0) throw Fail("input " + std::to_string(i) + ": negative dimension");
        numel *= d;
      }
      if (numel > 0 && in.data == nullptr)
        throw Fail("input " + std::to_string(i) + ": NULL data");
      at::Tensor t = torch::from_blob(in.data, shape,
                                      torch::TensorOptions().dtype(to_scalar(in.dtype)));
      if (!m->device.is_cpu()) {
        t = t.to(m->device);
      }
      args.emplace_back(std::move(t));
    }
    c10::IValue ret = (*fn)(std::move(args));
    std::vector<at::Tensor> ts;
    collect(ret, ts);
    res = static_cast<gc_tensor *>(gc_calloc(ts.size() + 1, sizeof(gc_tensor)));
    if (res == nullptr) throw std::bad_alloc();
    for (size_t k = 0; k < ts.size(); k++) {
      at::Tensor t = ts[k];
      if (out_dtype >= 0 && t.is_floating_point()) t = t.to(to_scalar(out_dtype));
      t = t.to(at::kCPU).contiguous();
      if (t.dim() > GC_MAX_DIMS) throw Fail("output rank above 8");
      gc_tensor &o = res[k];
      o.dtype = from_scalar(t.scalar_type());
      o.ndim = static_cast<int32_t>(t.dim());
      for (int64_t d = 0; d < t.dim(); d++) o.shape[d] = t.size(d);
      size_t bytes = t.numel() * t.element_size();
      o.data = gc_malloc(bytes > 0 ? bytes : 1);
      if (o.data == nullptr) throw std::bad_alloc();
      if (bytes > 0) std::memcpy(o.data, t.data_ptr(), bytes);
      nres = static_cast<int32_t>(k + 1);
    }
  });
  if (err != nullptr) {
    gc_tensors_free(res, nres);
    return err;
  }
  *outputs = res;
  *n_out = nres;
  return nullptr;
}

char *gc_module_run_direct(gc_module m, const char *method, const gc_tensor *inputs,
                           int32_t n_in, void *d0, void *d1, void *d2, void *d3,
                           int32_t out_dtype, int32_t num_threads,
                           gc_tensor **outputs, int32_t *n_out) {
  if (n_in < 0 || n_in > 4 || (n_in > 0 && inputs == nullptr))
    return dup_error("gc_module_run_direct takes 0 to 4 inputs");
  gc_tensor local[4];
  void *data[4] = {d0, d1, d2, d3};
  for (int32_t i = 0; i < n_in; i++) {
    local[i] = inputs[i];
    local[i].data = data[i];
  }
  return gc_module_run(m, method, local, n_in, out_dtype, num_threads, outputs, n_out);
}

char *gc_module_to(gc_module m, const char *device, int32_t dtype) {
  return guard([&] {
    if (m == nullptr) throw Fail("module is NULL");
    // Check everything, then convert every tensor into new ones, then
    // commit: a failure at any point (a bad argument, out of memory on the
    // device half way through) leaves the module as it was.
    c10::Device dev = device != nullptr ? parse_device(device) : m->device;
    c10::optional<at::ScalarType> st;
    if (dtype >= 0) {
      st = to_scalar(dtype);
      if (!at::isFloatingType(*st)) throw Fail("target dtype must be a floating type");
    }
    std::vector<at::Tensor> olds;
    for (const at::Tensor &t : m->mod.parameters(true)) olds.push_back(t);
    for (const at::Tensor &t : m->mod.buffers(true)) olds.push_back(t);
    std::vector<at::Tensor> news;
    news.reserve(olds.size());
    for (const at::Tensor &t : olds) {
      if (fault()) throw std::bad_alloc();
      at::ScalarType want = st && t.is_floating_point() ? *st : t.scalar_type();
      news.push_back(t.to(dev, want));
    }
    for (size_t i = 0; i < olds.size(); i++) olds[i].set_data(news[i]);
    m->device = dev;
  });
}

char *gc_module_cast(gc_module m, const char *const *names, int32_t n,
                     int32_t dtype) {
  return guard([&] {
    if (m == nullptr) throw Fail("module is NULL");
    at::ScalarType st = to_scalar(dtype);
    if (!at::isFloatingType(st)) throw Fail("cast target must be a floating dtype");
    std::set<std::string> want;
    for (int32_t i = 0; i < n; i++) want.insert(names[i]);
    std::vector<at::Tensor> hit;
    std::set<std::string> found;
    for (const auto &p : m->mod.named_parameters(true))
      if (want.count(p.name)) { hit.push_back(p.value); found.insert(p.name); }
    for (const auto &b : m->mod.named_buffers(true))
      if (want.count(b.name)) { hit.push_back(b.value); found.insert(b.name); }
    for (const auto &w : want)
      if (!found.count(w)) throw Fail("module has no parameter or buffer \"" + w + "\"");
    for (at::Tensor &t : hit) {
      if (!t.is_floating_point()) throw Fail("cannot cast a non-floating tensor");
      t.set_data(t.to(st));
    }
  });
}

char *gc_module_set_optimize(gc_module m, int32_t on) {
  return guard([&] {
    if (m == nullptr) throw Fail("module is NULL");
    m->optimize = on != 0;
  });
}

char *gc_module_device(gc_module m, char **device) {
  return guard([&] {
    if (m == nullptr) throw Fail("module is NULL");
    *device = dup(m->device.str());
  });
}

void gc_module_free(gc_module m) {
  try {
    delete m;
  } catch (...) {
  }
}

void gc_tensors_free(gc_tensor *t, int32_t n) {
  if (t == nullptr) return;
  for (int32_t i = 0; i < n; i++) std::free(t[i].data);
  std::free(t);
}

void gc_strings_free(char **s, int32_t n) {
  if (s == nullptr) return;
  for (int32_t i = 0; i < n; i++) std::free(s[i]);
  std::free(s);
}

void gc_free(void *p) {
  if (p != oom_msg) std::free(p);
}

int32_t gc_abi_version(void) { return GC_ABI_VERSION; }

void gc_test_fail_alloc(int32_t after) { fail_at.store(after < 0 ? -1 : after); }

const char *gc_torch_version(void) {
#ifdef TORCH_VERSION
  return TORCH_VERSION;
#else
  static const std::string v = std::to_string(TORCH_VERSION_MAJOR) + "." +
                               std::to_string(TORCH_VERSION_MINOR) + "." +
                               std::to_string(TORCH_VERSION_PATCH);
  return v.c_str();
#endif
}

int32_t gc_cuda_available(void) {
  try {
    return torch::cuda::is_available() ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

int32_t gc_cuda_device_count(void) {
  try {
    return static_cast<int32_t>(torch::cuda::device_count());
  } catch (...) {
    return 0;
  }
}

char *gc_cuda_device_name(int32_t index, char **name) {
  return guard([&] {
    if (index < 0 || index >= gc_cuda_device_count())
      throw Fail("no CUDA device " + std::to_string(index));
    // The CUDA runtime is already loaded by libtorch_cuda; look it up
    // rather than compiling against CUDA headers, so one source builds
    // against CPU and CUDA libtorch alike. cudaDeviceProp starts with
    // char name[256]; the buffer is far larger than the struct.
    using prop_fn = int (*)(void *, int);
    auto fn = reinterpret_cast<prop_fn>(find_symbol("cudaGetDeviceProperties_v2"));
    if (fn == nullptr)
      fn = reinterpret_cast<prop_fn>(find_symbol("cudaGetDeviceProperties"));
    std::string s = "CUDA device " + std::to_string(index);
    if (fn != nullptr) {
      std::vector<char> buf(1 << 16, 0);
      if (fn(buf.data(), index) == 0) s.assign(buf.data(), strnlen(buf.data(), 256));
    }
    *name = dup(s);
  });
}

int32_t gc_num_threads(void) { return at::get_num_threads(); }

char *gc_set_num_threads(int32_t n) {
  return guard([&] {
    if (n <= 0) throw Fail("thread count must be positive");
    at::set_num_threads(n);
  });
}

int32_t gc_set_blas_threads(int32_t n) {
  if (find_symbol("openblas_set_num_threads") == nullptr) return 0;
  apply_blas_threads(n);
  return 1;
}

namespace {
std::string dl_path(const void *addr) {
  Dl_info info;
  if (dladdr(addr, &info) != 0 && info.dli_fname != nullptr) return info.dli_fname;
  return "";
}
}  // namespace

const char *gc_shim_path(void) {
  static const std::string p = dl_path(reinterpret_cast<const void *>(&gc_shim_path));
  return p.c_str();
}

const char *gc_libtorch_path(void) {
  static const std::string p = dl_path(reinterpret_cast<const void *>(&at::get_num_threads));
  return p.c_str();
}

const char *gc_blas_name(void) {
  if (find_symbol("openblas_set_num_threads") != nullptr) return "openblas";
  if (find_symbol("mkl_set_num_threads") != nullptr) return "mkl";
  if (find_symbol("sgemm_") != nullptr) return "blas";
  return "";
}

}  // extern "C"
