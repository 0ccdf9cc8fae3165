// SPDX-License-Identifier: MIT
// future<T> (asyncio.Future): a result slot completed by callback-based code and awaited by tasks.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/loop.hpp>

#include <asyncio/detail/future_state.hpp>
#include <asyncio/detail/ref_ptr.hpp>
#include <asyncio/detail/state_awaiter.hpp>
#include <asyncio/detail/value_slot.hpp>

#include <cstddef>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>

namespace asyncio {

namespace detail {

template <class T> class future_state final : public future_state_base, public pooled {
public:
    explicit future_state(event_loop& loop) noexcept : future_state_base(loop, &ops_table, false) {}
    future_state(const future_state&) = delete;
    future_state& operator=(const future_state&) = delete;

    value_slot<T>& slot() noexcept { return slot_; }

    /// Future.cancel(msg): false when already done.
    bool cancel(const std::string& msg) {
        mark_retrieved();
        if (done()) {
            return false;
        }
        if (loop().core().cancel_walking) {
            // Part of a cancellation walking down a chain: applied in the walk's order.
            task_core::request_cancel(*this, msg);
        } else {
            complete_cancelled(msg);
        }
        return true;
    }

private:
    ~future_state() = default;

    static future_state* self(state_link* l) noexcept {
        return static_cast<future_state*>(static_cast<future_state_base*>(l));
    }
    static void destroy(state_link* l) noexcept { delete self(l); }
    static bool cancel_entry(state_link* l, const std::string& msg) { return self(l)->cancel(msg); }

    static constexpr state_ops ops_table{&future_state::loop_closed, nullptr,
                                         &future_state::destroy, nullptr,
                                         &future_state::cancel_entry};

    value_slot<T> slot_;
};

/// Calls a done callback with the handle if it takes one, else with no argument.
template <class Handle, class F> void invoke_done_callback(F& f, Handle& h) {
    if constexpr (std::is_invocable_v<F&, Handle&>) {
        f(h);
    } else {
        static_assert(std::is_invocable_v<F&>,
                      "a done callback takes the future or task handle, or nothing");
        f();
    }
}

} // namespace detail

/// asyncio.Future: completed by `set_result` / `set_exception` / `cancel`, typically from callback
/// code, and awaited by any number of tasks. Copies share one state. Create with
/// `loop.create_future<T>()`. Awaiters resume in the iteration after completion; awaiting a done
/// future does not suspend. A default-constructed (or moved-from) future is empty: every operation
/// on it throws invalid_state_error.
template <class T> class future {
public:
    using value_type = T;

    future() noexcept = default;
    explicit future(event_loop& loop) : s_(new detail::future_state<T>(loop)) {}

    [[nodiscard]] bool done() const { return state().done(); }
    [[nodiscard]] bool cancelled() const { return state().cancelled(); }
    explicit operator bool() const noexcept { return static_cast<bool>(s_); }

    /// Future.set_result: invalid_state_error when already done.
    template <class... Args> void set_result(Args&&... args) {
        check_settable();
        s_->slot().emplace(std::forward<Args>(args)...);
        s_->complete_result();
    }
    /// Future.set_exception: invalid_state_error when already done.
    void set_exception(std::exception_ptr e) {
        if (!e) {
            throw std::invalid_argument("set_exception needs an exception");
        }
        check_settable();
        s_->complete_exception(std::move(e));
    }
    /// Future.cancel(msg): true if the future was pending and is now cancelled.
    bool cancel(const std::string& msg = {}) { return state().cancel(msg); }

    /// Future.result(): the value (a reference into the shared state; void for void). Pending:
    /// invalid_state_error("Result is not set."); cancelled: cancelled_error; failed: rethrows.
    decltype(auto) result() { return detail::result_ref(state(), state().slot()); }
    /// Future.exception(): the exception or null. Pending: invalid_state_error; cancelled:
    /// cancelled_error.
    [[nodiscard]] std::exception_ptr exception() { return state().exception(); }

    /// Future.add_done_callback: `f(future<T>&)` (or `f()`) runs through call_soon after
    /// completion, in registration order. Returns the id `remove_done_callback` takes.
    template <class F> callback_id add_done_callback(F f) {
        return state().add_callback([fn = std::move(f)](detail::future_state_base* b) mutable {
            future h(static_cast<detail::future_state<T>*>(b));
            detail::invoke_done_callback(fn, h);
        });
    }
    /// Future.remove_done_callback: the number of callbacks removed (0 or 1).
    std::size_t remove_done_callback(callback_id id) { return state().remove_callback(id); }

    /// `co_await fut` gives a copy of the result; `co_await std::move(fut)` moves it out. Awaiting
    /// a pending future of another loop throws std::runtime_error; an empty one,
    /// invalid_state_error.
    auto operator co_await() & { return detail::state_awaiter<state_type, false>(&state()); }
    auto operator co_await() && { return detail::state_awaiter<state_type, true>(&state()); }

    friend bool operator==(const future& a, const future& b) noexcept { return a.s_ == b.s_; }

private:
    using state_type = detail::future_state<T>;
    friend struct detail::state_access;
    explicit future(state_type* s) noexcept : s_(s) {}

    /// The state, or invalid_state_error for an empty future.
    [[nodiscard]] state_type& state() const {
        if (!s_) {
            throw invalid_state_error(
                "empty future (default-constructed or moved-from): it refers to no future");
        }
        return *s_;
    }

    void check_settable() const {
        if (state().done()) {
            throw invalid_state_error("invalid state: the future is already done");
        }
        (void)s_->loop();
    }

    detail::ref_ptr<state_type> s_;
};

template <class T> future<T> event_loop::create_future() {
    return future<T>(*this);
}

/// asyncio.ensure_future for a future: the future itself.
template <class T> future<T> ensure_future(future<T> f, event_loop&) noexcept {
    return f;
}

} // namespace asyncio
