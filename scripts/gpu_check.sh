#!/usr/bin/env bash
# One-shot GPU check on a CUDA machine with a pip PyTorch 2.x (no Go there).
#
# Prepare here (scripts/gpu_bundle.sh fills .device/ with bin/clip, the Go
# test binaries, libjpeg and the golden files), then run from the repo root
# on the GPU machine:   scripts/gpu_check.sh
#
# It builds the shim against that torch with CMake, exports the golden tiny
# models and random official-shape ViT-B/32, RN50 and ViT-L/14 with that
# torch, runs the Go torch and clip tests on CUDA (fp32 and fp16), then the
# benchmarks side by side: PyTorch eager vs the Go API, and the official
# Python DataLoader pipeline vs `clip embed --images-dir`. Results go to
# $OUT (default /tmp/gpu-check).
set -u
root=$PWD
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
D=$root/.device
PY=${PYTHON:-python3}
W=${WORK:-/tmp/goclip-gpu}
mkdir -p "$W"
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/summary.txt"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$OUT/summary.txt"
nproc | sed 's/^/cores: /' | tee -a "$OUT/summary.txt"

# --- background: exports and test photos (CPU work) -----------------------
(
  for a in ViT-B/32 RN50 ViT-L/14; do
    n=$(echo "$a" | tr '/@' '--')
    $PY export/random_checkpoint.py --arch "$a" --out "$W/$n.pt" &&
      $PY export/export.py --checkpoint "$W/$n.pt" --out "$W/$n" --name "$a" && rm -f "$W/$n.pt"
  done
) >"$OUT/exports.log" 2>&1 &
exports=$!
$PY scripts/make_jpegs.py "$W/photos" --n 4096 --jobs 6 >"$OUT/photos.log" 2>&1 &
photos=$!

# --- the shim -----------------------------------------------------------------
log "building the shim against $($PY -c 'import torch;print(torch.__version__)')"
TD=$($PY -c 'import torch,os;print(os.path.join(torch.utils.cmake_prefix_path,"Torch"))')
if ! { cmake -S . -B build/cuda -DTorch_DIR="$TD" -DCMAKE_INSTALL_PREFIX="$root/build/cuda-install" -DCMAKE_INSTALL_LIBDIR=lib &&
       cmake --build build/cuda -j 12 && cmake --install build/cuda; } >"$OUT/shim-build.log" 2>&1; then
  log "SHIM BUILD FAILED"; tail -40 "$OUT/shim-build.log"; exit 1
fi
export LD_LIBRARY_PATH="$root/build/cuda-install/lib:$D/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GOCLIP_SHARED="$D/shared" GOCLIP_PYTHON="$PY" CLIP_VOCAB="$D/shared/clip/bpe_simple_vocab_16e6.txt.gz"
"$D/clip" doctor | tee -a "$OUT/summary.txt"

# --- tests on CUDA --------------------------------------------------------------
log "torch tests on cuda"
GOCLIP_TEST_DEVICE=cuda "$D/torch.test" -test.short -test.v >"$OUT/torch-test.log" 2>&1
log "torch tests: exit $? ($(grep -c '^--- PASS' "$OUT/torch-test.log") passed, $(grep -c '^--- FAIL' "$OUT/torch-test.log") failed, $(grep -c '^--- SKIP' "$OUT/torch-test.log") skipped)"
for p in fp32 fp16; do
  GOCLIP_TEST_DEVICE=cuda GOCLIP_TEST_PRECISION=$p "$D/clip.test" -test.v -test.short \
    -test.run 'TestGoldenParity|TestGoldenChain|TestInfo|TestBadInputs|TestClassifierModel' >"$OUT/clip-test-$p.log" 2>&1
  log "clip tests cuda $p: exit $? ($(grep -c '^--- PASS' "$OUT/clip-test-$p.log") passed, $(grep -c '^--- FAIL' "$OUT/clip-test-$p.log") failed)"
  grep -E "max\|diff\|" "$OUT/clip-test-$p.log" | sed 's/^ *//' | tee -a "$OUT/summary.txt"
done

# --- model benchmarks: PyTorch eager vs the Go API, same run -----------------------
wait $exports
log "exports: $(ls -d "$W"/*/ 2>/dev/null | tr '\n' ' ')"
bench() { # arch what batch iters
  local a=$1 w=$2 b=$3 it=$4 n
  n=$(echo "$a" | tr '/@' '--')
  log "bench $a $w batch $b"
  $PY export/bench_eager.py --arch "$a" --device cuda --batch "$b" --what "$w" --iters "$it" | tee -a "$OUT/bench.jsonl"
  $PY export/bench_eager.py --arch "$a" --device cuda --batch "$b" --what "$w" --iters "$it" --host-inputs | tee -a "$OUT/bench.jsonl"
  "$D/clip" bench --model "$W/$n" --device cuda --batch-size "$b" --what "$w" --iters "$it" | tee -a "$OUT/bench.jsonl"
  "$D/clip" bench --model "$W/$n" --device cuda --batch-size "$b" --what "$w" --iters "$it" --fast | tee -a "$OUT/bench.jsonl"
}
bench ViT-B/32 image 256 30
bench ViT-B/32 text 256 30
bench ViT-B/32 image 1 200
bench RN50 image 256 20
bench ViT-L/14 image 256 10

# --- folder pipeline: official Python DataLoader vs clip embed --images-dir --------
wait $photos
log "pipeline on $(ls "$W/photos" | wc -l) JPEGs ($(du -sh "$W/photos" | cut -f1))"
$PY scripts/bench_pipeline.py "$W/photos" --arch ViT-B/32 --batch 256 --workers 16 | tee -a "$OUT/bench.jsonl"
for run in 1 2; do
  start=$(date +%s%N)
  "$D/clip" embed --model "$W/ViT-B-32" --device cuda --images-dir "$W/photos" -o "$W/emb$run.npy" --batch-size 256 --no-resume 2>&1 | tail -2 | tee -a "$OUT/summary.txt"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "{\"go_embed_dir_run\": $run, \"files\": 4096, \"ms_wall\": $ms, \"images_per_s\": $(( 4096000 / ms ))}" | tee -a "$OUT/bench.jsonl"
done
log "done"
