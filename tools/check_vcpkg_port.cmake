# Offline check of the vcpkg port ports/asyncio-cpp (vcpkg itself cannot run without the network).
#
#   cmake -DSOURCE_DIR=<repository> -DOUT_DIR=<scratch directory> -P tools/check_vcpkg_port.cmake
#         [-DPORT_DIR=<port directory>]       default: SOURCE_DIR/ports/asyncio-cpp
#         [-DCONSUMER_SETTINGS=<file>]        compiler/generator arguments for the consumer build
#                                             (CTest passes the leg's; see run_consumer.cmake)
#
# CTest runs it as asyncio.package.vcpkg_port. Steps:
#  1. Reads the port's vcpkg.json (name = directory name, a version equal to the project's, a
#     description, an SPDX license, the host helper ports) and sets PORT and VERSION like vcpkg.
#  2. Defines stand-ins for the five vcpkg helpers the portfile calls, each checking its
#     arguments the way the real one does: vcpkg_from_github (points SOURCE_PATH at SOURCE_DIR
#     instead of downloading REF), vcpkg_cmake_configure, vcpkg_cmake_install,
#     vcpkg_cmake_config_fixup (moves CONFIG_PATH to share/<PACKAGE_NAME> and rewrites the prefix
#     climbs in the moved files, as the real one does), vcpkg_install_copyright.
#  3. Runs the real portfile.cmake.
#  4. Applies vcpkg's post-build rules that matter for this port: share/<port>/copyright and
#     usage, every header installed, no lib/ bin/ debug/ or share/cmake/ left, the CMake package
#     in share/asyncio, no absolute path of the package, build or source tree in any file.
#  5. Configures, builds and runs the find_package consumer (tests/package/find_package) against
#     the installed package, as a vcpkg user's project would.
#
# What it cannot check: the SHA512 (a placeholder until a release is tagged), that REF exists, the
# manifest linting and formatting of vcpkg itself, triplet-specific behaviour, the registry's
# versions database.

cmake_minimum_required(VERSION 3.21)

if(NOT DEFINED SOURCE_DIR OR NOT DEFINED OUT_DIR)
    message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=<repo> -DOUT_DIR=<dir> -P check_vcpkg_port.cmake")
endif()
get_filename_component(SOURCE_DIR "${SOURCE_DIR}" ABSOLUTE)
get_filename_component(OUT_DIR "${OUT_DIR}" ABSOLUTE)
if(NOT DEFINED PORT_DIR)
    set(PORT_DIR "${SOURCE_DIR}/ports/asyncio-cpp")
endif()
get_filename_component(PORT_DIR "${PORT_DIR}" ABSOLUTE)

set(errors "")
macro(port_error)
    string(CONCAT _msg ${ARGN})
    list(APPEND errors "${_msg}")
endmacro()
function(stop_on_errors stage)
    if(errors)
        list(JOIN errors "\n  " text)
        message(FATAL_ERROR "vcpkg port check failed (${stage}):\n  ${text}")
    endif()
endfunction()

# --- 1. the manifest -----------------------------------------------------------------------------
file(READ "${PORT_DIR}/vcpkg.json" manifest)
string(JSON PORT ERROR_VARIABLE err GET "${manifest}" name)
if(err)
    message(FATAL_ERROR "vcpkg.json: no \"name\" (${err})")
endif()
get_filename_component(port_dir_name "${PORT_DIR}" NAME)
if(NOT PORT STREQUAL port_dir_name)
    port_error("vcpkg.json: name '${PORT}' differs from the port directory '${port_dir_name}'")
endif()
if(NOT PORT MATCHES "^[a-z0-9]+(-[a-z0-9]+)*$")
    port_error("vcpkg.json: name '${PORT}' is not lowercase letters, digits and hyphens")
endif()
set(VERSION "")
foreach(key version version-semver version-date version-string)
    string(JSON v ERROR_VARIABLE err GET "${manifest}" "${key}")
    if(NOT err)
        set(VERSION "${v}")
    endif()
endforeach()
file(STRINGS "${SOURCE_DIR}/CMakeLists.txt" project_version REGEX "^[ \t]*VERSION [0-9.]+")
string(REGEX MATCH "[0-9]+\\.[0-9]+\\.[0-9]+" project_version "${project_version}")
if(VERSION STREQUAL "")
    port_error("vcpkg.json: no version field")
elseif(NOT VERSION STREQUAL project_version)
    port_error("vcpkg.json: version '${VERSION}' differs from the project's '${project_version}' "
               "(CMakeLists.txt)")
endif()
foreach(key description license homepage)
    string(JSON v ERROR_VARIABLE err GET "${manifest}" "${key}")
    if(err OR v STREQUAL "")
        port_error("vcpkg.json: no \"${key}\"")
    endif()
endforeach()
string(JSON license ERROR_VARIABLE err GET "${manifest}" license)
file(READ "${SOURCE_DIR}/LICENSE" license_text)
if(NOT err AND license STREQUAL "MIT" AND NOT license_text MATCHES "MIT License|Permission is hereby granted")
    port_error("vcpkg.json says MIT, LICENSE does not look like the MIT license")
endif()
set(host_deps "")
string(JSON ndeps ERROR_VARIABLE err LENGTH "${manifest}" dependencies)
if(NOT err AND ndeps GREATER 0)
    math(EXPR last "${ndeps} - 1")
    foreach(i RANGE ${last})
        string(JSON type TYPE "${manifest}" dependencies ${i})
        if(type STREQUAL "OBJECT")
            string(JSON name GET "${manifest}" dependencies ${i} name)
            string(JSON host ERROR_VARIABLE err GET "${manifest}" dependencies ${i} host)
            if(NOT err AND host)
                list(APPEND host_deps "${name}")
            endif()
        endif()
    endforeach()
endif()
stop_on_errors("vcpkg.json")

set(TARGET_TRIPLET x64-linux)
set(CURRENT_PACKAGES_DIR "${OUT_DIR}/packages/${PORT}_${TARGET_TRIPLET}")
set(CURRENT_BUILDTREES_DIR "${OUT_DIR}/buildtrees/${PORT}")
set(CURRENT_PORT_DIR "${PORT_DIR}")
set(VCPKG_TARGET_IS_LINUX ON)
set(VCPKG_CMAKE_SYSTEM_NAME Linux)
set(VCPKG_LIBRARY_LINKAGE static)
file(REMOVE_RECURSE "${OUT_DIR}")
file(MAKE_DIRECTORY "${CURRENT_PACKAGES_DIR}" "${CURRENT_BUILDTREES_DIR}")
set(called "")   # the helpers the portfile called, in order

# --- 2. stand-ins for the vcpkg helpers ----------------------------------------------------------
function(vcpkg_from_github)
    cmake_parse_arguments(PARSE_ARGV 0 arg "" "OUT_SOURCE_PATH;REPO;REF;SHA512;HEAD_REF;GITHUB_HOST;AUTHORIZATION_TOKEN;FILE_DISAMBIGUATOR" "PATCHES")
    foreach(k OUT_SOURCE_PATH REPO REF SHA512)
        if(NOT DEFINED arg_${k})
            message(FATAL_ERROR "vcpkg_from_github: ${k} is required")
        endif()
    endforeach()
    if(NOT arg_REPO MATCHES "^[^/]+/[^/]+$")
        message(FATAL_ERROR "vcpkg_from_github: REPO '${arg_REPO}' is not owner/name")
    endif()
    if(NOT arg_SHA512 MATCHES "^(0|[0-9a-f]{128})$")
        message(FATAL_ERROR "vcpkg_from_github: SHA512 '${arg_SHA512}' is neither 0 nor 128 hex digits")
    endif()
    if(arg_SHA512 STREQUAL "0")
        message(STATUS "vcpkg_from_github: SHA512 is the placeholder 0 (vcpkg would print the "
                       "real hash of ${arg_REPO}@${arg_REF} on the first install)")
    endif()
    if(arg_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "vcpkg_from_github: unknown arguments ${arg_UNPARSED_ARGUMENTS}")
    endif()
    message(STATUS "vcpkg_from_github: ${arg_REPO}@${arg_REF} -> local checkout ${SOURCE_DIR}")
    set(${arg_OUT_SOURCE_PATH} "${SOURCE_DIR}" PARENT_SCOPE)
    set(called "${called};vcpkg_from_github" PARENT_SCOPE)
endfunction()

function(_check_host_dep helper dep)
    if(NOT dep IN_LIST host_deps)
        message(FATAL_ERROR "${helper} needs { \"name\": \"${dep}\", \"host\": true } "
                            "in vcpkg.json's dependencies")
    endif()
endfunction()

function(_run what)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    message("${out}")
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${what} failed (exit code ${rc})")
    endif()
endfunction()

function(vcpkg_cmake_configure)
    cmake_parse_arguments(PARSE_ARGV 0 arg "PREFER_NINJA;DISABLE_PARALLEL_CONFIGURE;WINDOWS_USE_MSBUILD;NO_CHARSET_FLAG;Z_CMAKE_GET_VARS_USAGE" "SOURCE_PATH;GENERATOR;LOGFILE_BASE" "OPTIONS;OPTIONS_DEBUG;OPTIONS_RELEASE;MAYBE_UNUSED_VARIABLES")
    _check_host_dep(vcpkg_cmake_configure vcpkg-cmake)
    if(NOT DEFINED arg_SOURCE_PATH OR NOT EXISTS "${arg_SOURCE_PATH}/CMakeLists.txt")
        message(FATAL_ERROR "vcpkg_cmake_configure: SOURCE_PATH '${arg_SOURCE_PATH}' has no CMakeLists.txt")
    endif()
    set(configs release)
    if(NOT VCPKG_BUILD_TYPE STREQUAL "release")
        list(APPEND configs debug)   # vcpkg builds both unless the port says release only
    endif()
    foreach(config IN LISTS configs)
        if(config STREQUAL "release")
            set(build_type Release)
            set(prefix "${CURRENT_PACKAGES_DIR}")
            set(extra ${arg_OPTIONS_RELEASE})
            set(suffix rel)
        else()
            set(build_type Debug)
            set(prefix "${CURRENT_PACKAGES_DIR}/debug")
            set(extra ${arg_OPTIONS_DEBUG})
            set(suffix dbg)
        endif()
        # The arguments vcpkg itself passes that matter here (scripts/cmake/vcpkg_cmake_configure).
        _run("vcpkg_cmake_configure (${config})" "${CMAKE_COMMAND}"
            -S "${arg_SOURCE_PATH}" -B "${CURRENT_BUILDTREES_DIR}/${TARGET_TRIPLET}-${suffix}"
            -G Ninja
            "-DCMAKE_BUILD_TYPE=${build_type}"
            "-DCMAKE_INSTALL_PREFIX=${prefix}"
            -DCMAKE_INSTALL_LIBDIR:STRING=lib
            -DCMAKE_INSTALL_BINDIR:STRING=bin
            -DFETCHCONTENT_FULLY_DISCONNECTED=ON
            -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
            -DCMAKE_EXPORT_NO_PACKAGE_REGISTRY=ON
            -DBUILD_SHARED_LIBS=OFF
            ${arg_OPTIONS} ${extra})
    endforeach()
    set(_vcpkg_configs "${configs}" PARENT_SCOPE)
    set(called "${called};vcpkg_cmake_configure" PARENT_SCOPE)
endfunction()

function(vcpkg_cmake_install)
    cmake_parse_arguments(PARSE_ARGV 0 arg "DISABLE_PARALLEL;ADD_BIN_TO_PATH" "" "")
    if(NOT "vcpkg_cmake_configure" IN_LIST called)
        message(FATAL_ERROR "vcpkg_cmake_install called before vcpkg_cmake_configure")
    endif()
    foreach(config IN LISTS _vcpkg_configs)
        set(suffix rel)
        if(config STREQUAL "debug")
            set(suffix dbg)
        endif()
        _run("vcpkg_cmake_install (${config})" "${CMAKE_COMMAND}"
            --build "${CURRENT_BUILDTREES_DIR}/${TARGET_TRIPLET}-${suffix}" --target install)
    endforeach()
    set(called "${called};vcpkg_cmake_install" PARENT_SCOPE)
endfunction()

# Rewrites the "go up one directory" chains of a moved package file so that they climb from
# share/<name>/ (two levels) to the package root, as the real vcpkg_cmake_config_fixup does.
function(_fixup_prefix file)
    file(READ "${file}" text)
    string(REGEX REPLACE
        [=[(get_filename_component\(_IMPORT_PREFIX "\${CMAKE_CURRENT_LIST_FILE}" PATH\))(
get_filename_component\(_IMPORT_PREFIX "\${_IMPORT_PREFIX}" PATH\))+]=]
        [=[\1
get_filename_component(_IMPORT_PREFIX "${_IMPORT_PREFIX}" PATH)
get_filename_component(_IMPORT_PREFIX "${_IMPORT_PREFIX}" PATH)]=]
        text "${text}")
    string(REGEX REPLACE
        [=[get_filename_component\(PACKAGE_PREFIX_DIR "\${CMAKE_CURRENT_LIST_DIR}/(\.\./)+" ABSOLUTE\)]=]
        [=[get_filename_component(PACKAGE_PREFIX_DIR "${CMAKE_CURRENT_LIST_DIR}/../../" ABSOLUTE)]=]
        text "${text}")
    file(WRITE "${file}" "${text}")
endfunction()

function(vcpkg_cmake_config_fixup)
    cmake_parse_arguments(PARSE_ARGV 0 arg "DO_NOT_DELETE_PARENT_CONFIG_PATH;NO_PREFIX_CORRECTION" "PACKAGE_NAME;CONFIG_PATH;TOOLS_PATH" "")
    _check_host_dep(vcpkg_cmake_config_fixup vcpkg-cmake-config)
    if(NOT DEFINED arg_PACKAGE_NAME)
        set(arg_PACKAGE_NAME "${PORT}")
    endif()
    if(NOT DEFINED arg_CONFIG_PATH)
        set(arg_CONFIG_PATH "share/${arg_PACKAGE_NAME}")
    endif()
    set(roots "${CURRENT_PACKAGES_DIR}")
    if(EXISTS "${CURRENT_PACKAGES_DIR}/debug")
        list(APPEND roots "${CURRENT_PACKAGES_DIR}/debug")
    endif()
    foreach(root IN LISTS roots)
        set(from "${root}/${arg_CONFIG_PATH}")
        set(to "${root}/share/${arg_PACKAGE_NAME}")
        if(NOT IS_DIRECTORY "${from}")
            message(FATAL_ERROR "vcpkg_cmake_config_fixup: '${from}' does not exist: the project "
                                "did not install its CMake package there (wrong CONFIG_PATH?)")
        endif()
        if(NOT from STREQUAL to)
            file(GLOB files "${from}/*")
            file(MAKE_DIRECTORY "${to}")
            foreach(f IN LISTS files)
                get_filename_component(name "${f}" NAME)
                file(RENAME "${f}" "${to}/${name}")
            endforeach()
            file(REMOVE_RECURSE "${from}")
            get_filename_component(parent "${from}" DIRECTORY)
            get_filename_component(parent_name "${parent}" NAME)
            if(NOT arg_DO_NOT_DELETE_PARENT_CONFIG_PATH AND parent_name STREQUAL "cmake")
                file(REMOVE_RECURSE "${parent}")
            endif()
        endif()
        if(NOT arg_NO_PREFIX_CORRECTION)
            file(GLOB cmake_files "${to}/*.cmake")
            foreach(f IN LISTS cmake_files)
                _fixup_prefix("${f}")
            endforeach()
        endif()
    endforeach()
    # The debug tree keeps no package files: vcpkg merges its *-debug.cmake into the release ones.
    if(EXISTS "${CURRENT_PACKAGES_DIR}/debug/share")
        file(GLOB debug_targets "${CURRENT_PACKAGES_DIR}/debug/share/${arg_PACKAGE_NAME}/*-debug.cmake")
        foreach(f IN LISTS debug_targets)
            get_filename_component(name "${f}" NAME)
            file(RENAME "${f}" "${CURRENT_PACKAGES_DIR}/share/${arg_PACKAGE_NAME}/${name}")
        endforeach()
        file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug/share")
    endif()
    set(called "${called};vcpkg_cmake_config_fixup" PARENT_SCOPE)
endfunction()

function(vcpkg_install_copyright)
    cmake_parse_arguments(PARSE_ARGV 0 arg "" "COMMENT" "FILE_LIST")
    if(NOT arg_FILE_LIST)
        message(FATAL_ERROR "vcpkg_install_copyright: FILE_LIST is required")
    endif()
    set(text "")
    if(DEFINED arg_COMMENT)
        string(APPEND text "${arg_COMMENT}\n\n")
    endif()
    foreach(f IN LISTS arg_FILE_LIST)
        if(NOT EXISTS "${f}")
            message(FATAL_ERROR "vcpkg_install_copyright: '${f}' does not exist")
        endif()
        file(READ "${f}" part)
        string(APPEND text "${part}")
    endforeach()
    file(WRITE "${CURRENT_PACKAGES_DIR}/share/${PORT}/copyright" "${text}")
    set(called "${called};vcpkg_install_copyright" PARENT_SCOPE)
endfunction()

# --- 3. the real portfile ------------------------------------------------------------------------
message(STATUS "running ${PORT_DIR}/portfile.cmake (${PORT} ${VERSION}, ${TARGET_TRIPLET})")
include("${PORT_DIR}/portfile.cmake")

# --- 4. post-build checks ------------------------------------------------------------------------
set(pkg "${CURRENT_PACKAGES_DIR}")
foreach(helper vcpkg_from_github vcpkg_cmake_configure vcpkg_cmake_install
               vcpkg_cmake_config_fixup vcpkg_install_copyright)
    if(NOT helper IN_LIST called)
        port_error("the portfile never called ${helper}")
    endif()
endforeach()
if(NOT EXISTS "${pkg}/share/${PORT}/copyright")
    port_error("share/${PORT}/copyright is missing (vcpkg_install_copyright)")
endif()
if(EXISTS "${PORT_DIR}/usage" AND NOT EXISTS "${pkg}/share/${PORT}/usage")
    port_error("the port has a usage file but does not install it to share/${PORT}/usage")
endif()
file(GLOB_RECURSE source_headers RELATIVE "${SOURCE_DIR}/include" "${SOURCE_DIR}/include/*")
file(GLOB_RECURSE installed_headers RELATIVE "${pkg}/include" "${pkg}/include/*")
list(SORT source_headers)
list(SORT installed_headers)
if(NOT source_headers STREQUAL installed_headers)
    set(missing ${source_headers})
    list(REMOVE_ITEM missing ${installed_headers} "")
    set(extra ${installed_headers})
    list(REMOVE_ITEM extra ${source_headers} "")
    list(JOIN missing " " missing)
    list(JOIN extra " " extra)
    port_error("installed headers differ from include/: missing [${missing}], extra [${extra}]")
endif()
foreach(dir lib bin debug share/cmake)
    if(EXISTS "${pkg}/${dir}")
        port_error("${dir}/ exists in the package (a header-only port installs none)")
    endif()
endforeach()
foreach(f asyncioConfig.cmake asyncioConfigVersion.cmake asyncioTargets.cmake)
    if(NOT EXISTS "${pkg}/share/asyncio/${f}")
        port_error("share/asyncio/${f} is missing")
    endif()
endforeach()
file(GLOB_RECURSE all_files "${pkg}/*")
foreach(f IN LISTS all_files)
    file(READ "${f}" text)
    foreach(path "${pkg}" "${CURRENT_BUILDTREES_DIR}" "${SOURCE_DIR}")
        string(FIND "${text}" "${path}" pos)
        if(NOT pos EQUAL -1)
            file(RELATIVE_PATH rel "${pkg}" "${f}")
            port_error("${rel} contains the absolute path ${path}")
        endif()
    endforeach()
endforeach()
if(EXISTS "${pkg}/share/${PORT}/usage")
    file(READ "${pkg}/share/${PORT}/usage" usage)
    foreach(s "find_package(asyncio CONFIG REQUIRED)" "asyncio::asyncio")
        string(FIND "${usage}" "${s}" pos)
        if(pos EQUAL -1)
            port_error("usage does not say '${s}'")
        endif()
    endforeach()
endif()
stop_on_errors("installed layout")
list(LENGTH all_files nfiles)
message(STATUS "vcpkg port check: ${nfiles} files in ${pkg}, layout as vcpkg requires")

# --- 5. a find_package consumer against the package ----------------------------------------------
set(CONSUMER_ARGS "")
if(DEFINED CONSUMER_SETTINGS)
    include("${CONSUMER_SETTINGS}")   # sets CONSUMER_ARGS (the leg's compiler and flags)
endif()
set(CONSUMER_DIR "${SOURCE_DIR}/tests/package/find_package")
set(MAIN_CPP "${SOURCE_DIR}/tests/package/main.cpp")
set(WORK_DIR "${OUT_DIR}/consumer")
list(APPEND CONSUMER_ARGS "-DCMAKE_PREFIX_PATH=${pkg}" "-DASYNCIO_EXPECTED_PREFIX=${pkg}")
set(EXPECT_COMPILE "${pkg}/include")
set(FORBID_COMPILE "${SOURCE_DIR}/include")
include("${SOURCE_DIR}/tests/package/run_consumer.cmake")
message(STATUS "vcpkg port check: passed")
