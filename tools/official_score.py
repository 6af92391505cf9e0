#!/usr/bin/env python3
"""The contest's scores from trace files, computed in plain Python straight from the official
rules — a second, independent implementation to check `fibkit score` against.

The rules (../shared/reference/official-semantics.md §5 "Scoring" and the 2026-12 addendum;
flashinfer-bench's `TraceSet.get_solution_score` / `get_author_score`, as the organisers used
them for the final ranking):
  * authors starting with "flashinfer" are one author, "flashinfer" (the organisers renamed
    them; the indexer baseline's author is "flashinfer, deep_gemm");
  * a solution's score: per workload, the lowest latency among its PASSED traces and among the
    PASSED traces of the definition's one baseline solution (the baseline author's); only
    workloads where the baseline PASSED and the solution has a trace count; any non-PASSED
    trace of the solution makes its score 0; else the mean of baseline / solution latency;
  * an author's score: its best solution per definition, then the plain mean over definitions;
  * a track's score: the sum over the track's definitions (fused_moe 1, sparse_attention 2,
    gated_delta_net 2) divided by their count, a missing definition counting 0.

Reads folders in the FlashInfer-Trace layout (solutions/**/*.json for the authors,
traces/**/*.jsonl for the results; a trace of a solution without a JSON takes its author from
traces/<author>/, as `fibkit score` does). Prints the same JSON document as `fibkit score --json`
(less its key order); `--check FIBKIT` runs `fibkit score --json` on the same folders and exits 1
when any number differs.

usage: official_score.py [--baseline-author NAME] [--keep-authors] [--check FIBKIT] FOLDER...
"""
import argparse
import json
import pathlib
import subprocess
import sys

TRACKS = {
    "fused_moe": ["moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048"],
    "sparse_attention": ["dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64",
                         "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64"],
    "gated_delta_net": ["gdn_decode_qk4_v8_d128_k_last", "gdn_prefill_qk4_v8_d128_k_last"],
}


def load(folders, keep_authors):
    """{solution: (author, definition)} and [(solution, workload uuid, status, latency)]."""
    rename = (lambda a: a) if keep_authors else (
        lambda a: "flashinfer" if a.startswith("flashinfer") else a)
    solutions, traces = {}, []
    for folder in map(pathlib.Path, folders):
        for f in sorted((folder / "solutions").rglob("*.json")):
            s = json.loads(f.read_text())
            solutions[s["name"]] = (rename(s["author"]), s["definition"])
        root = folder / "traces"
        for f in sorted(root.rglob("*.jsonl")):
            path_author = f.relative_to(root).parts[0]
            for line in f.read_text().splitlines():
                if not line.strip():
                    continue
                t = json.loads(line)
                ev = t.get("evaluation")
                if not t.get("solution") or not ev:
                    continue
                solutions.setdefault(t["solution"], (rename(path_author), t["definition"]))
                perf = ev.get("performance") or {}
                traces.append((t["solution"], t["workload"]["uuid"], ev["status"],
                               perf.get("latency_ms") or 0.0))
    return solutions, traces


def solution_score(name, solutions, traces, baseline_author):
    """(score, workloads, success_rate, win_rate) or None (the baseline itself, no common
    workload)."""
    author, definition = solutions[name]
    baselines = [s for s, (a, d) in solutions.items() if d == definition and a == baseline_author]
    if len(baselines) != 1:
        raise SystemExit(f"{definition}: {len(baselines)} baseline solutions by {baseline_author}")
    if baselines[0] == name:
        return None

    def best(sol):
        lat, seen, failed = {}, set(), False
        for s, w, status, latency in traces:
            if s != sol:
                continue
            seen.add(w)
            if status != "PASSED":
                failed = True
            elif w not in lat or latency < lat[w]:
                lat[w] = latency
        return lat, seen, failed

    base, _, _ = best(baselines[0])
    mine, seen, failed = best(name)
    common = [w for w in base if w in seen]
    if not common:
        return None
    if failed:
        return 0.0, len(common), 0.0, 0.0
    ratios = [base[w] / mine[w] for w in common]
    return (sum(ratios) / len(ratios), len(common), 1.0,
            sum(r > 1.0 for r in ratios) / len(ratios))


def author_score(author, definitions, solutions, traces, baseline_author):
    per_def, best_solutions = [], {}
    for d in definitions:
        best = None
        for s, (a, sd) in sorted(solutions.items()):
            if a != author or sd != d:
                continue
            m = solution_score(s, solutions, traces, baseline_author)
            if m and (best is None or m[0] > best[1][0]):
                best = (s, m)
        if best:
            per_def.append(best[1])
            best_solutions[d] = best[0]
    if not per_def:
        return None
    n = len(per_def)
    return {"score": sum(m[0] for m in per_def) / n, "definitions": n,
            "workloads": sum(m[1] for m in per_def),
            "success_rate": sum(m[2] for m in per_def) / n,
            "win_rate": sum(m[3] for m in per_def) / n, "best_solutions": best_solutions}


def score(folders, baseline_author="flashinfer", keep_authors=False):
    solutions, traces = load(folders, keep_authors)
    if not keep_authors and baseline_author.startswith("flashinfer"):
        baseline_author = "flashinfer"
    scored = sorted({d for a, d in solutions.values()
                     if any(a2 == baseline_author and d2 == d for a2, d2 in solutions.values())})
    authors = sorted({a for a, d in solutions.values() if d in scored} - {baseline_author})
    ranking = [(a, author_score(a, scored, solutions, traces, baseline_author)) for a in authors]
    ranking = sorted([(a, m) for a, m in ranking if m], key=lambda x: (-x[1]["score"], x[0]))
    doc = {"baseline_author": baseline_author, "traces": len(traces), "authors": [],
           "definitions": [], "tracks": []}
    # Each author's score per definition, computed once: the definition rows and the tracks.
    per_def = {(a, d): author_score(a, [d], solutions, traces, baseline_author)
               for a, _ in ranking for d in scored}
    for a, m in ranking:
        doc["authors"].append({"author": a, **m})
    for d in scored:
        for a, _ in ranking:
            m = per_def[(a, d)]
            if m:
                doc["definitions"].append({"definition": d, "author": a,
                                           "solution": m["best_solutions"][d],
                                           **{k: v for k, v in m.items() if k != "best_solutions"}})
    for track, defs in TRACKS.items():
        if any(d in scored for d in defs):
            for a, _ in ranking:
                total = sum(per_def[(a, d)]["score"] for d in defs if per_def.get((a, d)))
                doc["tracks"].append({"track": track, "author": a, "score": total / len(defs),
                                      "definitions": len(defs)})
    return doc


def differences(mine, theirs, path="$"):
    """Every place where two JSON values differ (numbers to 1e-9 relative)."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        out = []
        for k in sorted(set(mine) | set(theirs)):
            if k == "schema_version":
                continue
            if k not in mine or k not in theirs:
                out.append(f"{path}.{k}: only in {'fibkit' if k in theirs else 'this script'}")
            else:
                out += differences(mine[k], theirs[k], f"{path}.{k}")
        return out
    if isinstance(mine, list) and isinstance(theirs, list):
        if len(mine) != len(theirs):
            return [f"{path}: {len(mine)} entries here, {len(theirs)} in fibkit's"]
        return [d for i, (a, b) in enumerate(zip(mine, theirs))
                for d in differences(a, b, f"{path}[{i}]")]
    if isinstance(mine, (int, float)) and isinstance(theirs, (int, float)):
        ok = abs(mine - theirs) <= 1e-9 * max(1.0, abs(mine), abs(theirs))
        return [] if ok else [f"{path}: {mine} here, {theirs} in fibkit's"]
    return [] if mine == theirs else [f"{path}: {mine!r} here, {theirs!r} in fibkit's"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--baseline-author", default="flashinfer")
    ap.add_argument("--keep-authors", action="store_true")
    ap.add_argument("--check", metavar="FIBKIT", help="compare with `FIBKIT score --json`")
    args = ap.parse_args()
    doc = score(args.folders, args.baseline_author, args.keep_authors)
    print(json.dumps(doc, indent=1))
    if not args.check:
        return 0
    cmd = [args.check, "-q", "score", "--json", "--baseline-author", args.baseline_author,
           *(["--keep-authors"] if args.keep_authors else []), *args.folders]
    theirs = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    diff = differences(doc, theirs)
    for d in diff:
        print("differs:", d, file=sys.stderr)
    print(f"fibkit score and this script: {'the same' if not diff else f'{len(diff)} differences'}"
          f" ({len(doc['authors'])} authors, {len(doc['definitions'])} definition rows, "
          f"{len(doc['tracks'])} track rows, {doc['traces']} traces)", file=sys.stderr)
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
