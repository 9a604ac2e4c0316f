# Shared by scripts/test_slurm.sh and scripts/bench_collection.sh (source
# it): a throw-away single-node Slurm with munge, all state under one folder.
#
#   slurm_install        apt-get installs slurm-wlm and munge when missing
#                        (as root, unless GOCLIP_SKIP_APT is set)
#   slurm_up WORK        starts munged, slurmctld and slurmd with state in
#                        WORK, exports SLURM_CONF, appends the daemons' PIDs
#                        to the array slurm_pids and waits for the node
#   slurm_down           stops those daemons
#   find_vocab REPO      sets vocab to the BPE vocabulary (shared/, else the cache)

slurm_pids=()

slurm_install() {
  if command -v slurmctld >/dev/null && command -v munged >/dev/null && command -v sbatch >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ] || [ -n "${GOCLIP_SKIP_APT:-}" ]; then
    echo "slurm-wlm and munge are missing (apt-get install slurm-wlm munge, as root)" >&2
    return 1
  fi
  echo "== installing slurm-wlm and munge"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

slurm_up() {
  local work=$1
  [ "$(id -u)" -eq 0 ] || { echo "the Slurm daemons are started as root" >&2; return 1; }
  install -d -m 700 "$work/munge"
  dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$work/munge/munge.key"
  local sock=$work/munge/munge.socket
  munged --force -F -S "$sock" --key-file="$work/munge/munge.key" --pid-file="$work/munge/munged.pid" \
    --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed" >"$work/munged.log" 2>&1 &
  slurm_pids+=($!)
  for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
  local host port
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
# A requeued job waits cred_expire + 1 seconds before it may start again.
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
MinJobAge=600
SlurmdTimeout=30
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  export SLURM_CONF=$work/slurm.conf
  slurmctld -D -i -f "$SLURM_CONF" >"$work/slurmctld.out" 2>&1 &
  slurm_pids+=($!)
  slurmd -D -f "$SLURM_CONF" >"$work/slurmd.out" 2>&1 &
  slurm_pids+=($!)
  for _ in $(seq 100); do
    sinfo -h -o %t 2>/dev/null | grep -qE '^idle' && return 0
    sleep 0.2
  done
  echo "the Slurm node did not come up (see $work/slurmctld.log)" >&2
  return 1
}

slurm_down() {
  local p
  for p in "${slurm_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${slurm_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  slurm_pids=()
}

# wait_job JOBID [TENTHS]: waits until the job has left the queue.
wait_job() {
  local n=${2:-1200}
  for _ in $(seq "$n"); do
    [ -z "$(squeue -h -j "$1" -o %i)" ] && return 0
    sleep 0.1
  done
  return 1
}

find_vocab() {
  # The shared copy where it sits beside the checkout (CI), else the copy in
  # goclip's cache (scripts/setup.sh seeds it; clip downloads it there).
  local root=$1 cache
  . "$root/scripts/lib_shared.sh"
  if [ ! -f "$vocab" ]; then
    if [ -n "${GOCLIP_CACHE:-}" ]; then cache=$GOCLIP_CACHE
    elif [ -n "${XDG_CACHE_HOME:-}" ]; then cache=$XDG_CACHE_HOME/goclip
    else cache=$HOME/.cache/goclip; fi
    vocab=$cache/bpe_simple_vocab_16e6.txt.gz
  fi
  [ -f "$vocab" ] || { echo "no BPE vocabulary in $shared/clip or $cache (set GOCLIP_SHARED, or run clip doctor to fetch it)" >&2; return 1; }
}
