#!/usr/bin/env bash
# README command 1: install dependencies, build fibkit, install it on the PATH, and run the main
# job on the embedded default: list the TraceSet, compile the repository's own solutions with
# NVRTC (no GPU needed), validate and pack them; where a GPU is present, also verify and bench
# them (every workload). Ends with the next steps.
#
# Environment (the CLI test uses them): FIBKIT_BIN=path skips the dependencies and the build and
# uses that binary; FIBKIT_PREFIX is where fibkit is installed (default /usr/local where it is
# writable, else ~/.local); FIBKIT_OUT is where the submission and bench results go (default
# build).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${FIBKIT_BIN:-}" ]; then
  source tools/setup-deps.sh
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFIBKIT_ENABLE_TESTS=OFF >/dev/null
  cmake --build build --target fibkit
  FIBKIT_BIN=./build/fibkit
fi
out=${FIBKIT_OUT:-build}
prefix=${FIBKIT_PREFIX:-}
if [ -z "$prefix" ]; then
  if mkdir -p /usr/local/bin 2>/dev/null && [ -w /usr/local/bin ]; then
    prefix=/usr/local
  else
    prefix=$HOME/.local
  fi
fi
install -D -m 0755 "$FIBKIT_BIN" "$prefix/bin/fibkit"
fibkit=$prefix/bin/fibkit
echo "Installed $fibkit ($("$fibkit" --version))."

echo
"$fibkit" list
echo
"$fibkit" build --arch sm_90a --arch sm_100a
echo
"$fibkit" pack --out-dir "$out/submission"
echo
echo "Compiled every kernel for H100/H200 (sm_90a) and B200 (sm_100a) and packed"
echo "$out/submission/<definition>/solution.json for the repository's config.toml."

# verify and bench need a GPU. Ask fibkit whether there is one (build --arch auto compiles for
# the GPU's own arch, exit code 4 when there is none) without printing its no-GPU message.
set +e
probe=$("$fibkit" -q build --arch auto --solution fibkit-simple-gdn-decode 2>&1 >/dev/null)
rc=$?
set -e
if [ "$rc" -eq 4 ]; then
  echo
  echo "No GPU on this machine, so fibkit verify and fibkit bench (correctness and contest timing"
  echo "on every workload) were not run; run them on a machine with one."
elif [ "$rc" -ne 0 ]; then
  echo "$probe" >&2
  exit "$rc"
else
  echo
  "$fibkit" verify
  "$fibkit" bench -o "$out/bench"
  echo "Benchmark report: $out/bench/report.html (and bench.json, traces/)."
fi

echo
case ":$PATH:" in
*":$prefix/bin:"*) echo "fibkit is on your PATH ($fibkit)." ;;
*) echo "fibkit is in $prefix/bin, which is not on your PATH: export PATH=\"$prefix/bin:\$PATH\"" ;;
esac
cat <<'EOF'
Next steps:
  fibkit init --track gated_delta_net --author "Your Name" my-gdn && cd my-gdn
                                   # your own project (tracks: fused_moe, sparse_attention,
                                   # gated_delta_net): config.toml, kernels, README
  fibkit build --arch sm_100a      # compile and check every launch; sm_90a for H100/H200
  fibkit verify                    # on a GPU: every workload, the official correctness rules
  fibkit bench                     # on a GPU: contest timing, speedups, report.html
  fibkit pack --out-dir submission # submission/<definition>/solution.json
  fibkit --help                    # every command; fibkit COMMAND --help for its options
EOF
