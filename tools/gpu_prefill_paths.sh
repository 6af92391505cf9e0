#!/usr/bin/env bash
# GPU check of the GDN prefill's direct recurrent path (T < 60 tokens: gdn_recurrent_kernel alone;
# T >= 60: the chunked prepare + scan launches; the launches' `when` picks). Run on an H200 from
# the repository root, with a fibkit bundle in dist/fibkit/ built from this tree (it must know the
# launch key `when`). About 4-5 minutes:
#   (a) verify --preset contest, all 100 prefill workloads (the root config's solution);
#   (b) bench --preset contest --no-reference: the two-path solution --compare the chunked-only
#       one (the launch plan of commit b1eedf2, before the direct path) on the 27 workloads below
#       60 tokens and 3 longer ones, JSON to $OUT/bench-prefill.json, a per-workload table;
#   (c) verify --sanitize memcheck on two short workloads (24: T = 40 in 2 sequences; 25: T = 49
#       in one, two 32-token stages).
# The chunked-only solution runs the chunked kernels of the same gdn_prefill.cu: their SASS is
# identical to b1eedf2's chunked-only file (nvdisasm, sm_90a and sm_100a), so no git is needed.
set -uo pipefail
cd "$(dirname "$0")/.."
export OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
command -v nvcc >/dev/null || export PATH=$PATH:/usr/local/cuda/bin
export FIB_CACHE_PATH=${FIB_CACHE_PATH:-/tmp/fib-cache}
b=$PWD/dist/fibkit/bin/fibkit
DS=${DATASET:-.contest/dataset}
SOL=fibkit-simple-gdn-prefill
stamp() { echo "[t=${SECONDS}s] $*"; }

# ---- the scratch project: the two-path plan (copied from kernels/gated_delta_net/config.toml)
#      and the chunked-only plan of b1eedf2, both reading kernels/gated_delta_net/gdn_prefill.cu.
SCRATCH=/tmp/prefill-short
rm -rf "$SCRATCH" && mkdir -p "$SCRATCH"
python3 - "$PWD/kernels/gated_delta_net" "$SCRATCH/config.toml" <<'PY'
import re, sys
src, out = sys.argv[1], sys.argv[2]
text = open(src + "/config.toml").read()
i = text.index('[[solution]]\nname = "fibkit-simple-gdn-prefill"')
two_path = text[i:].replace('name = "fibkit-simple-gdn-prefill"',
                            f'name = "two-path"\nsource_dir = "{src}"', 1)
assert "gdn_recurrent_kernel" in two_path
ws = "".join(f'''
[[solution.workspace]]
name = "{name}"
dtype = "{dtype}"
shape = ["num_seqs + ceil_div(total_seq_len, 64)", {rest}]
init = "uninitialized"
''' for name, dtype, rest in [
    ("chunk_qk", "float16", '"num_q_heads", 2, 64, "head_size"'),
    ("chunk_w", "float16", '"num_v_heads", 64, "head_size"'),
    ("chunk_u", "float16", '"num_v_heads", 64, "head_size"'),
    ("chunk_p", "float16", '"num_v_heads", 64, 64'),
    ("chunk_gates", "float32", '"num_v_heads", 132')])
chunked_only = f'''[[solution]]
name = "chunked-only"
source_dir = "{src}"
definition = "gdn_prefill_qk4_v8_d128_k_last"
author = "fibkit"
sources = ["gdn_prefill.cu"]
entry_point = "gdn_prefill.cu::run"
{ws}
[[solution.launch]]
kernel = "gdn_chunk_prepare_kernel"
grid = ["num_seqs + ceil_div(total_seq_len, 64)", "num_v_heads"]
block = [128]
shared_memory = 94224
args = ["q", "k", "v", "A_log", "a", "dt_bias", "b", "cu_seqlens", "scale",
        "chunk_qk", "chunk_w", "chunk_u", "chunk_p", "chunk_gates", "total_seq_len", "num_seqs"]

[[solution.launch]]
kernel = "gdn_chunk_scan_kernel"
grid = ["num_seqs", "num_v_heads", "head_size / 64"]
block = [128]
shared_memory = 151584
args = ["state", "cu_seqlens", "chunk_qk", "chunk_w", "chunk_u", "chunk_p", "chunk_gates",
        "output", "new_state", "total_seq_len", "num_seqs"]
'''
open(out, "w").write('[build]\nlanguage = "cuda"\narch = ["sm_90a", "sm_100a"]\n\n' + two_path
                     + "\n" + chunked_only)
PY
[ -s "$SCRATCH/config.toml" ] || { echo "scratch config not written"; exit 1; }

stamp "== build (registers; a fibkit without the launch key 'when' stops here)"
timeout 30 "$b" build -c "$SCRATCH/config.toml" --dataset $DS --arch sm_90a > "$OUT/build.txt" 2>&1
rc=$?; tail -9 "$OUT/build.txt"
[ $rc = 0 ] || { echo "build failed (rc=$rc)"; exit 1; }

stamp "== (a) verify --preset contest, all 100 prefill workloads ($SOL)"
timeout 95 "$b" -q verify -s "$SOL" --dataset $DS --preset contest --json \
  > "$OUT/verify-prefill.json" 2> "$OUT/verify-prefill.err"
echo "rc=$?"; tail -3 "$OUT/verify-prefill.err"
python3 - "$OUT/verify-prefill.json" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception as e:
    sys.exit(f"no verify JSON: {e}")
bad = [x for x in r["results"] if x["status"] != "PASSED"]
worst = max((x.get("max_absolute_error") or 0 for x in r["results"]), default=0)
print(f"passed {r['passed']} failed {r['failed']}; max abs error {worst:.3g}")
for x in bad:
    print(f'  {x["index"]:>3} {x["status"]} {x["log"][:200]!r}')
PY

stamp "== (b) bench --preset contest: two-path --compare chunked-only, the 27 short + 10 long"
timeout 80 "$b" -q bench -c "$SCRATCH/config.toml" -s two-path --compare chunked-only \
  --dataset $DS --preset contest --no-reference --no-report --json \
  --workloads 0,21,22,23,24,25,30,48,51,52,53,57,60,61,63,70,71,73,74,80,86,88,89,91,96,97,99,50,2,10 \
  > "$OUT/bench-prefill.json" 2> "$OUT/bench-prefill.err"
echo "rc=$?"; tail -3 "$OUT/bench-prefill.err"
python3 - "$OUT/bench-prefill.json" <<'PY'
import json, sys
try:
    rows = json.load(open(sys.argv[1]))["results"]
except Exception as e:
    sys.exit(f"no bench JSON: {e}")
def us(x, key):
    return (x.get(key) or 0) * 1e3
def axes(x):
    d = dict(kv.split("=") for kv in x["axes"].split())
    return int(d["total_seq_len"]), int(d["num_seqs"])
def verdict(v):
    v = v or ""
    if "faster" in v: return "faster"
    if "slower" in v: return "slower"
    if "no significant" in v: return "same"
    return v[:20]
print(f'{"idx":>3} {"T":>5} {"N":>3} path      {"status":<20} {"two-path":>9} {"chunked":>9}  ratio  verdict')
for x in sorted(rows, key=lambda x: axes(x)):
    t, n = axes(x)
    a, c = us(x, "latency_ms"), us(x, "baseline_latency_ms")
    print(f'{x["index"]:>3} {t:>5} {n:>3} {"recurrent" if t < 60 else "chunked  "} '
          f'{x["status"]:<20} {a:9.2f} {c:9.2f} {c / a if a else 0:6.2f}  {verdict(x.get("ab_verdict"))}')
ok = [x for x in rows if x["status"] == "PASSED" and x.get("latency_ms") and x.get("baseline_latency_ms")]
def mean(v): return sum(v) / len(v) if v else 0.0
st = {}
for x in rows:
    st[x["status"]] = st.get(x["status"], 0) + 1
print("statuses:", st)
for name, sel in [("all", ok), ("T < 60", [x for x in ok if axes(x)[0] < 60]),
                  ("T >= 60", [x for x in ok if axes(x)[0] >= 60])]:
    v = {}
    for x in sel:
        k = verdict(x.get("ab_verdict"))
        v[k] = v.get(k, 0) + 1
    print(f"mean over {len(sel)} ({name}): two-path {mean([us(x, 'latency_ms') for x in sel]):.2f} us, "
          f"chunked-only {mean([us(x, 'baseline_latency_ms') for x in sel]):.2f} us, mean ratio "
          f"{mean([us(x, 'baseline_latency_ms') / us(x, 'latency_ms') for x in sel]):.3f}; verdicts {v}")
PY

stamp "== (c) verify --sanitize memcheck, workloads 24 and 25 (recurrent path)"
timeout 35 "$b" verify -s "$SOL" --dataset $DS --workloads 24,25 --sanitize memcheck \
  --preset contest 2>&1 | tail -5
echo "rc=${PIPESTATUS[0]}"
stamp done
