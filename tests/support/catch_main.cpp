// SPDX-License-Identifier: MIT
// The Catch2 v2 main() for asyncio_tests, compiled with the tests' own compiler and sanitizers.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
