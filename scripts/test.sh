#!/usr/bin/env bash
# Runs goclip's whole test suite: set-up (idempotent), go vet, the Go tests
# (the torch binding, download, tokenizer and preprocess under the race detector), and the Python export tests.
#
# GOCLIP_SLOW=1 adds the slow suite (all nine full-size architectures).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Test-only: Debian's Chromium renders the HTML pages (report package).
if ! command -v chromium >/dev/null && [ "$(id -u)" -eq 0 ] && [ -z "${GOCLIP_SKIP_APT:-}" ]; then
  echo "== installing chromium for the page tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
command -v chromium >/dev/null && export GOCLIP_REQUIRE_CHROMIUM=1
. build/env.sh
python=${PYTHON:-/usr/bin/python3}

echo "== go vet"
go vet ./...
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed: $unformatted" >&2
  exit 1
fi

echo "== without cgo: the pure-Go packages, and torch as a stub"
CGO_ENABLED=0 go vet ./tokenizer ./npy ./download ./torch
CGO_ENABLED=0 go test -count=1 -short ./tokenizer ./npy ./download ./torch

echo "== the installed bin/clip and shim, moved together, run without help"
moved=$(mktemp -d)
trap 'rm -rf "$moved"' EXIT
prefix=$(dirname "$(dirname "$GOCLIP_LIB")")
mkdir -p "$moved/bin" "$moved/lib"
cp "$prefix/bin/clip" "$moved/bin/clip"
cp -L "$GOCLIP_LIB" "$moved/lib/libgoclip.so"
shim=$(cd "$moved" && env -u GOCLIP_LIB bin/clip doctor --json | "$python" -c 'import json,sys; print(json.load(sys.stdin)["shim_path"])')
if [ "$shim" != "$moved/lib/libgoclip.so" ]; then
  echo "moved clip opened '$shim', not $moved/lib/libgoclip.so" >&2
  exit 1
fi

echo "== go test"
go test -count=1 -timeout 45m ./...
echo "== go test -race (torch, download, tokenizer, preprocess, batcher, clip pipeline)"
go test -count=1 -race -short -timeout 20m ./torch ./download ./tokenizer ./preprocess ./internal/batch
go test -count=1 -race -timeout 20m -run "TestEmbedDir|TestClassifierModel|TestClassifierCache|TestContextCancel|TestBadInputs" ./clip

echo "== collection on a real Slurm (array job, one task requeued)"
scripts/test_slurm.sh

echo "== python export tests"
"$python" -m unittest discover -s export -p 'test_*.py'
