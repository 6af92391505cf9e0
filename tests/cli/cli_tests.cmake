# CLI tests: the real binary, checked for exit code and output (label "cli").
# fibkit_cli_test(NAME RC STDOUT_REGEX STDERR_REGEX [GOLDEN file] [WORKDIR dir] [ENV k=v...] ARGS ...)
set(FIBKIT_CLI_RUNNER ${CMAKE_CURRENT_LIST_DIR}/run_cli_test.sh)
set(FIBKIT_CLI_DATA ${CMAKE_CURRENT_LIST_DIR}/data)
set(FIBKIT_CONTEST_DATASET ${PROJECT_SOURCE_DIR}/../shared/dataset CACHE PATH
    "The contest's TraceSet (mlsys26-contest) for the tests that need it")
set(CONTEST ${FIBKIT_CONTEST_DATASET})
include(${CMAKE_CURRENT_LIST_DIR}/contest_dataset.cmake)

function(fibkit_cli_test name rc stdout_re stderr_re)
  cmake_parse_arguments(T "" "GOLDEN;WORKDIR" "ENV;ARGS" ${ARGN})
  set(golden_args "")
  if(T_GOLDEN)
    set(golden_args --stdout-file ${T_GOLDEN})
  endif()
  if(NOT T_WORKDIR)
    set(T_WORKDIR ${PROJECT_SOURCE_DIR})
  endif()
  add_test(NAME "cli: ${name}"
           COMMAND ${CMAKE_COMMAND} -E env --unset=FIB_DATASET_PATH ${T_ENV}
                   ${FIBKIT_CLI_RUNNER} ${rc} "${stdout_re}" "${stderr_re}" ${golden_args}
                   -- $<TARGET_FILE:fibkit> ${T_ARGS}
           WORKING_DIRECTORY ${T_WORKDIR})
  set_tests_properties("cli: ${name}" PROPERTIES LABELS cli)
endfunction()

# Global conventions.
fibkit_cli_test("help lists the subcommands" 0 "list .*\n?.*pack" "" ARGS --help)
fibkit_cli_test("help documents exit codes" 0 "Exit codes: 0 ok, 1 checks failed" "" ARGS --help)
fibkit_cli_test("version" 0 "^fibkit [0-9]+\\.[0-9]+\\.[0-9]+" "" ARGS --version)
fibkit_cli_test("version names the commit" 0 "^fibkit [0-9]+\\.[0-9]+\\.[0-9]+ \\(commit [0-9a-f]{7,}(-dirty)?\\)" "" ARGS --version)
add_test(NAME "cli: cpack builds a .deb that installs /usr/bin/fibkit"
         COMMAND sh -c "d='${CMAKE_CURRENT_BINARY_DIR}/cpack' && rm -rf \"$d\" && '${CMAKE_CPACK_COMMAND}' -G DEB -B \"$d\" --config '${PROJECT_BINARY_DIR}/CPackConfig.cmake' > \"$d.log\" 2>&1 || { cat \"$d.log\"; exit 1; }; deb=$(ls \"$d\"/fibkit_*.deb) && dpkg-deb -c \"$deb\" | grep -q ' ./usr/bin/fibkit$' && dpkg-deb -f \"$deb\" Depends | grep -q libfmt9 && dpkg-deb -x \"$deb\" \"$d/root\" && \"$d/root/usr/bin/fibkit\" --version")
set_tests_properties("cli: cpack builds a .deb that installs /usr/bin/fibkit" PROPERTIES LABELS cli RUN_SERIAL TRUE)
fibkit_cli_test("no subcommand is a usage error" 2 "" "subcommand" ARGS)
fibkit_cli_test("unknown subcommand is a usage error" 2 "" "unknown subcommand \"frobnicate\"" ARGS frobnicate)
fibkit_cli_test("misspelt subcommand gets a suggestion" 2 "" "did you mean \"pack\"" ARGS pakc)
fibkit_cli_test("unknown option is a usage error" 2 "" "--bogus" ARGS list --bogus)
fibkit_cli_test("bad --color value is a usage error" 2 "" "color" ARGS --color sometimes list)
fibkit_cli_test("NO_COLOR output has no escape codes" 0 "^TraceSet: embedded examples" "" ARGS list)
fibkit_cli_test("--color always colours stdout" 0 "\\[1mTraceSet" "" ARGS --color always list)
fibkit_cli_test("quiet hides warnings" 0 "" "^$" ARGS -q pack --dry-run --config ${FIBKIT_CLI_DATA}/unknown_def/config.toml)
fibkit_cli_test("global options after the subcommand" 0 "^TraceSet: embedded" "^$"
                ARGS list -q --color never)
fibkit_cli_test("-q after the subcommand silences it" 0 "" "^$"
                ENV FIB_CACHE_PATH=${CMAKE_CURRENT_BINARY_DIR}/cache_quiet ARGS build --clear-cache -q)
fibkit_cli_test("--colour is an unknown option, not a subcommand" 2 ""
                "unknown option \"--colour\", did you mean \"--color\"\\?" ARGS --colour never list)
fibkit_cli_test("help footer lists the GPU commands from the command table" 0
                "Needs a GPU: bench, verify; build only with --arch auto" "" ARGS --help)
fibkit_cli_test("subcommand help has the same footer" 0 "Needs a GPU: bench, verify" "" ARGS list --help)
add_test(NAME "cli: help footer promises no later release"
         COMMAND sh -c "'$<TARGET_FILE:fibkit>' --help | grep -q 'later release'")
set_tests_properties("cli: help footer promises no later release" PROPERTIES LABELS cli WILL_FAIL TRUE)

# A result that does not reach stdout is a failure (exit 1), whatever the command.
foreach(args "list" "list --json" "pack --solution fibkit-simple-gdn-decode")
  add_test(NAME "cli: ${args} > /dev/full exits 1"
           COMMAND ${FIBKIT_CLI_RUNNER} 1 "" "fibkit: error: cannot write the results to stdout: (No space left on device|write error)"
                   -- sh -c "'$<TARGET_FILE:fibkit>' ${args} > /dev/full")
  set_tests_properties("cli: ${args} > /dev/full exits 1" PROPERTIES LABELS cli)
endforeach()

# list
fibkit_cli_test("list embedded examples" 0 "5 definitions" "" ARGS list)
fibkit_cli_test("list embedded shows workload counts" 0 "gdn_prefill_qk4_v8_d128_k_last  \\[gdn\\]  100 workloads" "" ARGS list)
fibkit_cli_test("list embedded reports blobs missing" 0 "54 referenced, 0 present, 54 missing" "" ARGS list)
fibkit_cli_test("list contest dataset: moe 19" 0 "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048  \\[moe\\]  19 workloads" "" ARGS list --dataset ${CONTEST})
fibkit_cli_test("list contest dataset: dsa attention 23" 0 "dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64  \\[dsa_paged\\]  23 workloads" "" ARGS list --dataset ${CONTEST})
fibkit_cli_test("list contest dataset: indexer 128" 0 "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64  \\[dsa_paged\\]  128 workloads" "" ARGS list --dataset ${CONTEST})
fibkit_cli_test("list contest dataset: gdn decode 54" 0 "gdn_decode_qk4_v8_d128_k_last  \\[gdn\\]  54 workloads" "" ARGS list --dataset ${CONTEST})
fibkit_cli_test("list contest dataset: gdn prefill 100" 0 "gdn_prefill_qk4_v8_d128_k_last  \\[gdn\\]  100 workloads" "" ARGS list --dataset ${CONTEST})
fibkit_cli_test("list honours FIB_DATASET_PATH" 0 "TraceSet: .*shared/dataset" "" ENV FIB_DATASET_PATH=${CONTEST} ARGS list)
fibkit_cli_test("list --dataset beats FIB_DATASET_PATH" 0 "TraceSet: embedded|TraceSet: .*tiny" "" ENV FIB_DATASET_PATH=/nonexistent ARGS list --dataset ${FIBKIT_CLI_DATA}/tiny)
fibkit_cli_test("list --json" 0 "\"schema_version\": 1" "" ARGS list --json --dataset ${CONTEST})
fibkit_cli_test("list shows present blobs" 0 "2 referenced, 1 present, 1 missing" "" ARGS list --dataset ${FIBKIT_CLI_DATA}/tiny)
fibkit_cli_test("list missing dataset" 1 "" "fibkit: error: /nonexistent: dataset directory not found" ARGS list --dataset /nonexistent)
fibkit_cli_test("list truncated workload line" 1 "" "workloads/t/tiny.jsonl:2:[0-9]+: invalid JSON" ARGS list --dataset ${FIBKIT_CLI_DATA}/truncated)
fibkit_cli_test("list workload with wrong type" 1 "" "workloads/t/tiny.jsonl:1: \\$\\.workload\\.axes\\.n: expected an integer, got the string \"three\"" ARGS list --dataset ${FIBKIT_CLI_DATA}/wrong_type)
fibkit_cli_test("list definition missing shape" 1 "" "definitions/t/tiny.json: \\$\\.inputs\\.x: missing required key \"shape\"" ARGS list --dataset ${FIBKIT_CLI_DATA}/missing_shape)
fibkit_cli_test("list duplicate definitions" 1 "" "duplicate definition name \"tiny\"" ARGS list --dataset ${FIBKIT_CLI_DATA}/duplicate_def)
fibkit_cli_test("list: a JSON syntax error in a definition names its line and column" 1 ""
                "definitions/t/tiny.json:4:[0-9]+: invalid JSON" ARGS list --dataset ${FIBKIT_CLI_DATA}/bad_json_def)
fibkit_cli_test("list: a workload without a var axis of its definition" 1 ""
                "workloads/t/tiny.jsonl:2: \\$\\.workload\\.axes: missing var axis \"n\" of definition tiny"
                ARGS list --dataset ${FIBKIT_CLI_DATA}/missing_var_axis)
fibkit_cli_test("list: a workload uuid used twice" 1 ""
                "workloads/t/tiny.jsonl:4: \\$\\.workload\\.uuid: workload uuid \"u1\" is used twice \\(also at .*workloads/t/tiny.jsonl:1\\)"
                ARGS list --dataset ${FIBKIT_CLI_DATA}/duplicate_uuid)
fibkit_cli_test("list: a definition from FlashInfer's own dumps (extra keys) loads" 0
                "tiny  \\[t\\]  1 workloads" "" ARGS list --dataset ${FIBKIT_CLI_DATA}/flashinfer_dump)
add_test(NAME "cli: list: a broken symbolic link in a TraceSet is an error"
         COMMAND ${FIBKIT_CLI_RUNNER} 1 "" "workloads/t/gone.jsonl: cannot read: a broken symbolic link"
                 -- sh -c "d='${CMAKE_CURRENT_BINARY_DIR}/broken_link' && rm -rf \"$d\" && cp -r '${FIBKIT_CLI_DATA}/tiny' \"$d\" && ln -s nowhere.jsonl \"$d/workloads/t/gone.jsonl\" && '$<TARGET_FILE:fibkit>' list --dataset \"$d\"")
add_test(NAME "cli: list: an unreadable folder in a TraceSet is an error"
         COMMAND sh -c "d='${CMAKE_CURRENT_BINARY_DIR}/unreadable' && rm -rf \"$d\" && cp -r '${FIBKIT_CLI_DATA}/tiny' \"$d\" && chmod 000 \"$d/workloads/t\" && if [ -r \"$d/workloads/t\" ]; then chmod 755 \"$d/workloads/t\"; echo 'root reads everything: skipped'; exit 77; fi; out=$('$<TARGET_FILE:fibkit>' list --dataset \"$d\" 2>&1); rc=$?; chmod 755 \"$d/workloads/t\"; echo \"$out\"; test $rc = 1 && echo \"$out\" | grep -q 'workloads/t: cannot list directory: Permission denied'")
set_tests_properties("cli: list: an unreadable folder in a TraceSet is an error" PROPERTIES SKIP_RETURN_CODE 77)
set_tests_properties("cli: list: a broken symbolic link in a TraceSet is an error"
                     "cli: list: an unreadable folder in a TraceSet is an error"
                     PROPERTIES LABELS cli)

# pack
fibkit_cli_test("pack the repo's solutions needs a choice" 2 "" "holds 5 solutions; choose one with --solution" ARGS pack)
fibkit_cli_test("pack the repo's GDN decode solution equals the official golden" 0 "" ""
                GOLDEN ${PROJECT_SOURCE_DIR}/tests/golden/out/pack_repo_gdn_decode.golden
                ARGS pack --solution fibkit-simple-gdn-decode)
fibkit_cli_test("pack --out-dir writes one folder per definition" 0 "" "wrote .*gdn_prefill_qk4_v8_d128_k_last/solution.json"
                ARGS pack --out-dir ${CMAKE_CURRENT_BINARY_DIR}/submission)
fibkit_cli_test("pack unknown solution" 2 "" "no solution named \"nope\"" ARGS pack --solution nope)
fibkit_cli_test("pack --output and --out-dir exclude each other" 2 "" "exclude each other" ARGS pack -o x.json --out-dir y)
fibkit_cli_test("pack without config" 2 "" "no config.toml" WORKDIR / ARGS pack)
fibkit_cli_test("pack starter-kit config unchanged" 0 "\"entry_point\": \"kernel.cu::run\"" "" ARGS pack --config ${FIBKIT_CLI_DATA}/starter_kit/config.toml)
fibkit_cli_test("pack bad toml line" 1 "" "config.toml:4:[0-9]+: invalid TOML" ARGS pack --config ${FIBKIT_CLI_DATA}/bad_toml/config.toml)
fibkit_cli_test("pack unknown config key" 1 "" "config.toml:5: solution.autor: unknown key \"autor\"" ARGS pack --config ${FIBKIT_CLI_DATA}/unknown_key/config.toml)
fibkit_cli_test("pack parent path" 1 "" "parent directory traversal not allowed: \\.\\./outside.cu" ARGS pack --config ${FIBKIT_CLI_DATA}/parent_path/config.toml)
fibkit_cli_test("pack empty source" 1 "" "empty.cu: source file is empty" ARGS pack --config ${FIBKIT_CLI_DATA}/empty_source/config.toml)
fibkit_cli_test("pack entry file not among sources" 1 "" "entry source file \"main.cu\" not found in sources" ARGS pack --config ${FIBKIT_CLI_DATA}/entry_missing/config.toml)
fibkit_cli_test("pack launch plan names an unknown tensor" 1 "" "config.toml:[0-9]+: kernel \"k\" argument 1 \"outptu\" is not an input, output, axis or workspace" ARGS pack --config ${FIBKIT_CLI_DATA}/bad_arg/config.toml)
fibkit_cli_test("pack unknown definition warns" 0 "\"definition\": \"not_in_the_dataset\"" "is not in the dataset" ARGS pack --config ${FIBKIT_CLI_DATA}/unknown_def/config.toml)
fibkit_cli_test("pack -o refuses to write an invalid solution" 1 "" "parent directory" ARGS pack --config ${FIBKIT_CLI_DATA}/parent_path/config.toml -o ${CMAKE_CURRENT_BINARY_DIR}/never_written.json)
add_test(NAME "cli: pack -o leaves no file behind on error"
         COMMAND ${CMAKE_COMMAND} -E rm ${CMAKE_CURRENT_BINARY_DIR}/never_written.json)
set_tests_properties("cli: pack -o leaves no file behind on error" PROPERTIES LABELS cli WILL_FAIL TRUE
                     DEPENDS "cli: pack -o refuses to write an invalid solution")

# Generated files stay in sync with their sources (python3 only; no PyPI needed).
add_test(NAME "cli: config.toml is generated from the kernels/ templates"
         COMMAND python3 ${PROJECT_SOURCE_DIR}/tools/make_root_config.py --check)
add_test(NAME "cli: examples/ is up to date with the contest facts"
         COMMAND python3 ${PROJECT_SOURCE_DIR}/tools/make_examples.py --check --dataset ${CONTEST})
set_tests_properties("cli: config.toml is generated from the kernels/ templates"
                     "cli: examples/ is up to date with the contest facts" PROPERTIES LABELS cli)

# init: a starter project per track that packs out of the box.
foreach(track fused_moe sparse_attention gated_delta_net)
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/init_${track})
  add_test(NAME "cli: init --track ${track} writes a project that packs"
           COMMAND sh -c "rm -rf '${dir}' && '$<TARGET_FILE:fibkit>' init --author tests --track ${track} '${dir}' && cd '${dir}' && test -f config.toml && test -f README.md && test -f .gitignore && ls kernels/${track}/*.cu && '$<TARGET_FILE:fibkit>' pack --out-dir submission && ls submission/*/solution.json")
  set_tests_properties("cli: init --track ${track} writes a project that packs" PROPERTIES LABELS cli)
endforeach()
fibkit_cli_test("init refuses to overwrite" 1 "" "refusing to overwrite existing files \\(use --force\\)"
                ARGS init --track fused_moe ${PROJECT_SOURCE_DIR})
fibkit_cli_test("init unknown track lists the valid ones" 2 ""
                "unknown track \"moe\" \\(valid tracks: fused_moe, sparse_attention, gated_delta_net\\)"
                ARGS init --track moe ${CMAKE_CURRENT_BINARY_DIR}/never)
fibkit_cli_test("init needs --track" 2 "" "--track" ARGS init)
add_test(NAME "cli: init --author and --name set the solutions' author and names"
         COMMAND sh -c "d='${CMAKE_CURRENT_BINARY_DIR}/init_named' && rm -rf \"$d\" && '$<TARGET_FILE:fibkit>' init --track gated_delta_net --author 'Ada Lovelace' --name ada \"$d\" && grep -qx 'author = \"Ada Lovelace\"' \"$d/config.toml\" && grep -qx 'name = \"ada-gdn-decode\"' \"$d/config.toml\" && ! grep -q fibkit-simple \"$d/config.toml\" && '$<TARGET_FILE:fibkit>' pack -c \"$d/config.toml\" -s ada-gdn-prefill | grep -q '\"author\": \"Ada Lovelace\"'")
add_test(NAME "cli: init takes the author from git config user.name"
         COMMAND sh -c "d='${CMAKE_CURRENT_BINARY_DIR}/init_git' && rm -rf \"$d\" && printf '[user]\\n\\tname = Grace Hopper\\n' > '${CMAKE_CURRENT_BINARY_DIR}/gitconfig_grace' && GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL='${CMAKE_CURRENT_BINARY_DIR}/gitconfig_grace' '$<TARGET_FILE:fibkit>' init --track fused_moe \"$d\" && grep -qx 'author = \"Grace Hopper\"' \"$d/config.toml\" && grep -qx 'name = \"grace-hopper-moe\"' \"$d/config.toml\"")
add_test(NAME "cli: init without a name writes a placeholder author that pack refuses"
         COMMAND ${FIBKIT_CLI_RUNNER} 1 "" "placeholder author \"TODO-set-author\".*set author = .*fibkit init --author NAME"
                 -- sh -c "d=$(mktemp -d) && cd \"$d\" && GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null '$<TARGET_FILE:fibkit>' -q init --track fused_moe . && '$<TARGET_FILE:fibkit>' pack > /dev/null; rc=$?; rm -rf \"$d\"; exit $rc")
set_tests_properties("cli: init --author and --name set the solutions' author and names"
                     "cli: init takes the author from git config user.name"
                     "cli: init without a name writes a placeholder author that pack refuses"
                     PROPERTIES LABELS cli)
add_test(NAME "cli: init --force overwrites"
         COMMAND sh -c "d='${CMAKE_CURRENT_BINARY_DIR}/init_force' && rm -rf \"$d\" && '$<TARGET_FILE:fibkit>' init --track fused_moe \"$d\" && echo changed > \"$d/config.toml\" && '$<TARGET_FILE:fibkit>' init --force --track fused_moe \"$d\" && grep -q moe_fp8 \"$d/config.toml\"")
set_tests_properties("cli: init --force overwrites" PROPERTIES LABELS cli)

# build (tier nvrtc: needs the CUDA toolkit, no GPU): every starter project compiles for Hopper
# and Blackwell with no warning, its table is printed, and --json parses.
foreach(track fused_moe sparse_attention gated_delta_net)
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/build_${track})
  add_test(NAME "nvrtc: init --track ${track} && build for sm_90a and sm_100a, no warnings"
           COMMAND sh -c "rm -rf '${dir}' && '$<TARGET_FILE:fibkit>' -q init --track ${track} '${dir}' && cd '${dir}' && FIB_CACHE_PATH='${dir}/cache' '$<TARGET_FILE:fibkit>' build --arch sm_90a --arch sm_100a > out.txt 2> err.txt; rc=$?; cat out.txt err.txt; test $rc = 0 && ! grep -q warning err.txt && grep -q 'max threads' out.txt && grep -q sm_100a out.txt && FIB_CACHE_PATH='${dir}/cache' '$<TARGET_FILE:fibkit>' build --json --arch sm_90a > build.json && python3 -c 'import json,sys; d=json.load(open(\"build.json\")); assert d[\"builds\"] and all(p[\"cached\"] for b in d[\"builds\"] for p in b[\"programs\"])'")
  set_tests_properties("nvrtc: init --track ${track} && build for sm_90a and sm_100a, no warnings"
                       PROPERTIES LABELS nvrtc)
endforeach()
fibkit_cli_test("build --arch auto without a GPU exits 4 and says to pass --arch" 4 ""
                "--arch auto needs a GPU \\(no usable CUDA device: .*\\); pass --arch sm_90a"
                ENV FIB_CACHE_PATH=${CMAKE_CURRENT_BINARY_DIR}/cache_auto
                ARGS build --arch auto --solution fibkit-simple-gdn-decode)
fibkit_cli_test("build reports a compile error at file:line" 1 ""
                "kernels/bad/bad.cu\\(4\\): error"
                WORKDIR ${FIBKIT_CLI_DATA}/compile_error
                ENV FIB_CACHE_PATH=${CMAKE_CURRENT_BINARY_DIR}/cache_err
                ARGS build --arch sm_90a --no-cache)
fibkit_cli_test("build reports a signature mismatch" 1 ""
                "config.toml:9: launch 0 \\(k\\): parameter 1 \\(float\\*\\) does not fit argument \"output\": output \"output\" of gdn_decode_qk4_v8_d128_k_last is bfloat16"
                WORKDIR ${FIBKIT_CLI_DATA}/signature_mismatch
                ENV FIB_CACHE_PATH=${CMAKE_CURRENT_BINARY_DIR}/cache_sig
                ARGS build --arch sm_90a)
fibkit_cli_test("build --clear-cache" 0 "" "cleared the compile cache in .*cache_clear: removed 0 entries \\(0.0 MB\\)"
                ENV FIB_CACHE_PATH=${CMAKE_CURRENT_BINARY_DIR}/cache_clear ARGS build --clear-cache)
add_test(NAME "nvrtc: build --clear-cache says what it removed"
         COMMAND ${FIBKIT_CLI_RUNNER} 0 "" "cleared the compile cache in .*cache_count: removed 1 entry \\([0-9.]+ MB\\)"
                 -- sh -c "export FIB_CACHE_PATH='${CMAKE_CURRENT_BINARY_DIR}/cache_count' && rm -rf \"$FIB_CACHE_PATH\" && '$<TARGET_FILE:fibkit>' -q build --arch sm_90a --config '${FIBKIT_CLI_DATA}/launch_sizes/ok.toml' > /dev/null && '$<TARGET_FILE:fibkit>' build --clear-cache")
set_tests_properties("nvrtc: build --clear-cache says what it removed" PROPERTIES LABELS nvrtc)
add_test(NAME "cli: FIB_CACHE_PATH at a folder with other files is refused, not tagged"
         COMMAND ${FIBKIT_CLI_RUNNER} 1 "" "not a fibkit cache: the folder holds other files \\(notes.txt\\).*FIB_CACHE_PATH"
                 -- sh -c "d='${CMAKE_CURRENT_BINARY_DIR}/not_a_cache' && rm -rf \"$d\" && mkdir -p \"$d\" && echo mine > \"$d/notes.txt\" && FIB_CACHE_PATH=\"$d\" '$<TARGET_FILE:fibkit>' build --clear-cache; rc=$?; if [ -e \"$d/CACHEDIR.TAG\" ]; then echo 'CACHEDIR.TAG was written'; exit 9; fi; exit $rc")
set_tests_properties("cli: FIB_CACHE_PATH at a folder with other files is refused, not tagged" PROPERTIES LABELS cli)
set_tests_properties("cli: build reports a compile error at file:line"
                     "cli: build reports a signature mismatch" PROPERTIES LABELS nvrtc)
fibkit_cli_test("build --arch 90a is a usage error with a hint" 2 ""
                "--arch 90a: \"90a\" is not an architecture .*did you mean sm_90a\\?" ARGS build --arch 90a)
fibkit_cli_test("build --arch compute_90 is a usage error" 2 "" "virtual architecture .* sm_90"
                ARGS build --arch compute_90)
fibkit_cli_test("build --arch sm_70 says the supported range" 2 ""
                "--arch sm_70: NVRTC [0-9.]+ cannot target sm_70: it supports sm_[0-9]+ to sm_[0-9]+"
                ARGS build --arch sm_70)
set_tests_properties("cli: build --arch sm_70 says the supported range" PROPERTIES LABELS nvrtc)

# Sources outside source_dir: one rule for build and pack, errors show the path as written.
foreach(cmd "build --arch sm_90a" "pack --dry-run")
  string(REGEX REPLACE " .*" "" verb "${cmd}")
  separate_arguments(cmd_args UNIX_COMMAND "${cmd}")
  fibkit_cli_test("${verb} refuses a source outside source_dir" 1 ""
                  "config.toml:2: solution \"outside\" is not a valid official Solution: \\$\\.sources\\[1\\]\\.path: parent directory traversal not allowed: \\.\\./\\.\\./outside.cuh"
                  ENV FIB_CACHE_PATH=${CMAKE_CURRENT_BINARY_DIR}/cache_sources
                  ARGS ${cmd_args} --config ${FIBKIT_CLI_DATA}/outside_source/config.toml)
  fibkit_cli_test("${verb} refuses an absolute source path, shown as written" 1 ""
                  "absolute.toml:2: solution \"absolute\" is not a valid official Solution: \\$\\.sources\\[1\\]\\.path: absolute path not allowed: /usr/local/cuda/include/cuda.h"
                  ENV FIB_CACHE_PATH=${CMAKE_CURRENT_BINARY_DIR}/cache_sources
                  ARGS ${cmd_args} --config ${FIBKIT_CLI_DATA}/outside_source/absolute.toml)
endforeach()

# Launch sizes are evaluated for every workload at build time, without a GPU.
set(SIZES ${FIBKIT_CLI_DATA}/launch_sizes)
set(SIZES_SHOWN tests/cli/data/launch_sizes)
fibkit_cli_test("build: a grid of 0 for a workload" 1 ""
                "${SIZES_SHOWN}/grid_zero.toml:11: solution.launch\\[0\\].grid\\[0\\]: \"batch_size - 1\" = 0 for workload 0 \\(uuid [0-9a-f-]+, batch_size=1 num_sms=132\\) of gdn_decode_qk4_v8_d128_k_last: grid x must be in \\[1, 2147483647\\]"
                ENV FIB_CACHE_PATH=${CMAKE_CURRENT_BINARY_DIR}/cache_sizes ARGS build --arch sm_90a --config ${SIZES}/grid_zero.toml)
fibkit_cli_test("build: ceil_div by zero for a workload" 1 ""
                "${SIZES_SHOWN}/div_zero.toml:11: solution.launch\\[0\\].grid\\[0\\]: \"ceil_div\\(batch_size, num_v_heads - 8\\)\": column [0-9]+: division by zero in ceil_div for workload 0 \\(uuid [0-9a-f-]+, batch_size=1 num_sms=132\\)"
                ENV FIB_CACHE_PATH=${CMAKE_CURRENT_BINARY_DIR}/cache_sizes ARGS build --arch sm_90a --config ${SIZES}/div_zero.toml)
fibkit_cli_test("build: an empty block" 1 ""
                "block_zero.toml:12: solution.launch\\[0\\].block\\[0\\]: \"0\" = 0 .*block x must be in \\[1, 1024\\]"
                ENV FIB_CACHE_PATH=${CMAKE_CURRENT_BINARY_DIR}/cache_sizes ARGS build --arch sm_90a --config ${SIZES}/block_zero.toml)
fibkit_cli_test("build: grid y over 65535" 1 ""
                "grid_y.toml:11: solution.launch\\[0\\].grid\\[1\\]: \"batch_size \\* 70000\" = 70000 .*grid y must be in \\[1, 65535\\]"
                ENV FIB_CACHE_PATH=${CMAKE_CURRENT_BINARY_DIR}/cache_sizes ARGS build --arch sm_90a --config ${SIZES}/grid_y.toml)
fibkit_cli_test("build: a block over 1024 threads" 1 ""
                "block_big.toml:12: .*a block of 2048 threads exceeds the 1024"
                ENV FIB_CACHE_PATH=${CMAKE_CURRENT_BINARY_DIR}/cache_sizes ARGS build --arch sm_90a --config ${SIZES}/block_big.toml)
fibkit_cli_test("build: sizes every workload can launch" 0 "sizes" ""
                ENV FIB_CACHE_PATH=${CMAKE_CURRENT_BINARY_DIR}/cache_sizes ARGS build --arch sm_90a --config ${SIZES}/ok.toml)
set_tests_properties("cli: build: a grid of 0 for a workload" "cli: build: ceil_div by zero for a workload"
                     "cli: build: an empty block" "cli: build: grid y over 65535"
                     "cli: build: a block over 1024 threads" "cli: build: sizes every workload can launch"
                     PROPERTIES LABELS nvrtc)

# list validates the blobs that are present, like the official loader would.
set(BAD ${FIBKIT_CLI_DATA}/bad_blobs)
fibkit_cli_test("list: truncated safetensors" 1 "truncated.safetensors: tensor \"x\": data_offsets \\[0, 48\\] run past the end of the 38-byte buffer" "invalid blob" ARGS list --dataset ${BAD})
fibkit_cli_test("list: overlapping safetensors" 1 "overlap.safetensors: tensors \"x\" and \"z\" overlap" "" ARGS list --dataset ${BAD})
fibkit_cli_test("list: blob dtype differs from the definition" 1 "wrong_dtype.safetensors: tensor \"x\" is F16 \\[3, 4\\], the definition needs float32 \\[3, 4\\] \\(workload w2, input \"x\"\\)" "" ARGS list --dataset ${BAD})
fibkit_cli_test("list: blob shape differs from the workload" 1 "wrong_shape.safetensors: tensor \"x\" is F32 \\[4, 3\\], the definition needs float32 \\[3, 4\\]" "" ARGS list --dataset ${BAD})
fibkit_cli_test("list: blob without the tensor key" 1 "no_key.safetensors: no tensor \"x\" \\(workload w4" "" ARGS list --dataset ${BAD})
fibkit_cli_test("list --json reports invalid blobs" 1 "\"invalid\": \\[" "" ARGS list --json --dataset ${BAD})

# synth: stand-ins for missing blobs, then list sees them present and valid.
add_test(NAME "cli: synth writes valid stand-ins that list then sees present"
         COMMAND sh -c "d='${CMAKE_CURRENT_BINARY_DIR}/synth_ds' && rm -rf \"$d\" && mkdir -p \"$d/definitions/gdn\" \"$d/workloads/gdn\" && cp '${PROJECT_SOURCE_DIR}/examples/definitions/gdn/gdn_decode_qk4_v8_d128_k_last.json' \"$d/definitions/gdn/\" && head -3 '${PROJECT_SOURCE_DIR}/examples/workloads/gdn/gdn_decode_qk4_v8_d128_k_last.jsonl' > \"$d/workloads/gdn/gdn_decode_qk4_v8_d128_k_last.jsonl\" && '$<TARGET_FILE:fibkit>' list --dataset \"$d\" | grep -q '3 referenced, 0 present, 3 missing' && '$<TARGET_FILE:fibkit>' synth --dataset \"$d\" --seed 7 && '$<TARGET_FILE:fibkit>' list --dataset \"$d\" | grep -q '3 referenced, 3 present, 0 missing'")
set_tests_properties("cli: synth writes valid stand-ins that list then sees present" PROPERTIES LABELS cli)
fibkit_cli_test("synth needs --dataset" 2 "" "--dataset" ARGS synth)
add_test(NAME "cli: synth honours FIB_DATASET_PATH and says what it wrote"
         COMMAND ${FIBKIT_CLI_RUNNER} 0 "" "wrote 2 blob files \\([0-9.]+ [kMG]B\\) into .*synth_env in [0-9.]+ s \\(seed 0\\); 0 blob reference\\(s\\) still missing"
                 -- sh -c "d='${CMAKE_CURRENT_BINARY_DIR}/synth_env' && rm -rf \"$d\" && mkdir -p \"$d/definitions/gdn\" \"$d/workloads/gdn\" && cp '${PROJECT_SOURCE_DIR}/examples/definitions/gdn/gdn_decode_qk4_v8_d128_k_last.json' \"$d/definitions/gdn/\" && head -2 '${PROJECT_SOURCE_DIR}/examples/workloads/gdn/gdn_decode_qk4_v8_d128_k_last.jsonl' > \"$d/workloads/gdn/gdn_decode_qk4_v8_d128_k_last.jsonl\" && FIB_DATASET_PATH=\"$d\" '$<TARGET_FILE:fibkit>' synth")
set_tests_properties("cli: synth honours FIB_DATASET_PATH and says what it wrote" PROPERTIES LABELS cli)

# README command 1 (tools/main.sh) with the built binary: it installs fibkit, runs the main job
# (no GPU visible: the test must not run verify and bench for hours where there is one), prints
# no line starting with "error" and ends with the next steps; fibkit then works from anywhere.
set(MAIN_DIR ${CMAKE_CURRENT_BINARY_DIR}/main_sh)
add_test(NAME "nvrtc: tools/main.sh installs fibkit on the PATH, prints next steps and no error line"
         COMMAND sh -c "rm -rf '${MAIN_DIR}' && mkdir -p '${MAIN_DIR}' && CUDA_VISIBLE_DEVICES= FIBKIT_BIN='$<TARGET_FILE:fibkit>' FIBKIT_PREFIX='${MAIN_DIR}/prefix' FIBKIT_OUT='${MAIN_DIR}/out' FIB_CACHE_PATH='${MAIN_DIR}/cache' PATH='${MAIN_DIR}/prefix/bin':\"$PATH\" bash '${PROJECT_SOURCE_DIR}/tools/main.sh' > '${MAIN_DIR}/log' 2>&1; rc=$?; cat '${MAIN_DIR}/log'; test $rc = 0 && test -x '${MAIN_DIR}/prefix/bin/fibkit' && grep -q '^Next steps:' '${MAIN_DIR}/log' && grep -q 'fibkit is on your PATH' '${MAIN_DIR}/log' && ! grep -Eiq '^(fibkit: )?error' '${MAIN_DIR}/log' && ls '${MAIN_DIR}'/out/submission/*/solution.json && cd / && PATH='${MAIN_DIR}/prefix/bin':\"$PATH\" fibkit --help > /dev/null")
set_tests_properties("nvrtc: tools/main.sh installs fibkit on the PATH, prints next steps and no error line"
                     PROPERTIES LABELS nvrtc)

# The native references (references/<definition>/) compile for Hopper and Blackwell with no
# warning and pass the launch checks against their definitions.
file(GLOB FIBKIT_REFERENCE_CONFIGS ${PROJECT_SOURCE_DIR}/references/*/config.toml)
foreach(config ${FIBKIT_REFERENCE_CONFIGS})
  get_filename_component(ref_dir ${config} DIRECTORY)
  get_filename_component(ref_name ${ref_dir} NAME)
  add_test(NAME "nvrtc: reference ${ref_name} builds for sm_90a and sm_100a, no warnings"
           COMMAND sh -c "FIB_CACHE_PATH='${CMAKE_CURRENT_BINARY_DIR}/cache_refs' '$<TARGET_FILE:fibkit>' build --config '${config}' --arch sm_90a --arch sm_100a > /dev/null 2> '${CMAKE_CURRENT_BINARY_DIR}/ref_${ref_name}.err'; rc=$?; cat '${CMAKE_CURRENT_BINARY_DIR}/ref_${ref_name}.err'; test $rc = 0 && ! grep -q warning '${CMAKE_CURRENT_BINARY_DIR}/ref_${ref_name}.err'")
  set_tests_properties("nvrtc: reference ${ref_name} builds for sm_90a and sm_100a, no warnings"
                       PROPERTIES LABELS nvrtc)
endforeach()

# verify needs a GPU: without one it exits 4 and says so (the GPU paths run in tests/gpu).
fibkit_cli_test("verify without a GPU exits 4" 4 "" "fibkit verify needs a GPU: no usable CUDA device"
                ARGS verify --solution fibkit-simple-gdn-decode)
fibkit_cli_test("verify rejects an unknown preset" 2 "" "preset" ARGS verify --preset fast)

# bench needs a GPU too; its option checks come first.
fibkit_cli_test("bench without a GPU exits 4" 4 "" "fibkit bench needs a GPU: no usable CUDA device"
                ARGS bench --solution fibkit-simple-gdn-decode)
fibkit_cli_test("bench rejects an unknown mode" 2 "" "mode" ARGS bench --mode fast)
fibkit_cli_test("bench refuses --baseline with --compare" 2 "" "--baseline and --compare are alternatives"
                ARGS bench --baseline a --compare b)
fibkit_cli_test("verify rejects an unknown sanitizer tool" 2 "" "sanitize" ARGS verify --sanitize leakcheck)

# fibkit env: each setting and where it came from.
fibkit_cli_test("env names the dataset flag" 0 "dataset +/nowhere\n +from: --dataset" ""
                ARGS env --dataset /nowhere)
fibkit_cli_test("env names FIB_CACHE_PATH" 0 "cache +/tmp/fibkit-env-test\n +from: \\$FIB_CACHE_PATH" ""
                ENV FIB_CACHE_PATH=/tmp/fibkit-env-test ARGS env)
fibkit_cli_test("env: flags win over the environment" 0 "log level +debug\n +from: -v" ""
                ENV FIBKIT_LOG=warn ARGS env -v)
fibkit_cli_test("env reads the project's arches" 0 "arch \\(fibkit-simple-moe\\) +sm_90a, sm_100a" ""
                ARGS env)
fibkit_cli_test("env --json" 0 "\"name\": \"dataset\",\n +\"value\": \"embedded examples\"" "" ARGS env --json)

# verify and bench check what needs no GPU before they look for one.
foreach(cmd verify bench)
  fibkit_cli_test("${cmd}: an unknown solution is a usage error, not no-GPU" 2 "" "no solution named \"nope\""
                  ARGS ${cmd} -s nope)
  fibkit_cli_test("${cmd}: a bad --workloads selector is a usage error, not no-GPU" 2 ""
                  "--workloads: no workload uuid starts with \"zzz\""
                  ARGS ${cmd} -s fibkit-simple-gdn-decode --workloads zzz)
  fibkit_cli_test("${cmd}: a workload index out of range is a usage error" 2 ""
                  "--workloads: index 999 is out of range"
                  ARGS ${cmd} -s fibkit-simple-gdn-decode --workloads 999)
  fibkit_cli_test("${cmd}: a solution without a launch plan fails before the GPU check" 1 ""
                  "has no launch plan" ARGS ${cmd} --config ${FIBKIT_CLI_DATA}/starter_kit/config.toml)
  fibkit_cli_test("${cmd}: a missing kernel file fails before the GPU check" 1 ""
                  "kernel.cu" ARGS ${cmd} --config ${FIBKIT_CLI_DATA}/missing_source/config.toml)
  fibkit_cli_test("${cmd}: --call-from needs --solution-json" 2 ""
                  "--call-from requires --solution-json" ARGS ${cmd} --call-from python)
  fibkit_cli_test("${cmd}: --call-from takes native or python" 2 "" "--call-from: java not in"
                  ARGS ${cmd} --solution-json x.json --call-from java)
endforeach()

# Tests of the contest's own TraceSet (../shared/dataset beside the checkout) are reported as not
# run (disabled) where it is absent, e.g. in a clone elsewhere; configure says why once, and
# writes it to contest-dataset-note.txt for tools/test.sh to repeat after CTest's summary.
fibkit_contest_dataset_note(${CONTEST} 8 FIBKIT_CONTEST_NOTE)
if(FIBKIT_CONTEST_NOTE)
  message(NOTICE "${FIBKIT_CONTEST_NOTE}")
  file(WRITE ${PROJECT_BINARY_DIR}/contest-dataset-note.txt "${FIBKIT_CONTEST_NOTE}\n")
else()
  file(REMOVE ${PROJECT_BINARY_DIR}/contest-dataset-note.txt)
endif()
add_test(NAME "cli: configure says why the contest TraceSet tests are disabled"
         COMMAND ${FIBKIT_CLI_RUNNER} 0 "" "8 tests of the contest TraceSet are disabled: /nonexistent/definitions not found.*-DFIBKIT_CONTEST_DATASET="
                 -- ${CMAKE_COMMAND} -DCONTEST=/nonexistent -P ${CMAKE_CURRENT_LIST_DIR}/contest_dataset.cmake)
set_tests_properties("cli: configure says why the contest TraceSet tests are disabled" PROPERTIES LABELS cli)
if(FIBKIT_CONTEST_NOTE)
  set_tests_properties("cli: list contest dataset: moe 19" "cli: list contest dataset: dsa attention 23"
                       "cli: list contest dataset: indexer 128" "cli: list contest dataset: gdn decode 54"
                       "cli: list contest dataset: gdn prefill 100" "cli: list honours FIB_DATASET_PATH"
                       "cli: list --json" "cli: examples/ is up to date with the contest facts"
                       PROPERTIES DISABLED TRUE)
endif()

# score: the official scoring rules on a hand-computed TraceSet (tests/cli/data/score: me's
# solutions have traces only, their author comes from traces/me/; FlashInfer's authors collapse).
fibkit_cli_test("score ranks authors against the flashinfer baseline" 0
                "me +1\\.625x +2 +3 +100% +75%" "" ARGS score ${FIBKIT_CLI_DATA}/score)
fibkit_cli_test("score gives per-definition best solutions" 0
                "A +me +1\\.250x +2  me-a1" "" ARGS score ${FIBKIT_CLI_DATA}/score)
fibkit_cli_test("score --json" 0 "\"author\": \"me\",\n? *\"score\": 1\\.625" ""
                ARGS score --json ${FIBKIT_CLI_DATA}/score)
fibkit_cli_test("score without the baseline author's traces is an error" 1 ""
                "no definition has traces of a solution by the baseline author \"baseline\""
                ARGS score --baseline-author baseline ${FIBKIT_CLI_DATA}/score)

# A cache directory that cannot be used slows a command down; it never stops it.
fibkit_cli_test("build with an unusable FIB_CACHE_PATH warns and builds" 0 ""
                "no compile cache \\(/dev/null/cache: .*building everything afresh"
                ENV FIB_CACHE_PATH=/dev/null/cache
                ARGS build --arch sm_90a --config ${FIBKIT_CLI_DATA}/launch_sizes/ok.toml)
fibkit_cli_test("pack with an unusable FIB_CACHE_PATH warns and packs" 0 "\"entry_point\""
                "no compile cache" ENV FIB_CACHE_PATH=/dev/null/cache
                ARGS pack -s fibkit-simple-gdn-decode)
set_tests_properties("cli: build with an unusable FIB_CACHE_PATH warns and builds"
                     "cli: pack with an unusable FIB_CACHE_PATH warns and packs"
                     PROPERTIES LABELS nvrtc)
