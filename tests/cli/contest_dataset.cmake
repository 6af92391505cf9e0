# The contest's own TraceSet (FIBKIT_CONTEST_DATASET, by default ../shared/dataset beside the
# checkout): tests that need it are disabled where it is absent, and this says why, once.
# Included by cli_tests.cmake; `cmake -DCONTEST=DIR -P contest_dataset.cmake` prints the note.
function(fibkit_contest_dataset_note dir count out_var)
  if(EXISTS ${dir}/definitions)
    set(${out_var} "" PARENT_SCOPE)
  else()
    set(${out_var}
        "fibkit: ${count} tests of the contest TraceSet are disabled: ${dir}/definitions not found. To run them, put the mlsys26-contest dataset (definitions/, workloads/) there, or configure with -DFIBKIT_CONTEST_DATASET=/path/to/mlsys26-contest."
        PARENT_SCOPE)
  endif()
endfunction()

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  fibkit_contest_dataset_note("${CONTEST}" 8 note)
  if(note)
    message(NOTICE "${note}")
  endif()
endif()
