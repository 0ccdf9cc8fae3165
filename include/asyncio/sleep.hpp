// SPDX-License-Identifier: MIT
// sleep(duration): asyncio.sleep as a plain awaiter on the loop's timer heap, no frame allocated.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/loop.hpp>

#include <asyncio/detail/task_core.hpp>
#include <asyncio/detail/time.hpp>
#include <asyncio/detail/timer_heap.hpp>

#include <chrono>
#include <coroutine>
#include <cstdint>

namespace asyncio {

namespace detail {

/// Lives in the awaiting frame; its timer entry is in the loop's timers while it sleeps.
class sleep_awaiter : private timer_entry {
public:
    explicit sleep_awaiter(std::int64_t delay_ns) noexcept : delay_(delay_ns) { run = &expired; }
    /// Copied only before it is awaited (while its timer entry is idle).
    sleep_awaiter(const sleep_awaiter&) noexcept = default;
    sleep_awaiter& operator=(const sleep_awaiter&) = delete;
    ~sleep_awaiter() {
        if (loop_ != nullptr) {
            // The frame is destroyed while asleep (its loop is closing): unlink the timer.
            loop_->cancel_timer(*this);
        }
    }

    [[nodiscard]] bool await_ready() const noexcept { return false; }

    template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
        root_ = root_of(h);
        if (delay_ <= 0) {
            // asyncio.sleep(0): one bare yield, to the back of the ready queue; no timer.
            root_->yield_now(h);
            return;
        }
        arm(h);
    }

    void await_resume() { root_->throw_if_cancel_delivered(); }

private:
    // A positive delay: the timer goes into the loop's heap (kept out of line, so that sleep(0)
    // stays a few instructions).
    ASYNCIO_NOINLINE void arm(std::coroutine_handle<> h) {
        loop_ = &root_->loop().core();
        loop_->add_timer(*this, saturating_add(loop_->now(), delay_));
        root_->suspend(h, cancel_hook{&on_cancel, this});
    }

    // The timer expired and ran from the ready queue: wake the task for the next iteration,
    // which is CPython's two stages (timer callback resolves the future, the task runs later).
    static void expired(void* p, bool run) {
        auto* self = static_cast<sleep_awaiter*>(static_cast<timer_entry*>(p));
        self->state = timer_state::fired;
        if (run) {
            self->root_->wake();
        }
    }

    // Cancel while asleep: the timer goes (from the heap, or from the ready queue if it already
    // expired) and the task resumes next iteration with cancelled_error.
    static bool on_cancel(void* ctx, task_core& t) {
        auto* self = static_cast<sleep_awaiter*>(ctx);
        if (!self->loop_->cancel_timer(*self)) {
            return false;
        }
        t.deliver_cancel();
        t.wake();
        return true;
    }

    std::int64_t delay_;
    task_core* root_ = nullptr;
    loop_core* loop_ = nullptr;
};

} // namespace detail

/// asyncio.sleep(delay): suspends the calling task for `delay` (any std::chrono duration). Zero or
/// negative delays yield exactly once (the task goes to the back of the ready queue); positive
/// ones resume one iteration after the timer expires, as in CPython. The deadline is taken when
/// the sleep is awaited. Cancelling the task removes its timer. A NaN delay throws
/// std::invalid_argument("Invalid delay: NaN (not a number)") at the call. No allocation.
template <class Rep, class Period>
[[nodiscard("co_await the sleep")]] detail::sleep_awaiter
sleep(std::chrono::duration<Rep, Period> delay) {
    return detail::sleep_awaiter(detail::to_nanoseconds(delay));
}

} // namespace asyncio
