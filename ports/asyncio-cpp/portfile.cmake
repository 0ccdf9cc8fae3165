# asyncio-cpp is header-only: no debug tree, nothing compiled.
set(VCPKG_BUILD_TYPE release)

# SHA512 0 is a placeholder until a release is tagged: vcpkg refuses the download and prints the
# archive's real SHA512, which replaces the 0 in the port submitted upstream (see ports/README.md).
vcpkg_from_github(
    OUT_SOURCE_PATH SOURCE_PATH
    REPO asyncio-cpp/asyncio-cpp
    REF "v${VERSION}"
    SHA512 0
    HEAD_REF main
)

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        -DASYNCIO_BUILD_TESTS=OFF
        -DASYNCIO_BUILD_BENCH=OFF
        -DASYNCIO_BUILD_EXAMPLES=OFF
        -DASYNCIO_INSTALL=ON
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME asyncio CONFIG_PATH share/cmake/asyncio)

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
