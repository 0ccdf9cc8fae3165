// SPDX-License-Identifier: MIT
// The event loop (asyncio's BaseEventLoop): ready queue, timer heap, clocks, handles, run control.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>

#include <asyncio/detail/fwd.hpp>
#include <asyncio/detail/loop_core.hpp>
#include <asyncio/detail/running_loop.hpp>
#include <asyncio/detail/time.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
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

/// The clock of the running loop: integer nanosecond ticks from an arbitrary origin (0 for the
/// virtual clock), so virtual-time tests compare times exactly.
struct loop_clock {
    using rep = std::int64_t;
    using period = std::nano;
    using duration = std::chrono::nanoseconds;
    using time_point = std::chrono::time_point<loop_clock>;
    static constexpr bool is_steady = true;
    /// `get_running_loop().time()`; throws std::runtime_error when no loop is running.
    static time_point now();
};

namespace detail {

/// A callback scheduled by call_soon / call_later / call_at. The loop holds one reference while it
/// is scheduled, each handle one more.
struct callback_node : timer_entry {
    int refs = 1;
    bool cancelled = false;
    loop_core* loop = nullptr;
    void (*invoke)(callback_node*) = nullptr;
    void (*destroy)(callback_node*) noexcept = nullptr;

    void add_ref() noexcept { ++refs; }
    void release() noexcept {
        if (--refs == 0) {
            destroy(this);
        }
    }
    /// The ready-queue entry: run unless cancelled, then drop the loop's reference.
    static void ready_fn(void* p, bool run) {
        auto* n = static_cast<callback_node*>(static_cast<timer_entry*>(p));
        n->state = timer_state::fired;
        struct releaser {
            callback_node* n;
            ~releaser() { n->release(); }
        } guard{n};
        if (run && !n->cancelled) {
            n->invoke(n);
        }
    }
};

template <class F> struct callback_impl final : callback_node {
    explicit callback_impl(F&& fn) : f(std::move(fn)) {
        run = &callback_node::ready_fn;
        invoke = [](callback_node* n) { static_cast<callback_impl*>(n)->f(); };
        destroy = [](callback_node* n) noexcept { delete static_cast<callback_impl*>(n); };
    }
    F f;
};

template <class F> callback_node* make_callback(loop_core& loop, F&& f) {
    using fn_t = std::decay_t<F>;
    static_assert(std::is_invocable_v<fn_t&>, "callbacks are called with no arguments");
    auto* n = new callback_impl<fn_t>(fn_t(std::forward<F>(f)));
    n->loop = &loop;
    return n;
}

} // namespace detail

/// asyncio.Handle: returned by `call_soon`; `cancel()` keeps the callback from running.
class handle {
public:
    handle() noexcept = default;
    explicit handle(detail::callback_node* n) noexcept : node_(n) {
        if (node_ != nullptr) {
            node_->add_ref();
        }
    }
    handle(const handle& o) noexcept : handle(o.node_) {}
    handle(handle&& o) noexcept : node_(std::exchange(o.node_, nullptr)) {}
    handle& operator=(handle o) noexcept {
        std::swap(node_, o.node_);
        return *this;
    }
    ~handle() {
        if (node_ != nullptr) {
            node_->release();
        }
    }

    /// Cancels the callback if it has not run yet. A pending timer leaves the heap at once, so a
    /// million cancelled timers hold no memory until their deadlines.
    void cancel() noexcept {
        if (node_ == nullptr || node_->cancelled) {
            return;
        }
        node_->cancelled = true;
        if (node_->state == detail::timer_state::in_heap) {
            node_->loop->cancel_timer(*node_);
            node_->release(); // the heap's reference
        }
    }
    [[nodiscard]] bool cancelled() const noexcept { return node_ != nullptr && node_->cancelled; }
    explicit operator bool() const noexcept { return node_ != nullptr; }

protected:
    detail::callback_node* node_ = nullptr;
};

/// asyncio.TimerHandle: returned by `call_later` / `call_at`.
class timer_handle : public handle {
public:
    using handle::handle;
    /// The deadline on the loop's clock.
    [[nodiscard]] loop_clock::time_point when() const noexcept {
        return loop_clock::time_point(std::chrono::nanoseconds(node_ != nullptr ? node_->when : 0));
    }
};

/// What the exception handler receives (Python's context dict).
struct exception_context {
    /// e.g. "Task exception was never retrieved", "Exception in callback".
    std::string message;
    /// The exception, when there is one.
    std::exception_ptr exception;
    /// The task concerned, when there is one.
    std::string task_name;
};

class event_loop;
/// Signature of a replaceable exception handler (`loop.set_exception_handler`).
using exception_handler = std::function<void(event_loop&, const exception_context&)>;

/// asyncio's event loop: one thread, a FIFO ready queue of which each iteration runs only what was
/// ready when it began, and a timer heap whose expired timers join the tail of the ready queue.
/// Not copyable or movable. Destroying a loop destroys the frames of tasks still pending (each is
/// reported as "Task was destroyed but it is pending!"); `asyncio::run` never leaves any.
class event_loop {
public:
    explicit event_loop(clock_kind clock = clock_kind::monotonic) noexcept : core_(clock) {}
    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;
    ~event_loop();

    /// loop.call_soon: runs `f()` in a later iteration, after everything already queued.
    template <class F> handle call_soon(F&& f) {
        auto* n = detail::make_callback(core_, std::forward<F>(f));
        handle h(n);
        n->state = detail::timer_state::in_ready;
        n->ready_pos =
            core_.schedule(&detail::callback_node::ready_fn, static_cast<detail::timer_entry*>(n));
        return h;
    }

    /// loop.call_later: runs `f()` once `delay` has passed (zero or negative: already expired, but
    /// still through the heap). A NaN delay throws std::invalid_argument.
    template <class Rep, class Period, class F>
    timer_handle call_later(std::chrono::duration<Rep, Period> delay, F&& f) {
        const auto d = detail::to_nanoseconds(delay);
        return arm(detail::saturating_add(core_.now(), d), std::forward<F>(f));
    }

    /// loop.call_at: runs `f()` at `when` on the loop's clock.
    template <class F> timer_handle call_at(loop_clock::time_point when, F&& f) {
        return arm(when.time_since_epoch().count(), std::forward<F>(f));
    }

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

    /// loop.run_forever: runs iterations until stop() is called. An idle loop (nothing ready, no
    /// timer, nothing else that could wake it) throws std::runtime_error instead of hanging
    /// forever.
    void run_forever();

    /// loop.stop: the current iteration finishes, then run_forever returns. Called before
    /// run_forever, exactly one iteration runs.
    void stop() noexcept { core_.stopping_ = true; }
    [[nodiscard]] bool is_running() const noexcept { return core_.running_; }

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
    template <class T> task_handle<T> create_task(task<T> t);
    /// The same, named (an empty name gives the default "Task-<n>").
    template <class T> task_handle<T> create_task(task<T> t, std::string name);

    /// The same, started eagerly (see asyncio::create_task with eager_start).
    template <class T> task_handle<T> create_task(task<T> t, eager_start_t);
    template <class T> task_handle<T> create_task(task<T> t, std::string name, eager_start_t);

    /// loop.set_task_factory(asyncio.eager_task_factory) (3.12): from then on, every task created
    /// while the loop runs (create_task, gather's children, ...) runs its first step at once,
    /// inside the call that creates it, until it first suspends.
    void set_task_factory(eager_task_factory_t) noexcept { core_.eager_tasks = true; }
    /// loop.set_task_factory(None): tasks start in the next iteration again (the default).
    void set_task_factory(std::nullptr_t) noexcept { core_.eager_tasks = false; }

    /// Timers waiting in the heap (cancelled ones leave it at once).
    [[nodiscard]] std::size_t pending_timers() const noexcept { return core_.timers_.size(); }
    /// Entries in the ready queue.
    [[nodiscard]] std::size_t ready_size() const noexcept { return core_.ready_.size(); }

    /// Internal: the state the library's awaiters work on.
    [[nodiscard]] detail::loop_core& core() noexcept { return core_; }

private:
    template <class F> timer_handle arm(std::int64_t when, F&& f) {
        auto* n = detail::make_callback(core_, std::forward<F>(f));
        timer_handle h(n);
        core_.add_timer(*n, when);
        return h;
    }

    /// Throws unless run_forever may start: not running, and no other loop running here.
    void check_can_run() const;
    void run_once();
    /// The one place the loop waits: until the next deadline (an I/O poller goes here).
    void wait_for_events(std::int64_t timeout_ns);

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
            detail::running_loop_ref() = self;
        }
        running_guard(const running_guard&) = delete;
        running_guard& operator=(const running_guard&) = delete;
        ~running_guard() {
            self->core_.running_ = false;
            self->core_.stopping_ = false;
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
    std::int64_t timeout = 0;
    if (core_.ready_.empty() && !core_.stopping_) {
        if (core_.timers_.empty()) {
            throw std::runtime_error(
                "event loop deadlock: nothing is ready, no timer is pending and nothing else can "
                "wake the loop (every task waits for something that cannot happen)");
        }
        timeout = core_.timers_.top_when() - core_.now();
        if (timeout < 0) {
            timeout = 0;
        }
        if (timeout > max_wait && core_.clock_ == clock_kind::monotonic) {
            timeout = max_wait;
        }
    }
    wait_for_events(timeout);
    core_.collect_expired(core_.now());
    for (std::size_t n = core_.ready_.size(); n > 0; --n) {
        const detail::ready_entry e = core_.ready_.pop();
        try {
            e.fn(e.arg, true);
        } catch (...) {
            call_exception_handler({"Exception in callback", std::current_exception(), {}});
        }
    }
}

inline void event_loop::wait_for_events(std::int64_t timeout_ns) {
    if (timeout_ns <= 0) {
        return;
    }
    if (core_.clock_ == clock_kind::virtual_time) {
        core_.virtual_now_ = detail::saturating_add(core_.virtual_now_, timeout_ns);
        return;
    }
    std::this_thread::sleep_for(std::chrono::nanoseconds(timeout_ns));
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

inline event_loop::~event_loop() {
    core_.closing_ = true;
    // Pending tasks first, while the ready queue and heap their awaiters unlink from still exist.
    while (!core_.tasks.empty()) {
        detail::state_link& t = core_.tasks.pop_front();
        t.ops->abandon(&t);
    }
    while (!core_.ready_.empty()) {
        const detail::ready_entry e = core_.ready_.pop();
        e.fn(e.arg, false);
    }
    while (!core_.timers_.empty()) {
        detail::timer_entry& t = core_.timers_.pop();
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
