# Checks a packaging consumer runs at configure time, right after the README snippet it embeds
# (tests/package/*/CMakeLists.txt include this file through ASYNCIO_CONSUMER_CHECKS, set by
# run_consumer.cmake). They prove that bringing in asyncio-cpp gave the consumer the target
# asyncio::asyncio and nothing else: no warning flags or other usage requirements beyond C++20 and
# the include directory, no tests, benchmarks or examples, no CTest options. That Catch2 and
# Google Benchmark are never looked up is proven by run_consumer.cmake's traps, and the compile
# line the consumer actually got is checked after the build.
#
#   asyncio_check_consumer(IMPORTED)   asyncio::asyncio comes from an installed package; with
#                                      ASYNCIO_EXPECTED_PREFIX set, from that prefix
#   asyncio_check_consumer(SOURCE)     asyncio::asyncio is built from source (add_subdirectory,
#                                      FetchContent)

# Appends one message (the arguments, concatenated) to the list `errors` of the calling scope.
# A list value in a message must be joined first (_asyncio_join): its ';' would be lost here.
macro(_asyncio_error)
    string(CONCAT _asyncio_msg ${ARGN})
    list(APPEND errors "${_asyncio_msg}")
endmacro()

macro(_asyncio_join var)
    string(REPLACE ";" " " ${var} "${${var}}")
endmacro()

function(_asyncio_walk_source_tree dir out_errors)
    set(errors "${${out_errors}}")
    get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
    foreach(t IN LISTS targets)
        # asyncio_warnings is defined but never linked by asyncio::asyncio (checked below).
        if(NOT t STREQUAL "asyncio" AND NOT t STREQUAL "asyncio_warnings")
            _asyncio_error("asyncio-cpp defined the target '${t}' in ${dir}")
        endif()
    endforeach()
    get_property(tests DIRECTORY "${dir}" PROPERTY TESTS)
    if(tests)
        _asyncio_join(tests)
        _asyncio_error("asyncio-cpp registered tests in ${dir}: ${tests}")
    endif()
    get_property(options DIRECTORY "${dir}" PROPERTY COMPILE_OPTIONS)
    if(options)
        _asyncio_join(options)
        _asyncio_error("asyncio-cpp set directory compile options in ${dir}: ${options}")
    endif()
    get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
    foreach(sub IN LISTS subdirs)
        _asyncio_error("asyncio-cpp added the subdirectory ${sub}")
        _asyncio_walk_source_tree("${sub}" errors)
    endforeach()
    set(${out_errors} "${errors}" PARENT_SCOPE)
endfunction()

function(asyncio_check_consumer kind)
    set(errors "")
    if(NOT kind MATCHES "^(IMPORTED|SOURCE)$")
        message(FATAL_ERROR "asyncio_check_consumer(IMPORTED|SOURCE), got '${kind}'")
    endif()
    if(NOT TARGET asyncio::asyncio)
        message(FATAL_ERROR "consumer check: there is no target asyncio::asyncio")
    endif()
    get_target_property(target asyncio::asyncio ALIASED_TARGET)
    if(NOT target)
        set(target asyncio::asyncio)
    endif()
    get_target_property(imported ${target} IMPORTED)

    if(kind STREQUAL "IMPORTED")
        if(NOT imported)
            _asyncio_error("asyncio::asyncio was expected from an installed package, "
                           "but it is built from source")
        endif()
        if(DEFINED ASYNCIO_EXPECTED_PREFIX)
            file(REAL_PATH "${ASYNCIO_EXPECTED_PREFIX}" prefix)
            file(REAL_PATH "${asyncio_DIR}" found)
            string(FIND "${found}/" "${prefix}/" pos)
            if(NOT pos EQUAL 0)
                _asyncio_error("find_package found asyncio in '${asyncio_DIR}', "
                               "not under '${ASYNCIO_EXPECTED_PREFIX}'")
            endif()
            get_target_property(includes ${target} INTERFACE_INCLUDE_DIRECTORIES)
            foreach(inc IN LISTS includes)
                file(REAL_PATH "${inc}" inc_real)
                string(FIND "${inc_real}/" "${prefix}/" pos)
                if(NOT pos EQUAL 0)
                    _asyncio_error("asyncio::asyncio's include directory '${inc}' is not under "
                                   "'${ASYNCIO_EXPECTED_PREFIX}'")
                elseif(NOT EXISTS "${inc_real}/asyncio/asyncio.hpp")
                    _asyncio_error("asyncio::asyncio's include directory '${inc}' has no "
                                   "asyncio/asyncio.hpp: the headers were not installed")
                endif()
            endforeach()
        endif()
        if(NOT asyncio_VERSION VERSION_GREATER_EQUAL 0.1)
            _asyncio_error("asyncio_VERSION is '${asyncio_VERSION}'")
        endif()
    else()
        if(imported)
            _asyncio_error("asyncio::asyncio was expected from source, but it is imported "
                           "from '${asyncio_DIR}'")
        else()
            get_target_property(source_dir ${target} SOURCE_DIR)
            _asyncio_walk_source_tree("${source_dir}" errors)
        endif()
    endif()

    # Usage requirements: C++20 and the include directory, nothing else.
    foreach(prop INTERFACE_COMPILE_OPTIONS INTERFACE_COMPILE_DEFINITIONS INTERFACE_LINK_OPTIONS)
        get_target_property(value ${target} ${prop})
        if(value)
            _asyncio_join(value)
            _asyncio_error("asyncio::asyncio exports ${prop}: ${value}")
        endif()
    endforeach()
    get_target_property(links ${target} INTERFACE_LINK_LIBRARIES)
    if(links MATCHES "asyncio_warnings|(^|;)-W")
        _asyncio_join(links)
        _asyncio_error("asyncio::asyncio exports warning flags through "
                       "INTERFACE_LINK_LIBRARIES: ${links}")
    endif()
    get_target_property(features ${target} INTERFACE_COMPILE_FEATURES)
    if(NOT "cxx_std_20" IN_LIST features)
        _asyncio_join(features)
        _asyncio_error("asyncio::asyncio does not require cxx_std_20 (features: ${features})")
    endif()

    # include(CTest) or enable_testing() in asyncio-cpp would add these to the consumer's build.
    if(DEFINED CACHE{BUILD_TESTING})
        _asyncio_error("the cache variable BUILD_TESTING exists: something ran include(CTest)")
    endif()
    if(EXISTS "${CMAKE_BINARY_DIR}/DartConfiguration.tcl")
        _asyncio_error("CTest dashboard files were created in the consumer's build tree")
    endif()

    if(errors)
        list(JOIN errors "\n  " text)
        message(FATAL_ERROR "asyncio-cpp consumer check (${kind}) failed:\n  ${text}")
    endif()
    message(STATUS "asyncio-cpp consumer check (${kind}): passed")
endfunction()
