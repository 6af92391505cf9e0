#!/usr/bin/env python3
"""Give an installed flashinfer-bench 0.1.2 the contest-era DSA top-k indexer evaluator.

PyPI's flashinfer-bench 0.1.2 predates the contest's indexer rules
(official-semantics.md §10): it draws `k_index_cache_fp8` as random int8 bytes (so the packed
per-token float32 scales are random bit patterns, NaN among them) and compares the top-k index
lists element-wise, so orders of tied or NaN scores decide. The contest-era evaluator
(`flashinfer_bench/bench/evaluators/dsa_topk_indexer.py` in the flashinfer-bench repository,
class `DsaTopkIndexerEvaluator`) packs a real fp8 K cache for random workloads and checks
validity (reachable, no duplicates) and the sorted scores at the returned indices.

This script installs that file, as given (EVALUATOR: a copy of it from the flashinfer-bench git
repository; nothing of it is in fibkit), into SITE/flashinfer_bench/bench/evaluators/ and
registers its class in the evaluator registry, so that every evaluator process of the installed
0.1.2 resolves the indexer definitions to it. Its imports are 0.1.2's own (DefaultEvaluator,
DeviceBaseline, gen_inputs, make_eval, allocate_outputs, normalize_result, time_runnable).

usage: python3 tools/contest_indexer_patch.py SITE EVALUATOR
"""

import pathlib
import shutil
import sys

MARKER = "# --- contest-era DSA indexer evaluator (tools/contest_indexer_patch.py) ---"
CLASS = "DsaTopkIndexerEvaluator"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    evaluators = pathlib.Path(sys.argv[1]) / "flashinfer_bench" / "bench" / "evaluators"
    source = pathlib.Path(sys.argv[2])
    registry = evaluators / "registry.py"
    if not registry.is_file():
        sys.exit(f"contest_indexer_patch: {registry}: no such file (not flashinfer-bench 0.1.x)")
    if not source.is_file() or f"class {CLASS}(" not in source.read_text():
        sys.exit(f"contest_indexer_patch: {source}: not flashinfer-bench's dsa_topk_indexer.py "
                 f"(no class {CLASS})")
    text = registry.read_text()
    anchor = "_EVALUATORS: List[EvaluatorType] = ["
    if MARKER not in text:
        if anchor not in text:
            sys.exit(f"contest_indexer_patch: {registry}: no `{anchor}`: another version")
        text = text.replace(anchor, f"{MARKER}\nfrom .dsa_topk_indexer import {CLASS}\n\n"
                                    f"{anchor}{CLASS}, ", 1)
        registry.write_text(text)
    shutil.copyfile(source, evaluators / "dsa_topk_indexer.py")
    print(f"contest_indexer_patch: {registry} resolves dsa_topk_indexer* to {CLASS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
