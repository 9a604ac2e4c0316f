#!/usr/bin/env bash
# CPU model throughput, side by side in one command: PyTorch eager (the
# project's module code, same libtorch) vs the Go API (bin/clip bench) on a
# random ViT-B/32 at batch 1 and 8, with 1 and with all cores.
# Usage: scripts/bench_models_cpu.sh [ARCH]   (after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-ViT-B/32}
py=${PYTHON:-/usr/bin/python3}
w=${BENCH_DIR:-.bench/models}
n=$(echo "$arch" | tr '/@' '--')
mkdir -p "$w"
if [ ! -f "$w/$n/manifest.json" ]; then
  "$py" export/random_checkpoint.py --arch "$arch" --out "$w/$n.pt"
  "$py" export/export.py --checkpoint "$w/$n.pt" --out "$w/$n" --name "$arch" && rm -f "$w/$n.pt"
fi
for threads in 1 "$(nproc)"; do
  for b in 1 8; do
    it=$(( b == 1 ? 30 : 8 ))
    # torch.set_num_threads does not size OpenBLAS's pool; the Go side sets
    # both, so give Python the same BLAS thread count through its variable.
    OPENBLAS_NUM_THREADS=$threads "$py" export/bench_eager.py --arch "$arch" --device cpu --batch "$b" --iters "$it" --threads "$threads" --host-inputs
    bin/clip bench --model "$w/$n" --device cpu --batch-size "$b" --iters "$it" --threads "$threads"
    bin/clip bench --model "$w/$n" --device cpu --batch-size "$b" --iters "$it" --threads "$threads" --fast
  done
done
