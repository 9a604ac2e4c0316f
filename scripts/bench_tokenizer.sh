#!/usr/bin/env bash
# Times the official CLIP tokenizer (Python SimpleTokenizer.encode) and the Go
# port (tokenizer.Encode) on the same corpus (the golden tokenize.jsonl
# texts), one core each, BPE caches warm, and prints both figures and their
# ratio. The two are run REPEAT times, alternately, and the best run of each
# is kept (the machine may be busy).
#
# Usage: scripts/bench_tokenizer.sh [CLIP_SRC]
#   CLIP_SRC: openai/CLIP's clip/simple_tokenizer.py or its folder
#             (default .bench/clip; never committed).
# Environment: PYTHON (default /usr/bin/python3), SECONDS_PER_RUN (default 3),
#              REPEAT (default 3), CPU (the core both are pinned to, default 0).
set -euo pipefail
cd "$(dirname "$0")/.."
clip_src=${1:-.bench/clip}
python=${PYTHON:-/usr/bin/python3}
secs=${SECONDS_PER_RUN:-3}
repeat=${REPEAT:-3}
cpu=${CPU:-0}
pin=()
if command -v taskset >/dev/null; then
  pin=(taskset -c "$cpu")
fi

if [ ! -e "$clip_src" ]; then
  echo "bench_tokenizer: $clip_src not found: put openai/CLIP's clip/simple_tokenizer.py there" >&2
  exit 2
fi

testbin=$(mktemp)
trap 'rm -f "$testbin"' EXIT
go test -c -o "$testbin" ./tokenizer

py_runs=()
go_runs=()
for i in $(seq "$repeat"); do
  py_runs+=("$("${pin[@]}" "$python" scripts/bench_tokenizer.py --clip-src "$clip_src" --min-time "$secs" --json)")
  go_runs+=("$(cd tokenizer && GOMAXPROCS=1 "${pin[@]}" "$testbin" -test.run '^$' -test.bench 'BenchmarkEncode$' \
    -test.benchtime "${secs}s" | grep '^BenchmarkEncode')")
done

"$python" - "${#py_runs[@]}" "${py_runs[@]}" "${go_runs[@]}" <<'EOF'
import json, re, sys
n = int(sys.argv[1])
py = [json.loads(s) for s in sys.argv[2:2 + n]]
go = []
for line in sys.argv[2 + n:]:
    m = {k: float(v) for v, k in re.findall(r"([0-9.e+]+) (texts/s|texts/cpu-s)", line)}
    go.append(m)
pw = max(r["texts_per_s_wall"] for r in py)
pc = max(r["texts_per_s_cpu"] for r in py)
gw = max(m["texts/s"] for m in go)
gc = max(m["texts/cpu-s"] for m in go)
print("%s, ftfy: %s" % (py[0]["impl"], py[0]["ftfy"]))
print("corpus: %d texts; best of %d runs each, one core" % (py[0]["texts"], n))
print("  official:   %10.0f texts/s wall %10.0f texts/s CPU" % (pw, pc))
print("  Go Encode:  %10.0f texts/s wall %10.0f texts/s CPU" % (gw, gc))
print("  speed-up:   %10.1fx            %10.1fx" % (gw / pw, gc / pc))
if py[0]["ftfy"].startswith("STUB"):
    print("  note: the official runs used a stub ftfy (ftfy is not installed), so they leave out ftfy's cost")
EOF
