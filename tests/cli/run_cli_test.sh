#!/usr/bin/env bash
# Runs one fibkit command and checks its exit code and output.
# usage: run_cli_test.sh EXPECTED_RC STDOUT_REGEX STDERR_REGEX [--stdout-file GOLDEN] -- COMMAND...
# An empty regex means "anything"; ^$ means "empty". Regexes are grep -E patterns matched against the whole output.
set -u
expected_rc=$1 stdout_re=$2 stderr_re=$3
shift 3
golden=""
if [ "${1:-}" = "--stdout-file" ]; then golden=$2; shift 2; fi
[ "${1:-}" = "--" ] && shift
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
NO_COLOR=1 TERM=dumb "$@" >"$out" 2>"$err"
rc=$?
fail=0
if [ "$rc" != "$expected_rc" ]; then echo "exit code $rc, expected $expected_rc"; fail=1; fi
matches() {  # matches REGEX FILE; the regex ^$ means "the file is empty"
  if [ "$1" = '^$' ]; then [ ! -s "$2" ]; else grep -Eq -- "$1" "$2"; fi
}
if [ -n "$stdout_re" ] && ! matches "$stdout_re" "$out"; then echo "stdout does not match: $stdout_re"; fail=1; fi
if [ -n "$stderr_re" ] && ! matches "$stderr_re" "$err"; then echo "stderr does not match: $stderr_re"; fail=1; fi
if [ -n "$golden" ] && ! cmp -s "$out" "$golden"; then echo "stdout differs from $golden:"; diff "$golden" "$out" | head -20; fail=1; fi
if [ $fail = 1 ]; then
  echo "--- command: $*"; echo "--- stdout:"; head -c 3000 "$out"; echo; echo "--- stderr:"; head -c 3000 "$err"
fi
exit $fail
