# CLI tests: the real binary, checked for exit code and output (label "cli").
# fibkit_cli_test(NAME RC STDOUT_REGEX STDERR_REGEX [GOLDEN file] [WORKDIR dir] [ENV k=v...] ARGS ...)
set(FIBKIT_CLI_RUNNER ${CMAKE_CURRENT_LIST_DIR}/run_cli_test.sh)
set(FIBKIT_CLI_DATA ${CMAKE_CURRENT_LIST_DIR}/data)
set(CONTEST ${PROJECT_SOURCE_DIR}/../shared/dataset)

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
fibkit_cli_test("no subcommand is a usage error" 2 "" "subcommand" ARGS)
fibkit_cli_test("unknown subcommand is a usage error" 2 "" "unknown subcommand \"frobnicate\"" ARGS frobnicate)
fibkit_cli_test("misspelt subcommand gets a suggestion" 2 "" "did you mean \"pack\"" ARGS pakc)
fibkit_cli_test("unknown option is a usage error" 2 "" "--bogus" ARGS list --bogus)
fibkit_cli_test("bad --color value is a usage error" 2 "" "color" ARGS --color sometimes list)
fibkit_cli_test("NO_COLOR output has no escape codes" 0 "^TraceSet: embedded examples" "" ARGS list)
fibkit_cli_test("--color always colours stdout" 0 "\\[1mTraceSet" "" ARGS --color always list)
fibkit_cli_test("quiet hides warnings" 0 "" "^$" ARGS -q pack --dry-run --config ${FIBKIT_CLI_DATA}/unknown_def/config.toml)

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
fibkit_cli_test("list truncated workload line" 1 "" "workloads/t/tiny.jsonl:2: invalid JSON" ARGS list --dataset ${FIBKIT_CLI_DATA}/truncated)
fibkit_cli_test("list workload with wrong type" 1 "" "workloads/t/tiny.jsonl:1: \\$\\.workload\\.axes\\.n: expected an integer, got the string \"three\"" ARGS list --dataset ${FIBKIT_CLI_DATA}/wrong_type)
fibkit_cli_test("list definition missing shape" 1 "" "definitions/t/tiny.json: \\$\\.inputs\\.x: missing required key \"shape\"" ARGS list --dataset ${FIBKIT_CLI_DATA}/missing_shape)
fibkit_cli_test("list duplicate definitions" 1 "" "duplicate definition name \"tiny\"" ARGS list --dataset ${FIBKIT_CLI_DATA}/duplicate_def)

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
           COMMAND sh -c "rm -rf '${dir}' && '$<TARGET_FILE:fibkit>' init --track ${track} '${dir}' && cd '${dir}' && test -f config.toml && test -f README.md && test -f .gitignore && ls kernels/${track}/*.cu && '$<TARGET_FILE:fibkit>' pack --out-dir submission && ls submission/*/solution.json")
  set_tests_properties("cli: init --track ${track} writes a project that packs" PROPERTIES LABELS cli)
endforeach()
fibkit_cli_test("init refuses to overwrite" 1 "" "refusing to overwrite existing files \\(use --force\\)"
                ARGS init --track fused_moe ${PROJECT_SOURCE_DIR})
fibkit_cli_test("init unknown track lists the valid ones" 2 ""
                "unknown track \"moe\" \\(valid tracks: fused_moe, sparse_attention, gated_delta_net\\)"
                ARGS init --track moe ${CMAKE_CURRENT_BINARY_DIR}/never)
fibkit_cli_test("init needs --track" 2 "" "--track" ARGS init)
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
fibkit_cli_test("build --clear-cache" 0 "" "cleared the compile cache"
                ENV FIB_CACHE_PATH=${CMAKE_CURRENT_BINARY_DIR}/cache_clear ARGS build --clear-cache)
set_tests_properties("cli: build reports a compile error at file:line"
                     "cli: build reports a signature mismatch" PROPERTIES LABELS nvrtc)

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

# Tests of the contest's own TraceSet (../shared/dataset beside the checkout) are reported as not
# run (disabled) where it is absent, e.g. in a clone elsewhere.
if(NOT EXISTS ${CONTEST}/definitions)
  set_tests_properties("cli: list contest dataset: moe 19" "cli: list contest dataset: dsa attention 23"
                       "cli: list contest dataset: indexer 128" "cli: list contest dataset: gdn decode 54"
                       "cli: list contest dataset: gdn prefill 100" "cli: list honours FIB_DATASET_PATH"
                       "cli: list --json" "cli: examples/ is up to date with the contest facts"
                       PROPERTIES DISABLED TRUE)
endif()
