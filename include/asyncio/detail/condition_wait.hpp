// SPDX-License-Identifier: MIT
// Condition.wait and wait_for as plain awaiters: the machinery of condition and barrier.
#pragma once

#include <asyncio/exceptions.hpp>

#include <asyncio/detail/lock_core.hpp>
#include <asyncio/detail/sync_waiter.hpp>
#include <asyncio/detail/task_core.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace asyncio::detail {

template <class P> struct pred_result {
    using type = std::decay_t<std::invoke_result_t<P&>>;
};
template <> struct pred_result<void> {
    using type = void;
};

/// Condition._notify(n): wakes up to `n` waiters that are not done, in FIFO order.
inline void notify_waiters(sync_list& waiters, std::size_t n) {
    std::size_t idx = 0;
    waiters.for_each([&](sync_waiter& w) {
        if (idx < n && !w.done()) {
            ++idx;
            w.wake();
        }
    });
}

/// The part of condition's wait awaiters that does not depend on the predicate.
class condition_wait_base : protected sync_waiter {
public:
    condition_wait_base(lock_core* l, sync_list* waiters) noexcept : l_(l), waiters_(waiters) {}

protected:
    // Condition.wait up to `await fut`: release the lock, join the waiters.
    void check_locked() const {
        if (!l_->locked()) {
            throw std::runtime_error("cannot wait on un-acquired lock");
        }
    }
    template <class Promise> void begin(std::coroutine_handle<Promise> h) {
        root = root_of(h);
        handle = h;
        wait_again();
    }
    // The same once `root` and `handle` are known.
    void wait_again() {
        after_wake = &on_cancel;
        l_->release();
        wait_notify();
    }

    // Lock.acquire, for the barrier's `async with cond`: its fast path; its wait, from which a
    // cancel raises (before or after the wake-up) without the lock; its end; and, when it raises,
    // the wake-up passed on.
    [[nodiscard]] bool try_take_lock() {
        if (l_->can_take()) {
            l_->locked_ = true;
            return true;
        }
        return false;
    }
    template <class Promise> void park_on_lock(std::coroutine_handle<Promise> h) {
        after_wake = nullptr;
        park(l_->waiters_, h);
    }
    void take_lock() noexcept { l_->locked_ = true; }
    void pass_lock_on() {
        if (!l_->locked_) {
            l_->wake_up_first();
        }
    }
    void wait_notify() {
        in_lock_phase_ = false;
        st = state::waiting;
        waiters_->push_back(*this);
        root->suspend(handle, cancel_hook{&on_cancel, static_cast<sync_waiter*>(this)}, recheck);
    }

    // At the step after a wake-up: the `finally` of Condition.wait (re-acquire, retrying after
    // each cancellation) or, in the lock phase, the end of one Lock.acquire. Returns true when
    // the coroutine may resume (the lock is held, or the primitive died).
    bool advance() {
        if (gone) {
            return true;
        }
        unlink();
        if (in_lock_phase_ && !round_cancelled_) {
            l_->locked_ = true;
            return true;
        }
        if (in_lock_phase_) {
            round_cancelled_ = false;
            if (!l_->locked_) {
                l_->wake_up_first();
            }
        }
        in_lock_phase_ = true;
        if (l_->can_take()) {
            l_->locked_ = true;
            return true;
        }
        st = state::waiting;
        l_->waiters_.push_back(*this);
        root->suspend(handle, cancel_hook{&on_cancel, static_cast<sync_waiter*>(this)}, recheck);
        return false;
    }

    // After the lock is held again: Condition.wait's `except BaseException: _notify(1); raise`.
    void finish_wait() {
        unlink();
        if (gone) {
            root->throw_if_cancel_delivered();
            throw std::runtime_error("the synchronisation primitive was destroyed while a task "
                                     "was waiting on it");
        }
        root->throw_if_cancel_delivered();
        if (raise_cancel_) {
            raise_cancel_ = false;
            notify_one();
            throw cancelled_error(root->cancel_message());
        }
    }
    void notify_one() { notify_waiters(*waiters_, 1); }

    // task.cancel() during the wait: the cancellation is caught by the wait itself (which first
    // re-acquires the lock), so the hook accepts it and the step runs advance().
    static bool on_cancel(void* ctx, task_core& t) {
        auto* self = static_cast<condition_wait_base*>(static_cast<sync_waiter*>(ctx));
        self->raise_cancel_ = true;
        if (self->in_lock_phase_) {
            self->round_cancelled_ = true;
        }
        if (self->st == state::waiting) {
            self->st = state::cancelled;
            t.wake();
            t.suspend(self->handle, cancel_hook{&on_cancel, static_cast<sync_waiter*>(self)},
                      self->recheck);
        }
        return true;
    }

    lock_core* l_;
    sync_list* waiters_;
    bool in_lock_phase_ = false;
    bool round_cancelled_ = false;
    bool raise_cancel_ = false;
};

/// condition::wait_awaiter<Pred>, the awaiter of Condition.wait() (Pred = void) and
/// wait_for(pred): a state machine that waits to be notified, then re-acquires the lock (again and
/// again if cancelled meanwhile), and for wait_for waits again while the predicate is false, all
/// without resuming the coroutine.
template <class Pred> class condition_wait : private condition_wait_base {
    static constexpr bool plain = std::is_void_v<Pred>;
    struct no_pred {};
    using pred_t = std::conditional_t<plain, no_pred, Pred>;
    struct no_result {};
    using slot_t = std::conditional_t<plain, no_result, typename pred_result<Pred>::type>;

public:
    condition_wait(lock_core* l, sync_list* waiters, pred_t pred)
        : condition_wait_base(l, waiters), pred_(std::move(pred)) {
        recheck = &step;
    }

    [[nodiscard]] bool await_ready() {
        if constexpr (!plain) {
            result_.emplace(pred_());
            if (static_cast<bool>(*result_)) {
                return true;
            }
        }
        check_locked();
        return false;
    }
    template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) { begin(h); }

    decltype(auto) await_resume() {
        if constexpr (plain) {
            if (root != nullptr) {
                finish_wait();
            }
        } else {
            if (root != nullptr) {
                finish_wait();
                if (error_) {
                    std::rethrow_exception(error_);
                }
            }
            if (!result_.has_value()) { // cannot happen: the wait ended with the predicate true
                throw std::logic_error("condition.wait_for: no predicate value");
            }
            return std::move(*result_);
        }
    }

private:
    static bool step(void* ctx, task_core&) {
        auto* self = static_cast<condition_wait*>(static_cast<sync_waiter*>(ctx));
        if (!self->advance()) {
            return false;
        }
        if constexpr (!plain) {
            // wait_for's loop: with the lock held, re-evaluate and wait again while false.
            if (!self->gone && !self->raise_cancel_) {
                try {
                    self->result_.emplace(self->pred_());
                    if (!static_cast<bool>(*self->result_)) {
                        self->l_->release();
                        self->wait_notify();
                        return false;
                    }
                } catch (...) {
                    self->error_ = std::current_exception();
                }
            }
        }
        return true;
    }

    [[no_unique_address]] pred_t pred_;
    [[no_unique_address]] std::conditional_t<plain, no_result, std::optional<slot_t>> result_;
    std::exception_ptr error_;
};

} // namespace asyncio::detail
