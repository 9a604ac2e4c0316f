#!/usr/bin/env bash
# One-shot GPU check on a CUDA machine with a pip PyTorch 2.x (no Go there).
#
# Prepare here (scripts/gpu_bundle.sh fills .device/ with bin/clip, the Go
# test binaries, libjpeg and the golden files), then run from the repo root
# on the GPU machine:   scripts/gpu_check.sh
#
# It builds the shim against that torch with CMake, exports the golden tiny
# models and random official-shape ViT-B/32, RN50 and ViT-L/14 with that
# torch, runs the Go torch and clip tests on CUDA (fp32 and fp16), `clip
# parity` on the golden models (fp32 and fp16), then the
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
# Overrides for a dry run on a CPU machine: DEV=cpu VITB=tiny-vit RN=tiny-rn
# VITL=tiny-vit N_PHOTOS=64 Torch_DIR=/usr/lib/x86_64-linux-gnu/cmake/Torch
DEV=${DEV:-cuda}
VITB=${VITB:-ViT-B/32} RN=${RN:-RN50} VITL=${VITL:-ViT-L/14}
N_PHOTOS=${N_PHOTOS:-4096}
mkdir -p "$W"
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/summary.txt"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee -a "$OUT/summary.txt"
nproc | sed 's/^/cores: /' | tee -a "$OUT/summary.txt"

# --- background: exports and test photos (CPU work) -----------------------
(
  for a in "$VITB" "$RN" "$VITL"; do
    [ -f "$W/$(echo "$a" | tr '/@' '--')/manifest.json" ] && continue
    n=$(echo "$a" | tr '/@' '--')
    $PY export/random_checkpoint.py --arch "$a" --out "$W/$n.pt" &&
      $PY export/export.py --checkpoint "$W/$n.pt" --out "$W/$n" --name "$a" && rm -f "$W/$n.pt"
  done
) >"$OUT/exports.log" 2>&1 &
exports=$!
$PY scripts/make_jpegs.py "$W/photos" --n "$N_PHOTOS" --jobs 6 >"$OUT/photos.log" 2>&1 &
photos=$!

# --- the shim -----------------------------------------------------------------
log "building the shim against $($PY -c 'import torch;print(torch.__version__)')"
TD=${Torch_DIR:-$($PY -c 'import torch,os;print(os.path.join(torch.utils.cmake_prefix_path,"Torch"))')}
if ! { cmake -S . -B build/cuda -DTorch_DIR="$TD" -DCMAKE_INSTALL_PREFIX="$root/build/cuda-install" -DCMAKE_INSTALL_LIBDIR=lib &&
       cmake --build build/cuda -j 12 && cmake --install build/cuda; } >"$OUT/shim-build.log" 2>&1; then
  log "SHIM BUILD FAILED"; tail -40 "$OUT/shim-build.log"; exit 1
fi
# The Go binaries open the shim at run time: this one, built for CUDA.
export GOCLIP_LIB="$root/build/cuda-install/lib/libgoclip.so"
export LD_LIBRARY_PATH="$D/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GOCLIP_SHARED="$D/shared" GOCLIP_PYTHON="$PY" CLIP_VOCAB="$D/shared/clip/bpe_simple_vocab_16e6.txt.gz"
"$D/clip" doctor | tee -a "$OUT/summary.txt"

# --- tests on CUDA --------------------------------------------------------------
log "torch tests on $DEV"
GOCLIP_TEST_DEVICE=$DEV "$D/torch.test" -test.short -test.v >"$OUT/torch-test.log" 2>&1
log "torch tests: exit $? ($(grep -c '^--- PASS' "$OUT/torch-test.log") passed, $(grep -c '^--- FAIL' "$OUT/torch-test.log") failed, $(grep -c '^--- SKIP' "$OUT/torch-test.log") skipped)"
precisions="fp32 fp16"; [ "$DEV" = cpu ] && precisions=fp32
for p in $precisions; do
  GOCLIP_TEST_DEVICE=$DEV GOCLIP_TEST_PRECISION=$p "$D/clip.test" -test.v -test.short \
    -test.run 'TestGoldenParity|TestGoldenChain|TestInfo|TestBadInputs|TestClassifierModel' >"$OUT/clip-test-$p.log" 2>&1
  log "clip tests $DEV $p: exit $? ($(grep -c '^--- PASS' "$OUT/clip-test-$p.log") passed, $(grep -c '^--- FAIL' "$OUT/clip-test-$p.log") failed)"
  grep -E "max\|diff\|" "$OUT/clip-test-$p.log" | sed 's/^ *//' | tee -a "$OUT/summary.txt"
done

# --- clip parity: PyTorch on the original archive vs goclip on its export ---------
# (the reference needs torchvision and Pillow beside torch in $PY)
for m in tiny_vit_b32 tiny_rn; do
  [ -f "$W/golden-$m/manifest.json" ] ||
    $PY export/export.py --checkpoint "$D/shared/golden/models/$m/model.jit.pt" --out "$W/golden-$m" --name "$m" >>"$OUT/exports.log" 2>&1
  for p in $precisions; do
    "$D/clip" parity --model "$W/golden-$m" --checkpoint "$D/shared/golden/models/$m/model.jit.pt" \
      --device $DEV --precision $p --html "$OUT/parity-$m-$p.html" >"$OUT/parity-$m-$p.txt" 2>&1
    log "parity $m $DEV $p: exit $?"
    sed -n '/^STAGE/,/^$/p;$p' "$OUT/parity-$m-$p.txt" | tee -a "$OUT/summary.txt"
  done
done

# --- model benchmarks: PyTorch eager vs the Go API, same run -----------------------
wait $exports
log "exports: $(ls -d "$W"/*/ 2>/dev/null | tr '\n' ' ')"
# bench ARCH WHAT BATCH ITERS VARIANTS: e = eager, h = eager from host
# memory, u = Go API on uint8 pixels (normalised on the device),
# g = Go API on float32 pixels, f = g with TorchScript fusion (--fast).
bench() {
  local a=$1 w=$2 b=$3 it=$4 v=$5 n
  n=$(echo "$a" | tr '/@' '--')
  log "bench $a $w batch $b"
  case $v in *e*) $PY export/bench_eager.py --arch "$a" --device $DEV --batch "$b" --what "$w" --iters "$it" | tee -a "$OUT/bench.jsonl";; esac
  case $v in *h*) $PY export/bench_eager.py --arch "$a" --device $DEV --batch "$b" --what "$w" --iters "$it" --host-inputs | tee -a "$OUT/bench.jsonl";; esac
  case $v in *u*) "$D/clip" bench --model "$W/$n" --device $DEV --batch-size "$b" --what "$w" --iters "$it" --u8 | tee -a "$OUT/bench.jsonl";; esac
  case $v in *g*) "$D/clip" bench --model "$W/$n" --device $DEV --batch-size "$b" --what "$w" --iters "$it" | tee -a "$OUT/bench.jsonl";; esac
  case $v in *f*) "$D/clip" bench --model "$W/$n" --device $DEV --batch-size "$b" --what "$w" --iters "$it" --fast | tee -a "$OUT/bench.jsonl";; esac
}
bench "$VITB" image 256 20 ehguf
bench "$VITB" text 256 20 eg
bench "$VITB" image 1 100 eguf
bench "$RN" image 256 10 egu
bench "$VITL" image 256 5 egu

# --- folder pipeline: official Python DataLoader vs clip embed --images-dir --------
wait $photos
log "pipeline on $(ls "$W/photos" | wc -l) JPEGs ($(du -sh "$W/photos" | cut -f1))"
$PY scripts/bench_pipeline.py "$W/photos" --arch "$VITB" --device "$DEV" --batch 256 --workers "$(nproc)" | tee -a "$OUT/bench.jsonl"
for run in 1 2; do
  start=$(date +%s%N)
  "$D/clip" embed --model "$W/$(echo "$VITB" | tr '/@' '--')" --device $DEV --images-dir "$W/photos" -o "$W/emb$run.npy" --batch-size 256 --no-resume 2>&1 | tail -2 | tee -a "$OUT/summary.txt"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "{\"go_embed_dir_run\": $run, \"files\": $N_PHOTOS, \"ms_wall\": $ms, \"images_per_s\": $(( N_PHOTOS * 1000 / ms ))}" | tee -a "$OUT/bench.jsonl"
done
log "done"
