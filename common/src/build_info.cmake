# Writes build_info.cc and BUILD_INFO (the host bundle's record of its build)
# from the version and toolkit versions CMake knows and the commit git knows
# now. Run at every build (cmake -P); configure_file rewrites a file only when
# its text changes, so an unchanged commit rebuilds nothing.
#
# In: SOURCE_DIR, TEMPLATE, OUT_CC, OUT_TEXT, BUILD_VERSION, BUILD_CUDA, BUILD_NCCL, SYSTEM.
set(BUILD_COMMIT "unknown")
find_program(GIT_PROGRAM git)
if(GIT_PROGRAM)
  execute_process(COMMAND "${GIT_PROGRAM}" -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
                  OUTPUT_VARIABLE head RESULT_VARIABLE head_rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(head_rc EQUAL 0 AND head)
    set(BUILD_COMMIT "${head}")
    # Tracked files that differ from the commit make the build "-dirty".
    execute_process(COMMAND "${GIT_PROGRAM}" -C "${SOURCE_DIR}" diff --quiet HEAD --
                    RESULT_VARIABLE dirty_rc OUTPUT_QUIET ERROR_QUIET)
    if(dirty_rc EQUAL 1)
      string(APPEND BUILD_COMMIT "-dirty")
    endif()
  endif()
endif()
configure_file("${TEMPLATE}" "${OUT_CC}" @ONLY)
set(text "version: ${BUILD_VERSION}\ncommit: ${BUILD_COMMIT}\ncuda: ${BUILD_CUDA}\nnccl: ${BUILD_NCCL}\nsystem: ${SYSTEM}\n")
file(WRITE "${OUT_TEXT}.tmp" "${text}")
configure_file("${OUT_TEXT}.tmp" "${OUT_TEXT}" COPYONLY)
