// SPDX-License-Identifier: MIT
// The promise of task<T>: lazy start, result storage, and a final suspend that hands back to the
// task's driver (the trampoline in task_core::step).
#pragma once

#include <asyncio/config.hpp>

#include <asyncio/detail/await_location.hpp>
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

#if defined(ASYNCIO_CALL_GRAPH)
    /// Call graphs (graph.hpp, config.hpp's ASYNCIO_CALL_GRAPH): the coroutine awaiting this one
    /// inline (null for a task's outermost coroutine), the task's innermost coroutine again once
    /// this one finishes; and where this one last awaited.
    task_promise_base* caller_ = nullptr;
    const char* await_function_ = nullptr;
    const char* await_file_ = nullptr;
    int await_line_ = 0;

    /// Records the location of each `co_await` in the coroutine (the default arguments are
    /// evaluated there) and returns what awaits the operand as the language would, its operator
    /// co_await applied, with no copy or move of the operand or of its awaiter.
    template <class Awaitable>
    auto await_transform(Awaitable&& a, const char* function = __builtin_FUNCTION(),
                         const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
        await_function_ = function;
        await_file_ = file;
        await_line_ = line;
        return forward_awaiter(static_cast<Awaitable&&>(a));
    }
#endif

    std::suspend_always initial_suspend() noexcept { return {}; }

    struct final_awaiter {
        bool await_ready() noexcept { return false; }
        // Never resumes anything itself: it names the continuation (null for a task's outermost
        // coroutine) and returns to the driver, so the stack stays flat at any depth.
        template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) noexcept {
            promise_base& p = h.promise();
#if defined(ASYNCIO_CALL_GRAPH)
            p.root_->set_innermost(h.promise().caller_);
#endif
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
