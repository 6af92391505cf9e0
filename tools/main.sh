#!/usr/bin/env bash
# README command 1: install dependencies, build fibkit, and run the main job on the embedded
# default: list the TraceSet, compile the repository's own solutions with NVRTC (no GPU needed),
# validate and pack them.
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
echo "Needs a GPU: fibkit verify (correctness on every workload; exits 4 without a GPU) and"
echo "fibkit bench (contest timing; not in this release yet)."
