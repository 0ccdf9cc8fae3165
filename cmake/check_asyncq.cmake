# Runs the asyncq example and checks that its transcript is a consistent producer/consumer run.
#
#   cmake -DPROGRAM=<asyncq> [-DARGS=<arg;arg;...>] -P check_asyncq.cmake
#
# asyncq's output is random (the items come from the OS, the timings from the real clock), so
# instead of fixed lines this checks what must hold for every run:
#   - exit code 0, nothing on stderr;
#   - every line is one of "Producer|Consumer <n> sleeping for <0..10> seconds.",
#     "Producer <n> added <item> to queue.", "Consumer <n> got element <item> in <t> seconds.",
#     with <item> 10 lowercase hex digits and <t> printed with 5 decimals;
#   - every item is added once, and got exactly once, after it was added (so nothing is lost,
#     duplicated, or reported before the producer put it);
#   - the last line, and only it, is "Program completed in <t> seconds.".
# The consumers end cancelled without printing; that they all finish is what lets the program
# reach its last line.

if(NOT DEFINED PROGRAM)
    message(FATAL_ERROR "usage: cmake -DPROGRAM=<asyncq> [-DARGS=<args>] -P check_asyncq.cmake")
endif()

list(JOIN ARGS " " shown_args)
execute_process(COMMAND "${PROGRAM}" ${ARGS}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE err)

function(report_failure why)
    message("---- stdout of ${PROGRAM} ${shown_args} ----\n${out}")
    message("---- stderr ----\n${err}")
    message(FATAL_ERROR "${why}")
endfunction()

if(NOT rc STREQUAL "0")
    report_failure("${PROGRAM} exited with '${rc}' (expected 0)")
endif()
if(NOT err STREQUAL "")
    report_failure("${PROGRAM} wrote to stderr")
endif()
# The lines become a CMake list below; none of the expected lines holds ';', '[', ']' or '\'.
if(out MATCHES "[][;\\\\]")
    report_failure("unexpected character (one of ;[]\\) in the output")
endif()
if(NOT out MATCHES "\n$")
    report_failure("the output does not end with a newline")
endif()

string(REGEX REPLACE "\n$" "" body "${out}")
string(REPLACE "\n" ";" lines "${body}")
list(LENGTH lines nlines)

set(added "")      # every item added so far
set(waiting "")    # items added and not yet got
set(ngot 0)
set(nsleeps 0)
set(completed FALSE)
set(n 0)
foreach(line IN LISTS lines)
    math(EXPR n "${n} + 1")
    if(completed)
        report_failure("line ${n}: '${line}' after the 'Program completed' line")
    endif()
    if(line MATCHES "^(Producer|Consumer) [0-9]+ sleeping for ([0-9]+) seconds\\.$")
        if(CMAKE_MATCH_2 GREATER 10)
            report_failure("line ${n}: a sleep of ${CMAKE_MATCH_2} seconds (randint(0, 10))")
        endif()
        math(EXPR nsleeps "${nsleeps} + 1")
    elseif(line MATCHES "^Producer [0-9]+ added <([0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f])> to queue\\.$")
        set(item "${CMAKE_MATCH_1}")
        list(FIND added "${item}" seen)
        if(NOT seen EQUAL -1)
            report_failure("line ${n}: item <${item}> added a second time")
        endif()
        list(APPEND added "${item}")
        list(APPEND waiting "${item}")
    elseif(line MATCHES "^Consumer [0-9]+ got element <([0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f])> in [0-9]+\\.[0-9][0-9][0-9][0-9][0-9] seconds\\.$")
        set(item "${CMAKE_MATCH_1}")
        list(FIND waiting "${item}" pos)
        if(pos EQUAL -1)
            list(FIND added "${item}" seen)
            if(seen EQUAL -1)
                report_failure("line ${n}: item <${item}> got before any producer added it")
            endif()
            report_failure("line ${n}: item <${item}> got a second time")
        endif()
        list(REMOVE_AT waiting ${pos})
        math(EXPR ngot "${ngot} + 1")
    elseif(line MATCHES "^Program completed in [0-9]+\\.[0-9][0-9][0-9][0-9][0-9] seconds\\.$")
        set(completed TRUE)
    else()
        report_failure("line ${n}: unexpected line '${line}'")
    endif()
endforeach()

if(NOT completed)
    report_failure("the last line is not 'Program completed in <t> seconds.'")
endif()
if(NOT waiting STREQUAL "")
    report_failure("items added but never got: ${waiting}")
endif()
list(LENGTH added nadded)
message(STATUS "${PROGRAM} ${shown_args}: ${nadded} items added, ${ngot} got, each exactly once; "
               "${nsleeps} sleeps; ${nlines} lines, the last 'Program completed'")
