# Runs a program and checks its exit code and its output, line by line.
#
#   cmake -DPROGRAM=<executable> -DEXPECTED=<file> [-DARGS=<arg;arg;...>] [-DALLOW_STDERR=ON]
#         -P check_output.cmake
#
# EXPECTED holds one CMake regular expression per line; output line i must match line i of the
# file in full (the expressions are anchored), and both must have the same number of lines. A
# non-zero exit code or any text on stderr (unless ALLOW_STDERR) fails the check as well.
#
# Lines are split with string(FIND) instead of CMake lists, so output containing ';' or an
# unbalanced '[' is compared exactly.

if(NOT DEFINED PROGRAM OR NOT DEFINED EXPECTED)
    message(FATAL_ERROR "usage: cmake -DPROGRAM=<exe> -DEXPECTED=<file> -P check_output.cmake")
endif()

execute_process(COMMAND "${PROGRAM}" ${ARGS}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE err)
file(READ "${EXPECTED}" want)

function(report_failure why)
    message("---- stdout of ${PROGRAM} ----\n${out}")
    message("---- stderr ----\n${err}")
    message("---- expected (${EXPECTED}) ----\n${want}")
    message(FATAL_ERROR "${why}")
endfunction()

if(NOT rc STREQUAL "0")
    report_failure("${PROGRAM} exited with '${rc}' (expected 0)")
endif()
if(NOT err STREQUAL "" AND NOT ALLOW_STDERR)
    report_failure("${PROGRAM} wrote to stderr")
endif()

# Removes the first line (without its '\n') from the variable named `text` into `line`.
function(pop_line text line)
    string(FIND "${${text}}" "\n" pos)
    if(pos EQUAL -1)
        set(${line} "${${text}}" PARENT_SCOPE)
        set(${text} "" PARENT_SCOPE)
    else()
        string(SUBSTRING "${${text}}" 0 ${pos} first)
        math(EXPR pos "${pos} + 1")
        string(SUBSTRING "${${text}}" ${pos} -1 rest)
        set(${line} "${first}" PARENT_SCOPE)
        set(${text} "${rest}" PARENT_SCOPE)
    endif()
endfunction()

set(rest_out "${out}")
set(rest_want "${want}")
set(n 0)
while(NOT rest_out STREQUAL "" OR NOT rest_want STREQUAL "")
    math(EXPR n "${n} + 1")
    if(rest_want STREQUAL "")
        pop_line(rest_out got)
        report_failure("line ${n}: unexpected extra output '${got}'")
    endif()
    if(rest_out STREQUAL "")
        pop_line(rest_want re)
        report_failure("line ${n}: output ended, expected a line matching '${re}'")
    endif()
    pop_line(rest_out got)
    pop_line(rest_want re)
    set(ok FALSE)
    if(re STREQUAL "")
        if(got STREQUAL "")
            set(ok TRUE)
        endif()
    elseif(got MATCHES "^(${re})$")
        set(ok TRUE)
    endif()
    if(NOT ok)
        report_failure("line ${n}: '${got}' does not match '${re}'")
    endif()
endwhile()

message(STATUS "${PROGRAM}: exit code 0 and ${n} lines of output as expected")
