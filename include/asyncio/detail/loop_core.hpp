// SPDX-License-Identifier: MIT
// The loop's internals: clock, ready queue, timer heap and the registries of live tasks and
// futures.
#pragma once

#include <asyncio/config.hpp>

#include <asyncio/detail/block_pool.hpp>
#include <asyncio/detail/fwd.hpp>
#include <asyncio/detail/intrusive_list.hpp>
#include <asyncio/detail/io_registry.hpp>
#include <asyncio/detail/ready_queue.hpp>
#include <asyncio/detail/selector.hpp>
#include <asyncio/detail/selector_epoll.hpp>
#include <asyncio/detail/selector_poll.hpp>
#include <asyncio/detail/signals.hpp>
#include <asyncio/detail/timer_heap.hpp>
#include <asyncio/detail/timer_wheel.hpp>
#include <asyncio/detail/wakeup.hpp>

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
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
struct loop_threads;

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

/// The backend a loop option names (`automatic`: epoll where there is one, else poll).
[[nodiscard]] inline selector_kind resolve_selector(selector_kind k) noexcept {
#if defined(ASYNCIO_HAS_EPOLL)
    return k == selector_kind::automatic ? selector_kind::epoll : k;
#else
    return selector_kind::poll;
#endif
}

/// Creates the selector backend for `k` (already resolved). A new backend is one header and one
/// line here.
[[nodiscard]] inline std::unique_ptr<selector> make_selector(selector_kind k) {
#if defined(ASYNCIO_HAS_EPOLL)
    if (k == selector_kind::epoll) {
        return std::make_unique<epoll_selector>();
    }
#endif
    static_cast<void>(k);
    return std::make_unique<poll_selector>();
}

/// Where a task was created (create_task's call site), kept in debug mode only. clang 14 with
/// libstdc++ 12 has no std::source_location: the callers' default arguments use the builtins.
struct source_site {
    const char* file = nullptr;
    unsigned line = 0;
    const char* function = nullptr;
};

/// Debug mode: how the loop recognises a task's step among its ready entries and names the task
/// in a slow-step warning. task_core.hpp fills it in, so that the loop need not know tasks.
struct step_describer {
    void (*step)(void*, bool) = nullptr;
    void (*hold)(void*) noexcept = nullptr;
    void (*drop)(void*) noexcept = nullptr;
    std::string (*describe)(void*) = nullptr;
};
inline step_describer& task_step_describer() noexcept {
    static step_describer d;
    return d;
}

/// PYTHONASYNCIODEBUG's twin: debug mode is on when ASYNCIO_CPP_DEBUG is set and not empty (as in
/// Python, even "0" turns it on).
[[nodiscard]] inline bool debug_from_environment() noexcept {
    const char* v = std::getenv("ASYNCIO_CPP_DEBUG"); // NOLINT(concurrency-mt-unsafe): read once
    return v != nullptr && *v != '\0';
}

/// The loop's state, used by the library's awaiters; users go through `event_loop`.
class loop_core {
public:
    /// Creates the selector and the wake-up descriptor (three descriptors with epoll: the epoll
    /// instance and an eventfd; with poll, a pipe); throws std::system_error if the system
    /// refuses them.
    explicit loop_core(clock_kind clock, selector_kind sel = selector_kind::automatic)
        : clock_(clock), selector_kind_(resolve_selector(sel)),
          selector_(make_selector(selector_kind_)),
          remote_(std::make_shared<remote_queue>(selector_kind_ == selector_kind::poll)) {
        selector_->add(remote_->wake().read_fd(), event_read);
    }

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

    /// Takes a timer out of the timers, or neutralises it if it already expired into the ready
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
        while (timer_entry* t = timers_.pop_if_due(end)) {
            t->state = timer_state::in_ready;
            t->ready_pos = ready_.push(ready_entry{t->run, t});
        }
        timers_.advance(end);
    }

    /// The receive buffer shared by every stream connection of this loop (uvloop's shared read
    /// buffer), allocated on first use and grown to `size`: a connection receives into it, then
    /// appends only the bytes received to its reader, so an idle connection holds no receive
    /// memory.
    [[nodiscard]] char* recv_scratch(std::size_t size) {
        if (recv_scratch_size_ < size) {
            recv_scratch_.reset(new char[size]);
            recv_scratch_size_ = size;
        }
        return recv_scratch_.get();
    }

    /// Memory for frames and task states; declared first so that it is destroyed last.
    block_pool pool;
    /// The current task (a task_core), or null while a plain callback runs.
    void* current_task = nullptr;
    /// The trampoline slot of the running task's driver (task_core::step): the next coroutine of
    /// its await chain to resume. One per loop rather than per task (8 bytes less in every task):
    /// it is null whenever a step starts or ends, so an eager task's first step, run inside
    /// another task's step, finds it null and leaves it null.
    std::coroutine_handle<> trampoline;
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

    /// Set by event_loop::close(): the loop refuses new work ("Event loop is closed").
    bool closed_ = false;
    /// Debug mode (loop.set_debug): slow-step warnings, creation sites, the thread check.
    bool debug_ = debug_from_environment();
    /// loop.slow_callback_duration, in nanoseconds (debug mode).
    std::int64_t slow_callback_ns_ = 100'000'000;
    /// The thread in run_forever (none otherwise): debug mode's thread check compares with it.
    std::thread::id thread_id_;
    /// Jobs running outside the loop (executor threads) whose completion will be posted back:
    /// while there are any, a virtual-time loop with nothing else to do waits instead of
    /// reporting a deadlock.
    std::size_t external_jobs = 0;
    /// The default executor and the executor jobs in flight (<asyncio/threads.hpp>), created on
    /// first use; close() drops it (on the loop's thread).
    std::shared_ptr<loop_threads> threads_;

    clock_kind clock_;
    selector_kind selector_kind_;
    std::unique_ptr<selector> selector_;
    /// What other threads post (call_soon_threadsafe); shared with them.
    std::shared_ptr<remote_queue> remote_;
    /// The signals this loop handles (loop.add_signal_handler); received ones wake `remote_`.
    signal_table signals_;
    io_registry io_;
    std::vector<io_event> events_;
    std::vector<ready_entry> remote_items_;
    std::int64_t virtual_now_ = 0;
    ready_queue ready_;
    timer_wheel timers_;
    bool stopping_ = false;
    bool running_ = false;
    std::unique_ptr<char[]> recv_scratch_;
    std::size_t recv_scratch_size_ = 0;
};

} // namespace asyncio::detail
