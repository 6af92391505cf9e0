#!/usr/bin/env bash
# Packs one solution with fibkit and builds it exactly as the official TVM-FFI builder does
# (tools/official_build.py: nvcc per file, plain sm_XY, linked against libtvm_ffi), then checks
# the exported entry symbol. Exit 77 (skipped) where nvcc or the tvm_ffi package is missing.
# usage: pack_build.sh FIBKIT PYTHON ARCH_LIST [fibkit pack arguments...]
set -uo pipefail
fibkit=$1 py=$2 arch=$3
shift 3
root=$(cd "$(dirname "$0")/../.." && pwd)
if ! "$py" -c "import tvm_ffi.cpp" 2>/dev/null; then
  echo "SKIPPED: $py cannot import tvm_ffi (pip install apache-tvm-ffi; tools/test.sh does)"
  exit 77
fi
if ! command -v nvcc >/dev/null && [ ! -x /usr/local/cuda/bin/nvcc ]; then
  echo "SKIPPED: no nvcc"
  exit 77
fi
export PATH=$PATH:/usr/local/cuda/bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export FIB_CACHE_PATH=$work/cache
"$fibkit" pack "$@" -o "$work/solution.json" || exit 1
"$py" "$root/tools/official_build.py" "$work/solution.json" --build-dir "$work" --arch "$arch"
