#!/usr/bin/env bash
# Build the semsearch image: make a wheelhouse on this host, then `docker build` from it.
#
#   IMAGE        tag to build (default semsearch:latest)
#   BASE_IMAGE   Debian-based Python 3.11 image (default python:3.11-slim-bookworm)
#   PYTHON       host Python 3.11 with pip (default .venv/bin/python, else python3.11)
#
# The wheelhouse holds every runtime wheel for linux/x86_64 CPython 3.11, so the build needs
# no network. torch must be the CPU build: on the development machines pip finds it on disk;
# elsewhere run with PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu, which offers
# torch 2.13.0+cpu (pip prefers it to PyPI's CUDA build).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${IMAGE:-semsearch:latest}"
BASE_IMAGE="${BASE_IMAGE:-python:3.11-slim-bookworm}"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3.11; fi
fi
WHEELHOUSE="$ROOT/.docker/wheelhouse"

echo "docker-build: wheelhouse in $WHEELHOUSE" >&2
rm -rf "$WHEELHOUSE"
mkdir -p "$WHEELHOUSE"
# Our package as a wheel, then every runtime dependency as a wheel, pinned like the venv.
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$WHEELHOUSE" "$ROOT"
"$PYTHON" -m pip wheel --quiet --wheel-dir "$WHEELHOUSE" --find-links "$WHEELHOUSE" \
    --constraint "$ROOT/constraints.txt" "$WHEELHOUSE"/semsearch-*.whl
if ls "$WHEELHOUSE" | grep -Eq '^nvidia_|^triton-'; then
    echo "docker-build: the wheelhouse holds CUDA wheels: torch is not the CPU build" >&2
    exit 1
fi

echo "docker-build: building $IMAGE from $BASE_IMAGE" >&2
DOCKER_BUILDKIT=0 docker build --build-arg "BASE_IMAGE=$BASE_IMAGE" --tag "$IMAGE" "$ROOT"
