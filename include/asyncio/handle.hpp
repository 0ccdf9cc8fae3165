// SPDX-License-Identifier: MIT
// The loop's clock and the handles of scheduled callbacks (asyncio.Handle, asyncio.TimerHandle).
#pragma once

#include <asyncio/config.hpp>

#include <asyncio/detail/context_core.hpp>
#include <asyncio/detail/loop_core.hpp>

#include <chrono>
#include <cstdint>
#include <ratio>
#include <type_traits>
#include <utility>

namespace asyncio {

/// The clock of the running loop: integer nanosecond ticks from an arbitrary origin (0 for the
/// virtual clock), so virtual-time tests compare times exactly.
struct loop_clock {
    using rep = std::int64_t;
    using period = std::nano;
    using duration = std::chrono::nanoseconds;
    using time_point = std::chrono::time_point<loop_clock>;
    static constexpr bool is_steady = true;
    /// `get_running_loop().time()`; throws std::runtime_error when no loop is running.
    static time_point now();
};

namespace detail {

/// A callback scheduled by call_soon / call_later / call_at. The loop holds one reference while it
/// is scheduled, each handle one more.
struct callback_node : timer_entry {
    int refs = 1;
    bool cancelled = false;
    loop_core* loop = nullptr;
    /// The context the callback runs in (contextvars): a copy of the one current when it was
    /// scheduled, or the one given; null for an empty one.
    context_data* ctx = nullptr;
    void (*invoke)(callback_node*) = nullptr;
    void (*destroy)(callback_node*) noexcept = nullptr;

    void add_ref() noexcept { ++refs; }
    void release() noexcept {
        if (--refs == 0) {
            context_release(ctx);
            destroy(this);
        }
    }
    /// Calls the callback in its context.
    void run_in_context() {
        const context_scope in_context(ctx);
        invoke(this);
    }
    /// The ready-queue entry: run unless cancelled, then drop the loop's reference.
    static void ready_fn(void* p, bool run) {
        auto* n = static_cast<callback_node*>(static_cast<timer_entry*>(p));
        n->state = timer_state::fired;
        struct releaser {
            callback_node* n;
            ~releaser() { n->release(); }
        } guard{n};
        if (run && !n->cancelled) {
            n->run_in_context();
        }
    }
};

template <class F> struct callback_impl final : callback_node {
    explicit callback_impl(F&& fn) : f(std::move(fn)) {
        run = &callback_node::ready_fn;
        invoke = [](callback_node* n) { static_cast<callback_impl*>(n)->f(); };
        destroy = [](callback_node* n) noexcept { delete static_cast<callback_impl*>(n); };
    }
    F f;
};

/// A callback node for `f`, to run in `ctx` (a reference is taken) or, when null, in a copy of the
/// current context (Python's Handle with context=None).
template <class F>
callback_node* make_callback(loop_core& loop, F&& f, context_data* ctx = nullptr) {
    using fn_t = std::decay_t<F>;
    static_assert(std::is_invocable_v<fn_t&>, "callbacks are called with no arguments");
    if (ctx != nullptr) {
        ctx->add_ref();
    } else {
        ctx = context_copy_current();
    }
    callback_node* n = nullptr;
    try {
        n = new callback_impl<fn_t>(fn_t(std::forward<F>(f)));
    } catch (...) {
        context_release(ctx);
        throw;
    }
    n->loop = &loop;
    n->ctx = ctx;
    return n;
}

} // namespace detail

/// asyncio.Handle: returned by `call_soon`; `cancel()` keeps the callback from running.
class handle {
public:
    handle() noexcept = default;
    explicit handle(detail::callback_node* n) noexcept : node_(n) {
        if (node_ != nullptr) {
            node_->add_ref();
        }
    }
    handle(const handle& o) noexcept : handle(o.node_) {}
    handle(handle&& o) noexcept : node_(std::exchange(o.node_, nullptr)) {}
    handle& operator=(handle o) noexcept {
        std::swap(node_, o.node_);
        return *this;
    }
    ~handle() {
        if (node_ != nullptr) {
            node_->release();
        }
    }

    /// Cancels the callback if it has not run yet. A pending timer leaves the timers at once (its
    /// callback is released), so a million cancelled timers are not kept until their deadlines.
    void cancel() noexcept {
        if (node_ == nullptr || node_->cancelled) {
            return;
        }
        node_->cancelled = true;
        if (node_->state == detail::timer_state::in_heap) {
            node_->loop->cancel_timer(*node_);
            node_->release(); // the heap's reference
        }
    }
    [[nodiscard]] bool cancelled() const noexcept { return node_ != nullptr && node_->cancelled; }
    explicit operator bool() const noexcept { return node_ != nullptr; }

protected:
    detail::callback_node* node_ = nullptr;
};

/// asyncio.TimerHandle: returned by `call_later` / `call_at`.
class timer_handle : public handle {
public:
    using handle::handle;
    /// The deadline on the loop's clock.
    [[nodiscard]] loop_clock::time_point when() const noexcept {
        return loop_clock::time_point(std::chrono::nanoseconds(node_ != nullptr ? node_->when : 0));
    }
};

} // namespace asyncio
