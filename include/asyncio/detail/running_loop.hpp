// SPDX-License-Identifier: MIT
// The running-loop pointer: a thread_local set while a loop runs (the library's other one is the
// current context of contextvars, detail/context_core.hpp).
#pragma once

#include <asyncio/detail/fwd.hpp>

namespace asyncio::detail {

/// The loop running on this thread, or null.
inline event_loop*& running_loop_ref() noexcept {
    thread_local event_loop* loop = nullptr;
    return loop;
}

[[nodiscard]] inline event_loop* running_loop() noexcept {
    return running_loop_ref();
}

} // namespace asyncio::detail
