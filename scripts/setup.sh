#!/usr/bin/env bash
# Sets up goclip on a Debian/Ubuntu machine. Idempotent: run it again at will.
#
#  1. installs what is missing from Debian (libtorch, Python torch, CMake,
#     a C++ compiler, libjpeg-turbo, OpenBLAS), unless a libtorch is given
#     through Torch_DIR (then only the build tools are checked);
#  2. builds the C shim (cgo/) with CMake and installs it into
#     $GOCLIP_PREFIX/lib/libgoclip.so (default prefix: build/install);
#  3. builds bin/clip and installs it as $GOCLIP_PREFIX/bin/clip. The binary
#     does not link the shim: it opens it at run time, the first time a
#     model is needed, from $GOCLIP_LIB, else ../lib beside the binary, else
#     $GOCLIP_PREFIX/lib (recorded in the binary), else the system library
#     path. So $GOCLIP_PREFIX/bin/clip and $GOCLIP_PREFIX/lib/libgoclip.so*
#     can be copied elsewhere together and still run;
#  4. makes the small demo model models/tiny-vit (random weights of the
#     official ViT architecture), since the official weights are downloaded
#     only on demand.
#
# Environment: Torch_DIR (a libtorch's share/cmake/Torch folder),
# GOCLIP_PREFIX, PYTHON (default /usr/bin/python3), GOCLIP_SKIP_APT=1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
prefix=${GOCLIP_PREFIX:-$root/build/install}
python=${PYTHON:-/usr/bin/python3}

log() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

# --- 1. system packages ----------------------------------------------------
need=(cmake g++ make libjpeg62-turbo-dev zlib1g-dev git)
if [ -z "${Torch_DIR:-}" ]; then
  # Debian's torch; OpenBLAS is the BLAS the reference outputs were made with.
  need+=(libtorch-dev python3-torch python3-numpy libopenblas0-pthread)
  # `clip parity`'s reference preprocessing, and the venv its tests use as a
  # Python without torch.
  need+=(python3-torchvision python3-pil python3-venv)
fi
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ] && [ -z "${GOCLIP_SKIP_APT:-}" ]; then
  log "installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || { log "Go is required (https://go.dev/dl/); /usr/local/go/bin is not on PATH"; exit 1; }

# --- 2. the shim -------------------------------------------------------------
cmake_args=(-S . -B build/shim -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib)
[ -n "${Torch_DIR:-}" ] && cmake_args+=(-DTorch_DIR="$Torch_DIR")
log "building the libtorch shim into $prefix"
cmake "${cmake_args[@]}" >build-shim.log 2>&1 || { cat build-shim.log >&2; exit 1; }
cmake --build build/shim -j"$(nproc)" >>build-shim.log 2>&1 || { cat build-shim.log >&2; exit 1; }
cmake --install build/shim >>build-shim.log 2>&1
mv build-shim.log build/shim.log
rm -f "$prefix/lib/pkgconfig/goclip.pc"  # left by older versions
rmdir "$prefix/lib/pkgconfig" 2>/dev/null || true
# Go programs need no flags to build (the torch package carries the header
# and opens the shim at run time); this names the shim for those run from
# the checkout: go test, go run.
cat >build/env.sh <<ENV
# Source this file to run Go programs and tests of this checkout with the
# shim built here:  . build/env.sh
export GOCLIP_LIB="$prefix/lib/libgoclip.so"
ENV

# --- 3. the command line ------------------------------------------------------
log "building bin/clip and installing it as $prefix/bin/clip"
go build -ldflags "-X github.com/goclip/goclip/torch.installLibDir=$prefix/lib" -o bin/clip ./cmd/clip
mkdir -p "$prefix/bin"
install -m 0755 bin/clip "$prefix/bin/clip"

# --- 4. the demo model ---------------------------------------------------------
if [ -z "${Torch_DIR:-}" ] && { [ ! -f models/tiny-vit/manifest.json ] || [ ! -f models/tiny-vit/checkpoint.pt ]; }; then
  log "making the demo model models/tiny-vit (random weights, official ViT architecture)"
  "$python" export/make_tiny.py --arch tiny-vit --out models/tiny-vit >/dev/null
fi
# --- 5. the vocabulary -----------------------------------------------------------
# Never committed: found at run time through --vocab, $CLIP_VOCAB or the
# cache, else downloaded (sha256-checked). Where the read-only shared data
# sits beside the checkout (CI, this workplace), seed the cache from it.
if [ -n "${GOCLIP_CACHE:-}" ]; then cache=$GOCLIP_CACHE
elif [ -n "${XDG_CACHE_HOME:-}" ]; then cache=$XDG_CACHE_HOME/goclip
else cache=$HOME/.cache/goclip; fi
vocab_sha=924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a
shared_vocab=$root/../shared/clip/bpe_simple_vocab_16e6.txt.gz
if [ ! -f "$cache/bpe_simple_vocab_16e6.txt.gz" ] && [ -f "$shared_vocab" ] &&
   echo "$vocab_sha  $shared_vocab" | sha256sum -c --quiet - 2>/dev/null; then
  mkdir -p "$cache" && cp "$shared_vocab" "$cache/.vocab.tmp" && mv "$cache/.vocab.tmp" "$cache/bpe_simple_vocab_16e6.txt.gz"
  log "vocabulary cached from ../shared into $cache"
fi
log "done: bin/clip ($(bin/clip version 2>/dev/null || echo '?'))"
