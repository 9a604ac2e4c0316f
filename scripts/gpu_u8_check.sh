#!/usr/bin/env bash
# Short follow-up GPU check for the uint8 image path (encode_image_u8):
# correctness against the float32 path on CUDA (fp32 and fp16), then the
# ViT-B/32 benchmarks and the folder pipeline, side by side with PyTorch.
# Same preparation as scripts/gpu_check.sh (.device/ from gpu_bundle.sh).
set -u
root=$PWD
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
D=$root/.device
PY=${PYTHON:-python3}
W=${WORK:-/tmp/goclip-gpu}
mkdir -p "$W"
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/summary.txt"; }
( $PY export/random_checkpoint.py --arch ViT-B/32 --out "$W/vitb32.pt" &&
  $PY export/export.py --checkpoint "$W/vitb32.pt" --out "$W/ViT-B-32" --name ViT-B/32 ) >"$OUT/exports.log" 2>&1 &
exports=$!
$PY scripts/make_jpegs.py "$W/photos" --n 4096 --jobs 8 >"$OUT/photos.log" 2>&1 &
photos=$!
TD=${Torch_DIR:-$($PY -c 'import torch,os;print(os.path.join(torch.utils.cmake_prefix_path,"Torch"))')}
if ! { cmake -S . -B build/cuda -DTorch_DIR="$TD" -DCMAKE_INSTALL_PREFIX="$root/build/cuda-install" -DCMAKE_INSTALL_LIBDIR=lib &&
       cmake --build build/cuda -j 12 && cmake --install build/cuda; } >"$OUT/shim-build.log" 2>&1; then
  log "SHIM BUILD FAILED"; tail -40 "$OUT/shim-build.log"; exit 1
fi
export LD_LIBRARY_PATH="$root/build/cuda-install/lib:$D/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GOCLIP_SHARED="$D/shared" GOCLIP_PYTHON="$PY" CLIP_VOCAB="$D/shared/clip/bpe_simple_vocab_16e6.txt.gz"
for p in fp32 fp16; do
  GOCLIP_TEST_DEVICE=cuda GOCLIP_TEST_PRECISION=$p "$D/clip.test" -test.v -test.run 'TestEncodeImageU8|TestGoldenChain' >"$OUT/u8-test-$p.log" 2>&1
  log "u8 tests cuda $p: exit $? ($(grep -c -- '--- PASS' "$OUT/u8-test-$p.log") passed, $(grep -c -- '--- FAIL' "$OUT/u8-test-$p.log") failed)"
done
wait $exports
for b in 256 1; do
  it=$(( b == 1 ? 100 : 20 ))
  $PY export/bench_eager.py --arch ViT-B/32 --device cuda --batch $b --iters $it | tee -a "$OUT/bench.jsonl"
  "$D/clip" bench --model "$W/ViT-B-32" --device cuda --batch-size $b --iters $it | tee -a "$OUT/bench.jsonl"
  "$D/clip" bench --model "$W/ViT-B-32" --device cuda --batch-size $b --iters $it --u8 | tee -a "$OUT/bench.jsonl"
  "$D/clip" bench --model "$W/ViT-B-32" --device cuda --batch-size $b --iters $it --u8 --fast | tee -a "$OUT/bench.jsonl"
done
wait $photos
$PY scripts/bench_pipeline.py "$W/photos" --arch ViT-B/32 --device cuda --batch 256 --workers "$(nproc)" | tee -a "$OUT/bench.jsonl"
for run in 1 2; do
  "$D/clip" embed --model "$W/ViT-B-32" --device cuda --images-dir "$W/photos" -o "$W/emb$run.npy" --batch-size 256 --no-resume 2>&1 | head -1 | tee -a "$OUT/summary.txt"
done
log done
