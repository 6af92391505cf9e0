#!/usr/bin/env bash
# README command 2: install dependencies, build fibkit and its tests, run every test that needs
# no GPU (labels unit, cli, nvrtc, official), and print CTest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup-deps.sh
# The official-builder tests (label "official") build packed solutions with tvm_ffi.cpp.build, as
# the official evaluator does: a venv with the tvm-ffi version of the contest's image. Without
# network they report themselves skipped.
venv=build-test/pyenv
mkdir -p build-test
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import tvm_ffi" 2>/dev/null; then
  python3 -m venv "$venv" && "$venv/bin/python" -m pip install -q apache-tvm-ffi==0.1.9 ||
    echo "fibkit tests: no apache-tvm-ffi: the official-builder tests will be skipped" >&2
fi
cmake -S . -B build-test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFIBKIT_ENABLE_TESTS=ON \
  -DFIBKIT_TVM_FFI_PYTHON="$PWD/$venv/bin/python" >/dev/null
cmake --build build-test
rc=0
ctest --test-dir build-test --output-on-failure -LE gpu -j "$(nproc)" || rc=$?
# Why some tests show as "Disabled" (written at configure time; absent when none are).
if [ -f build-test/contest-dataset-note.txt ]; then cat build-test/contest-dataset-note.txt; fi
exit "$rc"
