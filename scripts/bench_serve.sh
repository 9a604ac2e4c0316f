#!/usr/bin/env bash
# clip serve under load, side by side in one command, on loopback:
#   - goclip: bin/clip serve (batching across requests, --max-batch-size B),
#   - the in-process Go API at the same batch size (no HTTP: the ceiling),
#   - the reference Python server as people deploy one: FastAPI + uvicorn,
#     Pillow + torchvision transform, one model call per request
#     (scripts/bench_serve_ref.py),
# each at concurrency 1, 8, 32 and 128, one text or one JPEG per request
# (photo-like JPEGs of 0.3, 0.8 and 1.9 megapixels). The load generator is
# internal/cmd/benchserve: requests/s, items/s, p50 and p99 latency.
# Usage: scripts/bench_serve.sh [ARCH] [SECONDS]   (ARCH: tiny-vit (default,
# the demo model) or an official name at random weights, e.g. ViT-B/32).
# Text requests to the Python server need the official simple_tokenizer.py
# in $CLIP_SRC (default .bench/clip); without it they are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-tiny-vit}
secs=${2:-6}
py=${PYTHON:-/usr/bin/python3}
device=${DEVICE:-cpu}
bs=${BATCH:-32}
conc=${CONC:-1,8,32,128}
clip_src=${CLIP_SRC:-.bench/clip}
# The vocabulary: $CLIP_VOCAB, else shared/clip beside a folder above this checkout (as the tests look).
vocab=${CLIP_VOCAB:-}
d=$PWD
while [ -z "$vocab" ] && [ "$d" != / ]; do
  [ -f "$d/shared/clip/bpe_simple_vocab_16e6.txt.gz" ] && vocab=$d/shared/clip/bpe_simple_vocab_16e6.txt.gz
  d=$(dirname "$d")
done
w=.bench/serve
mkdir -p "$w"
export PATH=/usr/local/go/bin:$PATH
[ -f build/env.sh ] && . build/env.sh
go build -o bin/clip ./cmd/clip
go build -o bin/benchserve ./internal/cmd/benchserve
if [ "$arch" = tiny-vit ]; then
  model=models/tiny-vit
else
  n=$(echo "$arch" | tr '/@' '--')
  model=.bench/models/$n
  if [ ! -f "$model/manifest.json" ]; then
    mkdir -p .bench/models
    "$py" export/random_checkpoint.py --arch "$arch" --out "$model.pt"
    "$py" export/export.py --checkpoint "$model.pt" --out "$model" --name "$arch" && rm -f "$model.pt"
  fi
fi
photos=$w/photos
if [ ! -d "$photos" ]; then
  for size in 640x480 1024x768 1600x1200; do
    "$py" scripts/make_jpegs.py "$w/jpegs-$size" --n 12 --size "$size"
    mkdir -p "$photos"
    for f in "$w/jpegs-$size"/*.jpg; do cp "$f" "$photos/$size-$(basename "$f")"; done
  done
fi
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
wait_ready() { for _ in $(seq 600); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.5; done; echo "server at $1 did not start" >&2; return 1; }
vflag=(); [ -n "$vocab" ] && vflag=(--vocab "$vocab")

echo "== $arch on $device, $(nproc) cores, batch $bs, ${secs}s per level"
bin/clip serve --model "$model" --device "$device" "${vflag[@]}" --addr 127.0.0.1:18480 --max-batch-size "$bs" --max-queue 4096 2>"$w/serve.log" &
pids+=($!)
wait_ready http://127.0.0.1:18480/health/ready
for kind in text image; do
  bin/benchserve -label goclip -url http://127.0.0.1:18480 -kind "$kind" -images "$photos" -c "$conc" -duration "${secs}s"
  bin/benchserve -inprocess -model "$model" "${vflag[@]/--vocab/-vocab}" -kind "$kind" -images "$photos" -batch "$bs" -duration "${secs}s"
done
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true; pids=()

refargs=(--arch "$arch" --port 18481)
[ -f "$clip_src/simple_tokenizer.py" ] && refargs+=(--clip-src "$clip_src" --vocab "$vocab")
"$py" scripts/bench_serve_ref.py "${refargs[@]}" 2>"$w/ref.log" &
pids+=($!)
for _ in $(seq 600); do
  curl -s -o /dev/null http://127.0.0.1:18481/docs && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "the Python server failed:" >&2; tail -5 "$w/ref.log" >&2; exit 1; }
  sleep 0.5
done
kinds="image"; [ -f "$clip_src/simple_tokenizer.py" ] && kinds="text image" || echo "(python text skipped: no $clip_src/simple_tokenizer.py)"
for kind in $kinds; do
  bin/benchserve -label python -url http://127.0.0.1:18481 -kind "$kind" -images "$photos" -c "$conc" -duration "${secs}s"
done
