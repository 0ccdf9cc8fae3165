// SPDX-License-Identifier: MIT
// The promise of task<T>: lazy start, result storage, and a final suspend that hands back to the
// task's driver (the trampoline in task_core::step).
#pragma once

#include <asyncio/config.hpp>

#include <asyncio/detail/fwd.hpp>
#include <asyncio/detail/task_core.hpp>
#include <asyncio/detail/value_slot.hpp>

#include <coroutine>
#include <exception>
#include <type_traits>
#include <utility>

namespace asyncio::detail {

/// Common part of task<T> promises.
struct task_promise_base : promise_base, pooled {
    std::exception_ptr exception_;

    std::suspend_always initial_suspend() noexcept { return {}; }

    struct final_awaiter {
        bool await_ready() noexcept { return false; }
        // Never resumes anything itself: it names the continuation (null for a task's outermost
        // coroutine) and returns to the driver, so the stack stays flat at any depth.
        template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) noexcept {
            promise_base& p = h.promise();
            p.root_->set_next(p.continuation_);
        }
        void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }

    void unhandled_exception() noexcept { exception_ = std::current_exception(); }
};

template <class T> struct task_promise : task_promise_base {
    value_slot<T> value_;

    task<T> get_return_object() noexcept;

    template <class U = T>
        requires std::is_convertible_v<U&&, T>
    void return_value(U&& v) {
        value_.emplace(std::forward<U>(v));
    }
};

template <class T> struct task_promise<T&> : task_promise_base {
    value_slot<T&> value_;

    task<T&> get_return_object() noexcept;

    void return_value(T& v) noexcept { value_.emplace(v); }
};

template <> struct task_promise<void> : task_promise_base {
    value_slot<void> value_;

    task<void> get_return_object() noexcept;

    void return_void() noexcept { value_.emplace(); }
};

} // namespace asyncio::detail
