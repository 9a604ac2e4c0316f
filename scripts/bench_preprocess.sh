#!/usr/bin/env bash
# Benchmark CLIP image preprocessing: the official Python pipeline (Pillow +
# torchvision, one core) against package preprocess (BenchmarkFile on one
# goroutine, BenchmarkBatch with GOMAXPROCS 1 and 2), on the same images.
#
# Usage: scripts/bench_preprocess.sh [IMAGE_DIR]
#   IMAGE_DIR defaults to .bench/photos, made by scripts/make_photos.py when
#   missing. Set BENCH_TIME (Go -benchtime, default 5x) and PY_MIN_TIME
#   (seconds, default 5). Needs /usr/bin/python3 with Pillow, numpy, torch and
#   torchvision for the Python side (skipped with a note otherwise).
#
# Both sides report images/s by wall clock and by process CPU time; on a
# shared machine the CPU-time figures are the comparable ones.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-.bench/photos}"
py=/usr/bin/python3
if [[ ! -d "$dir" ]]; then
	if [[ "$dir" == ".bench/photos" ]]; then
		"$py" scripts/make_photos.py "$dir"
	else
		echo "no such directory: $dir" >&2
		exit 1
	fi
fi
echo "== images: $dir ($(ls "$dir" | wc -l) files), $(nproc) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== Python official pipeline (1 thread)"
if "$py" -c 'import PIL, torch, torchvision' 2>/dev/null; then
	"$py" scripts/bench_preprocess.py --min-time "${PY_MIN_TIME:-5}" "$dir" 2>&1 | grep -v Warning || true
else
	echo "(skipped: Pillow/torch/torchvision not importable by $py)"
fi
echo "== Go package preprocess"
PREPROCESS_BENCH_DIR="$(cd "$dir" && pwd)" go test -run '^$' -bench '^Benchmark(File|Batch)$' \
	-benchtime "${BENCH_TIME:-5x}" -cpu 1,2 ./preprocess/ | grep -E '^(Benchmark|ok|FAIL)'
echo "== Python again (load may have changed)"
if "$py" -c 'import PIL, torch, torchvision' 2>/dev/null; then
	"$py" scripts/bench_preprocess.py --min-time "${PY_MIN_TIME:-5}" "$dir" 2>&1 | grep -v Warning || true
fi
