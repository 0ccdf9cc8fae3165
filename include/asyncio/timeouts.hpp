// SPDX-License-Identifier: MIT
// timeout, timeout_at (asyncio.timeout's async context manager, as a body-taking coroutine) and
// wait_for.
#pragma once

#include <asyncio/awaitable.hpp>
#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/future.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/task.hpp>

#include <asyncio/detail/body_outcome.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace asyncio {

namespace detail::repr {
struct peek;
}

/// asyncio.Timeout: the scope a `timeout` / `timeout_at` body runs in. `when()` is the deadline
/// (std::nullopt: none), `reschedule(when)` moves it, `expired()` says whether it fired. The
/// deadline cancels the task running the body (at its current co_await, through the usual
/// cancellation); the scope then turns that cancellation, and only that one, into timeout_error.
class timeout_scope {
public:
    using time_point = loop_clock::time_point;

    timeout_scope(const timeout_scope&) = delete;
    timeout_scope& operator=(const timeout_scope&) = delete;
    ~timeout_scope() { handle_.cancel(); }

    /// Timeout.when(): the current deadline on the loop's clock, or std::nullopt for none.
    [[nodiscard]] std::optional<time_point> when() const noexcept { return when_; }

    /// Timeout.expired(): the deadline fired while the body ran.
    [[nodiscard]] bool expired() const noexcept {
        return state_ == state::expiring || state_ == state::expired;
    }

    /// Timeout.reschedule(when): a new deadline (std::nullopt: none); one already passed fires in
    /// the next iteration. std::runtime_error once the deadline fired or the body finished, as in
    /// CPython ("Cannot change state of expiring Timeout", "... expired ...", "... finished ...").
    void reschedule(std::optional<time_point> when) {
        if (state_ != state::entered) {
            if (state_ == state::created) {
                throw std::runtime_error("Timeout has not been entered");
            }
            throw std::runtime_error(std::string("Cannot change state of ") + state_name() +
                                     " Timeout");
        }
        when_ = when;
        handle_.cancel();
        handle_ = handle();
        if (!when) {
            return;
        }
        event_loop& loop = get_running_loop();
        if (*when <= loop.time()) {
            // CPython uses call_soon here: the deadline fires behind what is already queued.
            handle_ = loop.call_soon([this] { on_timeout(); });
        } else {
            handle_ = loop.call_at(*when, [this] { on_timeout(); });
        }
    }

private:
    friend struct detail::repr::peek; // the debug string (repr.hpp) reads the state

    template <class R, class F>
    friend task<R> detail_run_timeout(std::optional<loop_clock::time_point>, F,
                                      std::optional<std::int64_t>);

    enum class state { created, entered, expiring, expired, exited };

    explicit timeout_scope(std::optional<time_point> when) noexcept : when_(when) {}

    [[nodiscard]] const char* state_name() const noexcept {
        switch (state_) {
        case state::created:
            return "created";
        case state::entered:
            return "active";
        case state::expiring:
            return "expiring";
        case state::expired:
            return "expired";
        case state::exited:
            break;
        }
        return "finished";
    }

    // Timeout.__aenter__.
    void enter() {
        task_ = current_task();
        if (!task_) {
            throw std::runtime_error("Timeout should be used inside a task");
        }
        state_ = state::entered;
        cancelling_ = task_.cancelling();
        reschedule(when_);
    }

    void on_timeout() {
        ASYNCIO_ASSERT(state_ == state::entered);
        task_.cancel();
        state_ = state::expiring;
    }

    // Timeout.__aexit__: true when the body's cancelled_error is this deadline's, to be raised
    // as timeout_error.
    [[nodiscard]] bool exit(bool body_cancelled) {
        handle_.cancel();
        handle_ = handle();
        if (state_ == state::expiring) {
            state_ = state::expired;
            return task_.uncancel() <= cancelling_ && body_cancelled;
        }
        state_ = state::exited;
        return false;
    }

    std::optional<time_point> when_;
    handle handle_;
    task_ref task_;
    int cancelling_ = 0;
    state state_ = state::created;
};

namespace detail {

/// Calls the body with the scope if it takes one.
template <class F> auto invoke_timeout_body(F& body, timeout_scope& scope) {
    if constexpr (std::is_invocable_v<F&, timeout_scope&>) {
        return body(scope);
    } else {
        return body();
    }
}

template <class F>
using timeout_body_result_t = await_result_t<decltype(invoke_timeout_body(
    std::declval<F&>(), std::declval<timeout_scope&>()))>;

template <class F>
concept timeout_body = (std::is_invocable_v<F&, timeout_scope&> || std::is_invocable_v<F&>) &&
                       requires(F& f, timeout_scope& s) {
                           { invoke_timeout_body(f, s) } -> awaitable;
                       };

} // namespace detail

/// The coroutine behind timeout and timeout_at (named outside detail only to befriend the scope).
template <class R, class F>
task<R> detail_run_timeout(std::optional<loop_clock::time_point> when, F body,
                           std::optional<std::int64_t> delay_ns) {
    if (delay_ns) { // wait_for: the deadline counts from the start, as `async def wait_for` does
        when = loop_clock::time_point(std::chrono::nanoseconds(detail::saturating_add(
            get_running_loop().time().time_since_epoch().count(), *delay_ns)));
    }
    timeout_scope scope(when);
    scope.enter();
    detail::body_outcome<R> body_ended;
    try {
        if constexpr (std::is_void_v<R>) {
            co_await detail::invoke_timeout_body(body, scope);
            body_ended.result.emplace();
        } else {
            body_ended.result.emplace(co_await detail::invoke_timeout_body(body, scope));
        }
    } catch (const cancelled_error&) {
        body_ended.caught(true);
    } catch (...) {
        body_ended.caught(false);
    }
    if (scope.exit(body_ended.cancelled)) {
        throw timeout_error(""); // CPython: TimeoutError(), raised from the CancelledError
    }
    co_return body_ended.take();
}

/// `async with asyncio.timeout_at(when) as t: body`: runs `body(t)` (or `body()`), a callable
/// returning an awaitable (typically a coroutine lambda returning task<T>), inline in the calling
/// task, and returns what it gives. At `when` on the loop's clock the task is cancelled; if that
/// cancellation ends the body, timeout_error is raised instead (an outer timeout's or another
/// cancellation passes through). std::nullopt: no deadline (`reschedule` may set one). Any other
/// exception of the body propagates. Throws std::runtime_error("Timeout should be used inside a
/// task") outside a task. A body that never suspends is never interrupted, as in CPython.
/// Because C++ has no asynchronous destructors, the body is a callable and not a block.
template <class F>
    requires detail::timeout_body<F>
[[nodiscard("co_await the timeout")]] task<detail::timeout_body_result_t<F>>
timeout_at(std::optional<loop_clock::time_point> when, F body) {
    return detail_run_timeout<detail::timeout_body_result_t<F>>(when, std::move(body),
                                                                std::nullopt);
}

/// `async with asyncio.timeout(delay) as t: body`: timeout_at(loop.time() + delay, body); the
/// deadline is taken when the call is made (it needs a running loop).
template <class Rep, class Period, class F>
    requires detail::timeout_body<F>
[[nodiscard("co_await the timeout")]] task<detail::timeout_body_result_t<F>>
timeout(std::chrono::duration<Rep, Period> delay, F body) {
    const auto now = get_running_loop().time();
    const auto when = loop_clock::time_point(std::chrono::nanoseconds(
        detail::saturating_add(now.time_since_epoch().count(), detail::to_nanoseconds(delay))));
    return timeout_at(when, std::move(body));
}

/// `async with asyncio.timeout(None)`: no deadline until the body reschedules one.
template <class F>
    requires detail::timeout_body<F>
[[nodiscard("co_await the timeout")]] task<detail::timeout_body_result_t<F>> timeout(std::nullopt_t,
                                                                                     F body) {
    return timeout_at(std::nullopt, std::move(body));
}

namespace detail {

// wait_for's body: awaits the awaitable it holds (a member coroutine, so nothing dangles: the
// body object lives in the timeout's frame while its coroutine runs).
template <class V> struct await_body {
    V aw;
    task<await_result_t<V>> operator()() { co_return co_await std::move(aw); }
};

// wait_for with a deadline already passed: the awaitable runs as a task that is cancelled before
// it starts (a coroutine never runs) unless it is already done, and wait_for waits for it to end.
template <class A> task<await_result_t<A>> wait_for_expired(A aw) {
    event_loop& loop = get_running_loop();
    auto fut = ensure_future(std::move(aw), loop);
    if (!fut.done()) {
        // asyncio's _cancel_and_wait: a done callback releases a waiter future.
        future<void> waiter = loop.create_future<void>();
        const callback_id id = fut.add_done_callback([waiter]() mutable {
            if (!waiter.done()) {
                waiter.set_result();
            }
        });
        struct remove_callback {
            decltype(fut)& f;
            callback_id id;
            ~remove_callback() { f.remove_done_callback(id); }
        } guard{fut, id};
        fut.cancel();
        co_await waiter;
    }
    if (fut.cancelled()) {
        throw timeout_error("");
    }
    if constexpr (std::is_void_v<await_result_t<A>>) {
        fut.result();
    } else {
        co_return std::move(fut.result());
    }
}

} // namespace detail

/// asyncio.wait_for(aw, timeout) as in 3.12+: `co_await aw` under a timeout, inline in the calling
/// task. On expiry the work is cancelled and awaited until it ends (its cleanup runs), then
/// timeout_error is raised; if it swallowed the cancellation and returned a value, that value is
/// returned. The deadline counts from when the wait_for starts running (it needs no running loop
/// when called, as `async def wait_for` does not). A timeout of zero or less never starts a
/// coroutine: the awaitable runs as a task,
/// cancelled before its first step unless it is already done. Cancelling the caller cancels the
/// work too.
template <class A, class Rep, class Period>
    requires awaitable<A> && std::move_constructible<std::remove_cvref_t<A>>
[[nodiscard("co_await the wait_for")]] task<await_result_t<std::remove_cvref_t<A>>>
wait_for(A&& aw, std::chrono::duration<Rep, Period> timeout_) {
    using V = std::remove_cvref_t<A>;
    if (detail::to_nanoseconds(timeout_) <= 0) {
        return detail::wait_for_expired(V(std::forward<A>(aw)));
    }
    return detail_run_timeout<await_result_t<V>>(std::nullopt,
                                                 detail::await_body<V>{V(std::forward<A>(aw))},
                                                 detail::to_nanoseconds(timeout_));
}

} // namespace asyncio
