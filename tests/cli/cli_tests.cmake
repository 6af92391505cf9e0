# CLI tests: run the real binary through tests/cli/run_cli_test.sh and compare exit code,
# stdout and stderr patterns. Each case is one line in cli_cases.txt.
set(FIBKIT_CLI_RUNNER ${CMAKE_CURRENT_LIST_DIR}/run_cli_test.sh)
