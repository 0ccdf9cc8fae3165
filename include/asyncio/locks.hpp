// SPDX-License-Identifier: MIT
// event, lock, semaphore, bounded_semaphore, condition and barrier: asyncio's locks.py.
#pragma once

#include <asyncio/awaitable.hpp>
#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>

#include <asyncio/detail/intrusive_list.hpp>
#include <asyncio/detail/semaphore_core.hpp>
#include <asyncio/detail/sync_waiter.hpp>
#include <asyncio/detail/task_core.hpp>

#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace asyncio {

namespace detail {

class condition_wait_base;

template <class P> struct pred_result {
    using type = std::decay_t<std::invoke_result_t<P&>>;
};
template <> struct pred_result<void> {
    using type = void;
};

} // namespace detail

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
    detail::sync_list waiters_;
    bool value_ = false;
};

class condition;

/// asyncio.Lock: not reentrant, FIFO, no barging (a newcomer queues behind a woken waiter).
class lock {
public:
    lock() = default;
    lock(const lock&) = delete;
    lock& operator=(const lock&) = delete;

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
    class acquire_awaiter : private detail::sync_waiter {
    public:
        explicit acquire_awaiter(lock* l) noexcept : l_(l) {}
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
        lock* l_;
    };

    /// Lock.acquire(); a plain awaiter.
    [[nodiscard("co_await the acquire")]] acquire_awaiter acquire() noexcept {
        return acquire_awaiter(this);
    }

    /// `async with lock:`: `auto g = co_await l.acquire_guard();` releases at scope exit.
    [[nodiscard("keep the guard")]] guard_awaiter<lock, acquire_awaiter> acquire_guard() noexcept {
        return {*this, acquire_awaiter(this)};
    }

private:
    friend class detail::condition_wait_base;

    [[nodiscard]] bool can_take() { return !locked_ && waiters_.all_cancelled(); }

    // Lock._wake_up_first: only the first waiter, and only if it is not done.
    void wake_up_first() {
        if (!waiters_.empty()) {
            detail::sync_waiter& w = waiters_.front();
            if (!w.done()) {
                w.wake();
            }
        }
    }

    detail::sync_list waiters_;
    bool locked_ = false;
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
        notify_n(n);
    }
    /// Condition.notify_all().
    void notify_all() { notify(waiters_.size()); }

    /// The awaiter of wait() (Pred = void) and wait_for(pred): a state machine that waits to be
    /// notified, then re-acquires the lock (again and again if cancelled meanwhile), and for
    /// wait_for waits again while the predicate is false, all without resuming the coroutine.
    template <class Pred> class wait_awaiter;

    /// `co_await c.wait()`: releases the lock, waits for a notify, re-acquires the lock (even
    /// when cancelled, and only then rethrows). std::runtime_error without the lock.
    [[nodiscard("co_await the wait")]] wait_awaiter<void> wait() noexcept;

    /// `co_await c.wait_for(pred)`: waits until `pred()` is truthy and returns its value.
    template <class Pred>
    [[nodiscard("co_await the wait")]] wait_awaiter<std::decay_t<Pred>> wait_for(Pred&& pred);

private:
    friend class barrier;

    void notify_n(std::size_t n) {
        std::size_t idx = 0;
        waiters_.for_each([&](detail::sync_waiter& w) {
            if (idx < n && !w.done()) {
                ++idx;
                w.wake();
            }
        });
    }

    lock own_;
    lock* lock_;
    detail::sync_list waiters_;
};

namespace detail {

/// The part of condition's wait awaiters that does not depend on the predicate.
class condition_wait_base : protected sync_waiter {
public:
    explicit condition_wait_base(condition* c, lock* l, detail::sync_list* waiters) noexcept
        : c_(c), l_(l), waiters_(waiters) {}

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
    void notify_one();

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

    condition* c_;
    lock* l_;
    detail::sync_list* waiters_;
    bool in_lock_phase_ = false;
    bool round_cancelled_ = false;
    bool raise_cancel_ = false;
};

} // namespace detail

template <class Pred> class condition::wait_awaiter : private detail::condition_wait_base {
    static constexpr bool plain = std::is_void_v<Pred>;
    struct no_pred {};
    using pred_t = std::conditional_t<plain, no_pred, Pred>;
    struct no_result {};
    using slot_t = std::conditional_t<plain, no_result, typename detail::pred_result<Pred>::type>;

public:
    wait_awaiter(condition* c, pred_t pred)
        : condition_wait_base(c, c->lock_, &c->waiters_), pred_(std::move(pred)) {
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
    static bool step(void* ctx, detail::task_core&) {
        auto* self = static_cast<wait_awaiter*>(static_cast<sync_waiter*>(ctx));
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

inline void detail::condition_wait_base::notify_one() {
    waiters_->for_each([done = false](sync_waiter& w) mutable {
        if (!done && !w.done()) {
            done = true;
            w.wake();
        }
    });
}

inline condition::wait_awaiter<void> condition::wait() noexcept {
    return wait_awaiter<void>(this, {});
}

template <class Pred> condition::wait_awaiter<std::decay_t<Pred>> condition::wait_for(Pred&& pred) {
    return wait_awaiter<std::decay_t<Pred>>(this, std::forward<Pred>(pred));
}

/// asyncio.Barrier(parties): tasks wait until `parties` have arrived; states filling, draining,
/// resetting and broken. wait(), reset() and abort() are plain awaiters (no coroutine frame per
/// call) that follow locks.py's coroutines over a condition step by step, so they take exactly
/// CPython's hops.
class barrier {
public:
    /// std::invalid_argument("parties must be > 0") when `parties < 1`.
    explicit barrier(std::ptrdiff_t parties) : parties_(parties) {
        if (parties < 1) {
            throw std::invalid_argument("parties must be > 0");
        }
    }
    barrier(const barrier&) = delete;
    barrier& operator=(const barrier&) = delete;

    class wait_awaiter;
    class change_awaiter;

    /// `co_await b.wait()` (Barrier.wait()): the arrival index, 0 to parties-1 (the last arrival
    /// does not suspend and resumes first). broken_barrier_error when the barrier is reset or
    /// aborted meanwhile ("Abort or reset of barrier"), or is broken ("Barrier aborted").
    [[nodiscard("co_await the wait")]] wait_awaiter wait() noexcept;

    /// `co_await b.reset()` (Barrier.reset()): current waiters raise broken_barrier_error; the
    /// barrier refills. Suspends only while another task holds the barrier's lock.
    [[nodiscard("co_await the reset")]] change_awaiter reset() noexcept;

    /// `co_await b.abort()` (Barrier.abort()): breaks the barrier for good.
    [[nodiscard("co_await the abort")]] change_awaiter abort() noexcept;

    /// Barrier.parties.
    [[nodiscard]] std::ptrdiff_t parties() const noexcept { return parties_; }
    /// Barrier.n_waiting: the tasks waiting in the filling state, else 0.
    [[nodiscard]] std::ptrdiff_t n_waiting() const noexcept {
        return state_ == barrier_state::filling ? count_ : 0;
    }
    /// Barrier.broken.
    [[nodiscard]] bool broken() const noexcept { return state_ == barrier_state::broken; }

private:
    enum class barrier_state : unsigned char { filling, draining, resetting, broken };

    // Barrier._exit: the last task to leave ends the draining or resetting.
    void exit() {
        if (count_ == 0) {
            if (state_ == barrier_state::resetting || state_ == barrier_state::draining) {
                state_ = barrier_state::filling;
            }
            cond_.notify_all();
        }
    }

    condition cond_;
    std::ptrdiff_t parties_;
    barrier_state state_ = barrier_state::filling;
    std::ptrdiff_t count_ = 0;
};

/// The awaiter of barrier::wait(): Barrier.wait as a state machine. `async with cond` (a
/// Lock.acquire), `_block` (cond.wait_for while draining or resetting), the count, then `_release`
/// or `_wait` (cond.wait_for while filling), the `finally` (count, `_exit`) and the lock's release.
/// Between two waits it runs at the start of the task's step without resuming the coroutine; the
/// coroutine resumes once, when the wait returns or raises.
class barrier::wait_awaiter : private detail::condition_wait_base {
public:
    explicit wait_awaiter(barrier* b) noexcept
        : condition_wait_base(&b->cond_, b->cond_.lock_, &b->cond_.waiters_), b_(b) {
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
            root = detail::root_of(h);
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
    static bool step(void* ctx, detail::task_core&) {
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
        barrier& b = *b_;
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
                b.cond_.notify_all();
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
            b_->cond_.release();
        }
    }

    barrier* b_;
    std::ptrdiff_t index_ = 0;
    phase phase_ = phase::acquiring;
    outcome outcome_ = outcome::index;
    bool held_ = false;
};

/// The awaiter of barrier::reset() and abort(): `async with cond:` around a state change and a
/// notify_all, so it suspends only to acquire the lock.
class barrier::change_awaiter : public lock::acquire_awaiter {
public:
    change_awaiter(barrier* b, bool abort) noexcept
        : lock::acquire_awaiter(b->cond_.acquire()), b_(b), abort_(abort) {}

    void await_resume() {
        lock::acquire_awaiter::await_resume();
        if (abort_) {
            b_->state_ = barrier_state::broken;
        } else if (b_->count_ > 0) {
            b_->state_ = barrier_state::resetting;
        } else {
            b_->state_ = barrier_state::filling;
        }
        b_->cond_.notify_all();
        b_->cond_.release();
    }

private:
    barrier* b_;
    bool abort_;
};

inline barrier::wait_awaiter barrier::wait() noexcept {
    return wait_awaiter(this);
}
inline barrier::change_awaiter barrier::reset() noexcept {
    return {this, false};
}
inline barrier::change_awaiter barrier::abort() noexcept {
    return {this, true};
}

} // namespace asyncio
