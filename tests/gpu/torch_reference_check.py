#!/usr/bin/env python3
"""GPU test: fibkit's native references against the definitions' Python `run`, through torch.

For each definition of a TraceSet that has a native reference (references/<name>/), picks a few
workloads (the smallest, a middle one and the largest), runs `fibkit verify` on the native
reference with `--dump`, which writes the exact inputs fibkit fed (random tensors, workload
scalars, stand-ins for missing blobs) and the native reference's outputs, then executes the
definition's Python `reference` code with torch on the GPU on those same inputs and compares the
outputs with the official evaluators' rules (compute_error_stats; the MoE low-bit matched ratio;
the DSA top-k indexer's validity and sorted-score rule).

Exit codes: 0 all agree, 1 a mismatch, 77 skipped (no torch, no CUDA device or no fibkit build).
Usage: torch_reference_check.py --fibkit BIN --dataset DIR [--dataset DIR2 ...] [--per-definition 3]
"""

import argparse
import json
import math
import os
import pathlib
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77


def load_safetensors(path, torch):
    """A minimal safetensors reader (the format: u64 header size, JSON header, raw bytes)."""
    data = pathlib.Path(path).read_bytes()
    (header_size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_size])
    metadata = header.pop("__metadata__", {}) or {}
    dtypes = {
        "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
        "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2, "I64": torch.int64,
        "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
        "BOOL": torch.bool,
    }
    base = 8 + header_size
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        raw = bytearray(data[base + begin : base + end])
        t = torch.frombuffer(raw, dtype=torch.uint8) if raw else torch.empty(0, dtype=torch.uint8)
        tensors[name] = t.view(dtypes[info["dtype"]]).reshape(info["shape"])
    return tensors, metadata


def error_stats(torch, out, ref, atol, rtol, ratio):
    """bench/utils.py::compute_error_stats: float32, fails where |d| > atol and rel > rtol."""
    x = out.float()
    y = ref.float()
    if x.numel() == 0:
        return 0.0, 0.0, 1.0, False
    diff = (x - y).abs()
    rel = diff / (y.abs() + 1e-8)
    exceeds = (diff > atol) & (rel > rtol)
    matched = 1.0 - exceeds.float().mean().item()
    return diff.max().item(), rel.max().item(), matched, matched < ratio


def indexer_check(torch, inputs, out, ref, atol, rtol):
    """The DsaTopkIndexer evaluator: index validity, duplicates, then sorted scores per row."""
    q, kcache, weights, seq_lens, block_table = inputs[:5]
    page_size = kcache.shape[1]
    # The deep_gemm layout: per page, page_size*head_dim fp8 bytes, then page_size float32 scales.
    num_pages, _, _, row = kcache.shape
    head_dim = row - 4
    flat = kcache.contiguous().view(torch.uint8).reshape(num_pages, page_size * row)
    fp8 = flat[:, : page_size * head_dim].contiguous().view(torch.float8_e4m3fn)
    scales = flat[:, page_size * head_dim :].contiguous().view(torch.float32)
    k = fp8.to(torch.float32).reshape(num_pages, page_size, head_dim) * scales.reshape(
        num_pages, page_size, 1)
    k = k.reshape(-1, head_dim)
    qf = q.float()
    problems = []
    rows_out, rows_ref = [], []
    for b in range(out.shape[0]):
        slot_of = {}
        for s, page in enumerate(block_table[b].tolist()):
            slot_of.setdefault(page, s)
        length = int(seq_lens[b])
        scores = []
        for which, idx in (("solution", out[b]), ("reference", ref[b])):
            valid = idx[idx >= 0].tolist()
            if len(set(valid)) != len(valid):
                problems.append(f"{which}: duplicate indices in batch {b}")
            for i in valid:
                s = slot_of.get(i // page_size)
                if s is None or s * page_size + i % page_size >= length:
                    problems.append(f"{which}: out-of-range index {i} in batch {b}")
                    break
            row = torch.full((idx.numel(),), float("-inf"), device=q.device)
            if valid:
                sel = torch.tensor(valid, device=q.device, dtype=torch.long)
                s = torch.relu(qf[b] @ k[sel].T)  # [heads, n]
                row[: len(valid)] = (s * weights[b].float()[:, None]).sum(0)
            scores.append(torch.sort(row, descending=True).values)
        rows_out.append(scores[0])
        rows_ref.append(scores[1])
    if problems:
        return math.inf, math.inf, 0.0, True, "; ".join(problems[:5])
    x = torch.stack(rows_out)
    y = torch.stack(rows_ref)
    both = (torch.isinf(x) & torch.isinf(y) & (torch.sign(x) == torch.sign(y))) | (
        torch.isnan(x) & torch.isnan(y))
    one_sided = (~torch.isfinite(x) | ~torch.isfinite(y)) & ~both
    finite = torch.isfinite(x) & torch.isfinite(y)
    d = torch.where(finite, (x - y).abs(), torch.zeros_like(x))
    r = d / (y.abs().where(finite, torch.ones_like(y)) + 1e-8)
    bad = ((d > atol) & (r > rtol) & finite) | one_sided
    matched = 1.0 - bad.float().mean().item()
    max_abs = math.inf if one_sided.any() else d.max().item()
    max_rel = math.inf if one_sided.any() else r.max().item()
    return max_abs, max_rel, matched, matched < 1.0, ""


def pick_workloads(lines, count):
    """Indices of the smallest, middle and largest workloads by the product of their axes."""
    sizes = []
    for i, line in enumerate(lines):
        axes = json.loads(line)["workload"]["axes"]
        size = 1
        for v in axes.values():
            size *= max(int(v), 1)
        sizes.append((size, i))
    sizes.sort()
    if len(sizes) <= count:
        return [i for _, i in sizes]
    picks = [sizes[round(k * (len(sizes) - 1) / (count - 1))][1] for k in range(count)]
    return sorted(set(picks))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fibkit", required=True)
    parser.add_argument("--dataset", action="append", required=True,
                        help="TraceSet whose definitions' Python references are checked")
    parser.add_argument("--references", default=str(pathlib.Path(__file__).resolve().parents[2] / "references"))
    parser.add_argument("--per-definition", type=int, default=3)
    parser.add_argument("--keep", help="keep the dumps in this directory")
    args = parser.parse_args()

    try:
        import torch
    except ImportError:
        print("SKIPPED: torch is not importable")
        return SKIP
    if not torch.cuda.is_available():
        print("SKIPPED: no CUDA device")
        return SKIP
    if not os.access(args.fibkit, os.X_OK):
        print(f"SKIPPED: {args.fibkit} is not built")
        return SKIP

    failures = 0
    checked = 0
    rows = []
    work = pathlib.Path(args.keep or tempfile.mkdtemp(prefix="fibkit-torch-"))
    for dataset in args.dataset:
        root = pathlib.Path(dataset)
        for def_file in sorted(root.glob("definitions/**/*.json")):
            definition = json.loads(def_file.read_text())
            name = definition["name"]
            config = pathlib.Path(args.references) / name / "config.toml"
            if not config.is_file():
                continue
            wl_files = list(root.glob(f"workloads/**/{name}.jsonl"))
            lines = [l for l in wl_files[0].read_text().splitlines() if l.strip()] if wl_files else []
            if not lines:
                continue
            picks = pick_workloads(lines, args.per_definition)
            dump = work / root.name
            cmd = [args.fibkit, "-q", "verify", "-c", str(config), "--dataset", str(root),
                   "--workloads", ",".join(map(str, picks)), "--trials", "1", "--dump", str(dump),
                   "--json"]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode not in (0, 1):
                print(f"FAIL {name}: fibkit verify exited {proc.returncode}\n{proc.stderr}")
                failures += 1
                continue
            ns = {}
            exec(compile(definition["reference"], f"<{name} reference>", "exec"), ns)
            low_bit = "moe_fp8_block_scale" in name
            atol, rtol = 1e-2, 1e-2
            ratio = 0.95 if low_bit or definition.get("op_type") == "moe" else 1.0
            for result in json.loads(proc.stdout)["results"]:
                uuid = result["workload"]
                trial = next((dump).glob(f"*/{uuid}/trial0.safetensors"))
                tensors, meta = load_safetensors(trial, torch)
                inputs = []
                for spec_name, spec in definition["inputs"].items():
                    if f"scalar.{spec_name}" in meta:
                        inputs.append(json.loads(meta[f"scalar.{spec_name}"]))
                    else:
                        inputs.append(tensors[f"input.{spec_name}"].cuda())
                start = time.perf_counter()
                got = ns["run"](*inputs)
                torch.cuda.synchronize()
                py_s = time.perf_counter() - start
                got = list(got) if isinstance(got, (tuple, list)) else [got]
                for o, out_name in enumerate(definition["outputs"]):
                    native = tensors[f"output.{out_name}"].cuda()
                    if name.startswith("dsa_topk_indexer"):
                        max_abs, max_rel, matched, bad, why = indexer_check(
                            torch, inputs, native, got[o].to(native.dtype), atol, rtol)
                    else:
                        why = ""
                        if tuple(got[o].shape) != tuple(native.shape):
                            bad, why = True, f"shape {tuple(got[o].shape)} vs {tuple(native.shape)}"
                            max_abs = max_rel = math.inf
                            matched = 0.0
                        else:
                            max_abs, max_rel, matched, bad = error_stats(
                                torch, native, got[o], atol, rtol, ratio)
                    checked += 1
                    failures += bad
                    axes = " ".join(f"{k}={v}" for k, v in json.loads(lines[result["index"]])["workload"]["axes"].items())
                    rows.append((root.name, name, result["index"], axes, out_name, max_abs, max_rel,
                                 matched, "FAIL " + why if bad else "ok", py_s))
    print(f"{'dataset':<10} {'definition':<52} {'#':>3} {'axes':<34} {'output':<12} "
          f"{'max abs':>9} {'max rel':>9} {'matched':>8} {'torch s':>7}  verdict")
    for r in rows:
        print(f"{r[0][:10]:<10} {r[1][:52]:<52} {r[2]:>3} {r[3][:34]:<34} {r[4][:12]:<12} "
              f"{r[5]:>9.3g} {r[6]:>9.3g} {r[7]:>8.5f} {r[9]:>7.2f}  {r[8]}")
    print(f"\n{checked} outputs compared, {failures} disagree")
    if checked == 0:
        print("SKIPPED: no definition with a native reference was found")
        return SKIP
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
