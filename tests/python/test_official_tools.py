"""The cross-check kit's helpers without a GPU (run by ctest, label unit).

tools/contest_timing_patch.py is applied to a stand-in flashinfer-bench 0.1.2 timing module;
a stand-in `torch` and a stand-in flashinfer `testing/utils.py` then show what the patched
`time_runnable` does: it calls bench_gpu_time_with_cupti with the contest-era arguments and
returns the median. tools/contest_indexer_patch.py is applied to a stand-in evaluator registry:
the indexer definitions then resolve to the contest-era evaluator, the others as before.
tools/official_check.py's print_spread is checked on hand-made rows.
"""
import contextlib
import importlib.util
import io
import pathlib
import subprocess
import sys
import tempfile
import types
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]

# The shape of 0.1.2's timing module that the patch relies on: `statistics`, `torch` and
# `_device_lock` at module level, and a `time_runnable` whose later definition wins.
TIMING = '''
import statistics
from multiprocessing import Lock
import torch

_locks = {}


def _device_lock(device):
    return _locks.setdefault(device, Lock())


def time_runnable(fn, args, warmup, iters, device):
    return "0.1.2's events"
'''

# A stand-in for flashinfer's testing/utils.py, with the two imports the real file makes.
UTILS = '''
from einops import rearrange, reduce, repeat
from flashinfer.utils import round_up

calls = []


def bench_gpu_time_with_cupti(**kwargs):
    calls.append(kwargs)
    return [3.0, 1.0, 2.0, 10.0, 0.5]
'''


class FakeTorch(types.ModuleType):
    def __init__(self):
        super().__init__("torch")
        self.devices = []
        fake = self

        class Cuda:
            @staticmethod
            @contextlib.contextmanager
            def device(d):
                fake.devices.append(d)
                yield

        self.cuda = Cuda


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ContestTimingPatch(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.site = pathlib.Path(self.tmp.name) / "site"
        self.timing = self.site / "flashinfer_bench" / "bench" / "timing.py"
        self.timing.parent.mkdir(parents=True)
        self.timing.write_text(TIMING)
        self.utils = pathlib.Path(self.tmp.name) / "utils.py"
        self.utils.write_text(UTILS)
        self.saved = {k: sys.modules.get(k)
                      for k in ("torch", "einops", "flashinfer", "flashinfer.utils",
                                "_fibkit_flashinfer_testing_utils")}

    def tearDown(self):
        for k, v in self.saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
        self.tmp.cleanup()

    def patch(self, *extra):
        return subprocess.run([sys.executable, str(ROOT / "tools" / "contest_timing_patch.py"),
                               str(self.site), *extra], capture_output=True, text=True)

    def test_time_runnable_is_the_median_of_bench_gpu_time_with_cupti(self):
        self.assertEqual(self.patch(str(self.utils)).returncode, 0)
        self.assertEqual(self.patch(str(self.utils)).returncode, 0)  # idempotent
        text = self.timing.read_text()
        self.assertEqual(text.count("def _contest_testing_utils"), 1)
        torch = FakeTorch()
        sys.modules["torch"] = torch
        sys.modules.pop("einops", None)
        timing = load(self.timing, "patched_timing")

        def fn(*args):
            return None

        ms = timing.time_runnable(fn, ["x", "y"], 3, 20, "cuda:0")
        self.assertEqual(ms, 2.0)  # the median of the five samples, not the mean or the max
        self.assertEqual(torch.devices, ["cuda:0"])
        utils = sys.modules["_fibkit_flashinfer_testing_utils"]
        self.assertEqual(utils.calls, [{"fn": fn, "dry_run_iters": 3, "repeat_iters": 20,
                                        "input_args": ("x", "y"), "cold_l2_cache": True,
                                        "use_cuda_graph": False}])

    def test_refuses_other_files(self):
        self.timing.write_text("def something_else(): pass\n")
        res = self.patch(str(self.utils))
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("not flashinfer-bench 0.1.2's timing module", res.stderr)
        res = self.patch(str(self.utils) + ".missing")
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("no such file", res.stderr)


# The shape of 0.1.2's evaluator registry that tools/contest_indexer_patch.py relies on, with
# stand-ins for its evaluators (the real ones import torch).
REGISTRY = '''
from typing import List, Type

from .evaluator import Evaluator

DefaultEvaluator = Evaluator


class SamplingEvaluator(Evaluator):
    @classmethod
    def can_evaluate(cls, definition):
        return "sampling" in definition.name


EvaluatorType = Type[Evaluator]

_EVALUATORS: List[EvaluatorType] = [SamplingEvaluator]
_DEFAULT_EVALUATOR: EvaluatorType = DefaultEvaluator


def resolve_evaluator(definition):
    matches = [cls for cls in _EVALUATORS if cls.can_evaluate(definition)]
    return matches[0] if len(matches) == 1 else _DEFAULT_EVALUATOR
'''

# A stand-in for flashinfer-bench's contest-era evaluators/dsa_topk_indexer.py.
INDEXER = '''
from .evaluator import Evaluator


class DsaTopkIndexerEvaluator(Evaluator):
    @classmethod
    def can_evaluate(cls, definition):
        return definition.name.startswith("dsa_topk_indexer")
'''


class ContestIndexerPatch(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.site = pathlib.Path(self.tmp.name) / "site"
        # A stand-in package shaped as flashinfer_bench (named otherwise, so that it cannot
        # shadow a real install), reached through SITE/flashinfer_bench as the tool expects.
        self.pkg = self.site / "fib_stand_in" / "bench" / "evaluators"
        self.pkg.mkdir(parents=True)
        (self.site / "flashinfer_bench").symlink_to(self.site / "fib_stand_in")
        for d in (self.site / "fib_stand_in", self.site / "fib_stand_in" / "bench", self.pkg):
            (d / "__init__.py").write_text("")
        (self.pkg / "registry.py").write_text(REGISTRY)
        (self.pkg / "evaluator.py").write_text(
            "class Evaluator:\n    @classmethod\n    def can_evaluate(cls, d):\n        return True\n")
        self.evaluator = pathlib.Path(self.tmp.name) / "dsa_topk_indexer.py"
        self.evaluator.write_text(INDEXER)

    def tearDown(self):
        for k in [k for k in sys.modules if k.startswith("fib_stand_in")]:
            sys.modules.pop(k)
        if str(self.site) in sys.path:
            sys.path.remove(str(self.site))
        self.tmp.cleanup()

    def patch(self, evaluator):
        return subprocess.run([sys.executable, str(ROOT / "tools" / "contest_indexer_patch.py"),
                               str(self.site), str(evaluator)], capture_output=True, text=True)

    def test_the_indexer_resolves_to_the_contest_evaluator(self):
        self.assertEqual(self.patch(self.evaluator).returncode, 0)
        self.assertEqual(self.patch(self.evaluator).returncode, 0)  # idempotent
        text = (self.pkg / "registry.py").read_text()
        self.assertEqual(text.count("import DsaTopkIndexerEvaluator"), 1)
        sys.path.insert(0, str(self.site))
        registry = importlib.import_module("fib_stand_in.bench.evaluators.registry")
        indexer = types.SimpleNamespace(name="dsa_topk_indexer_fp8_h64_d128_topk2048_ps64")
        other = types.SimpleNamespace(name="gdn_decode_qk4_v8_d128_k_last")
        self.assertEqual(registry.resolve_evaluator(indexer).__name__, "DsaTopkIndexerEvaluator")
        self.assertIs(registry.resolve_evaluator(other), registry.DefaultEvaluator)

    def test_refuses_other_files(self):
        res = self.patch(ROOT / "tools" / "official_score.py")
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("not flashinfer-bench's dsa_topk_indexer.py", res.stderr)
        (self.pkg / "registry.py").write_text("EVALUATORS = []\n")
        res = self.patch(self.evaluator)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("another version", res.stderr)


class OfficialCheckSpread(unittest.TestCase):
    def test_spread_and_where_fibkit_falls(self):
        oc = load(ROOT / "tools" / "official_check.py", "official_check")

        def row(lat, ref):
            return {"solution": "s-source", "workload": "u1", "axes": {"batch_size": 1},
                    "latency_ms": lat, "reference_latency_ms": ref}

        runs = [[row(0.002, 1.5)], [row(0.0021, 2.8)], [row(0.0020, 2.0)]]
        for fib, expected in ((2.2, "fibkit reference: inside"),
                              (3.08, "fibkit reference: 1.100x the range"),
                              (0.75, "fibkit reference: 0.500x the range")):
            shown = dict(runs[0][0], fibkit_reference_latency_ms=fib)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                oc.print_spread(runs, [shown])
            text = out.getvalue()
            self.assertIn("over 3 runs", text)
            self.assertIn("latency 0.0020-0.0021 (1.05)", text)
            self.assertIn("reference 1.5000-2.8000 (1.87)", text)
            self.assertIn(expected, text)


if __name__ == "__main__":
    unittest.main()
