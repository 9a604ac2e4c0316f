// bench_call: times one TorchScript method call made directly from C++, the
// baseline for the Go binding's per-call overhead (BenchmarkRunNoop in
// torch/). Usage: bench_call MODULE.pt METHOD ROWS COLS ITERS
#include <ATen/Parallel.h>
#include <torch/script.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char **argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s MODULE.pt METHOD ROWS COLS ITERS\n", argv[0]);
    return 2;
  }
  at::set_num_threads(1);
  auto mod = torch::jit::load(argv[1]);
  mod.eval();
  auto method = mod.get_method(argv[2]);
  int64_t rows = std::atoll(argv[3]), cols = std::atoll(argv[4]);
  long iters = std::atol(argv[5]);
  std::vector<float> in(rows * cols, 0.5f), out;
  auto once = [&] {
    // The same work the shim does per call: wrap caller memory, run under
    // InferenceMode, copy the output back into caller memory.
    c10::InferenceMode guard;
    at::Tensor t = torch::from_blob(in.data(), {rows, cols}, at::kFloat);
    at::Tensor r = method({t}).toTensor().contiguous();
    out.resize(r.numel());
    std::memcpy(out.data(), r.data_ptr(), r.numel() * sizeof(float));
  };
  for (long i = 0; i < iters / 10 + 1; i++) once();
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < iters; i++) once();
  auto t1 = std::chrono::steady_clock::now();
  double ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / iters;
  std::printf("cpp %s %s [%lld,%lld]: %.0f ns/op\n", argv[1], argv[2], (long long)rows, (long long)cols, ns);
  return 0;
}
