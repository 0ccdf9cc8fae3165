// SPDX-License-Identifier: MIT
// Semaphore's algorithm (asyncio.Semaphore without release()), shared by semaphore and
// bounded_semaphore.
#pragma once

#include <asyncio/detail/sync_waiter.hpp>
#include <asyncio/detail/task_core.hpp>

#include <coroutine>
#include <cstddef>
#include <stdexcept>

namespace asyncio::detail {

namespace repr {
struct peek;
}

/// Semaphore's algorithm; `semaphore` and `bounded_semaphore` differ in release().
class semaphore_base {
public:
    semaphore_base(const semaphore_base&) = delete;
    semaphore_base& operator=(const semaphore_base&) = delete;

    /// Semaphore.locked(): the value is 0 or some waiter is not cancelled.
    [[nodiscard]] bool locked() {
        if (value_ == 0) {
            return true;
        }
        bool any = false;
        waiters_.for_each(
            [&](sync_waiter& w) { any = any || w.st != sync_waiter::state::cancelled; });
        return any;
    }

    /// The counter (Python's `_value`).
    [[nodiscard]] std::ptrdiff_t value() const noexcept { return value_; }

    class acquire_awaiter : private sync_waiter {
    public:
        explicit acquire_awaiter(semaphore_base* s) noexcept : s_(s) {}
        [[nodiscard]] bool await_ready() {
            if (!s_->locked()) {
                --s_->value_;
                return true;
            }
            return false;
        }
        template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
            park(s_->waiters_, h);
        }
        void await_resume() {
            if (root == nullptr) {
                return;
            }
            resume_checks();
            const bool cancelled = root->cancel_delivery_pending();
            if (cancelled && st == state::woken) {
                ++s_->value_; // woken, then cancelled: give the unit back
            }
            while (s_->value_ > 0 && s_->wake_up_next()) {
            }
            if (cancelled) {
                root->throw_if_cancel_delivered();
            }
        }

    private:
        semaphore_base* s_;
    };

protected:
    explicit semaphore_base(std::ptrdiff_t value) : value_(value) {
        if (value < 0) {
            throw std::invalid_argument("Semaphore initial value must be >= 0");
        }
    }
    ~semaphore_base() = default;

    void release_one() {
        ++value_;
        (void)wake_up_next();
    }

private:
    friend struct repr::peek; // the debug strings (repr.hpp) read the waiters
    // Semaphore._wake_up_next: the first waiter that is not done takes a unit.
    bool wake_up_next() {
        bool woke = false;
        waiters_.for_each([&](sync_waiter& w) {
            if (!woke && !w.done()) {
                --value_;
                w.wake();
                woke = true;
            }
        });
        return woke;
    }

    sync_list waiters_;
    std::ptrdiff_t value_;
};

} // namespace asyncio::detail
