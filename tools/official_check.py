#!/usr/bin/env python3
"""The official cross-check kit: fibkit's packed solutions through the official evaluator.

Runs on a GPU machine with torch and the official `flashinfer-bench` installed (tools/
official_check.sh installs it from carried wheels). For each solution of the repository's
config.toml and each pack mode (source, cubin):
  1. writes a TraceSet: the definitions, the chosen workloads (by index), stand-ins for their
     missing blobs (`fibkit synth`), and the solutions `fibkit pack` writes (both modes);
  2. runs the official `Benchmark` on it: the official TVM-FFI builder (nvcc for the GPU's plain
     sm_XY, as on the contest's B200 with plain sm_100), the official correctness rules against
     the definition's Python reference, and the official timing of flashinfer-bench's version;
  3. runs `fibkit bench` on the same workloads (contest mode, CUPTI) for the project itself
     (with --python-reference also timing the definition's Python reference, as the official
     speedup_factor does, to put fibkit's reference latencies beside the official ones);
  4. prints one row per (definition, workload, solution) and writes official_check.json.
Options: --extra-solution FILE adds an official Solution JSON (e.g. a Triton one) to the
TraceSet, timed by fibkit through --solution-json; --modes source|cubin|source,cubin; --loop
times the whole loops on the chosen workloads: `flashinfer-bench run` (the official CLI, its
default counts) against `fibkit verify && fibkit bench` with Python references, with a cold
and then a warm cache.

--repeat N runs the official evaluator N times and prints its own run-to-run spread, with where
fibkit's reference latencies fall in it. --score-baseline AUTHOR keeps the first run's traces
(OUT/traces) and scores them against AUTHOR's solutions with `fibkit score` and with
tools/official_score.py (the contest's scoring rules in plain Python), saying whether they agree.

flashinfer-bench on PyPI is 0.1.2: its builder is the contest's TVM-FFI builder less the
`-lcuda -lcublas` link flags (which the generated entry does not need), and it times with CUDA
events around each call with the arguments cloned (mean), not the contest's CUPTI
`bench_gpu_time_with_cupti`: for microsecond kernels its latencies are mostly launch overhead.
tools/contest_timing_patch.py makes the installed copy time as the contest-era evaluator
(official_check.sh does it when CONTEST_TIMING_UTILS names flashinfer's testing/utils.py).

usage: official_check.py --fibkit BIN --dataset CONTEST_DATASET --out DIR
                         [--workloads DEF=i,j,...]... [--iterations N] [--modes M]
                         [--extra-solution FILE]... [--python-reference] [--loop] [--repeat N]
                         [--score-baseline AUTHOR]
"""
import argparse
import json
import logging
import os
import pathlib
import shutil
import subprocess
import sys
import threading
import time
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
LOOP_TIMEOUT = 150  # seconds for one `flashinfer-bench run` in --loop

# The repository's five starter solutions and a small, a middle and a large workload of each
# (indices into the definition's workload file), chosen to keep the Python references quick.
DEFAULT_WORKLOADS = {
    "gdn_decode_qk4_v8_d128_k_last": [0, 30, 53],  # batch 1, 16, 64
    "gdn_prefill_qk4_v8_d128_k_last": [0, 40, 50],  # 6, 139, 61 tokens
    "dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64": [0, 10, 22],
    "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64": [0, 60, 100],
    "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048": [1, 0, 5],  # 1, 7, 16 tokens
}


def run(cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def make_traceset(src, dst, workloads):
    """Definitions and the chosen workload lines of `src`, under `dst`."""
    for def_name, indices in workloads.items():
        defs = list((src / "definitions").rglob(f"{def_name}.json"))
        wls = list((src / "workloads").rglob(f"{def_name}.jsonl"))
        if not defs or not wls:
            sys.exit(f"official_check: {def_name} is not in {src}")
        op = defs[0].parent.name
        (dst / "definitions" / op).mkdir(parents=True, exist_ok=True)
        (dst / "workloads" / op).mkdir(parents=True, exist_ok=True)
        shutil.copy(defs[0], dst / "definitions" / op / defs[0].name)
        lines = wls[0].read_text().splitlines()
        chosen = [lines[i] for i in indices]
        (dst / "workloads" / op / wls[0].name).write_text("\n".join(chosen) + "\n")


def pack_all(fibkit, ts, solutions, config, modes):
    """Every solution in each mode, into ts/solutions/<author>/<op>/<def>/<name>.json."""
    packed = {}
    for name in solutions:
        for mode, extra in (("source", []), ("cubin", ["--embed-cubin"])):
            if mode not in modes:
                continue
            out = ts / "pack" / f"{name}-{mode}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            run([fibkit, "pack", "--config", config, "--dataset", ts, "-s", name,
                 "-o", out] + extra)
            sol = json.loads(out.read_text())
            sol["name"] = f"{name}-{mode}"
            op = next((ts / "definitions").rglob(sol["definition"] + ".json")).parent.name
            dst = ts / "solutions" / sol["author"] / op / sol["definition"] / f"{sol['name']}.json"
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(json.dumps(sol, indent=2))
            packed[sol["name"]] = {"definition": sol["definition"], "mode": mode,
                                   "bytes": out.stat().st_size,
                                   "sources": [s["path"] for s in sol["sources"]]}
    return packed


def add_extra(ts, file):
    """An official Solution JSON as it is, into the TraceSet; its name and definition."""
    sol = json.loads(pathlib.Path(file).read_text())
    op = next((ts / "definitions").rglob(sol["definition"] + ".json")).parent.name
    dst = ts / "solutions" / sol["author"] / op / sol["definition"] / f"{sol['name']}.json"
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(json.dumps(sol, indent=2))
    return sol["name"], sol["definition"]


def official_run(ts, config, dump_traces=False):
    from flashinfer_bench import Benchmark, BenchmarkConfig, TraceSet

    trace_set = TraceSet.from_path(str(ts))
    bench = Benchmark(trace_set, BenchmarkConfig(**config))
    print(f"official Benchmark.run_all {config} ...", flush=True)
    start = time.time()
    result = bench.run_all(dump_traces=dump_traces)
    seconds = time.time() - start
    print(f"official Benchmark.run_all: {seconds:.1f} s", flush=True)
    bench.close()
    rows = []
    for def_name, traces in result.traces.items():
        for t in traces:
            ev = t.evaluation
            perf = ev.performance
            corr = ev.correctness
            rows.append({
                "definition": def_name, "workload": t.workload.uuid, "axes": t.workload.axes,
                "solution": t.solution, "status": ev.status.value,
                "latency_ms": perf.latency_ms if perf else None,
                "reference_latency_ms": perf.reference_latency_ms if perf else None,
                "speedup_factor": perf.speedup_factor if perf else None,
                "max_abs_error": corr.max_absolute_error if corr else None,
                "max_rel_error": corr.max_relative_error if corr else None,
                "log": (ev.log or "")[-2000:] if ev.status.value != "PASSED" else "",
            })
    return rows, seconds


def counts_flags(counts, official):
    """The official run's warmup/iterations/trials as flags of the official CLI or of fibkit."""
    w, i, t = counts["warmup_runs"], counts["iterations"], counts["num_trials"]
    if official:
        return ["--warmup-runs", str(w), "--iterations", str(i), "--num-trials", str(t)]
    return ["--warmup", str(w), "--iterations", str(i), "--trials", str(t)]


def fibkit_bench(fibkit, ts, workloads, solutions, config, python_reference, extra_files,
                 counts, out):
    """fibkit bench (contest mode, the official run's counts) on the same workloads: (latency,
    reference latency) per (solution, workload uuid); the reference is the definition's Python
    run with `python_reference`, else not timed."""
    lat = {}
    for name, info in solutions.items():
        idx = ",".join(str(i) for i in range(len(workloads[info["definition"]])))
        which = (["--solution-json", extra_files[name]] if name in extra_files
                 else ["--config", str(config), "-s", name])
        ref = ["--speedup-reference", "python"] if python_reference else ["--no-reference"]
        # The log (-v), each line stamped with the seconds since the start, goes to a file as it
        # is written, so that a run cut short still shows where the time went.
        log = out / f"fibkit-bench-{name}.log"
        start = time.time()
        proc = subprocess.Popen([str(fibkit), "-v", "bench", *which, "--dataset", str(ts),
                                 "--workloads", idx, *ref, *counts_flags(counts, False),
                                 "--json", "-o", str(ts / f"bench-{name}")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        chunks = []
        reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()))
        reader.start()
        with open(log, "w") as f:
            for line in proc.stderr:
                f.write(f"[{time.time() - start:7.1f} s] {line}")
                f.flush()
        proc.wait()
        reader.join()
        print(f"fibkit bench {name}: {time.time() - start:.1f} s (log: {log})", flush=True)
        if proc.returncode != 0:
            print(log.read_text()[-3000:], file=sys.stderr)
            continue
        for r in json.loads("".join(chunks)).get("results", []):
            lat[(name, r.get("workload_uuid") or r.get("workload"))] = (
                r.get("latency_ms"), r.get("reference_latency_ms"))
    return lat


def loop_times(fibkit, ts, config, loops, extra_files, out, counts):
    """Wall seconds of the whole loops on the TraceSet's workloads, with the same counts: the
    official CLI (`flashinfer-bench run`) and `fibkit verify && fibkit bench` (Python references
    for the checks and the speedups), cold (empty caches) and warm."""
    times = {}
    env = dict(os.environ)
    for name, official_name in loops:
        start = time.time()
        try:
            res = subprocess.run([sys.executable, "-c",
                                  "from flashinfer_bench.cli.main import cli; cli()", "run",
                                  "--local", str(ts), "--solutions", official_name,
                                  "--no-save-results", *counts_flags(counts, True)],
                                 capture_output=True, text=True,
                                 timeout=LOOP_TIMEOUT)
            failed = res.returncode != 0
            if failed:
                print(res.stderr[-2000:], file=sys.stderr)
        except subprocess.TimeoutExpired:
            failed = True
            print(f"flashinfer-bench run: over {LOOP_TIMEOUT} s", file=sys.stderr)
        times[(name, "flashinfer-bench run")] = (time.time() - start) * (-1 if failed else 1)
        print(f"  {name}: flashinfer-bench run {times[(name, 'flashinfer-bench run')]:.1f} s",
              flush=True)
        which = (["--solution-json", extra_files[name]] if name in extra_files
                 else ["--config", str(config), "-s", name])
        cache = out / f"loop-cache-{name}"
        shutil.rmtree(cache, ignore_errors=True)
        env["FIB_CACHE_PATH"] = str(cache)
        for state in ("cold", "warm"):
            start = time.time()
            ok = True
            for cmd in (["verify", *which, "--dataset", str(ts), "--reference", "python"],
                        ["bench", *which, "--dataset", str(ts), "--speedup-reference", "python",
                         *counts_flags(counts, False), "--no-report"]):
                res = subprocess.run([str(fibkit), "-q", *cmd], capture_output=True, text=True,
                                     env=env)
                if res.returncode != 0:
                    ok = False
                    print(res.stderr[-2000:], file=sys.stderr)
            key = (name, f"fibkit verify && bench, {state}")
            times[key] = (time.time() - start) * (1 if ok else -1)
            print(f"  {name}: fibkit verify && bench, {state} {times[key]:.1f} s", flush=True)
    return times


def print_spread(runs, rows):
    """The official harness's own run-to-run spread over --repeat runs, per (solution, workload):
    min-max of its latencies and of its reference latencies, and where fibkit's reference
    latency falls (inside the official range, or its ratio to the nearest end)."""
    by_key = {}
    for run_rows in runs:
        for r in run_rows:
            by_key.setdefault((r["solution"], r["workload"]), []).append(r)

    def span(values):
        values = [v for v in values if isinstance(v, (int, float)) and v > 0]
        return (min(values), max(values)) if values else None

    print(f"\nthe official harness over {len(runs)} runs (ms: min-max, max/min)")
    for r in rows:
        same = by_key.get((r["solution"], r["workload"]), [])
        lat = span([x["latency_ms"] for x in same])
        ref = span([x["reference_latency_ms"] for x in same])
        fib = r.get("fibkit_reference_latency_ms")
        where = "-"
        if ref and fib:
            lo, hi = ref
            where = "inside" if lo <= fib <= hi else f"{fib / (lo if fib < lo else hi):.3f}x the range"
        text = [f"{r['solution'][:34]:<34} {json.dumps(r['axes'])[:28]:<28}"]
        for name, s in (("latency", lat), ("reference", ref)):
            text.append(f"{name} {s[0]:.4f}-{s[1]:.4f} ({s[1] / s[0]:.2f})" if s else f"{name} -")
        text.append(f"fibkit reference: {where}")
        print("  ".join(text))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fibkit", required=True)
    ap.add_argument("--dataset", required=True, help="the contest TraceSet (definitions + workloads)")
    ap.add_argument("--config", default=str(ROOT / "config.toml"),
                    help="the project whose solutions to pack (default: the repository's)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--workloads", action="append", default=[], help="DEF=i,j,k (repeatable)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--no-fibkit-bench", action="store_true")
    ap.add_argument("--modes", default="source,cubin")
    ap.add_argument("--extra-solution", action="append", default=[])
    ap.add_argument("--python-reference", action="store_true")
    ap.add_argument("--loop", action="store_true")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run the official evaluator N times: its own run-to-run spread")
    ap.add_argument("--score-baseline", metavar="AUTHOR",
                    help="keep the first official run's traces (OUT/traces) and score them with "
                         "`fibkit score` and tools/official_score.py against AUTHOR's solutions")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    workloads = dict(DEFAULT_WORKLOADS)
    if args.workloads:
        workloads = {}
        for w in args.workloads:
            d, _, idx = w.partition("=")
            workloads[d] = [int(i) for i in idx.split(",")]
    fibkit = pathlib.Path(args.fibkit).resolve()
    config_path = pathlib.Path(args.config).resolve()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ts = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / f"fibkit-official-check-{config_path.parent.name}"
    shutil.rmtree(ts, ignore_errors=True)
    make_traceset(pathlib.Path(args.dataset), ts, workloads)
    run([fibkit, "synth", "--dataset", ts])

    # The repository's solutions of the chosen definitions.
    names = [sol["name"] for sol in tomllib.loads(config_path.read_text()).get("solution", [])
             if sol["definition"] in workloads]
    modes = args.modes.split(",")
    packed = pack_all(fibkit, ts, names, config_path, modes)
    extra_files = {}
    by_name = {n: {"definition": packed[f"{n}-{modes[0]}"]["definition"]} for n in names}
    for f in args.extra_solution:
        name, definition = add_extra(ts, f)
        extra_files[name] = str(pathlib.Path(f).resolve())
        by_name[name] = {"definition": definition}

    counts = {"warmup_runs": args.warmup, "iterations": args.iterations,
              "num_trials": args.trials}
    runs = []  # (rows, seconds) per official run; the first one is the table's
    shutil.rmtree(ts / "traces", ignore_errors=True)
    for k in range(max(1, args.repeat)):
        runs.append(official_run(ts, counts, dump_traces=bool(args.score_baseline) and k == 0))
        # The official results first, as they are, so that a slow fibkit step cannot lose them.
        (out / f"official_rows{k or ''}.json").write_text(json.dumps(runs[-1][0], indent=1,
                                                                     default=str))
    rows, seconds = runs[0]
    for r in sorted(rows, key=lambda r: (r["definition"], str(r["axes"]), r["solution"])):
        print(f"official: {r['definition'][:40]} {json.dumps(r['axes'])[:28]} {r['solution']} "
              f"{r['status']} latency {r['latency_ms']} ms reference {r['reference_latency_ms']} ms",
              flush=True)
    fib = {}
    if not args.no_fibkit_bench:
        fib = fibkit_bench(fibkit, ts, workloads, by_name, config_path, args.python_reference,
                           extra_files, counts, out)
    for r in rows:
        base = r["solution"] if r["solution"] in extra_files else r["solution"].rsplit("-", 1)[0]
        r["fibkit_bench_latency_ms"], r["fibkit_reference_latency_ms"] = fib.get(
            (base, r["workload"]), (None, None))

    rows.sort(key=lambda r: (r["definition"], str(r["axes"]), r["solution"]))
    print(f"\nofficial evaluator (flashinfer-bench {__import__('flashinfer_bench').__version__}, "
          f"{args.warmup}/{args.iterations}/{args.trials}) on {len(rows)} (solution, workload) "
          f"pairs in {seconds:.1f} s")
    print(f"{'definition':<46} {'axes':<28} {'mode':<7} {'status':<20} {'official ms':>11} "
          f"{'fibkit ms':>10} {'ref ms':>9} {'fibkit ref':>10} {'ratio':>6}")
    for r in rows:
        def fmt(v):
            return f"{v:.4f}" if isinstance(v, (int, float)) and v else "-"
        mode = "-" if r["solution"] in extra_files else r["solution"].rsplit("-", 1)[1]
        a, b = r["reference_latency_ms"], r["fibkit_reference_latency_ms"]
        ratio = f"{b / a:.3f}" if a and b else "-"
        print(f"{r['definition'][:46]:<46} {json.dumps(r['axes'])[:28]:<28} "
              f"{mode:<7} {r['status']:<20} {fmt(r['latency_ms']):>11} "
              f"{fmt(r['fibkit_bench_latency_ms']):>10} {fmt(a):>9} {fmt(b):>10} {ratio:>6}")
        if r["log"]:
            print("    " + r["log"][-600:].replace("\n", "\n    "))
    passed = sum(r["status"] == "PASSED" for r in rows)
    print(f"\n{passed} of {len(rows)} PASSED")
    if len(runs) > 1:
        print_spread([r for r, _ in runs], rows)
    if args.score_baseline:
        shutil.copytree(ts / "traces", out / "traces", dirs_exist_ok=True)
        print(f"\nscores of the official traces against {args.score_baseline}'s solutions:")
        res = subprocess.run([sys.executable, str(ROOT / "tools" / "official_score.py"),
                              "--baseline-author", args.score_baseline, "--check", str(fibkit),
                              str(ts)], capture_output=True, text=True)
        doc = json.loads(res.stdout) if res.stdout.strip() else {}
        for a in doc.get("definitions", []):
            print(f"  {a['definition'][:40]:<40} {a['author']:<16} {a['solution']:<36} "
                  f"score {a['score']:.4f} over {a['workloads']} workloads")
        print("  " + res.stderr.strip().replace("\n", "\n  "))
    loops = {}
    if args.loop:
        pairs = [(n, f"{n}-{modes[0]}") for n in names]
        for (name, what), s in loop_times(fibkit, ts, config_path, pairs, extra_files, out,
                                          counts).items():
            loops[f"{name}: {what}"] = s
        print("\nloop times (wall seconds; negative: a command failed)")
        for k, s in loops.items():
            print(f"  {k:<70} {s:8.1f}")
    (out / "official_check.json").write_text(json.dumps({"packed": packed, "rows": rows,
                                                         "seconds": seconds, "loops": loops},
                                                        indent=1, default=str))
    return 0 if passed == len(rows) and rows else 1


if __name__ == "__main__":
    sys.exit(main())
