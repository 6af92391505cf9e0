#!/usr/bin/env bash
# On a GPU machine over a copy of the repository with dist/fibkit carried along (tools/bundle.sh):
# for each track, `fibkit init --track T` in a fresh directory, then `fibkit verify` on every
# workload of every definition, with the wall time. Prints a summary; JSON results go to
# $OUT (or /tmp/fibkit-verify-all). Extra arguments go to every `fibkit verify`.
set -uo pipefail
cd "$(dirname "$0")/.."
fibkit=$PWD/dist/fibkit/bin/fibkit
out=${OUT:-/tmp/fibkit-verify-all}
mkdir -p "$out"
export FIB_CACHE_PATH=$out/cache
status=0
for track in gated_delta_net sparse_attention fused_moe; do
  dir=$(mktemp -d)
  "$fibkit" -q init --track "$track" "$dir/$track" || { status=1; continue; }
  start=$(date +%s.%N)
  (cd "$dir/$track" && "$fibkit" verify --json "$@" > "$out/verify-$track.json")
  rc=$?
  end=$(date +%s.%N)
  python3 - "$out/verify-$track.json" "$track" "$rc" "$start" "$end" <<'PY'
import collections, json, sys
path, track, rc, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
try:
    doc = json.load(open(path))
except ValueError:
    print(f"{track}: exit {rc}, no JSON"); sys.exit(0)
by = collections.defaultdict(lambda: collections.Counter())
secs = collections.defaultdict(float)
for r in doc["results"]:
    by[r["definition"]][r["status"]] += 1
    secs[r["definition"]] += r["seconds"]
for d, c in by.items():
    print(f"{track:<17} {d:<62} {dict(c)}  {secs[d]:.1f} s")
print(f"{track:<17} exit {rc}, wall {end - start:.1f} s, {doc['passed']} passed, {doc['failed']} failed")
for r in doc["results"]:
    if r["status"] != "PASSED":
        print("   FAIL", r["definition"], r["index"], r["status"], r["log"][:300].replace("\n", " | "))
PY
  [ $rc -eq 0 ] || status=1
done
exit $status
