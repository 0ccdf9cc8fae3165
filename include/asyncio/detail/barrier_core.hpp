// SPDX-License-Identifier: MIT
// Barrier's state and its wait, reset and abort as plain awaiters over a condition's machinery.
#pragma once

#include <asyncio/exceptions.hpp>

#include <asyncio/detail/condition_wait.hpp>
#include <asyncio/detail/lock_core.hpp>
#include <asyncio/detail/sync_waiter.hpp>
#include <asyncio/detail/task_core.hpp>

#include <coroutine>
#include <cstddef>
#include <stdexcept>

namespace asyncio::detail {

/// asyncio.Barrier's state: a condition (its lock and waiters), the parties, the count and the
/// state (filling, draining, resetting, broken). `barrier` adds wait(), reset() and abort().
class barrier_core {
public:
    barrier_core(const barrier_core&) = delete;
    barrier_core& operator=(const barrier_core&) = delete;

    class wait_awaiter;
    class change_awaiter;

    /// Barrier.parties.
    [[nodiscard]] std::ptrdiff_t parties() const noexcept { return parties_; }
    /// Barrier.n_waiting: the tasks waiting in the filling state, else 0.
    [[nodiscard]] std::ptrdiff_t n_waiting() const noexcept {
        return state_ == barrier_state::filling ? count_ : 0;
    }
    /// Barrier.broken.
    [[nodiscard]] bool broken() const noexcept { return state_ == barrier_state::broken; }

protected:
    /// std::invalid_argument("parties must be > 0") when `parties < 1`.
    explicit barrier_core(std::ptrdiff_t parties) : parties_(parties) {
        if (parties < 1) {
            throw std::invalid_argument("parties must be > 0");
        }
    }
    ~barrier_core() = default;

private:
    friend struct repr::peek; // the debug strings (repr.hpp) read the state

    enum class barrier_state : unsigned char { filling, draining, resetting, broken };
    struct cond_lock final : lock_core {};

    // Barrier._exit: the last task to leave ends the draining or resetting.
    void exit() {
        if (count_ == 0) {
            if (state_ == barrier_state::resetting || state_ == barrier_state::draining) {
                state_ = barrier_state::filling;
            }
            notify_all();
        }
    }
    // self._cond.notify_all(), always with the lock held.
    void notify_all() { notify_waiters(cond_waiters_, cond_waiters_.size()); }

    cond_lock lock_;
    sync_list cond_waiters_;
    std::ptrdiff_t parties_;
    barrier_state state_ = barrier_state::filling;
    std::ptrdiff_t count_ = 0;
};

/// barrier::wait_awaiter, the awaiter of barrier::wait(): Barrier.wait as a state machine. `async
/// with cond` (a Lock.acquire), `_block` (cond.wait_for while draining or resetting), the count,
/// then `_release` or `_wait` (cond.wait_for while filling), the `finally` (count, `_exit`) and the
/// lock's release. Between two waits it runs at the start of the task's step without resuming the
/// coroutine; the coroutine resumes once, when the wait returns or raises.
class barrier_core::wait_awaiter : private condition_wait_base {
public:
    explicit wait_awaiter(barrier_core* b) noexcept
        : condition_wait_base(&b->lock_, &b->cond_waiters_), b_(b) {
        recheck = &step;
    }

    [[nodiscard]] bool await_ready() {
        if (!try_take_lock()) {
            return false;
        }
        held_ = true;
        phase_ = phase::blocking;
        return run();
    }
    template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
        if (phase_ == phase::acquiring) {
            park_on_lock(h);
        } else {
            root = root_of(h);
            handle = h;
            wait_for_notify();
        }
    }

    std::ptrdiff_t await_resume() {
        if (root != nullptr && phase_ == phase::acquiring) {
            // Lock.acquire raised (cancelled while waiting, or woken then cancelled).
            resume_checks();
            pass_lock_on();
            root->throw_if_cancel_delivered();
        }
        if (root != nullptr && phase_ != phase::finished) {
            // A condition wait ended with a cancellation (the lock is held again) or the
            // barrier died.
            unlink();
            if (gone) {
                root->throw_if_cancel_delivered();
                throw std::runtime_error("the synchronisation primitive was destroyed while a "
                                         "task was waiting on it");
            }
            const bool counted = phase_ == phase::filling;
            if (root->cancel_delivery_pending()) {
                leave(counted);
                root->throw_if_cancel_delivered();
            }
            raise_cancel_ = false;
            notify_one(); // Condition.wait's `except BaseException: self._notify(1)`
            leave(counted);
            throw cancelled_error(root->cancel_message());
        }
        switch (outcome_) {
        case outcome::aborted:
            throw broken_barrier_error("Barrier aborted");
        case outcome::reset:
            throw broken_barrier_error("Abort or reset of barrier");
        case outcome::index:
            break;
        }
        return index_;
    }

private:
    enum class phase : unsigned char { acquiring, blocking, filling, finished };
    enum class outcome : unsigned char { index, aborted, reset };

    // At the start of the step after a wake-up: the end of Lock.acquire, or of a Condition.wait
    // (re-acquiring the lock first); then Barrier.wait goes on. False: waits again.
    static bool step(void* ctx, task_core&) {
        auto* self = static_cast<wait_awaiter*>(static_cast<sync_waiter*>(ctx));
        if (self->phase_ == phase::acquiring) {
            self->unlink();
            if (self->gone) {
                return true;
            }
            self->take_lock();
            self->phase_ = phase::blocking;
        } else {
            if (!self->advance()) {
                return false;
            }
            if (self->gone || self->raise_cancel_) {
                self->held_ = !self->gone;
                return true;
            }
        }
        self->held_ = true;
        return self->run();
    }

    // Barrier.wait from where it stands, with the lock held: true when it returned or raised
    // (the lock released), false when it waits for a notify (the lock released too).
    bool run() {
        barrier_core& b = *b_;
        if (phase_ == phase::blocking) {
            if (b.state_ == barrier_state::draining || b.state_ == barrier_state::resetting) {
                wait_for_notify();
                return false;
            }
            if (b.state_ == barrier_state::broken) {
                finish(outcome::aborted, false);
                return true;
            }
            index_ = b.count_++;
            if (index_ + 1 == b.parties_) {
                b.state_ = barrier_state::draining;
                b.notify_all();
                finish(outcome::index, true);
                return true;
            }
            phase_ = phase::filling;
        }
        if (b.state_ == barrier_state::filling) {
            wait_for_notify();
            return false;
        }
        const bool broke =
            b.state_ == barrier_state::broken || b.state_ == barrier_state::resetting;
        finish(broke ? outcome::reset : outcome::index, true);
        return true;
    }

    // Condition.wait: releases the lock and joins the condition's waiters. Before the first
    // suspension (from await_ready) the task is not known yet: await_suspend does it.
    void wait_for_notify() {
        if (root != nullptr) {
            held_ = false;
            wait_again();
        }
    }

    void finish(outcome o, bool counted) {
        outcome_ = o;
        phase_ = phase::finished;
        leave(counted);
    }

    // The `finally` of Barrier.wait (when the count was taken), then `async with`'s release.
    void leave(bool counted) {
        if (counted) {
            --b_->count_;
            b_->exit();
        }
        if (held_) {
            held_ = false;
            b_->lock_.release();
        }
    }

    barrier_core* b_;
    std::ptrdiff_t index_ = 0;
    phase phase_ = phase::acquiring;
    outcome outcome_ = outcome::index;
    bool held_ = false;
};

/// barrier::change_awaiter, the awaiter of barrier::reset() and abort(): `async with cond:` around
/// a state change and a notify_all, so it suspends only to acquire the lock.
class barrier_core::change_awaiter : public lock_core::acquire_awaiter {
public:
    change_awaiter(barrier_core* b, bool abort) noexcept
        : lock_core::acquire_awaiter(&b->lock_), b_(b), abort_(abort) {}

    void await_resume() {
        lock_core::acquire_awaiter::await_resume();
        if (abort_) {
            b_->state_ = barrier_state::broken;
        } else if (b_->count_ > 0) {
            b_->state_ = barrier_state::resetting;
        } else {
            b_->state_ = barrier_state::filling;
        }
        b_->notify_all();
        b_->lock_.release();
    }

private:
    barrier_core* b_;
    bool abort_;
};

} // namespace asyncio::detail
