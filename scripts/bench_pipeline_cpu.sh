#!/usr/bin/env bash
# Folder embedding on this machine's CPU, side by side in one command: the
# official Python way (DataLoader workers running Pillow + the reference
# transform, the project's eager module) vs `clip embed --images-dir`, both
# with the small demo architecture (tiny-vit) over N 0.36-megapixel JPEGs.
# Usage: scripts/bench_pipeline_cpu.sh [N]   (after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-512}
py=${PYTHON:-/usr/bin/python3}
dir=.bench/jpegs-$n
[ -d "$dir" ] || "$py" scripts/make_jpegs.py "$dir" --n "$n"
"$py" scripts/bench_pipeline.py "$dir" --arch tiny-vit --device cpu --batch 64 --workers "$(nproc)"
for run in 1 2; do
  bin/clip embed --model models/tiny-vit --device cpu --images-dir "$dir" -o ".bench/emb-$n.npy" --batch-size 64 --no-resume 2>&1 | head -1
done
