# Configures, builds and runs one CMake packaging consumer (tests/package/<name>/) from scratch.
#
#   cmake -DSETTINGS=<file> -P run_consumer.cmake
#
# SETTINGS (written by tests/package/CMakeLists.txt) sets the variables below; a script may also
# set them itself and include() this file (tools/check_vcpkg_port.cmake does).
#
#   CONSUMER_DIR           the consumer project (its CMakeLists.txt embeds a README snippet)
#   WORK_DIR               scratch directory, deleted first: WORK_DIR/src is a copy of the
#                          project plus MAIN_CPP, WORK_DIR/build its build tree
#   MAIN_CPP               the program every consumer builds (tests/package/main.cpp)
#   CONSUMER_ARGS          list of extra cmake arguments: the leg's generator, compiler, flags,
#                          build type, and what the test points the consumer at
#   LINK_SOURCE            optional "<relative path>=<directory>": a symlink created in the copy
#   EXPECT_COMPILE         optional substrings the compile line of main.cpp must contain
#   FORBID_COMPILE         optional substrings it must not contain
#
# What is checked, in order: configure succeeds with CMake's developer and deprecation warnings as
# errors; Catch2 and Google Benchmark are never looked up (trap package files that fail when
# loaded); the consumer's own checks (consumer_checks.cmake) pass; the build succeeds; the compile
# line of main.cpp (from compile_commands.json) carries no warning flag the leg did not set, and
# matches EXPECT_COMPILE / FORBID_COMPILE; the program runs and exits 0.

cmake_minimum_required(VERSION 3.21)

if(DEFINED SETTINGS)
    include("${SETTINGS}")
endif()
foreach(var CONSUMER_DIR WORK_DIR MAIN_CPP)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "run_consumer.cmake: ${var} is not set")
    endif()
endforeach()
get_filename_component(consumer_name "${CONSUMER_DIR}" NAME)

function(fail what output)
    message("${output}")
    message(FATAL_ERROR "consumer '${consumer_name}': ${what}")
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(src "${WORK_DIR}/src")
set(bin "${WORK_DIR}/build")
file(COPY "${CONSUMER_DIR}/" DESTINATION "${src}")
file(COPY "${MAIN_CPP}" DESTINATION "${src}")
if(DEFINED LINK_SOURCE AND NOT LINK_SOURCE STREQUAL "")
    string(FIND "${LINK_SOURCE}" "=" eq)
    string(SUBSTRING "${LINK_SOURCE}" 0 ${eq} link_name)
    math(EXPR eq "${eq} + 1")
    string(SUBSTRING "${LINK_SOURCE}" ${eq} -1 link_target)
    get_filename_component(link_parent "${src}/${link_name}" DIRECTORY)
    file(MAKE_DIRECTORY "${link_parent}")
    file(CREATE_LINK "${link_target}" "${src}/${link_name}" SYMBOLIC)
endif()

# Trap package files: asyncio-cpp must never look up its test and benchmark dependencies in a
# consumer's build. A find_package(Catch2 ...) in CONFIG mode loads the version file (when a
# version is asked for) or the config file from Catch2_DIR; in MODULE mode FindCatch2.cmake from
# CMAKE_MODULE_PATH. Each of them stops the configure with a message naming the culprit.
set(trap "${WORK_DIR}/trap")
foreach(pkg Catch2 benchmark)
    foreach(f "${pkg}Config.cmake" "${pkg}ConfigVersion.cmake" "Find${pkg}.cmake")
        file(WRITE "${trap}/${f}"
            "message(FATAL_ERROR \"find_package(${pkg}) was called in a consumer's build: "
            "asyncio-cpp must not look up its test or benchmark dependencies there\")\n")
    endforeach()
endforeach()

execute_process(
    COMMAND "${CMAKE_COMMAND}" -S "${src}" -B "${bin}"
            -Werror=dev -Werror=deprecated --no-warn-unused-cli
            "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"
            "-DASYNCIO_CONSUMER_CHECKS=${CMAKE_CURRENT_LIST_DIR}/consumer_checks.cmake"
            "-DCatch2_DIR=${trap}" "-Dbenchmark_DIR=${trap}" "-DCMAKE_MODULE_PATH=${trap}"
            ${CONSUMER_ARGS}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(NOT rc EQUAL 0)
    fail("configure failed (exit code ${rc})" "")
endif()

execute_process(COMMAND "${CMAKE_COMMAND}" --build "${bin}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(NOT rc EQUAL 0)
    fail("build failed (exit code ${rc})" "")
endif()

# The compile line main.cpp really got.
file(READ "${bin}/compile_commands.json" db)
string(JSON n LENGTH "${db}")
set(command "")
if(n GREATER 0)
    math(EXPR last "${n} - 1")
    foreach(i RANGE ${last})
        string(JSON file GET "${db}" ${i} file)
        if(file MATCHES "/main\\.cpp$")
            string(JSON command GET "${db}" ${i} command)
        endif()
    endforeach()
endif()
if(command STREQUAL "")
    fail("main.cpp is not in ${bin}/compile_commands.json" "")
endif()
message(STATUS "compile line of main.cpp: ${command}")

# Flags the leg itself set (CMAKE_CXX_FLAGS in CONSUMER_ARGS) are the consumer's own business.
set(leg_flags "")
foreach(arg IN LISTS CONSUMER_ARGS)
    if(arg MATCHES "^-DCMAKE_CXX_FLAGS(:[A-Z]+)?=(.*)$")
        separate_arguments(leg_flags UNIX_COMMAND "${CMAKE_MATCH_2}")
    endif()
endforeach()
separate_arguments(tokens UNIX_COMMAND "${command}")
set(leaked "")
foreach(tok IN LISTS tokens)
    if(tok MATCHES "^(-W|-pedantic|/W|/WX)" AND NOT tok MATCHES "^-Wl," AND NOT tok IN_LIST leg_flags)
        list(APPEND leaked "${tok}")
    endif()
endforeach()
if(leaked)
    fail("warning flags reached the consumer's compile line of main.cpp: ${leaked}" "${command}")
endif()
foreach(s IN LISTS EXPECT_COMPILE)
    string(FIND "${command}" "${s}" pos)
    if(pos EQUAL -1)
        fail("the compile line of main.cpp does not contain '${s}'" "${command}")
    endif()
endforeach()
foreach(s IN LISTS FORBID_COMPILE)
    string(FIND "${command}" "${s}" pos)
    if(NOT pos EQUAL -1)
        fail("the compile line of main.cpp contains '${s}'" "${command}")
    endif()
endforeach()

set(app "${bin}/app")
if(NOT EXISTS "${app}" AND EXISTS "${app}.exe")
    set(app "${app}.exe")
endif()
execute_process(COMMAND "${app}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(NOT rc EQUAL 0)
    fail("${app} exited with '${rc}'" "")
endif()
message(STATUS "consumer '${consumer_name}': configured, built and ran")
