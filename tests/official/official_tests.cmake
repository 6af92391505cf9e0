# Official-builder tests (label "official"): `fibkit pack` output built exactly as the official
# TVM-FFI builder builds it (tools/official_build.py: nvcc per .cu for plain sm_100, linked
# against libtvm_ffi), and the entry symbol exported. They need nvcc and a Python with the
# apache-tvm-ffi package (FIBKIT_TVM_FFI_PYTHON; tools/test.sh makes a venv with it) and report
# themselves skipped (77) without them. No GPU is needed: nothing runs the kernels here.
set(FIBKIT_TVM_FFI_PYTHON "" CACHE FILEPATH "Python interpreter with apache-tvm-ffi installed")
set(_py ${FIBKIT_TVM_FFI_PYTHON})
if(NOT _py)
  find_package(Python3 COMPONENTS Interpreter)
  set(_py ${Python3_EXECUTABLE})
endif()
set(_runner ${CMAKE_CURRENT_LIST_DIR}/pack_build.sh)
set(_features ${CMAKE_CURRENT_LIST_DIR}/features)
set(_arch ${CMAKE_CURRENT_LIST_DIR}/archspecific)

function(fibkit_official_test name)
  add_test(NAME "official: ${name}" COMMAND bash ${_runner} $<TARGET_FILE:fibkit> ${_py} ${ARGN}
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties("official: ${name}" PROPERTIES LABELS official SKIP_RETURN_CODE 77)
endfunction()

# Every starter solution of the repository's config.toml, in both modes.
foreach(sol fibkit-simple-moe fibkit-simple-dsa-attention fibkit-simple-dsa-indexer
            fibkit-simple-gdn-decode fibkit-simple-gdn-prefill)
  fibkit_official_test("${sol}, source mode, plain sm_100" 10.0
                       --config ${PROJECT_SOURCE_DIR}/config.toml -s ${sol})
  fibkit_official_test("${sol}, cubin mode (sm_90a + sm_100a)" 10.0
                       --config ${PROJECT_SOURCE_DIR}/config.toml -s ${sol} --embed-cubin)
endforeach()

# Template kernel, two .cu files, a user header, a workspace, a define, a scalar of each kind,
# 64 KiB of dynamic shared memory.
foreach(mode_args "source;" "cubin;--embed-cubin")
  list(GET mode_args 0 mode)
  list(SUBLIST mode_args 1 -1 extra)
  fibkit_official_test("feature project, ${mode} mode" 10.0 --config ${_features}/config.toml
                       --dataset ${_features}/dataset ${extra})
endforeach()
fibkit_official_test("feature project, source mode, sm_90" 9.0 --config ${_features}/config.toml
                     --dataset ${_features}/dataset)
fibkit_official_test("arch-specific kernel, cubin mode" 10.0 --config ${_arch}/config.toml
                     --dataset ${_features}/dataset -s feat-arch-unguarded --embed-cubin)

# What pack itself says (no nvcc needed).
fibkit_cli_test("pack points the entry point at the generated entry" 0
                "\"entry_point\": \"fibkit_entry.cu::run\","
                "" ARGS pack -s fibkit-simple-gdn-decode)
fibkit_cli_test("pack writes the generated entry (source mode)" 0
                "TVM_FFI_DLL_EXPORT_TYPED_FUNC\\(run, fibkit_entry::run\\)"
                "" ARGS pack -s fibkit-simple-gdn-decode)
fibkit_cli_test("pack appends the kernel handles to the kernel file" 0
                "fibkit_kernel_0\\(\\) {\\\\n  return reinterpret_cast<const void\\*>\\(&gdn_decode_kernel\\)"
                "" ARGS pack -s fibkit-simple-gdn-decode)
fibkit_cli_test("pack --embed-cubin embeds sm_90a and sm_100a cubins" 0
                "cubin_launcher.h.*for sm_90a \\([0-9]+ bytes\\).*for sm_100a \\([0-9]+ bytes\\)"
                "cubin mode" ARGS pack -s fibkit-simple-gdn-decode --embed-cubin)
fibkit_cli_test("pack refuses sm_100a-only code in source mode, pointing to --embed-cubin" 1 ""
                "arch_unguarded.cu does not compile for plain sm_100.*--embed-cubin"
                ARGS pack --config ${_arch}/config.toml --dataset ${_features}/dataset
                     -s feat-arch-unguarded)
fibkit_cli_test("pack warns about arch guards compiled out in source mode" 0 ""
                "arch.cu:[0-9]+: __CUDA_ARCH_FEAT_SM90_ALL selects arch-specific code.*--embed-cubin"
                ARGS pack --config ${_arch}/config.toml --dataset ${_features}/dataset
                     -s feat-arch-specific)
fibkit_cli_test("pack: the config's defines reach the packed kernel files" 0
                "#define FEAT_ROWS_PER_BLOCK 4\\\\n#line 1 \\\\\"scale.cu\\\\\""
                "" ARGS pack --config ${_features}/config.toml --dataset ${_features}/dataset)

# A hand-written official CUDA solution (its own TVM-FFI host code, no launch plan).
add_test(NAME "official: hand-written solution builds with the official TVM-FFI builder"
         COMMAND ${CMAKE_COMMAND} -E env PATH=$ENV{PATH}:/usr/local/cuda/bin
                 ${_py} ${PROJECT_SOURCE_DIR}/tools/official_build.py
                 ${CMAKE_CURRENT_LIST_DIR}/handwritten/solution.json --arch 10.0)
set_tests_properties("official: hand-written solution builds with the official TVM-FFI builder"
                     PROPERTIES LABELS official SKIP_RETURN_CODE 77)

# --solution-json is checked before the GPU: what cannot run is said on any machine.
fibkit_cli_test("verify --solution-json takes a Triton solution up to the GPU check" 4 ""
                "needs a GPU" ENV CUDA_VISIBLE_DEVICES=
                ARGS verify --solution-json ${CMAKE_CURRENT_LIST_DIR}/triton/solution.json)
fibkit_cli_test("bench --reference python is checked before the GPU" 4 ""
                "needs a GPU" ENV CUDA_VISIBLE_DEVICES=
                ARGS bench --reference python --speedup-reference python
                     --solution-json ${CMAKE_CURRENT_LIST_DIR}/triton/solution.json)
fibkit_cli_test("verify --reference takes native, python or auto" 2 ""
                "--reference: torch not in \\{native,python,auto\\}"
                ARGS verify --reference torch)
fibkit_cli_test("bench --solution-json needs the definition in the dataset" 1 ""
                "definition \"gdn_decode_qk4_v8_d128_k_last\" is not in the dataset"
                ARGS bench --dataset ${_features}/dataset
                     --solution-json ${CMAKE_CURRENT_LIST_DIR}/handwritten/solution.json)
fibkit_cli_test("verify --solution-json without a GPU exits 4 after the checks" 4 ""
                "needs a GPU" ENV CUDA_VISIBLE_DEVICES=
                ARGS verify --solution-json ${CMAKE_CURRENT_LIST_DIR}/handwritten/solution.json)
fibkit_cli_test("bench --baseline flashinfer gets to the GPU check" 4 ""
                "needs a GPU" ENV CUDA_VISIBLE_DEVICES=
                ARGS bench --baseline flashinfer
                     --solution-json ${CMAKE_CURRENT_LIST_DIR}/triton/solution.json)
fibkit_cli_test("bench --baseline FILE.json must be a readable Solution" 1 ""
                "no-such-baseline.json"
                ARGS bench --baseline no-such-baseline.json
                     --solution-json ${CMAKE_CURRENT_LIST_DIR}/triton/solution.json)
