#!/usr/bin/env bash
# Times the official CLIP tokenizer (Python SimpleTokenizer.encode) and the Go
# port (tokenizer.Encode) on the same corpus, one core each, BPE caches warm,
# and prints both figures and their ratio.
#
# Usage: scripts/bench_tokenizer.sh [CLIP_SRC]
#   CLIP_SRC: openai/CLIP's clip/simple_tokenizer.py or its folder
#             (default .bench/clip; never committed).
# Environment: PYTHON (default /usr/bin/python3), BENCHTIME (default 3s),
#              CPU (the core both runs are pinned to, default 0).
set -euo pipefail
cd "$(dirname "$0")/.."
clip_src=${1:-.bench/clip}
python=${PYTHON:-/usr/bin/python3}
benchtime=${BENCHTIME:-3s}
cpu=${CPU:-0}
pin=()
if command -v taskset >/dev/null; then
  pin=(taskset -c "$cpu")
fi

if [ ! -e "$clip_src" ]; then
  echo "bench_tokenizer: $clip_src not found: put openai/CLIP's clip/simple_tokenizer.py there" >&2
  exit 2
fi

echo "== official (Python)"
py_json=$("${pin[@]}" "$python" scripts/bench_tokenizer.py --clip-src "$clip_src" --min-time "${benchtime%s}" --json)
"$python" -c 'import json,sys; r=json.loads(sys.argv[1]); print("%s, ftfy: %s\n%.0f texts/s (wall), %.0f texts/s (CPU)" % (r["impl"], r["ftfy"], r["texts_per_s_wall"], r["texts_per_s_cpu"]))' "$py_json"

echo "== Go (tokenizer.Encode, GOMAXPROCS=1)"
go_out=$(GOMAXPROCS=1 "${pin[@]}" go test -run '^$' -bench 'BenchmarkEncode$' -benchtime "$benchtime" -count 1 ./tokenizer)
echo "$go_out" | grep '^Benchmark'

"$python" - "$py_json" "$go_out" <<'EOF'
import json, re, sys
py = json.loads(sys.argv[1])
m = {k: float(v) for v, k in re.findall(r"([0-9.e+]+) (texts/s|texts/cpu-s)", sys.argv[2])}
go_wall, go_cpu = m["texts/s"], m["texts/cpu-s"]
print("== side by side (texts/s, same corpus, one core)")
print("  official: %10.0f wall %10.0f CPU" % (py["texts_per_s_wall"], py["texts_per_s_cpu"]))
print("  Go:       %10.0f wall %10.0f CPU" % (go_wall, go_cpu))
print("  speed-up: %10.1fx wall %9.1fx CPU" % (go_wall / py["texts_per_s_wall"], go_cpu / py["texts_per_s_cpu"]))
if py["ftfy"].startswith("STUB"):
    print("  note: the official run used a stub ftfy (not installed), so its figure leaves out ftfy's cost")
EOF
