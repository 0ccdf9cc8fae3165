// SPDX-License-Identifier: MIT
// Lock's algorithm (asyncio.Lock without the guard), shared by lock, condition and barrier.
#pragma once

#include <asyncio/detail/sync_waiter.hpp>
#include <asyncio/detail/task_core.hpp>

#include <coroutine>
#include <stdexcept>

namespace asyncio::detail {

class condition_wait_base;
class barrier_core;
namespace repr {
struct peek;
}

/// asyncio.Lock: not reentrant, FIFO, no barging (a newcomer queues behind a woken waiter).
/// `lock` adds the guard; a condition's and a barrier's awaiters reach into it as locks.py's
/// Condition and Barrier do with their Lock.
class lock_core {
public:
    lock_core() = default;
    lock_core(const lock_core&) = delete;
    lock_core& operator=(const lock_core&) = delete;

    /// Lock.locked(). Reads false between a release and the woken waiter's step, yet an acquire
    /// then still waits (the woken waiter is first).
    [[nodiscard]] bool locked() const noexcept { return locked_; }

    /// Lock.release(): std::runtime_error("Lock is not acquired.") when unlocked.
    void release() {
        if (!locked_) {
            throw std::runtime_error("Lock is not acquired.");
        }
        locked_ = false;
        wake_up_first();
    }

    /// `co_await l.acquire()`: no suspension if unlocked and no waiter is left that is not
    /// cancelled; otherwise waits in FIFO order.
    class acquire_awaiter : private sync_waiter {
    public:
        explicit acquire_awaiter(lock_core* l) noexcept : l_(l) {}
        [[nodiscard]] bool await_ready() noexcept {
            if (l_->can_take()) {
                l_->locked_ = true;
                return true;
            }
            return false;
        }
        template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
            park(l_->waiters_, h);
        }
        void await_resume() {
            if (root == nullptr) {
                return;
            }
            resume_checks();
            if (root->cancel_delivery_pending()) {
                if (!l_->locked_) {
                    l_->wake_up_first(); // woken, then cancelled: pass the wake-up on
                }
                root->throw_if_cancel_delivered();
            }
            l_->locked_ = true;
        }

    private:
        lock_core* l_;
    };

protected:
    ~lock_core() = default;

private:
    friend class condition_wait_base;
    friend struct repr::peek; // the debug strings (repr.hpp) read the waiters
    friend class barrier_core;

    [[nodiscard]] bool can_take() { return !locked_ && waiters_.all_cancelled(); }

    // Lock._wake_up_first: only the first waiter, and only if it is not done.
    void wake_up_first() {
        if (!waiters_.empty()) {
            sync_waiter& w = waiters_.front();
            if (!w.done()) {
                w.wake();
            }
        }
    }

    sync_list waiters_;
    bool locked_ = false;
};

} // namespace asyncio::detail
