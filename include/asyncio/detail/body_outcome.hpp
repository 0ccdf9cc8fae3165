// SPDX-License-Identifier: MIT
// How the body of a task group or a timeout ended: its value, or the exception that ended it.
#pragma once

#include <asyncio/detail/value_slot.hpp>

#include <exception>
#include <type_traits>
#include <utility>

namespace asyncio::detail {

/// What the body of `async with` ended with, kept while the scope's exit runs (C++ forbids
/// `co_await` in a catch block, so the exception is recorded there and handled after it).
template <class R> struct body_outcome {
    value_slot<R> result;
    std::exception_ptr error;
    /// The body ended with cancelled_error.
    bool cancelled = false;

    /// Called in the catch block that ended the body.
    void caught(bool cancellation) noexcept {
        error = std::current_exception();
        cancelled = cancellation;
    }

    /// The body's value, or its exception rethrown: what the scope gives when it lets the
    /// outcome through.
    R take() {
        if (error) {
            std::rethrow_exception(error);
        }
        if constexpr (!std::is_void_v<R>) {
            return std::move(result.get());
        }
    }
};

} // namespace asyncio::detail
