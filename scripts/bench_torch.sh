#!/usr/bin/env bash
# The Go binding's per-call overhead and concurrent scaling, side by side in
# one command: the same TorchScript call made directly from C++
# (cgo/bench/bench_call.cpp) and through Go (torch/BenchmarkRunNoop), then
# the small MLP from 1 goroutine and from GOMAXPROCS goroutines.
set -euo pipefail
cd "$(dirname "$0")/.."
. build/env.sh
cmake -S . -B build/bench -DGOCLIP_BUILD_BENCH=ON >/dev/null
cmake --build build/bench --target bench_call bench_shim -j"$(nproc)" >/dev/null
echo "== one call, C++ vs Go (noop on a [1,64] float32 input, 1 thread)"
for i in 1 2 3; do
  build/bench/bench_call testdata/torch/mlp.pt noop 1 64 200000
  build/bench/bench_shim testdata/torch/mlp.pt noop 200000
done
go test -run XXX -bench 'BenchmarkRunNoop' -benchtime 200000x -count 3 ./torch | grep Benchmark
echo "== concurrency: MLP forward on [64,64], 1 goroutine vs GOMAXPROCS=$(nproc)"
go test -run XXX -bench 'BenchmarkForward' -benchtime 3s -count 3 ./torch | grep Benchmark
echo "== the machine's own ceiling: the same forward from C++, one process vs two at once (OpenBLAS 1 thread)"
export OPENBLAS_NUM_THREADS=1
build/bench/bench_call testdata/torch/mlp.pt forward 64 64 10000
build/bench/bench_call testdata/torch/mlp.pt forward 64 64 10000 & build/bench/bench_call testdata/torch/mlp.pt forward 64 64 10000 & wait
