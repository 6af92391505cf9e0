#!/usr/bin/env bash
# Turns `fibkit pack` of the repository's GDN decode solution into a golden case, then lets the
# official models write its golden (tools/goldens/gen_goldens.py). The CLI test
# "pack the repo's GDN decode solution equals the official golden" compares the two.
# usage: tools/goldens/make_pack_case.sh [path/to/fibkit]   (default build/fibkit)
set -euo pipefail
cd "$(dirname "$0")/../.."
fibkit=${1:-build/fibkit}
case=tests/golden/cases/pack_repo_gdn_decode.json
{
  printf '{"model": "Solution", "input": '
  "$fibkit" pack --solution fibkit-simple-gdn-decode
  printf '}\n'
} > "$case.tmp"
mv "$case.tmp" "$case"
python3 tools/goldens/gen_goldens.py
