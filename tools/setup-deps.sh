#!/usr/bin/env bash
# Installs fibkit's build dependencies from Debian 12's packages (run as root; skips what is
# already installed). The CUDA toolkit itself is expected at /usr/local/cuda (nvcc on the PATH).
set -euo pipefail
packages=(cmake ninja-build g++ pkgconf libcli11-dev libsimdjson-dev libtomlplusplus-dev
          libfmt-dev libspdlog-dev catch2 libxxhash-dev python3 python3-venv)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fibkit setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
