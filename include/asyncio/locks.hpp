// SPDX-License-Identifier: MIT
// event, lock, semaphore, bounded_semaphore, condition and barrier: asyncio's locks.py.
#pragma once

#include <asyncio/awaitable.hpp>
#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>

#include <asyncio/detail/barrier_core.hpp>
#include <asyncio/detail/condition_wait.hpp>
#include <asyncio/detail/lock_core.hpp>
#include <asyncio/detail/semaphore_core.hpp>
#include <asyncio/detail/sync_waiter.hpp>
#include <asyncio/detail/task_core.hpp>

#include <coroutine>
#include <cstddef>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace asyncio {

namespace detail::repr {
struct peek;
}

/// What `co_await x.acquire_guard()` returns (Python's `async with x:`): releases the lock or
/// semaphore when it goes out of scope, or earlier with `release()`. Move-only. If the primitive
/// was released behind the guard's back, the destructor does nothing (it cannot throw).
template <class L> class guard {
public:
    explicit guard(L& l) noexcept : l_(&l) {}
    guard(guard&& o) noexcept : l_(std::exchange(o.l_, nullptr)) {}
    guard& operator=(guard&& o) noexcept {
        if (this != &o) {
            reset();
            l_ = std::exchange(o.l_, nullptr);
        }
        return *this;
    }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    ~guard() { reset(); }

    /// Releases now (may throw what the primitive's `release()` throws).
    void release() { std::exchange(l_, nullptr)->release(); }
    /// True until released.
    [[nodiscard]] bool owns() const noexcept { return l_ != nullptr; }

private:
    void reset() noexcept {
        if (l_ != nullptr) {
            try {
                std::exchange(l_, nullptr)->release();
                // NOLINTNEXTLINE(bugprone-empty-catch): released behind the guard's back (a
            } catch (...) { // destructor cannot throw, and there is nothing left to undo)
            }
        }
    }
    L* l_;
};

/// Wraps an acquire awaiter so that the await gives a `guard<L>`.
template <class L, class Acquire> class guard_awaiter : public Acquire {
public:
    guard_awaiter(L& l, Acquire a) noexcept : Acquire(std::move(a)), l_(&l) {}
    guard<L> await_resume() {
        Acquire::await_resume();
        return guard<L>(*l_);
    }

private:
    L* l_;
};

/// asyncio.Event: a flag that tasks wait for. `set()` wakes every waiter, in wait order.
class event {
public:
    event() = default;
    event(const event&) = delete;
    event& operator=(const event&) = delete;

    /// Event.is_set().
    [[nodiscard]] bool is_set() const noexcept { return value_; }

    /// Event.set(): if unset, sets the flag and wakes every waiter (each resumes next iteration).
    void set() {
        if (!value_) {
            value_ = true;
            waiters_.for_each([](detail::sync_waiter& w) {
                if (!w.done()) {
                    w.wake();
                }
            });
        }
    }

    /// Event.clear(): wake-ups already delivered stand.
    void clear() noexcept { value_ = false; }

    /// `co_await e.wait()`: returns at once when set, else when `set()` is called.
    class wait_awaiter : private detail::sync_waiter {
    public:
        explicit wait_awaiter(event* e) noexcept : e_(e) {}
        [[nodiscard]] bool await_ready() const noexcept { return e_->value_; }
        template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
            park(e_->waiters_, h);
        }
        void await_resume() {
            if (root != nullptr) {
                resume_checks();
                root->throw_if_cancel_delivered();
            }
        }

    private:
        event* e_;
    };

    /// Event.wait(); a plain awaiter.
    [[nodiscard("co_await the wait")]] wait_awaiter wait() noexcept { return wait_awaiter(this); }

private:
    friend struct detail::repr::peek; // the debug strings (repr.hpp) read the waiters

    detail::sync_list waiters_;
    bool value_ = false;
};

/// asyncio.Lock: not reentrant, FIFO, no barging (a newcomer queues behind a woken waiter).
/// locked() and release() (std::runtime_error "Lock is not acquired." when unlocked) are
/// detail::lock_core's.
class lock : public detail::lock_core {
public:
    lock() = default;

    /// Lock.acquire(); a plain awaiter: no suspension if unlocked and no waiter is left that is
    /// not cancelled; otherwise waits in FIFO order.
    [[nodiscard("co_await the acquire")]] acquire_awaiter acquire() noexcept {
        return acquire_awaiter(this);
    }

    /// `async with lock:`: `auto g = co_await l.acquire_guard();` releases at scope exit.
    [[nodiscard("keep the guard")]] guard_awaiter<lock, acquire_awaiter> acquire_guard() noexcept {
        return {*this, acquire_awaiter(this)};
    }
};

/// asyncio.Semaphore(value=1): strictly FIFO, no barging.
class semaphore : public detail::semaphore_base {
public:
    /// std::invalid_argument("Semaphore initial value must be >= 0") when `value < 0`.
    explicit semaphore(std::ptrdiff_t value = 1) : semaphore_base(value) {}

    /// Semaphore.release(): increments and wakes the next waiter.
    void release() { release_one(); }

    /// `co_await s.acquire()`; a plain awaiter.
    [[nodiscard("co_await the acquire")]] acquire_awaiter acquire() noexcept {
        return acquire_awaiter(this);
    }
    /// `async with sem:`: `auto g = co_await s.acquire_guard();` releases at scope exit.
    [[nodiscard("keep the guard")]] guard_awaiter<semaphore, acquire_awaiter>
    acquire_guard() noexcept {
        return {*this, acquire_awaiter(this)};
    }
};

/// asyncio.BoundedSemaphore(value=1): release() above the initial value raises.
class bounded_semaphore : public detail::semaphore_base {
public:
    /// std::invalid_argument("Semaphore initial value must be >= 0") when `value < 0`.
    explicit bounded_semaphore(std::ptrdiff_t value = 1) : semaphore_base(value), bound_(value) {}

    /// std::invalid_argument("BoundedSemaphore released too many times") above the bound.
    void release() {
        if (value() >= bound_) {
            throw std::invalid_argument("BoundedSemaphore released too many times");
        }
        release_one();
    }

    /// `co_await s.acquire()`; a plain awaiter.
    [[nodiscard("co_await the acquire")]] acquire_awaiter acquire() noexcept {
        return acquire_awaiter(this);
    }
    /// `async with sem:`: `auto g = co_await s.acquire_guard();` releases at scope exit.
    [[nodiscard("keep the guard")]] guard_awaiter<bounded_semaphore, acquire_awaiter>
    acquire_guard() noexcept {
        return {*this, acquire_awaiter(this)};
    }

private:
    std::ptrdiff_t bound_;
};

/// asyncio.Condition(lock=None): owns a lock, or uses the one given (which must outlive it).
class condition {
public:
    condition() noexcept : lock_(&own_) {}
    /// Condition(lock).
    explicit condition(lock& l) noexcept : lock_(&l) {}
    condition(const condition&) = delete;
    condition& operator=(const condition&) = delete;

    /// The underlying lock's locked(), acquire(), acquire_guard() and release().
    [[nodiscard]] bool locked() const noexcept { return lock_->locked(); }
    [[nodiscard("co_await the acquire")]] lock::acquire_awaiter acquire() noexcept {
        return lock_->acquire();
    }
    [[nodiscard("keep the guard")]] guard_awaiter<lock, lock::acquire_awaiter>
    acquire_guard() noexcept {
        return lock_->acquire_guard();
    }
    void release() { lock_->release(); }

    /// Condition.notify(n): wakes up to `n` waiters in FIFO order; each returns from its wait
    /// once it has the lock back. std::runtime_error without the lock.
    void notify(std::size_t n = 1) {
        if (!locked()) {
            throw std::runtime_error("cannot notify on un-acquired lock");
        }
        detail::notify_waiters(waiters_, n);
    }
    /// Condition.notify_all().
    void notify_all() { notify(waiters_.size()); }

    /// The awaiter of wait() (Pred = void) and wait_for(pred): a state machine that waits to be
    /// notified, then re-acquires the lock (again and again if cancelled meanwhile), and for
    /// wait_for waits again while the predicate is false, all without resuming the coroutine.
    template <class Pred> using wait_awaiter = detail::condition_wait<Pred>;

    /// `co_await c.wait()`: releases the lock, waits for a notify, re-acquires the lock (even
    /// when cancelled, and only then rethrows). std::runtime_error without the lock.
    [[nodiscard("co_await the wait")]] wait_awaiter<void> wait() noexcept {
        return wait_awaiter<void>(lock_, &waiters_, {});
    }

    /// `co_await c.wait_for(pred)`: waits until `pred()` is truthy and returns its value.
    template <class Pred>
    [[nodiscard("co_await the wait")]] wait_awaiter<std::decay_t<Pred>> wait_for(Pred&& pred) {
        return wait_awaiter<std::decay_t<Pred>>(lock_, &waiters_, std::forward<Pred>(pred));
    }

private:
    friend struct detail::repr::peek; // the debug strings (repr.hpp) read the waiters

    lock own_;
    lock* lock_;
    detail::sync_list waiters_;
};

/// asyncio.Barrier(parties): tasks wait until `parties` have arrived; states filling, draining,
/// resetting and broken. wait(), reset() and abort() are plain awaiters (no coroutine frame per
/// call) that follow locks.py's coroutines over a condition step by step, so they take exactly
/// CPython's hops. parties(), n_waiting() and broken() are detail::barrier_core's.
class barrier : public detail::barrier_core {
public:
    /// std::invalid_argument("parties must be > 0") when `parties < 1`.
    explicit barrier(std::ptrdiff_t parties) : barrier_core(parties) {}

    /// `co_await b.wait()` (Barrier.wait()): the arrival index, 0 to parties-1 (the last arrival
    /// does not suspend and resumes first). broken_barrier_error when the barrier is reset or
    /// aborted meanwhile ("Abort or reset of barrier"), or is broken ("Barrier aborted").
    [[nodiscard("co_await the wait")]] wait_awaiter wait() noexcept { return wait_awaiter(this); }

    /// `co_await b.reset()` (Barrier.reset()): current waiters raise broken_barrier_error; the
    /// barrier refills. Suspends only while another task holds the barrier's lock.
    [[nodiscard("co_await the reset")]] change_awaiter reset() noexcept { return {this, false}; }

    /// `co_await b.abort()` (Barrier.abort()): breaks the barrier for good.
    [[nodiscard("co_await the abort")]] change_awaiter abort() noexcept { return {this, true}; }
};

} // namespace asyncio
