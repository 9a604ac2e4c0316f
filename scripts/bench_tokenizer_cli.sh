#!/usr/bin/env bash
# The tokenizer through the command line against the official one, in one
# command (issue 10's figure): `clip tokenize --encode` (JSON lines in, JSON
# lines out, a whole process) on the golden corpus x50, against the
# official SimpleTokenizer.encode measured in the same command, both warm
# in process (scripts/bench_tokenizer.py) and as a whole process reading
# the same file and writing the same lines. Goal: >= 20x the warm official.
#
# "before" is BASE (default main) built from git; "after" is this checkout.
# Everything is pinned to one core; the sides run alternately, REPEAT
# rounds, and each keeps its best. The table cache lives in a temporary
# GOCLIP_CACHE, filled by one untimed run (that first run is reported too).
# The outputs must be byte-identical, or the script fails (the official one
# is compared only when the real ftfy is installed: the stub skips fix_text).
#
# Usage: scripts/bench_tokenizer_cli.sh
# Environment: BASE (git revision, default main; "" for none), REPEAT
# (default 3), CPU (default 0), PYTHON (default /usr/bin/python3), CLIP_SRC
# (openai/CLIP's simple_tokenizer.py or its folder, default .bench/clip,
# never committed), GOCLIP_SHARED (the shared data, else found walking up).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=${PYTHON:-/usr/bin/python3}
base=${BASE-main}
repeat=${REPEAT:-3}
cpu=${CPU:-0}
clip_src=${CLIP_SRC:-.bench/clip}
. scripts/lib_shared.sh
if [ ! -e "$clip_src" ]; then
  echo "bench_tokenizer_cli: $clip_src not found: put openai/CLIP's clip/simple_tokenizer.py there" >&2
  exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building: after = this checkout${base:+, before = $base}"
go build -o "$work/after" ./cmd/clip
if [ -n "$base" ]; then
  mkdir -p "$work/src"
  git archive "$base" | tar -x -C "$work/src"
  (cd "$work/src" && go build -o "$work/before" ./cmd/clip)
fi

"$python" scripts/official_tokenize.py --corpus "$corpus" 50 "$work/corpus50.jsonl"

GOCLIP_CACHE=$work/cache "$python" - "$repeat" "$cpu" "$work" "$python" "$clip_src" "$vocab" "$corpus" <<'EOF'
import json, os, subprocess, sys, time
repeat, cpu, work, python, clip_src, vocab, corpus = sys.argv[1:]
repeat = int(repeat)
pin = ["taskset", "-c", cpu]
stdin = os.path.join(work, "corpus50.jsonl")
n = sum(1 for _ in open(stdin, encoding="utf-8"))

def timed(cmd, out):
    """Wall seconds of one whole process, started and waited for here."""
    with open(stdin, "rb") as f, open(out, "wb") as o:
        t0 = time.perf_counter()
        p = subprocess.Popen(pin + cmd, stdin=f, stdout=o, stderr=subprocess.PIPE)
        _, status, _ = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    if status != 0:
        sys.exit("failed: %s: %s" % (" ".join(cmd), p.stderr.read().decode()))
    return wall

sides = {"official, whole process": [python, "scripts/official_tokenize.py", clip_src, vocab]}
if os.path.exists(os.path.join(work, "before")):
    sides["clip tokenize, before"] = [os.path.join(work, "before"), "tokenize", "--encode", "--vocab", vocab]
sides["clip tokenize, after"] = [os.path.join(work, "after"), "tokenize", "--encode", "--vocab", vocab]

load0 = open("/proc/loadavg").read().split()[:3]
first = timed(sides["clip tokenize, after"], os.path.join(work, "first.out"))  # fills the table cache
best = {k: float("inf") for k in sides}
warm = 0.0
ftfy = "-"
for r in range(repeat):
    res = json.loads(subprocess.check_output(pin + [python, "scripts/bench_tokenizer.py", "--clip-src", clip_src,
                                                     "--vocab", vocab, "--corpus", corpus, "--min-time", "2", "--json"]))
    warm, ftfy = max(warm, res["texts_per_s_wall"]), res["ftfy"]
    for i, (k, cmd) in enumerate(sides.items()):
        best[k] = min(best[k], timed(cmd, os.path.join(work, "out%d" % i)))
# The official output is only comparable with the real ftfy (the stub skips
# fix_text, which clip tokenize applies as the official code does).
outs = [open(os.path.join(work, "out%d" % i), "rb").read() for i in range(len(sides))]
outs.append(open(os.path.join(work, "first.out"), "rb").read())
stub = ftfy.startswith("STUB")
compared = outs[1:] if stub else outs
if any(o != compared[0] for o in compared):
    sys.exit("OUTPUTS DIFFER: %s" % ("before and after" if stub else "official and clip tokenize"))
same = "clip outputs identical (official not compared: ftfy stubbed)" if stub else "outputs identical"
load1 = open("/proc/loadavg").read().split()[:3]

print("== tokenizer: golden corpus x50 (%d texts), one core (cpu %s), best of %d; %s" % (n, cpu, repeat, same))
print("  load average before %s, after %s (other processes share the cores)" % (" ".join(load0), " ".join(load1)))
print("  official encode, warm, in process:   %9.0f texts/s   (ftfy: %s)" % (warm, ftfy))
proc = best["official, whole process"]
for k, s in best.items():
    line = "  %-36s %9.0f texts/s   (%.1f ms)" % (k + ":", n / s, s * 1e3)
    if k != "official, whole process":
        line += "   %.1fx the warm official, %.1fx its whole process" % (n / s / warm, proc / s)
    print(line)
print("  clip tokenize, after, first run (table cache empty): %.1f ms" % (first * 1e3))
EOF
