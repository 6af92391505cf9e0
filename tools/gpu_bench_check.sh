#!/usr/bin/env bash
# On a GPU machine with dist/fibkit carried (tools/bundle.sh): the harness validation program,
# then `fibkit bench` on each starter project (a few workloads each, all of GDN decode), kernel
# mode, and five separate processes on one workload for the run-to-run spread. Files to $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/dist/fibkit/bin
out=${OUT:-/tmp/fibkit-bench-check}
mkdir -p "$out"
export FIB_CACHE_PATH=/tmp/fibkit-cache
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
echo "== harness validation"; "$bin/fibkit_timing_bench" | tee "$out/timing_bench.txt"
work=$(mktemp -d)
for track in gated_delta_net sparse_attention fused_moe; do
  "$bin/fibkit" -q init --track "$track" "$work/$track"
done
cd "$work/gated_delta_net"
echo "== bench gdn decode, all 54 workloads (contest mode)"
/usr/bin/time -f "wall %e s" "$bin/fibkit" bench --definition gdn_decode_qk4_v8_d128_k_last -o "$out/gdn" ; echo "rc=$?"
echo "== bench gdn prefill (contest preset)"
"$bin/fibkit" bench --definition gdn_prefill_qk4_v8_d128_k_last --preset contest --workloads 0,50,99 --no-report; echo "rc=$?"
echo "== kernel mode, gdn decode 0,26,53"
"$bin/fibkit" bench --definition gdn_decode_qk4_v8_d128_k_last --mode kernel --workloads 0,26,53 --no-report; echo "rc=$?"
echo "== five processes, gdn decode workload 53"
for i in 1 2 3 4 5; do
  "$bin/fibkit" -q bench --definition gdn_decode_qk4_v8_d128_k_last --workloads 53 --no-report --json \
    | python3 -c 'import json,sys; r=json.load(sys.stdin)["results"][0]; print(r.get("latency_ms"))'
done | tee "$out/spread.txt"
cd "$work/sparse_attention"
echo "== bench sparse_attention (3 workloads per definition)"
"$bin/fibkit" bench --workloads 0,10,22 --definition dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64 -o "$work/dsa-out"; echo "rc=$?"
"$bin/fibkit" bench --workloads 0,64,127 --definition dsa_topk_indexer_fp8_h64_d128_topk2048_ps64 -o "$work/idx-out"; echo "rc=$?"
cd "$work/fused_moe"
echo "== bench fused_moe (3 workloads)"
"$bin/fibkit" bench --workloads 0,1,5 -o "$out/moe"; echo "rc=$?"
echo "== timer fallback"; "$bin/fibkit" bench --workloads 1 --timer events --no-report | tail -3
FIBKIT_CUPTI_PATH=/nonexistent "$bin/fibkit" bench --workloads 1 --no-report 2>&1 | tail -4
find "$out/gdn/traces" -name '*.jsonl' -exec head -3 {} \; > "$out/gdn_traces_head.jsonl"
rm -rf "$out/gdn/traces" "$out/moe/traces"
