#!/usr/bin/env bash
# Collection test on a real scheduler: starts a single-node Slurm (Debian's
# slurm-wlm with munge; installed through apt when missing), runs an sbatch
# array job of N tasks over a set of WebDataset tars with
# `clip embed --shard auto`, requeues one task while it runs (scontrol
# requeue kills it; Slurm runs it again), and checks that the merged result
# equals a single-process run row for row. Tears everything down after.
#
# Usage: scripts/test_slurm.sh [TASKS]   (default 4; needs root)
# Env: GOCLIP_SKIP_APT=1 never runs apt; KEEP=1 keeps the work folder.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
tasks=${1:-4}
python=${PYTHON:-/usr/bin/python3}
export PATH=/usr/local/go/bin:$PATH

. scripts/lib_slurm.sh
slurm_install

work=$(mktemp -d /tmp/goclip-slurm.XXXXXX)
cleanup() {
  status=$?
  [ -n "${jobid:-}" ] && scancel "$jobid" 2>/dev/null || true
  slurm_down
  if [ $status -ne 0 ]; then
    for f in "$work"/*.log "$work"/out-*.txt; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done
  fi
  [ -n "${KEEP:-}" ] || rm -rf "$work"
  exit $status
}
trap cleanup EXIT

echo "== building clip"
. build/env.sh
go build -o "$work/clip" ./cmd/clip
model=$repo/models/tiny-vit
[ -f "$model/manifest.json" ] || { echo "test_slurm: $model is missing (scripts/setup.sh makes it)" >&2; exit 1; }
find_vocab "$repo"
export CLIP_VOCAB=$vocab GOCLIP_LIB=${GOCLIP_LIB:-}

echo "== test data: 24 tars of 16 photographs"
"$python" scripts/make_jpegs.py "$work/photos" --n 384 --size 480x360 --jobs 2 >/dev/null
spec=$("$python" scripts/make_shards.py "$work/photos" "$work/shards" --per-shard 16 --captions)

echo "== starting munged and Slurm"
slurm_up "$work"

common=(--model "$model" --device cpu --threads 1 --workers 1 --batch-size 8 --layout clip-retrieval)
cat >"$work/job.sh" <<JOB
#!/bin/bash
#SBATCH --array=0-$((tasks - 1))
#SBATCH --cpus-per-task=1
#SBATCH --requeue
#SBATCH --output=$work/out-%A_%a.txt
export CLIP_VOCAB=$vocab GOCLIP_LIB=${GOCLIP_LIB:-}
exec $work/clip embed ${common[*]} --input '$spec' -o $work/slurm --shard auto
JOB
echo "== sbatch: array of $tasks tasks"
start=$(date +%s.%N)
jobid=$(sbatch --parsable -D "$work" "$work/job.sh")
victim=1
# Task $victim embeds partitions victim, victim+tasks, ...; requeue it
# once its first partition is complete, while later ones are in progress.
first=$(printf "%d.json" $victim)
for _ in $(seq 600); do
  [ -f "$work/slurm/stats/$first" ] && break
  sleep 0.05
done
[ -f "$work/slurm/stats/$first" ] || { echo "test_slurm: task $victim wrote nothing" >&2; exit 1; }
mine=$(( (24 - victim + tasks - 1) / tasks ))
done_before=$(ls "$work/slurm/stats" | awk -F. -v t=$tasks -v v=$victim '($1 % t) == v' | wc -l)
state=$(squeue -h -j "${jobid}_$victim" -o %T)
echo "   task $victim is $state with $done_before of $mine partitions done: scontrol requeue"
[ "$state" = RUNNING ] && [ "$done_before" -lt "$mine" ] || { echo "test_slurm: task $victim was not mid-run" >&2; exit 1; }
scontrol requeue "${jobid}_$victim"
wait_job "$jobid" || { echo "test_slurm: the job did not finish" >&2; exit 1; }
end=$(date +%s.%N)
for t in $(seq 0 $((tasks - 1))); do
  info=$(scontrol show job "${jobid}_$t")
  st=$(grep -o 'JobState=[A-Z_]*' <<<"$info")
  rs=$(grep -o 'Restarts=[0-9]*' <<<"$info")
  ec=$(grep -o ' ExitCode=[0-9:]*' <<<"$info")
  echo "   task $t: $st $rs$ec"
  [ "$st" = JobState=COMPLETED ] || { echo "test_slurm: task $t did not complete" >&2; exit 1; }
  if [ "$t" = "$victim" ]; then
    [ "$rs" = Restarts=1 ] || { echo "test_slurm: task $victim was not requeued" >&2; exit 1; }
    grep -q "complete already, skipped" "$work"/out-"${jobid}"_"$victim".txt ||
      { echo "test_slurm: the requeued task redid finished partitions" >&2; exit 1; }
  fi
done
echo "   slurm run: $(echo "$end - $start" | bc) s (with the requeue)"

echo "== single process"
"$work/clip" embed "${common[@]}" --input "$spec" -o "$work/single" 2>"$work/single.log"
for d in slurm single; do
  "$work/clip" merge -o "$work/$d.npy" "$work/$d" 2>>"$work/merge.log"
done
cmp "$work/slurm.npy" "$work/single.npy"
cmp "$work/slurm.jsonl" "$work/single.jsonl"
rows=$(wc -l <"$work/single.jsonl")
[ "$rows" -eq 384 ] || { echo "test_slurm: $rows rows, want 384" >&2; exit 1; }
for d in img_emb text_emb metadata; do
  diff -r "$work/slurm/$d" "$work/single/$d"
done
if ls -A "$work"/slurm/*/ | grep -v -E "^$|:$" | grep -v -E '\.(npy|parquet|json)$'; then
  echo "test_slurm: temporary files left in the layout" >&2
  exit 1
fi
echo "== ok: $tasks Slurm tasks (one requeued mid-run) = one process, $rows rows"
