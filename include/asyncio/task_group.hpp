// SPDX-License-Identifier: MIT
// task_group (asyncio.TaskGroup): structured concurrency as a body-taking coroutine.
#pragma once

#include <asyncio/awaitable.hpp>
#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/future.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/task.hpp>

#include <asyncio/detail/awaited_by.hpp>
#include <asyncio/detail/body_outcome.hpp>

#include <exception>
#include <iterator>
#include <list>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace asyncio {

/// asyncio.TaskGroup. C++ has no asynchronous destructor and no `co_await` in a `catch` block, so
/// `async with TaskGroup() as tg: body` becomes a call that owns the body:
///
///     int r = co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<int>
///     {
///         tg.create_task(child(), "name");
///         co_return 42;
///     });
///
/// `run` returns once the body and every child are done (the scope cannot be left while a child
/// runs, and the group lives only as long as `run`). The first child that fails cancels the other
/// children and the body's current await; the failures then come out as one exception_group
/// ("unhandled errors in a TaskGroup"), the body's own error among them, nested groups nested. A
/// child that was merely cancelled is not an error. An external cancellation of the task running
/// the group cancels every child and propagates as cancelled_error once they are done; the group's
/// own cancellation of that task is withdrawn with uncancel(), as in CPython (asyncio-semantics.md
/// section 6). The awaiter resumes two iterations after the last child finishes. Children are
/// cancelled in the order they were created (CPython walks a set, in no fixed order).
class task_group {
public:
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;
    ~task_group() {
        // Only when the loop is destroyed under a pending group: its children's callbacks must
        // not reach it.
        for (child& c : tasks_) {
            if (!c.task.done()) {
                c.task.remove_done_callback(c.callback);
            }
        }
    }

    /// TaskGroup.create_task(coro, name=...): spawns `t` as a child of the group (the body starts
    /// in the next iteration). std::runtime_error, with CPython's message, when the group is
    /// finished or shutting down; the rejected task is destroyed without running. `site`: the
    /// caller's location, kept in debug mode.
    template <class T>
    task_handle<T> create_task(task<T> t, std::string name = {},
                               const detail::source_site& site = {
                                   __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                                   __builtin_FUNCTION()}) {
        if (!entered_) {
            throw std::runtime_error("TaskGroup " + repr() + " has not been entered");
        }
        if (exiting_ && tasks_.empty()) {
            throw std::runtime_error("TaskGroup " + repr() + " is finished");
        }
        if (aborting_) {
            throw std::runtime_error("TaskGroup " + repr() + " is shutting down");
        }
        task_handle<T> h = loop_->create_task(std::move(t), std::move(name), site);
        tasks_.emplace_back();
        auto it = std::prev(tasks_.end());
        it->task = h;
        it->callback = h.add_done_callback([this, it] { on_task_done(it); });
        if (!h.done()) {
            // CPython 3.14: future_add_to_awaited_by(task, parent), for call graphs (graph.hpp).
            it->host.attach(*detail::state_access::get(h), detail::state_access::core_of(parent_));
        }
        return h;
    }

    /// Runs `body(tg)`, a callable taking the group and returning an awaitable (typically a
    /// coroutine lambda returning task<T>), inline in the calling task, then waits for every
    /// child; returns what the body returned. See the class comment for errors and cancellation.
    template <class F>
        requires std::is_invocable_v<F&, task_group&> &&
                 awaitable<std::invoke_result_t<F&, task_group&>>
    [[nodiscard("co_await the task group")]] static auto run(F body)
        -> task<await_result_t<std::invoke_result_t<F&, task_group&>>> {
        return run_body<await_result_t<std::invoke_result_t<F&, task_group&>>>(std::move(body));
    }

    /// TaskGroup's repr: "<TaskGroup tasks=2 errors=1 cancelling>".
    [[nodiscard]] std::string repr() const {
        std::string s = "<TaskGroup";
        if (!tasks_.empty()) {
            s += " tasks=" + std::to_string(tasks_.size());
        }
        if (!errors_.empty()) {
            s += " errors=" + std::to_string(errors_.size());
        }
        if (aborting_) {
            s += " cancelling";
        } else if (entered_) {
            s += " entered";
        }
        return s + ">";
    }

private:
    struct child {
        task_ref task;
        callback_id callback = 0;
        detail::awaited_by_node host; // names the host task in the child's done list
    };

    task_group() = default;

    void enter() {
        loop_ = &get_running_loop();
        parent_ = current_task();
        if (!parent_) {
            throw std::runtime_error("TaskGroup " + repr() + " cannot determine the parent task");
        }
        entered_ = true;
    }

    void abort() {
        aborting_ = true;
        for (child& c : tasks_) {
            if (!c.task.done()) {
                c.task.cancel();
            }
        }
    }

    // TaskGroup._on_task_done: a done callback, so it runs one iteration after the child ends.
    void on_task_done(std::list<child>::iterator it) {
        task_ref t = std::move(it->task);
        tasks_.erase(it);
        if (on_completed_ && tasks_.empty() && !on_completed_.done()) {
            on_completed_.set_result();
        }
        if (t.cancelled()) {
            return;
        }
        std::exception_ptr e = t.exception();
        if (!e) {
            return;
        }
        errors_.push_back(e);
        if (parent_.done()) {
            loop_->call_exception_handler({"Task " + t.get_name() +
                                               " has errored out but its parent task " +
                                               parent_.get_name() + " is already completed",
                                           e, t.get_name()});
            return;
        }
        if (!aborting_ && !parent_cancel_requested_) {
            abort();
            parent_cancel_requested_ = true;
            parent_.cancel();
        }
    }

    template <class R, class F> static task<R> run_body(F body) {
        task_group g;
        g.enter();
        detail::body_outcome<R> body_ended;
        try {
            if constexpr (std::is_void_v<R>) {
                co_await body(g);
                body_ended.result.emplace();
            } else {
                body_ended.result.emplace(co_await body(g));
            }
        } catch (const cancelled_error&) {
            body_ended.caught(true);
        } catch (...) {
            body_ended.caught(false);
        }
        const std::exception_ptr& error = body_ended.error;
        const bool cancelled = body_ended.cancelled;
        // TaskGroup.__aexit__.
        g.exiting_ = true;
        std::exception_ptr propagate_cancellation = cancelled ? error : nullptr;
        if (error && !g.aborting_) {
            g.abort();
        }
        while (!g.tasks_.empty()) {
            if (!g.on_completed_) {
                g.on_completed_ = g.loop_->create_future<void>();
            }
            std::exception_ptr cancel;
            try {
                co_await g.on_completed_;
            } catch (const cancelled_error&) {
                cancel = std::current_exception();
            }
            if (cancel && !g.aborting_) {
                propagate_cancellation = cancel;
                g.abort();
            }
            g.on_completed_ = future<void>();
        }
        if (g.parent_cancel_requested_ && g.parent_.uncancel() == 0) {
            propagate_cancellation = nullptr;
        }
        if (propagate_cancellation && g.errors_.empty()) {
            std::rethrow_exception(propagate_cancellation);
        }
        if (error && !cancelled) {
            g.errors_.push_back(error);
        }
        if (!g.errors_.empty()) {
            if (g.parent_.cancelling() != 0) {
                g.parent_.uncancel();
                g.parent_.cancel();
            }
            throw exception_group("unhandled errors in a TaskGroup", std::move(g.errors_));
        }
        co_return body_ended.take();
    }

    event_loop* loop_ = nullptr;
    task_ref parent_;
    std::list<child> tasks_; // pending children, in creation order
    std::vector<std::exception_ptr> errors_;
    future<void> on_completed_;
    bool entered_ = false;
    bool exiting_ = false;
    bool aborting_ = false;
    bool parent_cancel_requested_ = false;
};

} // namespace asyncio
