#!/usr/bin/env bash
# Fills .device/ (git-ignored) with what scripts/gpu_check.sh needs on a GPU
# machine that has no Go: bin/clip and the Go test binaries built here,
# libjpeg-turbo's runtime library, and the golden files it compares with.
set -euo pipefail
cd "$(dirname "$0")/.."
. build/env.sh
shared=${GOCLIP_SHARED:-../shared}
rm -rf .device && mkdir -p .device/lib .device/shared/golden/preprocess .device/shared/clip
go build -o .device/clip ./cmd/clip
go build -o .device/benchserve ./internal/cmd/benchserve
go test -c -o .device/torch.test ./torch
go test -c -o .device/clip.test ./clip
cp -L /usr/lib/x86_64-linux-gnu/libjpeg.so.62 .device/lib/
cp -r "$shared/golden/models" .device/shared/golden/
cp -r "$shared/golden/preprocess/images" "$shared/golden/preprocess/arrays" .device/shared/golden/preprocess/
cp "$shared/golden/README.md" .device/shared/golden/
cp "$shared/clip/bpe_simple_vocab_16e6.txt.gz" .device/shared/clip/
du -sh .device
