#!/usr/bin/env bash
# On a GPU machine with dist/fibkit and .whl/ carried (tools/bundle.sh; docs/pack.md lists the
# wheels): the repository's starter solutions packed by `fibkit pack`, then verified and timed
# through `--solution-json` next to the NVRTC solution (`--compare`), three ways:
#   source  the packed sources built as the official builder builds them (nvcc, plain sm_XY),
#           called through the TVM-FFI C ABI in fibkit's worker;
#   cubin   `pack --embed-cubin`: the same NVRTC cubins as the project, called the same way
#           (packed / NVRTC should be 1.000: the same binary, the same timer);
#   python  the cubin-mode library called from Python (`--call-from python`: tvm_ffi.load_module
#           in the Python bridge, torch tensors, timed there with cupti-python): the same binary
#           under the bridge's timer, which must agree with fibkit's native one.
# Then the hand-written official solution of tests/official/handwritten. Logs and bench JSON
# under $OUT (default /tmp/gpu-pack-check).
set -uo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/apache_tvm_ffi-*.whl .whl/cupti_python-*.whl .whl/cuda_bindings-*.whl \
  .whl/cuda_pathfinder-*.whl .whl/pyelftools-*.whl || exit 1
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
modes=${MODES:-source cubin python}
for s in $starters; do
  w=${wl[$s]:+--workloads ${wl[$s]}}
  "$b" -q pack $ds -s "$s" -o "/tmp/$s-source.json" &&
    "$b" -q pack $ds -s "$s" --embed-cubin -o "/tmp/$s-cubin.json" || continue
  echo "== $s: verify --solution-json (cubin mode)"
  timeout 120 "$b" verify $ds --solution-json "/tmp/$s-cubin.json" $w --preset contest | tail -4
  for m in $modes; do
    file=/tmp/$s-source.json call=native
    [ "$m" = source ] || file=/tmp/$s-cubin.json
    [ "$m" = python ] && call=python
    timeout 200 "$b" -q bench $ds --solution-json "$file" --call-from $call --compare "$s" $w \
      --preset contest --no-report --no-reference --json > "$out/bench-$s-$m.json"
    echo "$s $m: rc=$?"
  done
  python3 - "$s" "$out" $modes <<'PY'
import json, sys
s, out, modes = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = {}
for m in modes:
    try:
        for r in json.load(open(f"{out}/bench-{s}-{m}.json"))["results"]:
            rows.setdefault(r["index"], {})[m] = (r.get("status"), r.get("latency_ms"),
                                                 r.get("baseline_latency_ms"))
    except Exception as e:
        print(f"  {m}: no results ({e})")
print(f"  {'wl':>4} " + " ".join(f"{m + ' us':>12} {'NVRTC us':>9} {'ratio':>6}" for m in modes))
for i, by in sorted(rows.items()):
    cells = []
    for m in modes:
        st, a, n = by.get(m, (None, None, None))
        cells.append(f"{(a or 0)*1e3:12.2f} {(n or 0)*1e3:9.2f} {(a / n if a and n else 0):6.3f}"
                     if st == "PASSED" else f"{str(st):>29}")
    print(f"  {i:>4} " + " ".join(cells))
PY
done
echo "== hand-written official solution"
"$b" verify $ds --solution-json tests/official/handwritten/solution.json --workloads 0,30,53
"$b" bench $ds --solution-json tests/official/handwritten/solution.json --workloads 0,30,53 \
  --no-report --no-reference | tail -8
