#!/usr/bin/env bash
# Runs on the GPU machine over a copy of the repository with dist/fibkit carried along
# (tools/bundle.sh makes it): prints the device, runs the GPU tests and fibkit build --arch auto
# on the repository's own config.toml, and copies the outputs to $OUT when it is set.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=dist/fibkit/bin
# NVRTC from the machine's CUDA 13 toolkit, wherever it lives (toolkit or the PyTorch wheels).
if ! ldd "$bin/fibkit" | grep -q 'libnvrtc.so.13 => /'; then
  dir=$(dirname "$( (ls /usr/local/cuda*/lib*/libnvrtc.so.13 /usr/lib/x86_64-linux-gnu/libnvrtc.so.13 \
        $(python3 -c 'import site;print(" ".join(site.getsitepackages()))' 2>/dev/null | tr ' ' '\n' | sed 's|$|/nvidia/*/lib/libnvrtc.so.13|') ) 2>/dev/null | head -1)")
  export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
out=${OUT:-/tmp/fibkit-gpu-check}
mkdir -p "$out"
export FIB_CACHE_PATH=$out/cache
{
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv
  echo "== fibkit --version"; "$bin/fibkit" --version
  echo "== GPU tests"; "$bin/fibkit_gpu_tests" --reporter compact; echo "rc=$?"
  echo "== fibkit build --arch auto (cold)"; time "$bin/fibkit" build --arch auto
  echo "== fibkit build --arch auto (warm)"; time "$bin/fibkit" build --arch auto > /dev/null
  echo "== fibkit build --arch auto --json"; "$bin/fibkit" build --arch auto --json > "$out/build.json"; echo "rc=$?"
} 2>&1 | tee "$out/gpu_check.txt"
