// SPDX-License-Identifier: MIT
// The waiters of asyncio-cpp's locks: one per blocked acquire or wait, in the awaiting frame.
#pragma once

#include <asyncio/detail/intrusive_list.hpp>
#include <asyncio/detail/task_core.hpp>

#include <coroutine>
#include <cstddef>
#include <stdexcept>

namespace asyncio::detail {

struct sync_tag;

/// One waiter of a lock, semaphore, event or condition: the future CPython appends to the
/// primitive's deque, living in the awaiting frame. Like that future, it stays in the list
/// until its task runs (woken or cancelled), so "the first waiter" and "all waiters cancelled"
/// read exactly as in locks.py.
struct sync_waiter : list_hook<sync_tag> {
    enum class state : unsigned char { waiting, woken, cancelled };

    task_core* root = nullptr;
    std::coroutine_handle<> handle;
    state st = state::waiting;
    /// The primitive was destroyed while this waiter referred to it.
    bool gone = false;
    /// Set by a condition's waiter: after a wake-up, a cancel is still routed to this hook and
    /// the step runs `recheck` (the waiter re-acquires the lock without resuming the coroutine).
    bool (*after_wake)(void*, task_core&) = nullptr;
    recheck_fn recheck = nullptr;

    [[nodiscard]] bool done() const noexcept { return st != state::waiting; }

    /// fut.set_result(): the task runs in the next iteration.
    void wake() {
        st = state::woken;
        root->wake();
        if (recheck != nullptr) {
            root->suspend(handle, cancel_hook{after_wake, this}, recheck);
        }
    }

    /// Suspends `h` at the back of `list`.
    template <class Promise>
    void park(intrusive_list<sync_waiter, sync_tag>& list, std::coroutine_handle<Promise> h) {
        root = root_of(h);
        handle = h;
        st = state::waiting;
        list.push_back(*this);
        root->suspend(h, cancel_hook{&cancel_waiting, this});
    }

    /// After resuming: unlinks, and reports a primitive that died under the waiter.
    void resume_checks() {
        unlink();
        if (gone) {
            root->throw_if_cancel_delivered();
            throw std::runtime_error("the synchronisation primitive was destroyed while a task "
                                     "was waiting on it");
        }
    }

    // task.cancel() while waiting: fut.cancel(); the await raises in the next iteration. The
    // waiter stays linked (as a cancelled future in the deque) until its task runs.
    static bool cancel_waiting(void* ctx, task_core& t) {
        auto* w = static_cast<sync_waiter*>(ctx);
        w->st = state::cancelled;
        t.deliver_cancel();
        t.wake();
        return true;
    }

    sync_waiter() noexcept = default;
    /// A copy (of an awaiter not yet awaited, moved into a task) is unlinked and keeps only the
    /// configuration: what runs after a wake-up.
    sync_waiter(const sync_waiter& o) noexcept
        : list_hook<sync_tag>(), after_wake(o.after_wake), recheck(o.recheck) {}
    sync_waiter& operator=(const sync_waiter&) = delete;
    ~sync_waiter() { unlink(); }
};

/// The deque of waiters; on destruction every waiter learns the primitive is gone.
class sync_list : public intrusive_list<sync_waiter, sync_tag> {
public:
    sync_list() = default;
    sync_list(const sync_list&) = delete;
    sync_list& operator=(const sync_list&) = delete;
    ~sync_list() {
        while (!empty()) {
            sync_waiter& w = pop_front();
            w.gone = true;
            if (!w.done()) {
                w.st = sync_waiter::state::woken;
                w.root->wake();
            }
        }
    }

    [[nodiscard]] bool all_cancelled() {
        bool all = true;
        for_each([&](sync_waiter& w) { all = all && w.st == sync_waiter::state::cancelled; });
        return all;
    }
    [[nodiscard]] std::size_t size() {
        std::size_t n = 0;
        for_each([&](sync_waiter&) { ++n; });
        return n;
    }
};

} // namespace asyncio::detail
