// SPDX-License-Identifier: MIT
// The loop's internals: clock, ready queue, timer heap and the registries of live tasks and
// futures.
#pragma once

#include <asyncio/config.hpp>

#include <asyncio/detail/block_pool.hpp>
#include <asyncio/detail/fwd.hpp>
#include <asyncio/detail/intrusive_list.hpp>
#include <asyncio/detail/ready_queue.hpp>
#include <asyncio/detail/timer_heap.hpp>

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <string>
#include <vector>

namespace asyncio {

/// Which clock a loop runs on. `monotonic` is the real steady clock (Python's
/// `time.monotonic()`); `virtual_time` starts at 0 and, whenever nothing is ready, jumps straight
/// to the next timer deadline without waiting, so tests of timed code are instant and exact.
enum class clock_kind { monotonic, virtual_time };

} // namespace asyncio

namespace asyncio::detail {

struct state_tag;
struct state_link;

/// What the loop and the combinators call on a future or task state without knowing its type:
/// one static table per state type, so a state carries one pointer instead of four.
struct state_ops {
    /// The loop is destroyed while the state is linked in its registry.
    void (*loop_closed)(state_link*) noexcept;
    /// Tasks only: the loop is destroyed while the task is pending (null for futures).
    void (*abandon)(state_link*) noexcept;
    /// The last reference went: destroy the state and free its memory.
    void (*destroy)(state_link*) noexcept;
    /// Tasks only: the coroutine returned; move the result out and complete (null for futures).
    void (*finish)(state_link*) noexcept;
    /// Future.cancel / Task.cancel with a message (gather cancels its children through it).
    bool (*cancel)(state_link*, const std::string&);
};

/// Every future or task state links itself into its loop while it lives: a pending task into
/// `tasks` (all_tasks(), shutdown, destruction of frames still pending when the loop dies), a
/// future or finished task into `states`, so that a loop that is destroyed first can detach it
/// (and report an exception nobody retrieved).
struct state_link : list_hook<state_tag> {
    const state_ops* ops = nullptr;
};

struct asyncgen_tag;

/// Every async generator that started and has not finished links itself into its loop, so that
/// `asyncio::run` can close those still suspended (asyncio's shutdown_asyncgens) and so that an
/// unfinished generator destroyed while the loop runs is closed by a task (asyncio's finalizer).
struct asyncgen_link : list_hook<asyncgen_tag> {
    /// Spawns a task that runs aclose() on the generator (shutdown_asyncgens; once per generator).
    void (*spawn_close)(asyncgen_link*) = nullptr;
    /// Whether shutdown_asyncgens still has to close it.
    bool (*needs_close)(const asyncgen_link*) noexcept = nullptr;
    /// The loop is going away: forget it (and destroy the frame if the loop owned it).
    void (*on_loop_closed)(asyncgen_link*) noexcept = nullptr;
};

/// A cancellation waiting to be applied to a future or task (see task_core::request_cancel).
struct cancel_request {
    state_link* state;
    std::string msg;
};

/// The loop's state, used by the library's awaiters; users go through `event_loop`.
class loop_core {
public:
    explicit loop_core(clock_kind clock) noexcept : clock_(clock) {}

    /// The loop's clock in nanoseconds, read afresh on every call (as CPython does).
    [[nodiscard]] std::int64_t now() const noexcept {
        if (clock_ == clock_kind::virtual_time) {
            return virtual_now_;
        }
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }

    /// Appends `fn(arg, true)` to the ready queue; returns its position for `unschedule`.
    std::uint64_t schedule(void (*fn)(void*, bool), void* arg) {
        return ready_.push(ready_entry{fn, arg});
    }

    /// Neutralises a scheduled entry that has not run yet.
    void unschedule(std::uint64_t pos) noexcept { ready_.cancel_at(pos); }

    void add_timer(timer_entry& t, std::int64_t when) { timers_.push(t, when); }

    /// Takes a timer out of the heap, or neutralises it if it already expired into the ready
    /// queue. Returns false when it had already run (or was never armed).
    bool cancel_timer(timer_entry& t) noexcept {
        if (t.state == timer_state::in_heap) {
            timers_.remove(t);
            return true;
        }
        if (t.state == timer_state::in_ready) {
            ready_.cancel_at(t.ready_pos);
            t.state = timer_state::idle;
            return true;
        }
        return false;
    }

    /// Moves every timer whose deadline has passed to the tail of the ready queue.
    void collect_expired(std::int64_t end) {
        while (!timers_.empty() && timers_.top_when() <= end) {
            timer_entry& t = timers_.pop();
            t.state = timer_state::in_ready;
            t.ready_pos = ready_.push(ready_entry{t.run, &t});
        }
    }

    /// Memory for frames and task states; declared first so that it is destroyed last.
    block_pool pool;
    /// The current task (a task_core), or null while a plain callback runs.
    void* current_task = nullptr;
    /// Counter behind the default names "Task-1", "Task-2", ... (per loop).
    std::uint64_t task_counter = 0;
    /// Tasks created while the loop runs start eagerly (set_task_factory(eager_task_factory)).
    bool eager_tasks = false;
    /// Counter behind callback ids (add_done_callback), unique per loop.
    std::uint64_t callback_ids = 0;
    intrusive_list<state_link, state_tag> states;
    intrusive_list<state_link, state_tag> tasks;
    intrusive_list<asyncgen_link, asyncgen_tag> asyncgens;
    /// Cancellations still to apply while one propagates down a chain of awaits (depth first).
    std::vector<cancel_request> cancel_work;
    /// Set while cancel_work is being drained: a new cancellation is queued, not applied inline.
    bool cancel_walking = false;
    /// While the loop destroys a pending task's frames: frames of its await chain go here, to be
    /// destroyed one after the other instead of recursively.
    std::vector<std::coroutine_handle<>>* frame_sink = nullptr;
    /// Set while the loop is being destroyed: nothing new may be scheduled for later.
    bool closing_ = false;
    /// Set by asyncio::run once the main task is done (its shutdown sequence).
    bool shutting_down_ = false;

    clock_kind clock_;
    std::int64_t virtual_now_ = 0;
    ready_queue ready_;
    timer_heap timers_;
    bool stopping_ = false;
    bool running_ = false;
};

} // namespace asyncio::detail
