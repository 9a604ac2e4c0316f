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

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  if [ "$(id -u)" -ne 0 ] || [ -n "${GOCLIP_SKIP_APT:-}" ]; then
    echo "test_slurm: slurm-wlm and munge are missing (apt-get install slurm-wlm munge, as root)" >&2
    exit 1
  fi
  echo "== installing slurm-wlm and munge"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi
[ "$(id -u)" -eq 0 ] || { echo "test_slurm: the daemons are started as root" >&2; exit 1; }

work=$(mktemp -d /tmp/goclip-slurm.XXXXXX)
pids=()
cleanup() {
  status=$?
  [ -n "${jobid:-}" ] && scancel "$jobid" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
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
shared=${GOCLIP_SHARED:-}
if [ -z "$shared" ]; then
  d=$repo
  while [ "$d" != / ] && [ ! -f "$d/shared/golden/README.md" ]; do d=$(dirname "$d"); done
  shared=$d/shared
fi
vocab=$shared/clip/bpe_simple_vocab_16e6.txt.gz
[ -f "$vocab" ] || { echo "test_slurm: no BPE vocabulary at $vocab (set GOCLIP_SHARED)" >&2; exit 1; }
export CLIP_VOCAB=$vocab GOCLIP_LIB=${GOCLIP_LIB:-}

echo "== test data: 24 tars of 16 photographs"
"$python" scripts/make_jpegs.py "$work/photos" --n 384 --size 480x360 --jobs 2 >/dev/null
spec=$("$python" scripts/make_shards.py "$work/photos" "$work/shards" --per-shard 16 --captions)

echo "== starting munged and Slurm"
install -d -m 700 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
sock=$work/munge/munge.socket
munged --force -F -S "$sock" --key-file="$work/munge/munge.key" --pid-file="$work/munge/munged.pid" \
  --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed" >"$work/munged.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
host=$(hostname -s)
port=$((17000 + RANDOM % 2000))
mkdir -p "$work/state" "$work/spool"
cat >"$work/slurm.conf" <<CONF
ClusterName=goclip
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock,cred_expire=10
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
JobRequeue=1
# A requeued job waits cred_expire + 1 seconds before it may start again.
MinJobAge=600
SlurmdTimeout=30
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
export SLURM_CONF=$work/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" >"$work/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$work/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  sinfo -h -o %t 2>/dev/null | grep -qE '^idle' && break
  sleep 0.2
done
sinfo -h -o %t | grep -qE '^idle' || { echo "test_slurm: the node did not come up" >&2; exit 1; }

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
for _ in $(seq 1200); do
  [ -z "$(squeue -h -j "$jobid" -o %i)" ] && break
  sleep 0.1
done
end=$(date +%s.%N)
[ -z "$(squeue -h -j "$jobid" -o %i)" ] || { echo "test_slurm: the job did not finish" >&2; exit 1; }
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
if ls "$work"/slurm/*/* | grep -v -E '\.(npy|parquet|json)$'; then
  echo "test_slurm: temporary files left in the layout" >&2
  exit 1
fi
echo "== ok: $tasks Slurm tasks (one requeued mid-run) = one process, $rows rows"
