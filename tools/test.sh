#!/usr/bin/env bash
# README command 2: install dependencies, build fibkit and its tests, run every test that needs
# no GPU (labels unit, cli, nvrtc), and print CTest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup-deps.sh
cmake -S . -B build-test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFIBKIT_ENABLE_TESTS=ON >/dev/null
cmake --build build-test
rc=0
ctest --test-dir build-test --output-on-failure -LE gpu -j "$(nproc)" || rc=$?
# Why some tests show as "Disabled" (written at configure time; absent when none are).
if [ -f build-test/contest-dataset-note.txt ]; then cat build-test/contest-dataset-note.txt; fi
exit "$rc"
