#!/usr/bin/env bash
# On a GPU machine with dist/fibkit (tools/bundle.sh), .whl/ (cupti-python and its needs; see
# docs/verify.md) and the contest dataset carried: the Python bridge end to end.
#  1. the Triton GDN decode solution of tests/official/triton: verify, then bench with speedups
#     over the definition's Python reference;
#  2. the starter solutions verified against the native and against the Python reference on a
#     sample of every definition's workloads: the verdicts must agree;
#  3. GDN decode benched with the Python reference timed twice (cold, then the latency cache);
#  4. --baseline flashinfer: the dataset's FlashInfer baseline (said to be unavailable where the
#     flashinfer package is not installed; the run goes on without it).
# Logs and JSON under $OUT (default /tmp/gpu-bridge-check).
set -uo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/bridge-site .whl/cupti_python-*.whl .whl/cuda_bindings-*.whl \
  .whl/cuda_pathfinder-*.whl .whl/pyelftools-*.whl 2>&1 | tail -2
export PYTHONPATH=/tmp/bridge-site${PYTHONPATH:+:$PYTHONPATH}
command -v nvcc >/dev/null || export PATH=$PATH:/usr/local/cuda/bin
b=$PWD/dist/fibkit/bin/fibkit
out=${OUT:-/tmp/gpu-bridge-check}
mkdir -p "$out"
export FIB_CACHE_PATH=${FIB_CACHE_PATH:-/tmp/fib-cache}
ds="--dataset ${DATASET:-.contest/dataset}"
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"
python3 -c "from cupti import cupti; print('cupti-python imports')" 2>&1 | tail -1

echo "== 1. Triton solution"
"$b" verify $ds --solution-json tests/official/triton/solution.json --workloads 0,10,20,30,40,53 \
  | tail -3
time "$b" bench $ds --solution-json tests/official/triton/solution.json \
  --workloads 0,10,20,30,40,53 --no-report --json > "$out/triton-bench.json"
python3 - "$out/triton-bench.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for row in r["results"]:
    print(f'{row["index"]:>3} {row["axes"]:<28} {row["status"]:<8} {(row.get("latency_ms") or 0)*1e3:9.2f} us  '
          f'ref {(row.get("reference_latency_ms") or 0):9.4f} ms  speedup {(row.get("speedup_factor") or 0):9.1f}')
print("\n".join(r.get("notes", [])))
PY

echo "== 2. verdicts: native vs Python reference"
declare -A wl=([fibkit-simple-gdn-decode]="0,13,26,39,53" [fibkit-simple-gdn-prefill]="0,25,50,75"
               [fibkit-simple-dsa-attention]="0,7,14,22" [fibkit-simple-dsa-indexer]="0,40,80,120"
               [fibkit-simple-moe]="0,6,12,18")
for s in fibkit-simple-gdn-decode fibkit-simple-dsa-attention fibkit-simple-dsa-indexer \
         fibkit-simple-moe fibkit-simple-gdn-prefill; do
  for r in native python; do
    timeout 150 "$b" -q verify $ds -s "$s" --workloads "${wl[$s]}" --reference $r --json \
      --preset contest > "$out/verify-$s-$r.json"
    echo "$s --reference $r: rc=$?"
  done
  python3 - "$out/verify-$s-native.json" "$out/verify-$s-python.json" <<'PY'
import json, sys
try:
    a, b = (json.load(open(p))["results"] for p in sys.argv[1:])
except Exception as e:
    print("  (no comparison:", e, ")"); sys.exit()
same = sum(x["status"] == y["status"] for x, y in zip(a, b))
print(f"  {same}/{len(a)} verdicts agree;", [(x["index"], x["status"], y["status"],
      y["max_absolute_error"]) for x, y in zip(a, b)])
PY
done

echo "== 3. GDN decode, speedups over the Python reference, cold then cached"
for pass in cold warm; do
  /usr/bin/time -f "$pass: %e s" "$b" -q bench $ds -s fibkit-simple-gdn-decode \
    --workloads 0,14,21,28 --no-report --json > "$out/decode-$pass.json"
done
python3 - "$out/decode-cold.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for row in r["results"]:
    print(f'{row["index"]:>3} {row["axes"]:<24} {(row["latency_ms"] or 0)*1e3:8.2f} us  python ref '
          f'{(row["reference_latency_ms"] or 0):8.4f} ms  speedup {(row["speedup_factor"] or 0):8.1f}')
PY

echo "== 4. --baseline flashinfer"
"$b" bench $ds -s fibkit-simple-gdn-decode --workloads 0 --baseline flashinfer --no-report \
  --speedup-reference native 2>&1 | tail -8
