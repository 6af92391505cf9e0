#!/usr/bin/env bash
# Every workload of the five contest definitions verified against the Python reference (the
# definition's own `run` in the bridge) and against fibkit's native one: do the verdicts agree?
# (issue 11: the bridge and the native references must agree on all 324 workloads.)
# usage: bash tools/gpu_verdicts.sh FIBKIT CONFIG OUTDIR SECONDS [DATASET]   (on a GPU machine with
# torch; e.g. dist/fibkit/bin/fibkit config.toml /tmp/verdicts 1800 .contest/dataset)
set -uo pipefail
b=$1; cfg=$2; out=$3; budget=$4; ds=${5:-.contest/dataset}
mkdir -p "$out"
start=$SECONDS
for s in fibkit-simple-gdn-decode fibkit-simple-dsa-attention fibkit-simple-moe \
         fibkit-simple-dsa-indexer fibkit-simple-gdn-prefill; do
  for r in python native; do
    left=$((budget - (SECONDS - start)))
    [ $left -lt 10 ] && { echo "$s $r: no time left"; continue; }
    t0=$SECONDS
    timeout $left "$b" -q verify -c "$cfg" --dataset "$ds" -s "$s" --reference $r \
      --preset contest --json > "$out/verify-$s-$r.json" 2> "$out/verify-$s-$r.err"
    echo "$s --reference $r: rc=$? $((SECONDS - t0)) s"
  done
done
python3 - "$out" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
total = agree = 0
for f in sorted(out.glob("verify-*-python.json")):
    n = pathlib.Path(str(f).replace("-python.json", "-native.json"))
    try:
        a = {x["index"]: x for x in json.load(open(f))["results"]}
        b = {x["index"]: x for x in json.load(open(n))["results"]}
    except Exception as e:
        print(f.name, "no comparison:", e); continue
    both = sorted(set(a) & set(b))
    same = [i for i in both if a[i]["status"] == b[i]["status"]]
    st = {}
    for i in both:
        st[a[i]["status"]] = st.get(a[i]["status"], 0) + 1
    total += len(both); agree += len(same)
    diff = [(i, a[i]["status"], b[i]["status"]) for i in both if i not in same]
    print(f"{f.name[7:-12]}: {len(same)}/{len(both)} agree; python statuses {st}; differ {diff[:8]}")
print(f"ALL: {agree}/{total} verdicts agree")
PY
