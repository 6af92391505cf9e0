#!/usr/bin/env bash
# README command 1: install dependencies, build fibkit, and run the main job on the embedded
# default: list the TraceSet, compile the repository's own solutions with NVRTC (no GPU needed),
# validate and pack them; where a GPU is present, also verify and bench them (every workload).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFIBKIT_ENABLE_TESTS=OFF >/dev/null
cmake --build build --target fibkit
echo
./build/fibkit list
echo
./build/fibkit build --arch sm_90a --arch sm_100a
echo
./build/fibkit pack --out-dir build/submission
echo
echo "Compiled every kernel for H100/H200 (sm_90a) and B200 (sm_100a) and packed"
echo "build/submission/<definition>/solution.json for the repository's config.toml."
# verify and bench need a GPU: exit code 4 means there is none, which is fine here.
set +e
./build/fibkit verify
rc=$?
set -e
if [ "$rc" -eq 4 ]; then
  echo "No GPU here: fibkit verify and fibkit bench (correctness and contest timing on every"
  echo "workload) run on a machine with one."
  exit 0
fi
[ "$rc" -eq 0 ] || exit "$rc"
./build/fibkit bench -o build/bench
echo "Benchmark report: build/bench/report.html (and bench.json, traces/)."
