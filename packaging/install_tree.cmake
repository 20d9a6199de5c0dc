# The steps that make an installed tree of the host programs self-contained,
# shared by the host bundle (make_bundle.cmake) and the host .deb
# (CMakeLists.txt, at install time). Each function works on the tree that the
# steps before it have written: TREE/bin holds the programs, whose RPATH is
# $ORIGIN/../lib.

# Libraries a host always has: glibc's (they must match the host's own
# loader), the NVIDIA driver's (they must match its kernel module), and the
# compiler's runtime, libstdc++ and libgcc_s (apt itself needs them, so every
# Debian and Ubuntu has them; Debian 12's libstdc++ asks for glibc 2.36, so a
# bundled copy would not load on Ubuntu 22.04's glibc 2.35, while the host's
# own, GCC 12's on both, serves our programs). Every other shared library a
# program needs goes into the tree.
set(CLUSTER_HOST_LIBRARIES
  "^ld-linux" "^libc\\.so" "^libm\\.so" "^libmvec\\.so" "^libpthread\\.so" "^libdl\\.so" "^librt\\.so"
  "^libresolv\\.so" "^libutil\\.so" "^libanl\\.so" "^libnss_" "^libthread_db\\.so" "^libBrokenLocale\\.so"
  "^libstdc\\+\\+\\.so" "^libgcc_s\\.so" "^libcuda\\.so" "^libnvidia-")

# cluster_copy_libraries(TREE PROGRAMS WHICH)
# Copies the shared libraries that PROGRAMS (the same programs in the build
# tree, whose build RPATH still finds them) need, directly or through another
# library, into TREE/lib under the name they are asked for. WHICH is ALL (the
# bundle: every library but the host's own) or UNPACKAGED (the .deb: only
# those no Debian package provides, such as cuBLAS and NCCL from the CUDA
# toolkit; the package depends on the Debian ones instead).
function(cluster_copy_libraries tree programs which)
  file(GET_RUNTIME_DEPENDENCIES
    EXECUTABLES ${programs}
    RESOLVED_DEPENDENCIES_VAR resolved
    UNRESOLVED_DEPENDENCIES_VAR unresolved
    CONFLICTING_DEPENDENCIES_PREFIX conflicting
    PRE_EXCLUDE_REGEXES ${CLUSTER_HOST_LIBRARIES})
  if(unresolved)
    message(FATAL_ERROR "cannot find these libraries of ${programs}: ${unresolved}")
  endif()
  # The same library found twice (/lib and /usr/lib of a merged /usr) is one file.
  foreach(name IN LISTS conflicting_FILENAMES)
    list(GET conflicting_${name} 0 first)
    list(APPEND resolved "${first}")
  endforeach()
  file(MAKE_DIRECTORY "${tree}/lib")
  foreach(library IN LISTS resolved)
    get_filename_component(name "${library}" NAME)
    file(REAL_PATH "${library}" real)
    if(which STREQUAL "UNPACKAGED" AND (real MATCHES "^/usr/lib/" OR real MATCHES "^/lib/"))
      # A library a Debian package owns is declared by `dpkg-shlibdeps`, not
      # copied. dpkg knows a file by the path its package installed, /lib or
      # /usr/lib (merged /usr makes them one folder): ask for both.
      string(REGEX REPLACE "^/usr/lib/" "/lib/" under_lib "${real}")
      string(REGEX REPLACE "^/lib/" "/usr/lib/" under_usr "${under_lib}")
      execute_process(COMMAND dpkg -S "${under_lib}" RESULT_VARIABLE owned_lib OUTPUT_QUIET ERROR_QUIET)
      execute_process(COMMAND dpkg -S "${under_usr}" RESULT_VARIABLE owned_usr OUTPUT_QUIET ERROR_QUIET)
      if(owned_lib EQUAL 0 OR owned_usr EQUAL 0)
        continue()
      endif()
    endif()
    file(COPY_FILE "${real}" "${tree}/lib/${name}" ONLY_IF_DIFFERENT)
    file(CHMOD "${tree}/lib/${name}" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endforeach()
endfunction()

# cluster_strip(STRIP FILES)
# Removes symbols and debug information from FILES (the programs; the
# libraries come stripped).
function(cluster_strip strip files)
  foreach(binary IN LISTS files)
    execute_process(COMMAND "${strip}" --strip-all "${binary}" RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${strip} --strip-all ${binary} failed")
    endif()
  endforeach()
endfunction()

# cluster_write_sums(TREE)
# Writes TREE/SHA256SUMS: one line "SHA256  PATH" per file below TREE (but
# itself), sorted, in the format of `sha256sum`, so that a host checks the
# tree with `sha256sum -c SHA256SUMS` (docs/bundle.md).
function(cluster_write_sums tree)
  file(GLOB_RECURSE files LIST_DIRECTORIES false RELATIVE "${tree}" "${tree}/*")
  list(REMOVE_ITEM files SHA256SUMS)
  list(SORT files)
  set(text "")
  foreach(f IN LISTS files)
    file(SHA256 "${tree}/${f}" hash)
    string(APPEND text "${hash}  ${f}\n")
  endforeach()
  file(WRITE "${tree}/SHA256SUMS" "${text}")
endfunction()

# cluster_install_debug(ROOT PROGRAMS OBJCOPY READELF)
# Writes the debug information of each of PROGRAMS (unstripped, in the build
# tree) to ROOT/.build-id/NN/REST.debug, where gdb finds it by the build id
# that the stripped program carries too (debug-file-directory ROOT).
function(cluster_install_debug root programs objcopy readelf)
  foreach(program IN LISTS programs)
    execute_process(COMMAND "${readelf}" -n "${program}" OUTPUT_VARIABLE notes RESULT_VARIABLE rc)
    string(REGEX MATCH "Build ID: ([0-9a-f]+)" found "${notes}")
    if(NOT rc EQUAL 0 OR NOT found)
      message(FATAL_ERROR "${program} has no build id (link with -Wl,--build-id)")
    endif()
    string(SUBSTRING "${CMAKE_MATCH_1}" 0 2 head)
    string(SUBSTRING "${CMAKE_MATCH_1}" 2 -1 rest)
    file(MAKE_DIRECTORY "${root}/.build-id/${head}")
    execute_process(COMMAND "${objcopy}" --only-keep-debug --compress-debug-sections "${program}"
                            "${root}/.build-id/${head}/${rest}.debug" RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${objcopy} --only-keep-debug ${program} failed")
    endif()
  endforeach()
endfunction()
