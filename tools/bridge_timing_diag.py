"""Where does the Python bridge's reference timing spend its time? (a GPU diagnostic)

Run from the repository root on a GPU machine with torch, cupti-python 13 and flashinfer-bench
0.1.2 importable, and the contest dataset in .contest/dataset (docs/perf.md has its figures).

For the GDN decode reference at batch 1/16/64 and the GDN prefill reference at 239 tokens:
host time of one call; then 20 timed calls by
  F  the bridge's _cupti_spans (all five kinds, as the contest-era harness; 64 MiB buffers
     flushed after each call),
  G  GPU kinds only (kernel/memcpy/memset), spans by start time between synchronisations,
     64 MiB buffers flushed after each call,
  E  CUDA events around each call, no clone,
  O  flashinfer-bench 0.1.2's time_runnable (clones per call, events, mean),
each with its wall time and its median (ms).
"""
import bisect
import json
import statistics
import sys
import time

import torch

sys.path.insert(0, "src/engine")
import python_bridge as pb  # noqa: E402
from cupti import cupti  # noqa: E402

DS = ".contest/dataset/definitions/gdn/"
ITERS = 20


def load(name):
    d = json.load(open(DS + name + ".json"))
    ns = {}
    exec(d["reference"], ns)
    return ns["run"]


def decode_inputs(B):
    g = torch.Generator(device="cuda").manual_seed(B)
    r = lambda *s, dt=torch.bfloat16: torch.randn(*s, device="cuda", generator=g).to(dt)  # noqa
    return [r(B, 1, 4, 128), r(B, 1, 4, 128), r(B, 1, 8, 128),
            r(B, 8, 128, 128, dt=torch.float32) * 0.1, r(8, dt=torch.float32),
            r(B, 1, 8), r(8, dt=torch.float32), r(B, 1, 8), 0.0883]


def prefill_inputs(T, seqs):
    g = torch.Generator(device="cuda").manual_seed(T)
    r = lambda *s, dt=torch.bfloat16: torch.randn(*s, device="cuda", generator=g).to(dt)  # noqa
    cu = torch.tensor([0] + [T * (i + 1) // seqs for i in range(seqs)], dtype=torch.int64,
                      device="cuda")
    return [r(T, 4, 128), r(T, 4, 128), r(T, 8, 128),
            r(seqs, 8, 128, 128, dt=torch.float32) * 0.1, r(8, dt=torch.float32), r(T, 8),
            r(8, dt=torch.float32), r(T, 8), cu, 0.0883]


def counted_spans(flush, call, iterations, gpu_only):
    kinds_gpu = (cupti.ActivityKind.CONCURRENT_KERNEL, cupti.ActivityKind.MEMCPY,
                 cupti.ActivityKind.MEMSET)
    kinds_api = () if gpu_only else (cupti.ActivityKind.RUNTIME, cupti.ActivityKind.DRIVER)
    n = {"records": 0, "cb_s": 0.0}
    gpu = []

    def requested():
        return 64 * 1024 * 1024, 0

    def completed(activities):
        t0 = time.perf_counter()
        n["records"] += len(activities)
        for a in activities:
            if a.kind in kinds_gpu:
                gpu.append((a.start, a.end))
        n["cb_s"] += time.perf_counter() - t0

    for k in kinds_api + kinds_gpu:
        cupti.activity_enable(k)
    cupti.activity_register_callbacks(requested, completed)
    windows = []
    for _ in range(iterations):
        flush.zero_()
        torch.cuda.synchronize()
        start = cupti.get_timestamp()
        call()
        torch.cuda.synchronize()
        windows.append((start, cupti.get_timestamp()))
        cupti.activity_flush_all(0)
    t0 = time.perf_counter()
    cupti.activity_flush_all(0)
    flush_s = time.perf_counter() - t0
    for k in kinds_api + kinds_gpu:
        cupti.activity_disable(k)
    cupti.finalize()
    gpu.sort()
    starts = [s for s, _ in gpu]
    samples = []
    for lo_t, hi_t in windows:
        lo, hi = bisect.bisect_left(starts, lo_t), bisect.bisect_right(starts, hi_t)
        acts = gpu[lo:hi]
        samples.append((max(e for _, e in acts) - min(s for s, _ in acts)) / 1e6)
    return samples, n["records"], n["cb_s"], flush_s


def main():
    from flashinfer_bench.bench.timing import time_runnable  # 0.1.2: events, clones, mean
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    flush = torch.empty(2 * l2, dtype=torch.int8, device="cuda")
    cases = [("decode B=1", "gdn_decode_qk4_v8_d128_k_last", decode_inputs(1)),
             ("decode B=16", "gdn_decode_qk4_v8_d128_k_last", decode_inputs(16)),
             ("decode B=64", "gdn_decode_qk4_v8_d128_k_last", decode_inputs(64)),
             ("prefill T=239/3", "gdn_prefill_qk4_v8_d128_k_last", prefill_inputs(239, 3))]
    for label, name, args in cases:
        run = load(name)
        call = lambda: run(*args)  # noqa: E731
        for _ in range(3):
            call()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(5):
            call()
        torch.cuda.synchronize()
        host_ms = (time.perf_counter() - t0) / 5 * 1e3
        print(f"{label}: host time per call {host_ms:.2f} ms", flush=True)
        res = {}
        t0 = time.perf_counter()
        s, _ = pb._cupti_spans(cupti, torch, flush, call, ITERS)
        res["F bridge"] = (time.perf_counter() - t0, statistics.median(s), "")
        for tag, gpu_only in (("G gpu-only", True),):
            t0 = time.perf_counter()
            s, rec, cb, fl = counted_spans(flush, call, ITERS, gpu_only)
            res[tag] = (time.perf_counter() - t0, statistics.median(s),
                        f"{rec} records, callback {cb:.2f} s, flush_all {fl:.2f} s")
        t0 = time.perf_counter()
        ev = []
        for _ in range(ITERS):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            flush.zero_()
            a.record()
            call()
            b.record()
            ev.append((a, b))
        torch.cuda.synchronize()
        res["E events"] = (time.perf_counter() - t0, statistics.median(
            [a.elapsed_time(b) for a, b in ev]), "")
        t0 = time.perf_counter()
        ms = time_runnable(run, args, 3, ITERS, "cuda")
        res["O fib-0.1.2"] = (time.perf_counter() - t0, ms, "mean, 3 warmup")
        for k, (wall, med, extra) in res.items():
            print(f"  {k:<12} wall {wall:7.2f} s  latency {med:9.3f} ms  {extra}", flush=True)


main()
