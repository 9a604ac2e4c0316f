#!/usr/bin/env bash
# Start-up and whole-process figures of the command line (issue 10), before
# and after the shim became a run-time dependency, in one command:
#
#  1. `clip version`, `clip tokenize` of one text, `clip preprocess` of one
#     small image: wall time and peak RSS (goal: under 30 ms and 30 MB);
#  2. the first model call (`clip embed` of one text with the demo model),
#     and `clip doctor` against `clip version`: what opening the shim and
#     libtorch (dlopen + symbol lookup + libtorch's start-up) costs;
#  3. the tokenizer through the CLI (JSON lines in and out, --encode), on
#     the golden corpus x50, against the official SimpleTokenizer.encode
#     (warm, in process, as scripts/bench_tokenizer.py runs it; and as a
#     whole process reading the same file);
#  4. preprocessing photographs through the CLI against Pillow+torchvision
#     (the official transform), each a whole process.
#
# Everything runs pinned to one core (taskset). "before" is BASE (default
# main) built the old way: linked against this checkout's shim through
# pkg-config; skipped when BASE already loads the shim at run time.
#
# Usage: scripts/bench_startup.sh
# Environment: BASE (git revision, default main), RUNS (start-up runs, best
# and median kept, default 10), REPEAT (throughput runs, best kept,
# default 3), CPU (core, default 0), PYTHON (default /usr/bin/python3),
# CLIP_SRC (openai/CLIP's simple_tokenizer.py or its folder, default
# .bench/clip), PHOTOS (default .bench/photos, made when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. build/env.sh
python=${PYTHON:-/usr/bin/python3}
base=${BASE:-main}
runs=${RUNS:-10}
repeat=${REPEAT:-3}
cpu=${CPU:-0}
clip_src=${CLIP_SRC:-.bench/clip}
photos=${PHOTOS:-.bench/photos}
. scripts/lib_shared.sh
model=$root/models/tiny-vit
prefix=$(dirname "$(dirname "$GOCLIP_LIB")")
pin=(taskset -c "$cpu")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- the two binaries -----------------------------------------------------------
echo "== building: after = this checkout; before = $base, linked the old way"
go build -o "$work/after/clip" ./cmd/clip
before=""
mkdir -p "$work/src" "$work/pc"
git archive "$base" | tar -x -C "$work/src"
if grep -qs "pkg-config: goclip" "$work/src/torch/"*.go; then
  cat >"$work/pc/goclip.pc" <<PC
Name: goclip
Description: the shim, for the old build
Version: 0
Cflags: -I$prefix/include
Libs: -L$prefix/lib -lgoclip -Wl,-rpath,$prefix/lib -Wl,--enable-new-dtags
PC
  (cd "$work/src" && PKG_CONFIG_PATH="$work/pc" go build -o "$work/before/clip" ./cmd/clip)
  before=$work/before/clip
else
  echo "   ($base already opens the shim at run time: no before figures)"
fi

# --- 1, 2: start-up ---------------------------------------------------------------
img=$root/testdata/images/red-circle.png
echo '"a photo of a cat"' >"$work/one.jsonl"
# measure LABEL STDIN CMD...: best and median wall time and the peak RSS
# over $runs runs (after one untimed), each process started and waited for
# by Python (wait4 gives each child's own peak RSS; taskset's exec is
# included, about a millisecond).
cat >"$work/measure.py" <<'EOF'
import os, subprocess, sys, time
runs, label, stdin = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cmd = sys.argv[4:]
walls, rss = [], 0
for i in range(runs + 1):
    with open(stdin, "rb") as f:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = status
        wall = time.perf_counter() - t0
    if status != 0:
        sys.exit("%s failed: %s" % (label, p.stderr.read().decode()))
    if i > 0:
        walls.append(wall)
        rss = max(rss, ru.ru_maxrss)
walls.sort()
print("  %-34s best %7.1f ms  median %7.1f ms  peak RSS %6.1f MB" % (label, walls[0] * 1e3, walls[len(walls) // 2] * 1e3, rss / 1024))
EOF
measure() {
  local label=$1 in=$2
  shift 2
  "$python" "$work/measure.py" "$runs" "$label" "$in" "${pin[@]}" "$@"
}
for side in before after; do
  bin=$work/$side/clip
  [ -x "$bin" ] || continue
  echo "== start-up, $side ($runs runs, one core)"
  measure "clip version" /dev/null "$bin" version
  measure "clip tokenize (one text)" "$work/one.jsonl" "$bin" tokenize --vocab "$vocab"
  measure "clip preprocess (one small image)" /dev/null "$bin" preprocess --size 224 -o "$work/px.npy" "$img"
  measure "clip doctor (opens libtorch)" /dev/null "$bin" doctor --vocab "$vocab"
  measure "clip embed (first model call)" /dev/null "$bin" embed --model "$model" --vocab "$vocab" --text "a photo of a cat" -o "$work/e.npy"
done

# The first use in a process, split: torch.Init (dlopen of the shim and
# libtorch, symbol lookup, libtorch's static start-up), then Load and the
# first Run of a small module. (Built from .bench/, git-ignored.)
mkdir -p .bench/inittime
cat >.bench/inittime/main.go <<'EOF'
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/goclip/goclip/torch"
)

func main() {
	t0 := time.Now()
	if err := torch.Init(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	t1 := time.Now()
	m, err := torch.Load(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	t2 := time.Now()
	x, _ := torch.NewTensor(make([]float32, 64), 1, 64)
	if _, err := m.Run("forward", x); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ms := func(d time.Duration) float64 { return d.Seconds() * 1e3 }
	fmt.Printf("%.1f %.1f %.1f\n", ms(t1.Sub(t0)), ms(t2.Sub(t1)), ms(time.Since(t2)))
}
EOF
go build -o "$work/inittime" ./.bench/inittime
echo "== first use in a process (after), best of $runs: Init = dlopen + dlsym + libtorch start-up"
for _ in $(seq "$runs"); do "${pin[@]}" "$work/inittime" "$root/testdata/torch/mlp.pt"; done | sort -n | awk '
  NR == 1 { printf "  torch.Init %.1f ms, then Load %.1f ms, first Run %.1f ms\n", $1, $2, $3 }'

# --- 3: tokenizer ----------------------------------------------------------------
"$python" scripts/official_tokenize.py --corpus "$corpus" 50 "$work/corpus50.jsonl"
n_texts=$(wc -l <"$work/corpus50.jsonl")
# best_wall CMD...: best wall time in seconds of $repeat runs, stdin from $stdin.
best_wall() {
  local best="" t0 t1 s
  for _ in $(seq "$repeat"); do
    t0=$(date +%s%N)
    "${pin[@]}" "$@" <"$stdin" >/dev/null || { echo "failed: $*" >&2; return 1; }
    t1=$(date +%s%N)
    s=$(((t1 - t0) / 1000))
    if [ -z "$best" ] || [ "$s" -lt "$best" ]; then best=$s; fi
  done
  awk -v s="$best" 'BEGIN { printf "%.3f", s / 1e6 }'
}
echo "== tokenizer: golden corpus x50 ($n_texts texts), one core, best of $repeat"
if [ -e "$clip_src" ]; then
  official=$("${pin[@]}" "$python" scripts/bench_tokenizer.py --clip-src "$clip_src" --vocab "$vocab" --corpus "$corpus" --min-time 3 --json)
  stdin=$work/corpus50.jsonl
  py_proc=$(best_wall "$python" scripts/official_tokenize.py "$clip_src" "$vocab")
else
  echo "   (official side skipped: put openai/CLIP's simple_tokenizer.py in $clip_src)"
  official='{"texts_per_s_wall": 0, "ftfy": "-"}'
  py_proc=0
fi
stdin=$work/corpus50.jsonl
for side in before after; do
  bin=$work/$side/clip
  [ -x "$bin" ] || continue
  eval "tok_$side=\$(best_wall \"\$bin\" tokenize --encode --vocab \"\$vocab\")"
done
"$python" - "$n_texts" "$official" "$py_proc" "${tok_before:-0}" "${tok_after:-0}" <<'EOF'
import json, sys
n = int(sys.argv[1]); off = json.loads(sys.argv[2]); py_proc = float(sys.argv[3])
before, after = float(sys.argv[4]), float(sys.argv[5])
warm = off["texts_per_s_wall"]
print("  official encode, warm, in process: %9.0f texts/s   (ftfy: %s)" % (warm, off["ftfy"]))
if py_proc:
    print("  official, whole process:           %9.0f texts/s   (%.2f s)" % (n / py_proc, py_proc))
for name, s in (("before", before), ("after", after)):
    if s:
        line = "  clip tokenize --encode, %-6s:     %9.0f texts/s   (%.2f s)" % (name, n / s, s)
        if warm:
            line += "   %.1fx the warm official" % (n / s / warm)
        if py_proc:
            line += ", %.1fx its whole process" % (py_proc / s)
        print(line)
EOF

# --- 4: preprocessing ---------------------------------------------------------------
if [ -z "$(ls -A "$photos" 2>/dev/null)" ]; then
  GOCLIP_SHARED=$shared "$python" scripts/make_photos.py "$photos" >/dev/null
fi
files=("$photos"/*)
echo "== preprocessing: ${#files[@]} photographs of $photos, n_px 224, whole process, one core, best of $repeat"
cat >"$work/official_pre.py" <<'EOF'
import os, sys
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, sys.argv[1])
import numpy as np
import torch
from PIL import Image
from bench_preprocess import transform
torch.set_num_threads(1)
tf = transform(224)
np.save(sys.argv[2], np.stack([tf(Image.open(f)).numpy() for f in sys.argv[3:]]))
EOF
stdin=/dev/null
if "$python" -c 'import PIL, torch, torchvision' 2>/dev/null; then
  py_pre=$(best_wall "$python" "$work/official_pre.py" "$root/scripts" "$work/ref.npy" "${files[@]}")
else
  echo "   (official side skipped: Pillow, torch or torchvision not importable)"
  py_pre=0
fi
for side in before after; do
  bin=$work/$side/clip
  [ -x "$bin" ] || continue
  eval "pre_$side=\$(best_wall \"\$bin\" preprocess --size 224 -o \"\$work/px.npy\" \"\${files[@]}\")"
done
"$python" - "${#files[@]}" "$py_pre" "${pre_before:-0}" "${pre_after:-0}" <<'EOF'
import sys
n = int(sys.argv[1]); py, before, after = map(float, sys.argv[2:5])
if py:
    print("  Pillow+torchvision:        %6.2f s  %6.1f images/s" % (py, n / py))
for name, s in (("before", before), ("after", after)):
    if s:
        print("  clip preprocess, %-6s:   %6.2f s  %6.1f images/s%s" % (name, s, n / s, "   %.2fx the official" % (py / s) if py else ""))
EOF
