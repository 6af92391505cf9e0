"""`fibkit score` against tools/official_score.py, a second implementation of the contest's
scoring written in plain Python from the official rules (run by ctest, label unit; argv[1] is the
fibkit binary).

1. The hand-computed TraceSet of the CLI tests (tests/cli/data/score): both give the same
   document, and the numbers computed by hand (me: 1.625 over A and B).
2. Random TraceSets with the contest's five definitions (so track scores are exercised), several
   authors (FlashInfer's "flashinfer, deep_gemm" among the baselines), repeated traces of a
   workload, failed traces, workloads the baseline failed or never ran: both give the same
   document, number for number.
"""
import json
import pathlib
import random
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import official_score  # noqa: E402

FIBKIT = sys.argv[1]
DEFS = [d for defs in official_score.TRACKS.values() for d in defs]
SPEC = {"language": "python", "target_hardware": ["NVIDIA H200"], "entry_point": "k.py::run",
        "dependencies": [], "destination_passing_style": True}
CORRECT = {"max_relative_error": 0.0, "max_absolute_error": 0.0, "extra": None}
FAILURES = ["INCORRECT_NUMERICAL", "RUNTIME_ERROR", "TIMEOUT"]


def fibkit_score(folders, *extra):
    res = subprocess.run([FIBKIT, "-q", "score", "--json", *extra, *map(str, folders)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise AssertionError(f"fibkit score failed: {res.stderr}")
    return json.loads(res.stdout)


def write_random_traceset(root, rng):
    authors = ["alice", "bob", "carol"]
    workloads = {d: [f"{d[:6]}-w{i}" for i in range(rng.randint(2, 6))] for d in DEFS}
    for d in DEFS:
        baseline_author = "flashinfer, deep_gemm" if "indexer" in d else "flashinfer"
        owners = [(baseline_author, f"fi-{d[:10]}")]
        owners += [(a, f"{a}-{d[:10]}-{k}") for a in authors for k in range(rng.randint(0, 2))]
        lines = {}
        for author, name in owners:
            sol = root / "solutions" / author / d / f"{name}.json"
            sol.parent.mkdir(parents=True, exist_ok=True)
            sol.write_text(json.dumps({"name": name, "definition": d, "author": author,
                                       "spec": SPEC, "sources": [{"path": "k.py", "content": "def run(): pass\n"}]}))
            for w in workloads[d]:
                if rng.random() < 0.15:
                    continue  # never ran this workload
                for _ in range(rng.randint(1, 3)):
                    status = rng.choice(FAILURES) if rng.random() < 0.04 else "PASSED"
                    perf = ({"latency_ms": round(rng.uniform(0.01, 5.0), 6),
                             "reference_latency_ms": 10.0, "speedup_factor": 1.0}
                            if status == "PASSED" else None)
                    lines.setdefault(author, []).append(json.dumps({
                        "definition": d, "workload": {"uuid": w, "axes": {}, "inputs": {}},
                        "solution": name, "evaluation": {
                            "status": status,
                            "environment": {"hardware": "NVIDIA H200", "libs": {}},
                            "timestamp": "2026-12-03T00:00:00", "log": "",
                            "correctness": CORRECT if status in ("PASSED",
                                                                "INCORRECT_NUMERICAL") else None,
                            "performance": perf}}))
        for author, ls in lines.items():
            f = root / "traces" / author / f"{d}.jsonl"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text("\n".join(ls) + "\n")


def main():
    failures = 0
    data = ROOT / "tests" / "cli" / "data" / "score"
    mine, theirs = official_score.score([data]), fibkit_score([data])
    diff = official_score.differences(mine, theirs)
    me = next(a for a in mine["authors"] if a["author"] == "me")
    if diff or abs(me["score"] - 1.625) > 1e-12:
        print("hand-computed TraceSet:", diff, me)
        failures += 1
    rng = random.Random(20261203)
    for trial in range(25):
        with tempfile.TemporaryDirectory() as tmp:
            write_random_traceset(pathlib.Path(tmp), rng)
            mine, theirs = official_score.score([tmp]), fibkit_score([tmp])
            diff = official_score.differences(mine, theirs)
            if diff or not mine["tracks"]:
                print(f"random TraceSet {trial}: {diff[:5]} tracks={len(mine['tracks'])}")
                failures += 1
            # --keep-authors: "flashinfer, deep_gemm" is then not the baseline author.
            mine = official_score.score([tmp], keep_authors=True)
            theirs = fibkit_score([tmp], "--keep-authors")
            if official_score.differences(mine, theirs):
                print(f"random TraceSet {trial} --keep-authors differs")
                failures += 1
    print("official_score.py and fibkit score:", "agree" if not failures else f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
