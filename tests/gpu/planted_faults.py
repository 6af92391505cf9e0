#!/usr/bin/env python3
"""Planted faults: each is the gated_delta_net starter (`fibkit init`) with one defect patched
into its GDN decode kernel or launch plan; `fibkit verify` must report the right status for it
and go on with the next workload. A CTest of label gpu; by hand on a GPU machine next to the
bundle (tools/bundle.sh):

    python3 tests/gpu/planted_faults.py [path/to/fibkit]     (default dist/fibkit/bin/fibkit)

Prints a table and exits 1 when any fault is not caught as expected, 77 (skipped) without a GPU.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

FIBKIT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "dist/fibkit/bin/fibkit")
KERNEL = "kernels/gated_delta_net/gdn_decode.cu"
ENTRY = "                                             float* new_state) { // [B, 8, 128, 128]\n"
WRITE = "    if (lane == 0) {\n      output[head * kHeadSize + row]"
ARGS = 'args = ["q", "k", "v", "state", "A_log", "a", "dt_bias", "b", "scale", "output", "new_state"]'


def at_entry(code):
    return lambda src: src.replace(ENTRY, ENTRY + code, 1)


CACHE = """__device__ bf16 g_cached[64 * 8 * 128];
__device__ unsigned g_blocks;
"""

FAULTS = [
    # name, what, kernel patch, config patch, expected statuses (or "error: <text>")
    ("skip-element", "one output element is never written",
     lambda s: s.replace(WRITE, "    if (lane == 0 && !(seq == 0 && h == 0 && row == 5)) {\n"
                         "      output[head * kHeadSize + row]", 1), None, {"INCORRECT_NUMERICAL"}),
    ("out-of-bounds", "a write far past the output",
     at_entry("  if (blockIdx.x == 0 && threadIdx.x == 0) output[1ll << 40] = output[0];\n"),
     None, {"RUNTIME_ERROR"}),
    ("writes-input", "the kernel writes its input q",
     at_entry("  if (blockIdx.x == 0 && blockIdx.y == 0 && blockIdx.z == 0 && threadIdx.x == 0)\n"
              "    const_cast<bf16*>(q)[0] = from_float<bf16>(3.0f);\n"),
     None, {"RUNTIME_ERROR"}),
    ("caches-results", "later calls return the first call's output",
     lambda s: s.replace("using namespace fibkit;\n", "using namespace fibkit;\n" + CACHE, 1).replace(
         ENTRY, ENTRY + "  __shared__ bool later;\n  if (threadIdx.x == 0) later = atomicAdd("
         "&g_blocks, 1u) >= gridDim.x * gridDim.y * gridDim.z;\n  __syncthreads();\n", 1).replace(
         WRITE, "    if (lane == 0) {\n      const long long o = head * kHeadSize + row;\n"
         "      if (later) { output[o] = g_cached[o]; continue; }\n      g_cached[o] = "
         "from_float<bf16>(out);\n      output[head * kHeadSize + row]", 1),
     None, {"INCORRECT_NUMERICAL"}),
    ("never-ends", "an endless loop",
     at_entry("  if (blockIdx.x == 0 && threadIdx.x == 0) { for (;;) { __nanosleep(1000); } }\n"),
     None, {"TIMEOUT"}),
    ("wrong-scalar-value", "the plan passes 0.5 instead of the scale",
     None, lambda c: c.replace(ARGS, ARGS.replace('"scale"', '"float32:0.5"'), 1),
     {"INCORRECT_NUMERICAL"}),
    ("wrong-scalar-type", "the plan passes an int32 where the kernel takes float",
     None, lambda c: c.replace(ARGS, ARGS.replace('"scale"', '"int32:1"'), 1),
     "error: does not fit argument"),
]


def main():
    if not os.path.exists("/dev/nvidiactl"):
        print("SKIPPED: no NVIDIA device")
        return 77
    failures = 0
    print(f"{'fault':<20} {'expected':<22} {'got':<40} {'time':>6}")
    for name, what, kernel_patch, config_patch, expected in FAULTS:
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([FIBKIT, "-q", "init", "--track", "gated_delta_net", d], check=True)
            for rel, patch in ((KERNEL, kernel_patch), ("config.toml", config_patch)):
                if patch:
                    path = os.path.join(d, rel)
                    text = open(path).read()
                    patched = patch(text)
                    assert patched != text, f"{name}: the patch of {rel} did not apply"
                    open(path, "w").write(patched)
            start = time.time()
            r = subprocess.run([FIBKIT, "verify", "-s", "fibkit-simple-gdn-decode", "--workloads",
                                "0,53", "--timeout", "20", "--json"], cwd=d, capture_output=True,
                               text=True, env=dict(os.environ, FIB_CACHE_PATH=os.path.join(d, "c")))
            seconds = time.time() - start
            if isinstance(expected, str):
                ok = r.returncode == 1 and expected[len("error: "):] in r.stderr
                got = f"exit {r.returncode}: " + r.stderr.strip().splitlines()[-1][:60] if r.stderr else f"exit {r.returncode}"
            else:
                try:
                    statuses = [x["status"] for x in json.loads(r.stdout)["results"]]
                except (ValueError, KeyError):
                    statuses = [f"exit {r.returncode}: {r.stderr.strip()[:80]}"]
                # Both workloads must be judged (the run goes on after a fault).
                ok = r.returncode == 1 and len(statuses) == 2 and set(statuses) <= expected
                got = ", ".join(statuses)
            failures += not ok
            print(f"{name:<20} {str(expected if isinstance(expected, str) else '/'.join(sorted(expected)))[:22]:<22} "
                  f"{got[:40]:<40} {seconds:5.1f}s {'ok' if ok else 'NOT CAUGHT'}")
    print(f"\n{len(FAULTS) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
