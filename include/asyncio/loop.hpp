// SPDX-License-Identifier: MIT
// The event loop (asyncio's BaseEventLoop): ready queue, timer heap, clocks, handles, run control.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/contextvars.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/handle.hpp>

#include <asyncio/detail/fwd.hpp>
#include <asyncio/detail/loop_core.hpp>
#include <asyncio/detail/running_loop.hpp>
#include <asyncio/detail/time.hpp>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

namespace asyncio {

/// Selects eager tasks: `loop.set_task_factory(asyncio::eager_task_factory)`.
struct eager_task_factory_t {
    explicit constexpr eager_task_factory_t() = default;
};
/// asyncio.eager_task_factory.
inline constexpr eager_task_factory_t eager_task_factory{};

/// Selects an eager start for one task: `asyncio::create_task(t, asyncio::eager_start)`.
struct eager_start_t {
    explicit constexpr eager_start_t() = default;
};
/// Python 3.14's `eager_start=True`.
inline constexpr eager_start_t eager_start{};

/// What the exception handler receives (Python's context dict).
struct exception_context {
    /// e.g. "Task exception was never retrieved", "Exception in callback".
    std::string message;
    /// The exception, when there is one.
    std::exception_ptr exception;
    /// The task concerned, when there is one. In debug mode, a report about a task ends its
    /// message with a line "created at file:line in function" (Python's source_traceback, reduced
    /// to the create_task call).
    std::string task_name;
};

class event_loop;
/// Signature of a replaceable exception handler (`loop.set_exception_handler`).
using exception_handler = std::function<void(event_loop&, const exception_context&)>;

/// asyncio's event loop: one thread, a FIFO ready queue of which each iteration runs only what was
/// ready when it began, and a timer heap whose expired timers join the tail of the ready queue.
/// Each iteration is CPython's `_run_once`: compute the poll timeout from the first timer (zero
/// when something is ready), poll the selector, queue the callbacks of ready descriptors and what
/// other threads posted, queue the due timers, then run exactly what is queued.
/// Not copyable or movable. Destroying a loop destroys the frames of tasks still pending (each is
/// reported as "Task was destroyed but it is pending!"); `asyncio::run` never leaves any.
class event_loop {
public:
    /// A loop on `clock`, waiting for I/O with the `selector` backend (epoll on Linux by default,
    /// or poll(2)). Throws std::system_error when the system refuses the selector's descriptors.
    explicit event_loop(clock_kind clock = clock_kind::monotonic,
                        selector_kind selector = selector_kind::automatic)
        : core_(clock, selector) {}
    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;
    /// Closes the loop if close() was not called.
    ~event_loop();

    /// loop.call_soon: runs `f()` in a later iteration, after everything already queued. Throws
    /// std::runtime_error("Event loop is closed") after close(). Not thread-safe: other threads
    /// use call_soon_threadsafe. The callback runs in a copy of the context current now
    /// (contextvars).
    template <class F> handle call_soon(F&& f) { return soon(std::forward<F>(f), nullptr); }
    /// loop.call_soon(f, context=ctx): the callback runs in `ctx` itself.
    template <class F> handle call_soon(F&& f, const context& ctx) {
        return soon(std::forward<F>(f), ctx.data());
    }

    /// loop.call_later: runs `f()` once `delay` has passed (zero or negative: already expired, but
    /// still through the heap). A NaN delay throws std::invalid_argument. The callback runs in a
    /// copy of the context current now, as with call_soon.
    template <class Rep, class Period, class F>
    timer_handle call_later(std::chrono::duration<Rep, Period> delay, F&& f) {
        const auto d = detail::to_nanoseconds(delay);
        return arm(detail::saturating_add(core_.now(), d), std::forward<F>(f), nullptr);
    }
    /// loop.call_later(delay, f, context=ctx).
    template <class Rep, class Period, class F>
    timer_handle call_later(std::chrono::duration<Rep, Period> delay, F&& f, const context& ctx) {
        const auto d = detail::to_nanoseconds(delay);
        return arm(detail::saturating_add(core_.now(), d), std::forward<F>(f), ctx.data());
    }

    /// loop.call_at: runs `f()` at `when` on the loop's clock (in a copy of the current context).
    template <class F> timer_handle call_at(loop_clock::time_point when, F&& f) {
        return arm(when.time_since_epoch().count(), std::forward<F>(f), nullptr);
    }
    /// loop.call_at(when, f, context=ctx).
    template <class F>
    timer_handle call_at(loop_clock::time_point when, F&& f, const context& ctx) {
        return arm(when.time_since_epoch().count(), std::forward<F>(f), ctx.data());
    }

    /// loop.call_soon_threadsafe: the one method any thread may call (also from inside the loop).
    /// Queues `f()` to run in the loop's next iteration and wakes the loop if it is waiting in
    /// its selector. The callback is built on the calling thread and destroyed on the loop's.
    /// Throws std::runtime_error("Event loop is closed") once the loop is closed. Returns nothing,
    /// unlike CPython's Handle: a handle's count is not shared across threads.
    template <class F> void call_soon_threadsafe(F&& f) {
        auto* n = detail::make_callback(core_, std::forward<F>(f));
        n->state = detail::timer_state::in_ready;
        bool posted = false;
        try {
            posted = core_.remote_->post(detail::ready_entry{&detail::callback_node::ready_fn,
                                                             static_cast<detail::timer_entry*>(n)});
        } catch (...) {
            n->release();
            throw;
        }
        if (!posted) {
            n->release();
            throw std::runtime_error("Event loop is closed");
        }
    }

    /// loop.add_reader: calls `f()` in every iteration in which `fd` is readable, until
    /// remove_reader(fd). A second add_reader on the same descriptor replaces the callback (as in
    /// CPython). Throws std::system_error for a descriptor the selector refuses (EBADF for one
    /// that is not open), std::runtime_error when a socket operation of this loop is waiting for
    /// `fd` to be readable, or when the loop is closed.
    template <class F> void add_reader(int fd, F&& f) {
        add_watch(fd, detail::event_read, std::forward<F>(f));
    }
    /// loop.add_writer: the same for `fd` becoming writable.
    template <class F> void add_writer(int fd, F&& f) {
        add_watch(fd, detail::event_write, std::forward<F>(f));
    }
    /// loop.remove_reader: stops watching `fd` for reading; true if it was watched. A socket
    /// operation waiting on it fails with std::system_error(ECANCELED).
    bool remove_reader(int fd) noexcept { return remove_watch(fd, detail::event_read); }
    /// loop.remove_writer: the same for writing.
    bool remove_writer(int fd) noexcept { return remove_watch(fd, detail::event_write); }

    /// loop.add_signal_handler: from now on, each time the process receives `signum`, `f()` runs
    /// in the loop's next iteration (a C handler marks the signal and wakes the loop through its
    /// wake-up descriptor; several deliveries before the loop looks make one run, where CPython
    /// runs the handler once per delivery). CPython runs it one iteration later still: its
    /// self-pipe reader is itself a callback. A second call for the same signal replaces `f`. If
    /// `f` throws, the exception handler gets "Exception in callback". Throws
    /// std::invalid_argument("invalid signal number N") for a number outside signal.valid_signals()
    /// (checked first, as CPython does), std::runtime_error("Event loop is closed") on a closed
    /// loop, std::runtime_error("sig N cannot be caught") for SIGKILL and SIGSTOP, and
    /// std::runtime_error when another loop handles `signum` (a signal belongs to one loop at a
    /// time). Unlike CPython, which allows it only on the main thread (set_wakeup_fd), any thread's
    /// loop may handle a signal: the C handler does nothing a signal handler may not, on whichever
    /// thread the kernel picks (executor threads block the signals: detail::block_loop_signals).
    /// A virtual-time loop does not count handlers as something that can wake it (deadlock rule).
    template <class F> void add_signal_handler(int signum, F&& f) {
        detail::check_signal(signum);
        check_closed();
        core_.signals_.add(signum, detail::make_signal_callback(std::forward<F>(f)),
                           *core_.remote_);
    }
    /// loop.remove_signal_handler: stops handling `signum` and restores its default disposition
    /// (SIG_DFL, also for SIGINT, where CPython restores Python's default_int_handler). True if a
    /// handler was removed; false when there was none, and on a closed loop (close() removed them).
    /// A run already queued still happens, as in CPython. Throws std::invalid_argument for an
    /// invalid signal number.
    bool remove_signal_handler(int signum) {
        detail::check_signal(signum);
        return core_.signals_.remove(signum);
    }

    /// The selector backend this loop polls (epoll or poll, never automatic).
    [[nodiscard]] selector_kind selector() const noexcept { return core_.selector_kind_; }

    /// loop.close: removes the signal handlers (restoring SIG_DFL), destroys what is left (pending
    /// tasks' frames, queued callbacks, descriptor registrations; the descriptors themselves stay
    /// open), then refuses new work: call_soon,
    /// call_later, create_task, add_reader, run_* and call_soon_threadsafe throw
    /// std::runtime_error("Event loop is closed"). Idempotent. Throws std::runtime_error("Cannot
    /// close a running event loop") while it runs.
    void close();
    /// loop.is_closed.
    [[nodiscard]] bool is_closed() const noexcept { return core_.closed_; }

    /// loop.time(): the loop's clock, read afresh on each call.
    [[nodiscard]] loop_clock::time_point time() const noexcept {
        return loop_clock::time_point(std::chrono::nanoseconds(core_.now()));
    }
    [[nodiscard]] clock_kind clock() const noexcept { return core_.clock_; }

    /// loop.run_until_complete: runs the loop until `aw` is done, then returns its result or
    /// rethrows its exception. `aw` is a task_handle<T> or a future<T>, or any other awaitable
    /// (a task<T>, a sleep, ...), which runs as a task (with <asyncio/awaitable.hpp>, or the
    /// umbrella header, for other awaitables than task<T>). Throws std::runtime_error when the loop
    /// is already running, or when stop() ended the run first ("Event loop stopped before Future
    /// completed.").
    template <class Awaitable> decltype(auto) run_until_complete(Awaitable&& aw) {
        check_can_run(); // before a task is created for `aw`, which would then never run
        auto fut = ensure_future(std::forward<Awaitable>(aw), *this);
        const auto id = fut.add_done_callback([this](auto&) { stop(); });
        struct remover {
            decltype(fut)& f;
            decltype(id) i;
            ~remover() { f.remove_done_callback(i); }
        } guard{fut, id};
        run_forever();
        if (!fut.done()) {
            throw std::runtime_error("Event loop stopped before Future completed.");
        }
        using value_type = typename decltype(fut)::value_type;
        if constexpr (std::is_void_v<value_type>) {
            fut.result();
        } else if constexpr (std::is_reference_v<value_type>) {
            return static_cast<value_type>(fut.result());
        } else {
            return value_type(std::move(fut.result()));
        }
    }

    /// loop.run_forever: runs iterations until stop() is called. With nothing ready, the loop
    /// waits in its selector until the next timer, a ready descriptor or a call from another
    /// thread (with nothing at all to wait for, a real-clock loop waits as CPython's does). A
    /// virtual-time loop never waits for a timer: it polls its descriptors without blocking, then
    /// jumps to the next deadline; with no timer it waits only while a descriptor is registered
    /// or an executor job runs, and otherwise throws std::runtime_error (a "deadlock": nothing
    /// could ever wake it) instead of hanging.
    void run_forever();

    /// loop.stop: the current iteration finishes, then run_forever returns. Called before
    /// run_forever, exactly one iteration runs.
    void stop() noexcept { core_.stopping_ = true; }
    [[nodiscard]] bool is_running() const noexcept { return core_.running_; }

    /// loop.set_debug: debug mode (off unless the environment variable ASYNCIO_CPP_DEBUG is set
    /// and not empty, as Python's PYTHONASYNCIODEBUG; `run_options::debug` sets it for a run).
    /// Reports go through the exception handler: a ready callback or task step that took
    /// slow_callback_duration() or more ("Executing <Task pending name='Task-2' created at
    /// f.cpp:12> took 0.150 seconds"); each task remembers where create_task was called and
    /// reports show it (exception_context::created_at: an exception never retrieved, a task still
    /// pending when the loop is destroyed); call_soon, call_later and call_at throw
    /// std::runtime_error("Non-thread-safe operation invoked on an event loop other than the
    /// current one") from another thread than the one running the loop. Time is the loop's
    /// clock (a virtual-time loop measures virtual time). Off, it costs one predictable branch
    /// per ready entry, task creation and call_soon.
    void set_debug(bool on) noexcept { core_.debug_ = on; }
    /// loop.get_debug.
    [[nodiscard]] bool get_debug() const noexcept { return core_.debug_; }
    /// loop.slow_callback_duration (0.1 s by default).
    [[nodiscard]] std::chrono::nanoseconds slow_callback_duration() const noexcept {
        return std::chrono::nanoseconds(core_.slow_callback_ns_);
    }
    /// Sets loop.slow_callback_duration.
    template <class Rep, class Period>
    void set_slow_callback_duration(std::chrono::duration<Rep, Period> d) {
        core_.slow_callback_ns_ = detail::to_nanoseconds(d);
    }

    /// loop.set_exception_handler: an empty function restores the default handler.
    void set_exception_handler(exception_handler h) { handler_ = std::move(h); }
    [[nodiscard]] const exception_handler& get_exception_handler() const noexcept {
        return handler_;
    }
    /// loop.call_exception_handler: the custom handler if set, else the default one.
    void call_exception_handler(const exception_context& ctx) noexcept;
    /// Writes the message, task and exception to stderr.
    void default_exception_handler(const exception_context& ctx) noexcept;

    /// loop.create_future (defined in <asyncio/future.hpp>).
    template <class T = void> future<T> create_future();
    /// loop.create_task (defined in <asyncio/task.hpp>): the body starts in the next iteration.
    /// `site` (every overload) is the caller's location, kept in debug mode (set_debug).
    template <class T>
    task_handle<T> create_task(task<T> t,
                               const detail::source_site& site = {
                                   __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                                   __builtin_FUNCTION()});
    /// The same, named (an empty name gives the default "Task-<n>").
    template <class T>
    task_handle<T> create_task(task<T> t, std::string name,
                               const detail::source_site& site = {
                                   __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                                   __builtin_FUNCTION()});

    /// The same, running in `ctx` (3.11's `context=`) instead of a copy of the current context.
    template <class T>
    task_handle<T> create_task(task<T> t, const context& ctx,
                               const detail::source_site& site = {
                                   __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                                   __builtin_FUNCTION()});
    template <class T>
    task_handle<T> create_task(task<T> t, std::string name, const context& ctx,
                               const detail::source_site& site = {
                                   __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                                   __builtin_FUNCTION()});

    /// The same, started eagerly (see asyncio::create_task with eager_start).
    template <class T>
    task_handle<T> create_task(task<T> t, eager_start_t,
                               const detail::source_site& site = {
                                   __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                                   __builtin_FUNCTION()});
    template <class T>
    task_handle<T> create_task(task<T> t, std::string name, eager_start_t,
                               const detail::source_site& site = {
                                   __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                                   __builtin_FUNCTION()});

    /// loop.set_task_factory(asyncio.eager_task_factory) (3.12): from then on, every task created
    /// while the loop runs (create_task, gather's children, ...) runs its first step at once,
    /// inside the call that creates it, until it first suspends.
    void set_task_factory(eager_task_factory_t) noexcept { core_.eager_tasks = true; }
    /// loop.set_task_factory(None): tasks start in the next iteration again (the default).
    void set_task_factory(std::nullptr_t) noexcept { core_.eager_tasks = false; }

    /// loop.run_in_executor(executor, f, *args) (defined in <asyncio/threads.hpp>): runs
    /// `f(args...)` on `executor` and returns an asyncio future of its result.
    template <class E, class F, class... Args>
    auto run_in_executor(E* executor, F&& f, Args&&... args);
    /// loop.run_in_executor(None, f, *args): the same on the loop's default thread pool.
    template <class F, class... Args> auto run_in_executor(std::nullptr_t, F&& f, Args&&... args);
    /// loop.shutdown_default_executor() (defined in <asyncio/threads.hpp>).
    task<void> shutdown_default_executor();

    /// Timers waiting in the loop's timer wheel (cancelled ones leave it at once).
    [[nodiscard]] std::size_t pending_timers() const noexcept { return core_.timers_.size(); }
    /// Entries in the ready queue.
    [[nodiscard]] std::size_t ready_size() const noexcept { return core_.ready_.size(); }

    /// Internal: the state the library's awaiters work on.
    [[nodiscard]] detail::loop_core& core() noexcept { return core_; }

private:
    template <class F> handle soon(F&& f, detail::context_data* ctx) {
        check_closed();
        if (core_.debug_) [[unlikely]] {
            check_thread();
        }
        auto* n = detail::make_callback(core_, std::forward<F>(f), ctx);
        handle h(n);
        n->state = detail::timer_state::in_ready;
        n->ready_pos =
            core_.schedule(&detail::callback_node::ready_fn, static_cast<detail::timer_entry*>(n));
        return h;
    }

    template <class F> timer_handle arm(std::int64_t when, F&& f, detail::context_data* ctx) {
        check_closed();
        if (core_.debug_) [[unlikely]] {
            check_thread();
        }
        auto* n = detail::make_callback(core_, std::forward<F>(f), ctx);
        timer_handle h(n);
        core_.add_timer(*n, when);
        return h;
    }

    /// An add_reader/add_writer registration: the callback's node, run while `fd` is ready.
    struct io_callback final : detail::io_watcher {
        detail::callback_node* node = nullptr;
        static void ready(detail::io_watcher* w, bool run) {
            detail::callback_node* n = static_cast<io_callback*>(w)->node;
            if (!run || n->cancelled) {
                return;
            }
            // The callback may remove (free) its own registration: keep the node alive.
            n->add_ref();
            struct releaser {
                detail::callback_node* n;
                ~releaser() { n->release(); }
            } guard{n};
            n->run_in_context();
        }
        static void removed(detail::io_watcher* w, int) noexcept {
            auto* c = static_cast<io_callback*>(w);
            c->node->release();
            delete c;
        }
    };

    template <class F> void add_watch(int fd, std::uint32_t dir, F&& f) {
        check_closed();
        detail::io_watcher* cur = core_.io_.find(fd, dir);
        if (cur != nullptr && !cur->is_callback) {
            throw std::runtime_error("file descriptor " + std::to_string(fd) +
                                     " is in use by a socket operation of this loop");
        }
        auto* c = new io_callback();
        c->node = detail::make_callback(core_, std::forward<F>(f));
        c->on_ready = &io_callback::ready;
        c->on_removed = &io_callback::removed;
        c->is_callback = true;
        detail::io_watcher* old = nullptr;
        try {
            old = core_.io_.watch(*core_.selector_, core_.ready_, fd, dir, c);
        } catch (...) {
            io_callback::removed(c, 0);
            throw;
        }
        if (old != nullptr) {
            old->on_removed(old, ECANCELED);
        }
    }

    bool remove_watch(int fd, std::uint32_t dir) noexcept {
        if (core_.closed_) {
            return false;
        }
        detail::io_watcher* old = core_.io_.unwatch(*core_.selector_, core_.ready_, fd, dir);
        if (old == nullptr) {
            return false;
        }
        old->on_removed(old, ECANCELED);
        return true;
    }

    void check_closed() const {
        if (core_.closed_) {
            throw std::runtime_error("Event loop is closed");
        }
    }
    /// Debug mode: std::runtime_error when called from another thread than the one running the
    /// loop (Python's _check_thread).
    ASYNCIO_NOINLINE void check_thread() const {
        if (core_.thread_id_ != std::thread::id() &&
            core_.thread_id_ != std::this_thread::get_id()) {
            throw std::runtime_error("Non-thread-safe operation invoked on an event loop other "
                                     "than the current one");
        }
    }
    /// Debug mode: runs what is ready (as run_once does), each entry through run_timed.
    void run_ready_timed();
    /// Debug mode: runs a ready entry and reports it if it took slow_callback_duration or more.
    void run_timed(const detail::ready_entry& e);
    /// Throws unless run_forever may start: not closed, not running, and no other loop running
    /// here.
    void check_can_run() const;
    void run_once();
    /// The one place the loop waits: polls the selector for at most `timeout_ns` (negative: no
    /// limit) and queues what became ready (descriptors, then what other threads posted).
    void poll_events(std::int64_t timeout_ns);
    /// Destroys what the loop still holds (close() and the destructor).
    void release_all() noexcept;

    detail::loop_core core_;
    exception_handler handler_;
};

/// asyncio.get_running_loop(): throws std::runtime_error("no running event loop") outside one.
[[nodiscard]] inline event_loop& get_running_loop() {
    event_loop* l = detail::running_loop();
    if (l == nullptr) {
        throw std::runtime_error("no running event loop");
    }
    return *l;
}

inline loop_clock::time_point loop_clock::now() {
    return get_running_loop().time();
}

namespace detail {

/// Memory for coroutine frames and task states: the running loop's arena, else the global heap.
[[nodiscard]] inline void* allocate_block(std::size_t n) {
#if !defined(ASYNCIO_NO_BLOCK_POOL)
    if (event_loop* l = running_loop()) {
        return l->core().pool.allocate(n);
    }
#endif
    return block_pool::allocate_global(n);
}

/// Returns a block from `allocate_block(n)`, on any loop or none: the block itself says where it
/// came from (an arena block goes back to its own loop's pool, even when another loop runs).
inline void deallocate_block(void* p, std::size_t n) noexcept {
    block_pool::deallocate(p, n);
}

/// Gives a class (a promise or a state) the pooled allocation. The sized operator delete must get
/// the size that operator new got (the block's tag byte sits just past it): delete through the
/// most-derived type, as coroutine frames and the library's states do.
struct pooled {
    static void* operator new(std::size_t n) { return allocate_block(n); }
    static void operator delete(void* p, std::size_t n) noexcept { deallocate_block(p, n); }
};

} // namespace detail

inline void event_loop::check_can_run() const {
    check_closed();
    if (core_.running_) {
        throw std::runtime_error("This event loop is already running");
    }
    if (detail::running_loop() != nullptr) {
        throw std::runtime_error("Cannot run the event loop while another loop is running");
    }
}

inline void event_loop::run_forever() {
    check_can_run();
    struct running_guard {
        event_loop* self;
        explicit running_guard(event_loop* s) noexcept : self(s) {
            self->core_.running_ = true;
            self->core_.thread_id_ = std::this_thread::get_id();
            detail::running_loop_ref() = self;
        }
        running_guard(const running_guard&) = delete;
        running_guard& operator=(const running_guard&) = delete;
        ~running_guard() {
            self->core_.io_.flush_all(*self->core_.selector_);
            self->core_.running_ = false;
            self->core_.stopping_ = false;
            self->core_.thread_id_ = std::thread::id();
            detail::running_loop_ref() = nullptr;
        }
    } guard(this);
    for (;;) {
        run_once();
        if (core_.stopping_) {
            break;
        }
    }
}

inline void event_loop::run_once() {
    constexpr std::int64_t max_wait = std::int64_t{86400} * 1'000'000'000;
    const bool is_virtual = core_.clock_ == clock_kind::virtual_time;
    std::int64_t timeout = 0;
    bool jump = false; // virtual time: go to the first deadline if polling finds nothing
    if (core_.ready_.empty() && !core_.stopping_ && !core_.remote_->pending()) {
        if (core_.timers_.empty()) {
            if (is_virtual && core_.io_.size() == 0 && core_.external_jobs == 0) {
                throw std::runtime_error(
                    "event loop deadlock: nothing is ready, no timer is pending and nothing else "
                    "can wake the loop (every task waits for something that cannot happen)");
            }
            timeout = -1;
        } else {
            timeout = core_.timers_.top_when() - core_.now();
            if (timeout < 0) {
                timeout = 0;
            }
            if (is_virtual) {
                jump = timeout > 0;
                timeout = 0;
            } else if (timeout > max_wait) {
                timeout = max_wait;
            }
        }
    }
    poll_events(timeout);
    if (jump && core_.ready_.empty()) {
        core_.virtual_now_ = core_.timers_.top_when();
    }
    core_.collect_expired(core_.now());
    if (core_.debug_) [[unlikely]] {
        run_ready_timed();
        return;
    }
    for (std::size_t n = core_.ready_.size(); n > 0; --n) {
        const detail::ready_entry e = core_.ready_.pop();
        try {
            e.fn(e.arg, true);
        } catch (...) {
            call_exception_handler({"Exception in callback", std::current_exception(), {}});
        }
    }
}

ASYNCIO_NOINLINE inline void event_loop::run_ready_timed() {
    for (std::size_t n = core_.ready_.size(); n > 0; --n) {
        const detail::ready_entry e = core_.ready_.pop();
        try {
            run_timed(e);
        } catch (...) {
            call_exception_handler({"Exception in callback", std::current_exception(), {}});
        }
    }
}

inline void event_loop::run_timed(const detail::ready_entry& e) {
    const detail::step_describer& d = detail::task_step_describer();
    const bool is_step = d.step != nullptr && e.fn == d.step;
    struct holder {
        const detail::step_describer& d;
        void* task;
        holder(const detail::step_describer& sd, void* t) noexcept : d(sd), task(t) {
            if (task != nullptr) {
                d.hold(task); // the step may end the task and drop the last reference
            }
        }
        holder(const holder&) = delete;
        holder& operator=(const holder&) = delete;
        ~holder() {
            if (task != nullptr) {
                d.drop(task);
            }
        }
    } hold(d, is_step ? e.arg : nullptr);
    const std::int64_t t0 = core_.now();
    e.fn(e.arg, true);
    const std::int64_t dt = core_.now() - t0;
    if (dt >= core_.slow_callback_ns_) {
        std::array<char, 32> secs{};
        std::snprintf(secs.data(), secs.size(), "%.3f", static_cast<double>(dt) / 1e9);
        const std::string what = is_step ? d.describe(e.arg) : std::string("<Handle>");
        call_exception_handler(
            {"Executing " + what + " took " + secs.data() + " seconds", nullptr, {}});
    }
}

inline void event_loop::poll_events(std::int64_t timeout_ns) {
    // With no descriptor registered, a non-blocking poll could only report the wake-up
    // descriptor, whose news the remote queue's flag already carries: skip the system call.
    core_.io_.flush(*core_.selector_);
    if (timeout_ns != 0 || core_.io_.size() != 0) {
        core_.selector_->select(timeout_ns, core_.events_);
        const int wake_fd = core_.remote_->wake().read_fd();
        for (const detail::io_event& ev : core_.events_) {
            if (ev.fd == wake_fd) {
                core_.remote_->wake().drain();
            } else {
                core_.io_.dispatch(*core_.selector_, core_.ready_, ev);
            }
        }
    }
    if (core_.remote_->pending()) {
        core_.remote_->take(core_.remote_items_);
        for (const detail::ready_entry& e : core_.remote_items_) {
            static_cast<void>(core_.ready_.push(e));
        }
        core_.remote_items_.clear();
        if (!core_.signals_.empty()) {
            core_.signals_.dispatch(core_.ready_);
        }
    }
}

inline void event_loop::call_exception_handler(const exception_context& ctx) noexcept {
    if (handler_) {
        try {
            handler_(*this, ctx);
            return;
        } catch (...) {
            default_exception_handler(
                {"Unhandled error in exception handler", std::current_exception(), {}});
        }
    }
    default_exception_handler(ctx);
}

inline void event_loop::default_exception_handler(const exception_context& ctx) noexcept {
    std::string what;
    if (ctx.exception) {
        try {
            std::rethrow_exception(ctx.exception);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (const cancelled_error& e) {
            what = std::string("cancelled_error: ") + e.what();
        } catch (...) {
            what = "unknown exception";
        }
    }
    std::fprintf(stderr, "%s%s%s%s%s\n", ctx.message.c_str(),
                 ctx.task_name.empty() ? "" : " task: ", ctx.task_name.c_str(),
                 what.empty() ? "" : "\n  exception: ", what.c_str());
}

inline void event_loop::close() {
    if (core_.running_) {
        throw std::runtime_error("Cannot close a running event loop");
    }
    if (core_.closed_) {
        return;
    }
    release_all();
    core_.closed_ = true;
}

inline event_loop::~event_loop() {
    release_all();
}

inline void event_loop::release_all() noexcept {
    core_.closing_ = true;
    core_.signals_.clear(); // CPython's close() removes the signal handlers
    // Pending tasks first, while the ready queue and heap their awaiters unlink from still exist.
    while (!core_.tasks.empty()) {
        detail::state_link& t = core_.tasks.pop_front();
        t.ops->abandon(&t);
    }
    // Then descriptor registrations (those of socket operations went with their tasks' frames).
    core_.io_.clear(*core_.selector_, core_.ready_,
                    [](detail::io_watcher* w) { w->on_removed(w, ECANCELED); });
    for (const detail::ready_entry& e : core_.remote_->close()) {
        e.fn(e.arg, false);
    }
    // The default executor (joined) and the executor jobs in flight (see <asyncio/threads.hpp>).
    core_.threads_.reset();
    while (!core_.ready_.empty()) {
        const detail::ready_entry e = core_.ready_.pop();
        e.fn(e.arg, false);
    }
    while (!core_.timers_.empty()) {
        detail::timer_entry& t = core_.timers_.pop_any();
        t.run(&t, false);
    }
    while (!core_.states.empty()) {
        detail::state_link& s = core_.states.pop_front();
        s.ops->loop_closed(&s);
    }
    while (!core_.asyncgens.empty()) {
        detail::asyncgen_link& g = core_.asyncgens.pop_front();
        g.on_loop_closed(&g);
    }
}

} // namespace asyncio
