// SPDX-License-Identifier: MIT
// The untyped part of asyncio's queues: waiter lists, unfinished count, joiners, shutdown flag.
#pragma once

#include <asyncio/config.hpp>

#include <asyncio/detail/intrusive_list.hpp>
#include <asyncio/detail/task_core.hpp>

#include <coroutine>
#include <cstddef>
#include <initializer_list>
#include <stdexcept>

namespace asyncio::detail {

struct waiter_tag;

/// A task suspended in put, get or join; lives in the awaiting frame.
struct queue_waiter : list_hook<waiter_tag> {
    task_core* root = nullptr;
    std::coroutine_handle<> handle;
    bool woken = false;
    /// The queue was destroyed while this waiter referred to it.
    bool gone = false;

    /// After resuming from a wait: rethrows a delivered cancellation, or reports a queue that
    /// died under a waiter. Returns true when the queue may be touched.
    [[nodiscard]] bool resume_checks() {
        unlink();
        if (gone) {
            root->throw_if_cancel_delivered();
            throw std::runtime_error("the queue was destroyed while a task was waiting on it");
        }
        return true;
    }

    queue_waiter() noexcept = default;
    queue_waiter(const queue_waiter&) noexcept : list_hook<waiter_tag>() {}
    queue_waiter& operator=(const queue_waiter&) = delete;
    ~queue_waiter() { unlink(); }
};

using waiter_list = intrusive_list<queue_waiter, waiter_tag>;

/// Getters, putters and joiners, the count of unfinished items and the shutdown flag.
class queue_core {
public:
    queue_core() = default;
    queue_core(const queue_core&) = delete;
    queue_core& operator=(const queue_core&) = delete;

    /// A queue that dies under waiting tasks (a local queue of a task that returned while its
    /// consumers were being cancelled, the seed program's shape) must not be touched by them
    /// again: each waiter learns the queue is gone, and one still blocked is woken to fail.
    ~queue_core() {
        for (waiter_list* l : {&getters_, &putters_, &joiners_}) {
            while (!l->empty()) {
                queue_waiter& w = l->pop_front();
                w.gone = true;
                w.root->wake();
            }
        }
        while (!woken_.empty()) {
            woken_.pop_front().gone = true;
        }
    }

    /// asyncio's _wakeup_next: the first waiter's task runs in the next iteration and re-checks
    /// (no hand-off: a task that runs first may take the item).
    void wakeup_next(waiter_list& waiters) {
        if (!waiters.empty()) {
            queue_waiter& w = waiters.pop_front();
            w.woken = true;
            woken_.push_back(w);
            w.root->wake();
        }
    }
    void wakeup_all(waiter_list& waiters) {
        while (!waiters.empty()) {
            wakeup_next(waiters);
        }
    }

    /// Queue.task_done().
    void task_done() {
        if (unfinished_ == 0) {
            throw std::invalid_argument("task_done() called too many times");
        }
        if (--unfinished_ == 0) {
            wakeup_all(joiners_);
        }
    }

    /// Suspends `h` on `list` with a cancel hook that withdraws the waiter.
    template <class Promise>
    void wait_on(waiter_list& list, queue_waiter& w, std::coroutine_handle<Promise> h,
                 recheck_fn recheck) {
        w.root = root_of(h);
        w.handle = h;
        w.woken = false;
        list.push_back(w);
        w.root->suspend(h, cancel_hook{&withdraw, &w}, recheck);
    }

    /// Waits again at the back after a lost race (the re-check of asyncio's `while` loop).
    static void wait_again(waiter_list& list, queue_waiter& w, recheck_fn recheck) {
        w.unlink();
        w.woken = false;
        list.push_back(w);
        w.root->suspend(w.handle, cancel_hook{&withdraw, &w}, recheck);
    }

    waiter_list getters_;
    waiter_list putters_;
    waiter_list joiners_;
    waiter_list woken_; // woken, their step not run yet
    std::size_t unfinished_ = 0;
    bool shut_down_ = false;

private:
    // Cancelled while waiting: leave the list; the await throws cancelled_error next iteration.
    static bool withdraw(void* ctx, task_core& t) {
        auto* w = static_cast<queue_waiter*>(ctx);
        w->unlink();
        t.deliver_cancel();
        t.wake();
        return true;
    }
};

} // namespace asyncio::detail
