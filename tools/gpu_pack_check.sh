#!/usr/bin/env bash
# On a GPU machine with dist/fibkit and .whl/ carried (tools/bundle.sh; docs/pack.md lists the
# wheels): the repository's starter solutions packed by `fibkit pack`, then verified and timed
# through `--solution-json` (built as the official builder builds them, called through TVM-FFI)
# next to the NVRTC solution (`--compare`); and the hand-written official solution of
# tests/official/handwritten. Logs and bench JSON under $OUT (default /tmp/gpu-pack-check).
set -uo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/apache_tvm_ffi-*.whl || exit 1
export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
command -v nvcc >/dev/null || export PATH=$PATH:/usr/local/cuda/bin
b=$PWD/dist/fibkit/bin/fibkit
out=${OUT:-/tmp/gpu-pack-check}
mkdir -p "$out"
export FIB_CACHE_PATH=${FIB_CACHE_PATH:-/tmp/fib-cache}
ds=${DATASET:+--dataset $DATASET}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
declare -A wl=([fibkit-simple-gdn-decode]="0,20,40,53" [fibkit-simple-gdn-prefill]="0,40,50"
               [fibkit-simple-dsa-attention]="0,10,22" [fibkit-simple-dsa-indexer]="0,60,100"
               [fibkit-simple-moe]="1,0,5")
starters=${STARTERS:-fibkit-simple-gdn-decode fibkit-simple-gdn-prefill fibkit-simple-dsa-attention fibkit-simple-dsa-indexer fibkit-simple-moe}
for s in $starters; do
  w=${wl[$s]:+--workloads ${wl[$s]}}
  "$b" -q pack $ds -s "$s" -o "/tmp/$s.json" && "$b" -q pack $ds -s "$s" --embed-cubin -o "/tmp/$s-cubin.json" || continue
  echo "== $s: verify --solution-json (cubin mode)"
  "$b" verify $ds --solution-json "/tmp/$s-cubin.json" $w --preset contest | tail -4
  echo "== $s: bench --solution-json (source mode) --compare the NVRTC solution"
  "$b" bench $ds --solution-json "/tmp/$s.json" --compare "$s" $w --preset contest --no-report \
    --no-reference --json > "$out/bench-$s.json"
  echo "rc=$?"
  python3 - "$out/bench-$s.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for row in r["results"]:
    a, b = row.get("baseline_latency_ms"), row.get("latency_ms")
    print(f'  {row["index"]:>3} {row["status"]:<8} packed {(b or 0)*1e3:9.2f} us  nvrtc {(a or 0)*1e3:9.2f} us'
          f'  packed/nvrtc {(b / a if a and b else 0):6.3f}')
PY
done
echo "== hand-written official solution"
"$b" verify $ds --solution-json tests/official/handwritten/solution.json --workloads 0,30,53
"$b" bench $ds --solution-json tests/official/handwritten/solution.json --workloads 0,30,53 \
  --no-report --no-reference | tail -8
