// SPDX-License-Identifier: MIT
// Version numbers, the internal assertion macro and the C++20 coroutine feature check.
#pragma once

#if !defined(__cpp_impl_coroutine)
#error "asyncio-cpp needs C++20 coroutines: compile with -std=c++20 or newer"
#endif

#include <cstdio>
#include <cstdlib>

#define ASYNCIO_VERSION_MAJOR 0
#define ASYNCIO_VERSION_MINOR 1
#define ASYNCIO_VERSION_PATCH 0

/// Checks an internal invariant. A failure is a bug in asyncio-cpp, never a user error: user errors
/// raise the documented exceptions instead. Disabled with ASYNCIO_NO_ASSERT.
#if defined(ASYNCIO_NO_ASSERT)
#define ASYNCIO_ASSERT(cond) static_cast<void>(0)
#else
#define ASYNCIO_ASSERT(cond)                                                                       \
    ((cond) ? static_cast<void>(0) : ::asyncio::detail::assert_failed(#cond, __FILE__, __LINE__))
#endif

/// Keeps a rarely taken path out of line, so that the hot path it leaves saves fewer registers.
#if defined(__GNUC__) || defined(__clang__)
#define ASYNCIO_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define ASYNCIO_NOINLINE __declspec(noinline)
#else
#define ASYNCIO_NOINLINE
#endif

/// Defined when compiling with AddressSanitizer (GCC's __SANITIZE_ADDRESS__, Clang's feature).
#if defined(__SANITIZE_ADDRESS__)
#define ASYNCIO_HAS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASYNCIO_HAS_ASAN 1
#endif
#endif

/// Set to disable the per-loop arena of frame and task-state memory (detail/block_pool.hpp);
/// defined automatically under AddressSanitizer so that it sees every block freed, unless
/// ASYNCIO_POOL_UNDER_ASAN is defined.
///
/// ASYNCIO_POOL_UNDER_ASAN: define it (under AddressSanitizer) to keep the arena, so that the
/// memory the loop really uses is the memory checked. The arena poisons what it holds and has not
/// handed out (freed blocks, the uncarved rest of its chunks, the padding after each object), so a
/// use of a freed frame or state is reported until the block is reused; the arena has no
/// quarantine, so a use after the reuse is not, which the global heap's quarantine would catch.
/// asyncio-cpp's asan preset runs its tests both ways. No effect without AddressSanitizer.
#if !defined(ASYNCIO_NO_BLOCK_POOL) && defined(ASYNCIO_HAS_ASAN) &&                                \
    !defined(ASYNCIO_POOL_UNDER_ASAN)
#define ASYNCIO_NO_BLOCK_POOL 1
#endif

/// ASYNCIO_CALL_GRAPH: define it to record where each coroutine of an asyncio::task chain is
/// suspended (the function name, file and line of its current `co_await`, through an
/// `await_transform` on the task promise), so that capture_call_graph (graph.hpp) can list the
/// frames of every task. Off by default: then a co_await costs nothing extra and call graphs
/// still show every task and who awaits whom, but only the frame that asks for the current
/// task's graph. It changes the layout of task promises and task states, so it must be defined
/// the same way in every translation unit of a program (otherwise the program breaks the one
/// definition rule). Any definition turns it on, -DASYNCIO_CALL_GRAPH=0 included.

namespace asyncio::detail {

[[noreturn]] inline void assert_failed(const char* cond, const char* file, int line) noexcept {
    std::fprintf(stderr, "asyncio-cpp: internal assertion failed: %s (%s:%d)\n", cond, file, line);
    std::abort();
}

} // namespace asyncio::detail
