#!/usr/bin/env bash
# Builds a relocatable fibkit bundle for a GPU machine that lacks Debian's libraries:
#   dist/fibkit/bin/{fibkit,fibkit_gpu_tests,fibkit_tests,fibkit_compile_bench}
#   dist/fibkit/lib/<the non-system shared libraries they need>  (RPATH $ORIGIN/../lib)
# NVRTC and the CUDA driver come from the target machine (its CUDA 13 toolkit / driver).
# usage: bash tools/bundle.sh [build-dir]      (default build-release, configured Release)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup-deps.sh
command -v patchelf >/dev/null || { apt-get update -qq && apt-get install -y -qq patchelf >/dev/null; }
build=${1:-build-release}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFIBKIT_WERROR=ON >/dev/null
cmake --build "$build" --target fibkit fibkit_gpu_tests fibkit_tests fibkit_compile_bench fibkit_timing_bench
out=dist/fibkit
rm -rf "$out" && mkdir -p "$out/bin" "$out/lib"
bins=("$build/fibkit" "$build/tests/fibkit_gpu_tests" "$build/tests/fibkit_tests"
      "$build/bench/fibkit_compile_bench" "$build/bench/fibkit_timing_bench")
# Libraries every Linux with a C++ toolchain runtime has, plus the CUDA ones the target provides.
system='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|librt\.|libpthread\.|libstdc\+\+|libgcc_s|libnvrtc|libcuda\.)'
for b in "${bins[@]}"; do
  cp "$b" "$out/bin/"
  ldd "$b" | awk '/=> \//{print $1" "$3}' | while read -r name path; do
    [[ $name =~ $system ]] || cp -Lu "$path" "$out/lib/$name"
  done
done
strip --strip-unneeded "$out"/bin/* "$out"/lib/* 2>/dev/null || true
for f in "$out"/bin/*; do patchelf --set-rpath '$ORIGIN/../lib:/usr/local/cuda/lib64:/usr/local/cuda/lib' "$f"; done
for f in "$out"/lib/*; do patchelf --set-rpath '$ORIGIN' "$f"; done
du -sh "$out"
ls "$out/lib"
