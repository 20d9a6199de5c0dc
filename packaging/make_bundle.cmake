# Makes the host bundle (docs/install.md) in OUT_DIR:
#   NAME.tar          NAME/bin/{clusterd,infer-engine} (stripped, RPATH $ORIGIN/../lib),
#                     NAME/lib/ (every shared library they need but glibc's and the
#                     NVIDIA driver's), NAME/BUILD_INFO, NAME/SHA256SUMS (of all the rest)
#   NAME.tar.sha256   the tarball's SHA-256, as `sha256sum -c` reads it
#   NAME-debug.tar    NAME-debug/.build-id/NN/REST.debug of both programs
# Each is written under a temporary name and renamed, so a failed run leaves
# the last good bundle.
#
# In: BUILD_DIR, NAME, OUT_DIR, PROGRAMS (the programs in the build tree),
#     BUILD_INFO, STRIP, OBJCOPY, READELF.
include("${CMAKE_CURRENT_LIST_DIR}/install_tree.cmake")

set(stage "${OUT_DIR}/stage")
file(REMOVE_RECURSE "${stage}")
file(MAKE_DIRECTORY "${stage}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --component bundle --prefix "${stage}/${NAME}"
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install ${BUILD_DIR} --component bundle failed")
endif()
set(tree "${stage}/${NAME}")
cluster_copy_libraries("${tree}" "${PROGRAMS}" ALL)
cluster_install_debug("${stage}/${NAME}-debug" "${PROGRAMS}" "${OBJCOPY}" "${READELF}")
file(GLOB installed "${tree}/bin/*")
cluster_strip("${STRIP}" "${installed}")
file(COPY_FILE "${BUILD_INFO}" "${tree}/BUILD_INFO")
cluster_write_sums("${tree}")

function(pack folder)
  execute_process(COMMAND "${CMAKE_COMMAND}" -E tar cf "${OUT_DIR}/${folder}.tar.tmp" --format=gnutar --mtime=2000-01-01
                          "${folder}"
                  WORKING_DIRECTORY "${stage}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cannot write ${OUT_DIR}/${folder}.tar")
  endif()
  file(RENAME "${OUT_DIR}/${folder}.tar.tmp" "${OUT_DIR}/${folder}.tar")
endfunction()
pack("${NAME}")
pack("${NAME}-debug")
file(SHA256 "${OUT_DIR}/${NAME}.tar" sum)
file(WRITE "${OUT_DIR}/${NAME}.tar.sha256" "${sum}  ${NAME}.tar\n")
file(REMOVE_RECURSE "${stage}")
file(SIZE "${OUT_DIR}/${NAME}.tar" size)
math(EXPR mib "${size} / 1048576")
message(STATUS "host bundle: ${OUT_DIR}/${NAME}.tar (${mib} MiB), sha256 ${sum}")
