// SPDX-License-Identifier: MIT
// Catch2 v2/v3 compatibility: tests include this and use only the macros both versions share.
#pragma once

// ASYNCIO_CATCH2_MAJOR comes from tests/CMakeLists.txt (a compile definition rather than
// __has_include, because v2 and v3 headers can both be installed on one machine).
#if defined(ASYNCIO_CATCH2_MAJOR) && ASYNCIO_CATCH2_MAJOR >= 3
#include <catch2/catch_test_macros.hpp>
#else
#include <catch2/catch.hpp>
#endif
