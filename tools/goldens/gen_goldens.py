#!/usr/bin/env python3
"""Generate the golden files in tests/golden/out/ with the OFFICIAL flashinfer-bench pydantic models.

Generated with flashinfer-bench 0.1.2 (PyPI; the newest release listed by `pip index versions`,
the RECORD hashes of the installed data/*.py match the wheel), pydantic 2.13.4, pydantic-core 2.46.4,
CPython 3.11.7.

How to rerun (from the repository root):

    pip install --no-deps flashinfer-bench==0.1.2 pydantic==2.13.4
    python3 tools/goldens/gen_goldens.py          # (re)write tests/golden/out/
    python3 tools/goldens/gen_goldens.py --check  # exit 1 if any golden is stale, missing or orphaned

Only the model modules flashinfer_bench/data/{utils,workload,definition,solution,trace}.py are loaded,
by file path, under stub parent packages: the package __init__ (which imports torch, safetensors,
tvm-ffi, ...) is never executed, and flashinfer_bench.utils is replaced by a stub whose
dtype_str_to_torch_dtype raises (definition.py imports it but only uses it outside validation).

Case files: tests/golden/cases/<case>.json = {"model": M, "input": <JSON object>}, M one of Solution,
Trace, Workload, Definition, Evaluation. The RAW TEXT of the "input" member (exactly as it appears in
the case file, so number literals such as 1e16 or 2.0 are kept) is fed to `M.model_validate_json`,
which is how the framework loads files (data/json_utils.py: load_json_file / load_jsonl_file).
Output, next to nothing else, in tests/golden/out/:
  <case>.golden  the bytes the framework writes, UTF-8:
                 Solution -> model_dump_json(indent=2), no trailing newline (the starter kit's
                   scripts/pack_solution.py does output_path.write_text(solution.model_dump_json(indent=2)));
                 Trace / Workload / Evaluation / Definition -> model_dump_json() compact, i.e. one JSONL
                   line WITHOUT its "\n" (data/json_utils.py appends "\n" after every line).
  <case>.error   the model rejected the input: one line per pydantic error, "<loc>\t<msg>\n", loc joined
                 with "." ("<root>" when empty), newlines in msg written as "\\n". fibkit must reject
                 these inputs too; its own messages will differ.

Upstream comparison (stored copies of github.com/flashinfer-ai/flashinfer-bench read with the search
tool, 2026-11; the index holds several historical versions and forks, newest commit not certain):
  - solution.py (version with with_unique_name): same fields / validators / serialisation as 0.1.2, but
    SupportedLanguages adds "cutedsl" (rejected by 0.1.2) and Solution.hash() excludes `name`
    (0.1.2 hashes the name too). No case here uses "cutedsl".
  - trace.py: one stored version adds Performance.profile: Optional[List[KernelProfile]] = None, which
    would append "profile":null to every performance object; 0.1.2 (and the reference notes'
    "confirmed" trace lines) have no such field. Not reproduced here.
  - workload.py: identical to 0.1.2.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import sys
import types
from pathlib import Path

EXPECTED_VERSIONS = {"flashinfer-bench": "0.1.2", "pydantic": "2.13.4"}
MODEL_MODULES = ["utils", "workload", "definition", "solution", "trace"]

REPO_ROOT = Path(__file__).resolve().parents[2]
CASES_DIR = REPO_ROOT / "tests" / "golden" / "cases"
OUT_DIR = REPO_ROOT / "tests" / "golden" / "out"


def load_models() -> dict:
    """Load the official model classes without executing flashinfer_bench/__init__.py."""
    spec = importlib.util.find_spec("flashinfer_bench")  # locates the package, does not import it
    if spec is None or not spec.submodule_search_locations:
        sys.exit("flashinfer-bench is not installed: pip install --no-deps flashinfer-bench==0.1.2")
    pkg_dir = Path(list(spec.submodule_search_locations)[0])

    root = types.ModuleType("flashinfer_bench")
    root.__path__ = [str(pkg_dir)]
    sys.modules["flashinfer_bench"] = root

    def _needs_torch(*_args, **_kwargs):
        raise RuntimeError("torch is not available in the golden generator")

    utils_stub = types.ModuleType("flashinfer_bench.utils")
    utils_stub.dtype_str_to_torch_dtype = _needs_torch
    utils_stub.dtype_str_to_python_dtype = _needs_torch
    sys.modules["flashinfer_bench.utils"] = utils_stub
    root.utils = utils_stub

    data_pkg = types.ModuleType("flashinfer_bench.data")
    data_pkg.__path__ = [str(pkg_dir / "data")]
    sys.modules["flashinfer_bench.data"] = data_pkg
    root.data = data_pkg

    mods = {}
    for name in MODEL_MODULES:
        full = f"flashinfer_bench.data.{name}"
        mspec = importlib.util.spec_from_file_location(full, pkg_dir / "data" / f"{name}.py")
        mod = importlib.util.module_from_spec(mspec)
        sys.modules[full] = mod
        mspec.loader.exec_module(mod)
        setattr(data_pkg, name, mod)
        mods[name] = mod

    return {
        "Solution": mods["solution"].Solution,
        "Trace": mods["trace"].Trace,
        "Evaluation": mods["trace"].Evaluation,
        "Workload": mods["workload"].Workload,
        "Definition": mods["definition"].Definition,
    }


def check_versions(allow_other: bool) -> None:
    bad = []
    for dist, want in EXPECTED_VERSIONS.items():
        try:
            got = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            got = None
        if got != want:
            bad.append(f"{dist} {got} (goldens were made with {want})")
    if bad:
        msg = "version mismatch: " + "; ".join(bad)
        if not allow_other:
            sys.exit(msg + "\n(pass --any-version to run anyway)")
        print("warning: " + msg, file=sys.stderr)


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def member_spans(text: str) -> dict:
    """Raw text span of every member of the top-level JSON object in `text` (last one wins)."""
    dec = json.JSONDecoder()
    spans = {}
    i = _skip_ws(text, 0)
    if text[i : i + 1] != "{":
        raise ValueError("case file is not a JSON object")
    i = _skip_ws(text, i + 1)
    if text[i : i + 1] == "}":
        return spans
    while True:
        key, i = dec.raw_decode(text, i)
        i = _skip_ws(text, i)
        if text[i : i + 1] != ":":
            raise ValueError(f"expected ':' at offset {i}")
        start = _skip_ws(text, i + 1)
        _, end = dec.raw_decode(text, start)
        spans[key] = (start, end)
        i = _skip_ws(text, end)
        if text[i : i + 1] == ",":
            i = _skip_ws(text, i + 1)
            continue
        if text[i : i + 1] == "}":
            return spans
        raise ValueError(f"expected ',' or '}}' at offset {i}")


def format_errors(exc) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "<root>"
        msg = err["msg"].replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        lines.append(f"{loc}\t{msg}\n")
    return "".join(lines)


def render_case(models: dict, case_path: Path):
    """Return (suffix, text) for one case: (".golden", serialisation) or (".error", errors)."""
    from pydantic import ValidationError

    text = case_path.read_text(encoding="utf-8")
    case = json.loads(text)
    model_name = case.get("model")
    if model_name not in models:
        raise ValueError(f"{case_path}: unknown model {model_name!r}")
    if "input" not in case:
        raise ValueError(f"{case_path}: no 'input' member")
    start, end = member_spans(text)["input"]
    raw_input = text[start:end]

    model = models[model_name]
    try:
        obj = model.model_validate_json(raw_input)
    except ValidationError as exc:
        return ".error", format_errors(exc)
    if model_name == "Solution":
        return ".golden", obj.model_dump_json(indent=2)
    return ".golden", obj.model_dump_json()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="verify goldens, write nothing")
    ap.add_argument("--any-version", action="store_true", help="run even if versions differ")
    args = ap.parse_args()

    check_versions(args.any_version)
    models = load_models()

    cases = sorted(CASES_DIR.glob("*.json"))
    if not cases:
        print(f"no cases in {CASES_DIR}", file=sys.stderr)
        return 1

    expected = {}  # file name in OUT_DIR -> bytes
    counts = {".golden": 0, ".error": 0}
    for case_path in cases:
        suffix, out_text = render_case(models, case_path)
        expected[case_path.stem + suffix] = out_text.encode("utf-8")
        counts[suffix] += 1

    existing = {p.name for p in OUT_DIR.glob("*")} if OUT_DIR.is_dir() else set()
    problems = []
    for name in sorted(expected):
        path = OUT_DIR / name
        if name not in existing:
            problems.append(f"missing: {name}")
        elif path.read_bytes() != expected[name]:
            problems.append(f"stale:   {name}")
    for name in sorted(existing - set(expected)):
        problems.append(f"orphan:  {name}")

    if args.check:
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print(f"{len(problems)} golden file(s) out of date; rerun {Path(__file__).name}",
                  file=sys.stderr)
            return 1
        print(f"ok: {len(cases)} cases ({counts['.golden']} valid, {counts['.error']} invalid)")
        return 0

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, data in expected.items():
        path = OUT_DIR / name
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
    for name in existing - set(expected):
        (OUT_DIR / name).unlink()
    print(f"wrote {len(cases)} cases ({counts['.golden']} valid, {counts['.error']} invalid); "
          f"{len(problems)} file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
