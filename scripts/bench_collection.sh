#!/usr/bin/env bash
# Collection throughput, side by side in one command: the same photographs
# as a folder (`clip embed --images-dir`, today's path) and as WebDataset tar
# shards (`clip embed --input 'shards/{...}.tar' --layout clip-retrieval`),
# and the folder through --input too, on one core and on all cores, with the
# demo model (models/tiny-vit) and a random-weights ViT-B/32. Then the
# scheduler overhead: the tar set as a Slurm array (one task per core, on a
# throw-away single-node Slurm) against one process on all cores and against
# the same tasks started by hand.
#
# Usage: scripts/bench_collection.sh [N] [PER_TAR]   (default 1024 photos,
# 128 per tar; after scripts/setup.sh; root for the Slurm part)
# Env: BENCH_MODELS="tiny-vit ViT-B/32" (default both), NO_SLURM=1.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
n=${1:-1024}
per=${2:-128}
py=${PYTHON:-/usr/bin/python3}
export PATH=/usr/local/go/bin:$PATH
. build/env.sh
. scripts/lib_slurm.sh
find_vocab "$repo"
export CLIP_VOCAB=$vocab
mkdir -p .bench
clip=.bench/clip-collection
go build -o "$clip" ./cmd/clip
photos=.bench/jpegs-$n
[ -d "$photos" ] || "$py" scripts/make_jpegs.py "$photos" --n "$n"
shards=.bench/shards-$n-$per
[ -d "$shards" ] || "$py" scripts/make_shards.py "$photos" "$shards" --per-shard "$per" >/dev/null
spec="$(pwd)/$shards/{$(printf '%05d' 0)..$(printf '%05d' $(( (n + per - 1) / per - 1 )))}.tar"
out=$(mktemp -d /tmp/goclip-bench.XXXXXX)
trap 'slurm_down; rm -rf "$out"' EXIT

model_dir() {
  case $1 in
  tiny-vit) echo models/tiny-vit ;;
  *)
    local w=.bench/models name
    name=$(echo "$1" | tr '/@' '--')
    if [ ! -f "$w/$name/manifest.json" ]; then
      mkdir -p "$w"
      "$py" export/random_checkpoint.py --arch "$1" --out "$w/$name.pt" >/dev/null
      "$py" export/export.py --checkpoint "$w/$name.pt" --out "$w/$name" --name "$1" >/dev/null && rm -f "$w/$name.pt"
    fi
    echo "$w/$name"
    ;;
  esac
}

# rate LABEL CMD...: runs CMD, prints files/s over the whole process
# (model load included) as a table row.
rate() {
  local label=$1 t0 t1
  shift
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>"$out/log" || { cat "$out/log" >&2; return 1; }
  t1=$(date +%s.%N)
  printf '%-44s %7.1f files/s  (%.2f s)\n' "$label" "$(echo "$n / ($t1 - $t0)" | bc -l)" "$(echo "$t1 - $t0" | bc -l)"
}

cores=$(nproc)
echo "== $n photographs (693x520 JPEG), $per per tar; $cores cores"
for name in ${BENCH_MODELS:-tiny-vit ViT-B/32}; do
  m=$(model_dir "$name")
  for c in 1 "$cores"; do
    cpus=0-$((c - 1))
    flags=(--model "$m" --device cpu --threads "$c" --workers "$c")
    echo "-- $name, $c core(s)"
    for run in 1 2; do
      rm -rf "$out"/folder* "$out"/tars "$out"/layout-folder
      rate "folder: embed --images-dir (run $run)" taskset -c "$cpus" "$clip" embed "${flags[@]}" --images-dir "$photos" -o "$out/folder.npy"
      rate "tars: embed --input --layout (run $run)" taskset -c "$cpus" "$clip" embed "${flags[@]}" --input "$spec" --layout clip-retrieval -o "$out/tars"
      rate "folder: embed --input --layout (run $run)" taskset -c "$cpus" "$clip" embed "${flags[@]}" --input "$photos" --layout clip-retrieval -o "$out/layout-folder"
    done
  done
done

[ -n "${NO_SLURM:-}" ] && exit 0
slurm_install
slurm_up "$out/slurm-state"
m=models/tiny-vit
flags="--model $m --device cpu --threads 1 --workers 1 --input '$spec' --layout clip-retrieval"
echo "-- scheduler overhead, tiny-vit: $cores tasks of 1 core vs processes"
for run in 1 2; do
  rm -rf "$out/one" "$out/hand" "$out/slurm"
  rate "one process, $cores cores (run $run)" "$clip" embed --model $m --device cpu --threads "$cores" --workers "$cores" --input "$spec" --layout clip-retrieval -o "$out/one"
  t0=$(date +%s.%N)
  hand=()
  for k in $(seq 0 $((cores - 1))); do
    eval taskset -c "$k" "$clip" embed $flags -o "$out/hand" --shard "$k/$cores" 2>/dev/null &
    hand+=($!)
  done
  wait "${hand[@]}"
  t1=$(date +%s.%N)
  printf '%-44s %7.1f files/s  (%.2f s)\n' "$cores processes by hand (run $run)" "$(echo "$n / ($t1 - $t0)" | bc -l)" "$(echo "$t1 - $t0" | bc -l)"
  cat >"$out/job.sh" <<JOB
#!/bin/bash
#SBATCH --array=0-$((cores - 1))
#SBATCH --cpus-per-task=1
#SBATCH --output=/dev/null
export CLIP_VOCAB=$vocab GOCLIP_LIB=${GOCLIP_LIB:-}
exec $repo/$clip embed $flags -o $out/slurm --shard auto
JOB
  t0=$(date +%s.%N)
  jobid=$(sbatch --parsable -D "$repo" "$out/job.sh")
  wait_job "$jobid"
  t1=$(date +%s.%N)
  printf '%-44s %7.1f files/s  (%.2f s)\n' "Slurm array of $cores tasks, sbatch to done (run $run)" "$(echo "$n / ($t1 - $t0)" | bc -l)" "$(echo "$t1 - $t0" | bc -l)"
  "$clip" merge -o "$out/a.npy" "$out/hand" 2>/dev/null
  "$clip" merge -o "$out/b.npy" "$out/slurm" 2>/dev/null
  cmp -s "$out/a.npy" "$out/b.npy" || { echo "the Slurm run and the processes by hand differ" >&2; exit 1; }
done
