#!/usr/bin/env bash
# The official cross-check kit, on a GPU machine with torch and nvcc (the device tool's
# machines): installs the official flashinfer-bench and what it needs from carried wheels
# (.whl/, see docs/pack.md), then runs tools/official_check.py with the carried bundle
# (dist/fibkit, tools/bundle.sh) on the contest dataset (DATASET, default examples/).
# Output under $OUT (default /tmp/official-check). CONTEST_TIMING_UTILS: see below.
set -uo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
# CONTEST_TIMING_UTILS=FILE (flashinfer-python's flashinfer/testing/utils.py): time as the
# contest-era evaluator (tools/contest_timing_patch.py) instead of 0.1.2's events.
if [ -n "${CONTEST_TIMING_UTILS:-}" ]; then
  python3 tools/contest_timing_patch.py /tmp/site "$CONTEST_TIMING_UTILS" || exit 1
fi
# CONTEST_INDEXER_EVALUATOR=FILE (flashinfer-bench's bench/evaluators/dsa_topk_indexer.py from
# its git repository): judge the DSA indexer by the contest's rules (tools/contest_indexer_patch.py).
if [ -n "${CONTEST_INDEXER_EVALUATOR:-}" ]; then
  python3 tools/contest_indexer_patch.py /tmp/site "$CONTEST_INDEXER_EVALUATOR" || exit 1
fi
export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
bin=$PWD/dist/fibkit/bin
# NVRTC from the machine's CUDA 13 toolkit, wherever it lives (as in tools/gpu_check.sh).
if ! ldd "$bin/fibkit" | grep -q 'libnvrtc.so.13 => /'; then
  dir=$(dirname "$( (ls /usr/local/cuda*/lib*/libnvrtc.so.13 /usr/lib/x86_64-linux-gnu/libnvrtc.so.13 \
        $(python3 -c 'import site;print(" ".join(site.getsitepackages()))' 2>/dev/null | tr ' ' '\n' | sed 's|$|/nvidia/*/lib/libnvrtc.so.13|') ) 2>/dev/null | head -1)")
  export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
command -v nvcc >/dev/null || export PATH=$PATH:/usr/local/cuda/bin
out=${OUT:-/tmp/official-check}
mkdir -p "$out"
export FIB_CACHE_PATH=${FIB_CACHE_PATH:-/tmp/fib-cache}
python3 tools/official_check.py --fibkit "$bin/fibkit" --dataset "${DATASET:-examples}" \
  --out "$out" "$@" 2>&1 | tee "$out/official_check.txt"
exit "${PIPESTATUS[0]}"
