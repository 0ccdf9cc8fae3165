// SPDX-License-Identifier: MIT
// task<T> (a coroutine, `async def`), task_handle<T> (asyncio.Task) and create_task.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/future.hpp>
#include <asyncio/loop.hpp>

#include <asyncio/detail/frame.hpp>
#include <asyncio/detail/ref_ptr.hpp>
#include <asyncio/detail/state_awaiter.hpp>
#include <asyncio/detail/task_core.hpp>
#include <asyncio/detail/task_promise.hpp>

#include <coroutine>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace asyncio {

/// A coroutine returning `T` (Python's `async def f() -> T`): lazy, move-only. `co_await f()` runs
/// it inline, like `await f()`: no loop round trip and no other task in between; a chain of any
/// depth keeps the stack flat. `T` may be void, a value, a reference or a move-only type. Awaiting
/// a task twice, or a moved-from task, throws std::runtime_error("cannot reuse already awaited
/// coroutine"). `create_task` turns it into a concurrently running task_handle<T>. A task may only
/// be awaited from another asyncio-cpp coroutine.
template <class T> class [[nodiscard]] task {
public:
    using promise_type = detail::task_promise<T>;
    using value_type = T;

    task() noexcept = default;
    task(task&&) noexcept = default;
    task& operator=(task&&) noexcept = default;
    ~task() {
        // Inside an await chain whose task is being destroyed with its loop, the frame is handed
        // to that task, which destroys the chain level by level instead of recursively.
        if (frame_) {
            if (detail::task_core* root = promise().root_;
                root != nullptr && root->defer_frame_destruction(frame_.get())) {
                (void)frame_.release();
            }
        }
    }

    /// True until the task is awaited, spawned or moved from.
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(frame_); }

    auto operator co_await() & noexcept { return awaiter{this}; }
    auto operator co_await() && noexcept { return awaiter{this}; }

private:
    friend promise_type;
    friend class event_loop;
    friend struct detail::state_access;

    explicit task(std::coroutine_handle<promise_type> h) noexcept : frame_(h) {}

    promise_type& promise() const noexcept { return frame_.promise<promise_type>(); }

    struct awaiter {
        task* self;

        bool await_ready() const {
            if (!self->frame_) {
                throw std::runtime_error("cannot reuse already awaited coroutine");
            }
            return false;
        }
        template <class Promise>
        void await_suspend(std::coroutine_handle<Promise> parent) noexcept {
            promise_type& child = self->promise();
            child.continuation_ = parent;
            child.root_ = detail::root_of(parent);
#if defined(ASYNCIO_CALL_GRAPH)
            // The innermost coroutine so far is the parent (or, inside an async generator, the
            // task coroutine awaiting the generator, whose frames are not recorded).
            child.caller_ = child.root_->innermost();
            child.root_->set_innermost(&child);
#endif
            child.root_->set_next(self->frame_.get()); // the driver starts the child
        }
        T await_resume() {
            struct destroy_after {
                task* t;
                ~destroy_after() { t->frame_.reset(); }
            } guard{self};
            promise_type& p = self->promise();
            if (p.exception_) {
                std::rethrow_exception(p.exception_);
            }
            if constexpr (std::is_void_v<T> || std::is_reference_v<T>) {
                return p.value_.get();
            } else {
                return std::move(p.value_.get());
            }
        }
    };

    detail::unique_frame frame_;
};

namespace detail {

template <class T> task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>(std::coroutine_handle<task_promise>::from_promise(*this));
}
template <class T> task<T&> task_promise<T&>::get_return_object() noexcept {
    return task<T&>(std::coroutine_handle<task_promise>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>(std::coroutine_handle<task_promise>::from_promise(*this));
}

/// The state of a spawned task: the core plus the typed result, moved out of the frame when the
/// coroutine finishes (the frame is destroyed right then; the state lives while handles do).
/// Allocated from the loop's arena right after the frame was, it usually sits next to it.
template <class T> class task_state final : public task_core, public pooled {
public:
    task_state(event_loop& loop, unique_frame frame, bool numbered, bool eager, context_data* ctx)
        : task_core(loop, std::move(frame), &ops_table, numbered, eager, ctx) {
        frame_.promise<task_promise<T>>().root_ = this;
#if defined(ASYNCIO_CALL_GRAPH)
        set_innermost(&frame_.promise<task_promise<T>>());
#endif
    }
    task_state(const task_state&) = delete;
    task_state& operator=(const task_state&) = delete;

    value_slot<T>& slot() noexcept { return slot_; }

    /// Builds the state of a spawned task (the loop holds the only reference). `ctx`: the
    /// context it runs in (the task adds a reference), or null for a copy of the current one.
    static task_state* spawn(event_loop& loop, unique_frame frame, bool numbered, bool eager,
                             context_data* ctx = nullptr) {
        return new task_state(loop, std::move(frame), numbered, eager, ctx);
    }

private:
    ~task_state() = default;

    static void finish(state_link* l) noexcept {
        auto* self = static_cast<task_state*>(static_cast<future_state_base*>(l));
        auto& p = self->frame_.template promise<task_promise<T>>();
        std::exception_ptr ex = p.exception_;
        if (!ex && !self->must_cancel_) {
            try {
                if constexpr (std::is_void_v<T>) {
                    self->slot_.emplace();
                } else if constexpr (std::is_reference_v<T>) {
                    self->slot_.emplace(p.value_.get());
                } else {
                    self->slot_.emplace(std::move(p.value_.get()));
                }
            } catch (...) {
                ex = std::current_exception();
            }
        }
        self->frame_.reset();
        self->conclude(std::move(ex));
    }

    static void destroy(state_link* l) noexcept {
        delete static_cast<task_state*>(static_cast<future_state_base*>(l));
    }

    static constexpr state_ops ops_table{&task_state::loop_closed, &task_state::abandon_pending,
                                         &task_state::destroy, &task_state::finish,
                                         &task_state::cancel_entry};

    value_slot<T> slot_;
};

} // namespace detail

/// A type-erased, copyable reference to a spawned task (what current_task() and all_tasks()
/// return). Empty when default-constructed or moved from: every operation on an empty reference
/// (or task_handle) throws invalid_state_error. A task whose loop was destroyed while it was
/// pending reads as done and cancelled ("Event loop is closed"); cancel() then returns false.
class task_ref {
public:
    task_ref() noexcept = default;

    explicit operator bool() const noexcept { return static_cast<bool>(core_); }
    /// Task.done(): finished with a result, an exception, or cancelled.
    [[nodiscard]] bool done() const { return core().done(); }
    /// Task.cancelled(): true only once the task has actually ended cancelled.
    [[nodiscard]] bool cancelled() const { return core().cancelled(); }
    /// Task.cancel(msg): requests cancellation, delivered as cancelled_error at the task's current
    /// co_await one iteration later (or at its next step). False when the task is already done.
    bool cancel(std::string msg = {}) { return core().cancel(std::move(msg)); }
    /// Task.cancelling(): the number of pending cancel requests.
    [[nodiscard]] int cancelling() const { return core().cancelling(); }
    /// Task.uncancel(): decrements cancelling() (3.13: at 0 withdraws an undelivered request).
    int uncancel() { return core().uncancel(); }
    /// Task.get_name(): "Task-<n>" (counted per loop) unless a name was given.
    [[nodiscard]] const std::string& get_name() const { return core().name(); }
    void set_name(std::string name) { core().set_name(std::move(name)); }
    /// Task.exception(): the exception or null. Pending: invalid_state_error; cancelled:
    /// cancelled_error.
    [[nodiscard]] std::exception_ptr exception() { return core().exception(); }

    /// Task.add_done_callback on the untyped reference: `f(task_ref&)` (or `f()`).
    template <class F> callback_id add_done_callback(F f) {
        return core().add_callback([fn = std::move(f)](detail::future_state_base* b) mutable {
            task_ref r(static_cast<detail::task_core*>(b));
            detail::invoke_done_callback(fn, r);
        });
    }
    /// Task.remove_done_callback: the number of callbacks removed (0 or 1).
    std::size_t remove_done_callback(callback_id id) { return core().remove_callback(id); }

    friend bool operator==(const task_ref& a, const task_ref& b) noexcept {
        return a.core_ == b.core_;
    }

protected:
    explicit task_ref(detail::task_core* c) noexcept : core_(c) {}
    /// The task, or invalid_state_error for an empty reference.
    [[nodiscard]] detail::task_core& core() const {
        if (!core_) {
            throw invalid_state_error(
                "empty task handle (default-constructed or moved-from): it refers to no task");
        }
        return *core_;
    }
    detail::ref_ptr<detail::task_core> core_;

    friend task_ref current_task();
    friend struct detail::state_access;
};

/// asyncio.Task for a coroutine returning `T`: copyable, awaitable by any number of tasks (each
/// resumes the iteration after the task finishes; a finished task does not suspend them).
/// Cancelling a task that awaits this one cancels this one too.
template <class T> class task_handle : public task_ref {
public:
    using value_type = T;

    task_handle() noexcept = default;

    /// Task.result(): a reference into the shared state (void for void). Pending:
    /// invalid_state_error("Result is not set."); cancelled: cancelled_error; failed: rethrows.
    decltype(auto) result() { return detail::result_ref(*state(), state()->slot()); }

    /// Task.add_done_callback: `f(task_handle<T>&)` (or `f()`) runs through call_soon once the
    /// task is done, in registration order. Returns the id remove_done_callback takes.
    template <class F> callback_id add_done_callback(F f) {
        return state()->add_callback([fn = std::move(f)](detail::future_state_base* b) mutable {
            task_handle h(static_cast<state_type*>(b));
            detail::invoke_done_callback(fn, h);
        });
    }
    /// Task.remove_done_callback: the number of callbacks removed (0 or 1).
    std::size_t remove_done_callback(callback_id id) { return state()->remove_callback(id); }

    /// `co_await h` gives a copy of the result; `co_await std::move(h)` moves it out. Awaiting a
    /// pending task of another loop throws std::runtime_error; an empty handle,
    /// invalid_state_error.
    auto operator co_await() & { return detail::state_awaiter<state_type, false>(state()); }
    auto operator co_await() && { return detail::state_awaiter<state_type, true>(state()); }

private:
    using state_type = detail::task_state<T>;
    friend class event_loop;
    friend struct detail::state_access;

    explicit task_handle(state_type* s) noexcept : task_ref(s) {}
    [[nodiscard]] state_type* state() const { return static_cast<state_type*>(&core()); }
};

namespace detail {

/// Gives the library's combinators the shared state behind a handle or future.
struct state_access {
    /// Spawns `t` on `loop` and returns a reference to its state. `name` empty: "Task-<n>".
    /// `eager` (and the loop running): the first step runs here, before spawn returns; as in
    /// CPython 3.13 with a task factory, the task then has its default name during that step and
    /// is named afterwards.
    /// `ctx`: the context the task runs in (null: a copy of the current one). `site`: the
    /// create_task call, recorded in debug mode.
    template <class T>
    static ref_ptr<task_state<T>> spawn(event_loop& loop, task<T>& t, std::string name, bool eager,
                                        const context* ctx = nullptr,
                                        const source_site& site = {}) {
        if (!t.frame_) {
            throw std::runtime_error("cannot reuse already awaited coroutine");
        }
        if (loop.is_closed()) {
            throw std::runtime_error("Event loop is closed");
        }
        eager = eager && loop.is_running();
        ref_ptr<task_state<T>> s(task_state<T>::spawn(loop, std::move(t.frame_),
                                                      eager || name.empty(), eager,
                                                      ctx != nullptr ? ctx->data() : nullptr));
        if (loop.get_debug()) [[unlikely]] {
            record_site(*s, site);
        }
        if (eager) {
            s->run_first_step();
        }
        if (!name.empty()) {
            s->set_name(std::move(name));
        }
        return s;
    }
    ASYNCIO_NOINLINE static void record_site(task_core& t, const source_site& site) {
        t.set_created_at(site);
    }
    template <class T> static task_handle<T> handle_of(const ref_ptr<task_state<T>>& s) noexcept {
        return task_handle<T>(s.get());
    }
    /// The state behind `h` (null for an empty handle).
    template <class T> static ref_ptr<task_state<T>> get(const task_handle<T>& h) noexcept {
        return ref_ptr<task_state<T>>(static_cast<task_state<T>*>(h.core_.get()));
    }
    template <class T> static ref_ptr<future_state<T>> get(const future<T>& f) noexcept {
        return f.s_;
    }
    /// The task behind `r` (null for an empty reference).
    static task_core* core_of(const task_ref& r) noexcept { return r.core_.get(); }
    /// A reference to `c` (empty for null).
    static task_ref ref_of(task_core* c) noexcept { return task_ref(c); }
    /// The pending tasks of `loop`, as references.
    static std::vector<task_ref> tasks_of(event_loop& loop) {
        std::vector<task_ref> out;
        loop.core().tasks.for_each(
            [&](state_link& l) { out.push_back(task_ref(static_cast<task_core*>(&l))); });
        return out;
    }
};

} // namespace detail

template <class T>
task_handle<T> event_loop::create_task(task<T> t, const detail::source_site& site) {
    return detail::state_access::handle_of(
        detail::state_access::spawn(*this, t, {}, core_.eager_tasks, nullptr, site));
}
template <class T>
task_handle<T> event_loop::create_task(task<T> t, std::string name,
                                       const detail::source_site& site) {
    return detail::state_access::handle_of(
        detail::state_access::spawn(*this, t, std::move(name), core_.eager_tasks, nullptr, site));
}
template <class T>
task_handle<T> event_loop::create_task(task<T> t, const context& ctx,
                                       const detail::source_site& site) {
    return detail::state_access::handle_of(
        detail::state_access::spawn(*this, t, {}, core_.eager_tasks, &ctx, site));
}
template <class T>
task_handle<T> event_loop::create_task(task<T> t, std::string name, const context& ctx,
                                       const detail::source_site& site) {
    return detail::state_access::handle_of(
        detail::state_access::spawn(*this, t, std::move(name), core_.eager_tasks, &ctx, site));
}
template <class T>
task_handle<T> event_loop::create_task(task<T> t, eager_start_t, const detail::source_site& site) {
    return detail::state_access::handle_of(
        detail::state_access::spawn(*this, t, {}, true, nullptr, site));
}
template <class T>
task_handle<T> event_loop::create_task(task<T> t, std::string name, eager_start_t,
                                       const detail::source_site& site) {
    return detail::state_access::handle_of(
        detail::state_access::spawn(*this, t, std::move(name), true, nullptr, site));
}

/// asyncio.create_task: spawns `t` on the running loop. Its body starts in the next iteration,
/// never inside create_task. The loop keeps the task alive until it finishes, whether or not a
/// handle is kept (CPython keeps tasks only weakly). Throws std::runtime_error outside a loop.
template <class T>
task_handle<T> create_task(task<T> t, const detail::source_site& site = {
                                          __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                                          __builtin_FUNCTION()}) {
    return get_running_loop().create_task(std::move(t), site);
}
/// asyncio.create_task(coro, name=name): the same, named (an empty name gives "Task-<n>").
template <class T>
task_handle<T> create_task(task<T> t, std::string name,
                           const detail::source_site& site = {
                               __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                               __builtin_FUNCTION()}) {
    return get_running_loop().create_task(std::move(t), std::move(name), site);
}
/// asyncio.create_task(coro, context=ctx) (3.11): the task runs in `ctx` itself (what it sets is
/// visible there afterwards) instead of a copy of the current context.
template <class T>
task_handle<T> create_task(task<T> t, const context& ctx,
                           const detail::source_site& site = {
                               __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                               __builtin_FUNCTION()}) {
    return get_running_loop().create_task(std::move(t), ctx, site);
}
template <class T>
task_handle<T> create_task(task<T> t, std::string name, const context& ctx,
                           const detail::source_site& site = {
                               __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                               __builtin_FUNCTION()}) {
    return get_running_loop().create_task(std::move(t), std::move(name), ctx, site);
}
/// asyncio.create_task(coro, eager_start=True) (3.14's per-call form of 3.12's eager tasks): the
/// body runs at once, inside create_task, until it first suspends; a body that never suspends
/// returns a task that is already done. Ordering as CPython 3.13's eager_task_factory.
template <class T>
task_handle<T> create_task(task<T> t, eager_start_t e,
                           const detail::source_site& site = {
                               __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                               __builtin_FUNCTION()}) {
    return get_running_loop().create_task(std::move(t), e, site);
}
template <class T>
task_handle<T> create_task(task<T> t, std::string name, eager_start_t e,
                           const detail::source_site& site = {
                               __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                               __builtin_FUNCTION()}) {
    return get_running_loop().create_task(std::move(t), std::move(name), e, site);
}

/// asyncio.ensure_future: a task<T> becomes a task on `loop`; a handle stays itself.
template <class T> task_handle<T> ensure_future(task<T> t, event_loop& loop) {
    return loop.create_task(std::move(t));
}
template <class T> task_handle<T> ensure_future(task_handle<T> h, event_loop&) noexcept {
    return h;
}

/// asyncio.current_task(): the running task, or an empty task_ref inside a plain callback.
/// Throws std::runtime_error when no loop is running.
[[nodiscard]] inline task_ref current_task() {
    void* t = get_running_loop().core().current_task;
    return task_ref(static_cast<detail::task_core*>(t));
}

/// asyncio.all_tasks(): the running loop's tasks that are not done yet.
[[nodiscard]] inline std::vector<task_ref> all_tasks() {
    return detail::state_access::tasks_of(get_running_loop());
}

} // namespace asyncio
