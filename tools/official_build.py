#!/usr/bin/env python3
"""Builds a solution.json exactly as the official TVM-FFI builder does, without a GPU.

flashinfer-bench's TVMFFIBuilder (contest-era HEAD, ../shared/reference/official-semantics.md
§6.1) writes the sources into a build folder and calls

    tvm_ffi.cpp.build(name=<package>, cpp_files=[.cpp .cc .cxx .c], cuda_files=[.cu],
                      extra_include_paths=[<build folder>], extra_ldflags=LD,
                      build_directory=<build folder>)

with LD = -L<cuda lib dir> -lcuda -lcublas when there is a .cu file, and the arch from
TVM_FFI_CUDA_ARCH_LIST (else nvidia-smi): nvcc -gencode=arch=compute_XY,code=sm_XY, plain sm_100
on the contest's B200. This script does the same (TVM_FFI_CUDA_ARCH_LIST defaults to "10.0"),
then checks that the library exports the entry point's symbol (__tvm_ffi_<symbol>).

One deviation, for machines without a driver (CI): when the CUDA lib folder has no libcuda.so,
the toolkit's stubs folder is added to the link line so -lcuda resolves.

usage: official_build.py SOLUTION.json [--build-dir DIR] [--arch 10.0]
exit 0 = built and exported; 1 = build failed or the symbol is missing; 77 = tvm_ffi missing.
"""
import argparse
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile


def cuda_lib_dir():
    """The official builder's rule: the first folder that holds libcudart.so."""
    nvcc = shutil.which("nvcc")
    roots = [pathlib.Path(nvcc).resolve().parent.parent] if nvcc else []
    roots += [pathlib.Path(p) for p in ("/usr/local/cuda", "/usr/local/cuda-13", "/usr/local/cuda-12")]
    for root in roots:
        for sub in ("targets/x86_64-linux/lib", "lib64", "lib"):
            d = root / sub
            if (d / "libcudart.so").exists():
                return d
    return None


def solution_hash(sol):
    """Solution.hash(): SHA-1 over definition, language, entry point, binding, dependencies,
    then each source's path and content."""
    h = hashlib.sha1()
    spec = sol["spec"]
    for part in [sol["definition"], spec["language"], spec["entry_point"], spec.get("binding") or ""]:
        h.update(part.encode())
    for dep in spec.get("dependencies", []):
        h.update(dep.encode())
    for src in sol["sources"]:
        h.update(src["path"].encode())
        h.update(src["content"].encode())
    return h.hexdigest()


def package_name(sol):
    name = re.sub(r"[^0-9a-zA-Z_]", "_", sol["name"])
    if not name or name[0].isdigit():
        name = "_" + name
    return "tvm_ffi_" + name + "_" + solution_hash(sol)[:6]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("solution")
    ap.add_argument("--build-dir", help="parent folder of the build (default: a temporary one)")
    ap.add_argument("--arch", default=os.environ.get("TVM_FFI_CUDA_ARCH_LIST", "10.0"),
                    help='TVM_FFI_CUDA_ARCH_LIST, e.g. "10.0" (plain sm_100) or "9.0a"')
    args = ap.parse_args()
    try:
        import tvm_ffi
        import tvm_ffi.cpp
    except ImportError:
        print("official_build: the apache-tvm-ffi Python package is not installed", file=sys.stderr)
        return 77

    sol = json.loads(pathlib.Path(args.solution).read_text())
    spec = sol["spec"]
    if spec["language"] not in ("cuda", "cpp") or spec.get("binding") not in (None, "tvm-ffi"):
        print(f"official_build: {sol['name']} is not for the TVM-FFI builder", file=sys.stderr)
        return 1
    parent = pathlib.Path(args.build_dir or tempfile.mkdtemp(prefix="official_build_"))
    pkg = package_name(sol)
    build = parent / "tvm_ffi" / pkg
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    cpp_files, cuda_files = [], []
    for src in sol["sources"]:
        path = build / src["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(src["content"])
        if path.suffix in (".cpp", ".cc", ".cxx", ".c"):
            cpp_files.append(str(path))
        elif path.suffix == ".cu":
            cuda_files.append(str(path))
    ldflags = []
    if cuda_files or any(h.lower() == "cuda" for h in spec.get("target_hardware", [])):
        lib = cuda_lib_dir()
        if lib is None:
            print("official_build: no CUDA lib folder with libcudart.so", file=sys.stderr)
            return 1
        ldflags = [f"-L{lib}", "-lcuda", "-lcublas"]
        if not (lib / "libcuda.so").exists() and (lib / "stubs" / "libcuda.so").exists():
            ldflags.insert(1, f"-L{lib / 'stubs'}")  # no driver here: link against the stub
    os.environ["TVM_FFI_CUDA_ARCH_LIST"] = args.arch
    print(f"official_build: {sol['name']}: {len(cuda_files)} .cu, {len(cpp_files)} C/C++ files, "
          f"arch {args.arch}, in {build}", flush=True)
    try:
        so = tvm_ffi.cpp.build(name=pkg, cpp_files=cpp_files, cuda_files=cuda_files,
                               extra_include_paths=[str(build)], extra_ldflags=ldflags,
                               build_directory=str(build))
    except Exception as e:  # the builder's BuildError -> COMPILE_ERROR
        print(f"official_build: COMPILE_ERROR: {e}", file=sys.stderr)
        return 1
    symbol = spec["entry_point"].split("::")[-1]
    nm = subprocess.run(["nm", "-D", "--defined-only", so], capture_output=True, text=True)
    exported = re.search(rf"\bT __tvm_ffi_{re.escape(symbol)}$", nm.stdout, re.M) is not None
    print(f"official_build: {so}: __tvm_ffi_{symbol} {'exported' if exported else 'MISSING'}")
    return 0 if exported else 1


if __name__ == "__main__":
    sys.exit(main())
