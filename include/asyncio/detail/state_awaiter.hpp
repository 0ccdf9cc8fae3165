// SPDX-License-Identifier: MIT
// The awaiter for futures and task handles: suspends on the done list, resumes one hop later.
#pragma once

#include <asyncio/config.hpp>

#include <asyncio/detail/future_state.hpp>
#include <asyncio/detail/task_core.hpp>

#include <coroutine>
#include <stdexcept>
#include <utility>

namespace asyncio::detail {

/// The done-list entry of a task awaiting a future or task: wakes the task. Not a template, so
/// that call graphs (graph.hpp) can tell these entries from others by their `on_done`.
struct task_waiter : done_node {
    /// The awaiting task (null until it suspends).
    task_core* root_ = nullptr;

    /// The task waiting through `n`, a node of a done list, or null when `n` is no task_waiter.
    [[nodiscard]] static task_core* waiting_task(const done_node& n) noexcept {
        return n.on_done == &fire ? static_cast<const task_waiter&>(n).root_ : nullptr;
    }

protected:
    static void fire(done_node* n) noexcept { static_cast<task_waiter*>(n)->root_->wake(); }
};

/// `co_await` on a future or task state. Does not suspend when the state is already done. Lives
/// in the awaiting frame and unlinks itself if that frame is destroyed first. `Move` takes the
/// value out (co_await std::move(h)); otherwise the awaiter gets a copy.
template <class State, bool Move> class state_awaiter : public task_waiter {
public:
    explicit state_awaiter(State* s) noexcept : s_(s) {}
    state_awaiter(const state_awaiter&) = delete;
    state_awaiter& operator=(const state_awaiter&) = delete;
    ~state_awaiter() { unlink(); }

    [[nodiscard]] bool await_ready() const noexcept { return s_->done(); }

    template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
        task_core* root = root_of(h);
        if (static_cast<future_state_base*>(s_) == static_cast<future_state_base*>(root)) {
            throw std::runtime_error("Task cannot await on itself");
        }
        if (!s_->belongs_to(root->loop())) {
            // CPython raises this at the await one iteration later; here it is raised at once.
            throw std::runtime_error("Task got Future attached to a different loop");
        }
        root_ = root;
        on_done = &fire;
        s_->add_waiter(*this);
        root_->suspend(h, cancel_hook{&on_cancel, this});
    }

    /// The result type is spelled out (not deduced) so that asking what an await gives, as the
    /// awaitable concept does, never instantiates the body.
    auto await_resume()
        -> decltype(take_result<Move>(std::declval<State&>(), std::declval<State&>().slot())) {
        unlink();
        if (root_ != nullptr) {
            if (s_->cancelled()) {
                root_->keep_awaited_cancellation(); // its cancelled_error, with its message
            } else {
                root_->throw_if_cancel_delivered();
            }
        }
        return take_result<Move>(*s_, s_->slot());
    }

private:
    // Cancelling the awaiting task cancels what it awaits (a future, or a task and its chain).
    static bool on_cancel(void* ctx, task_core& self) {
        return static_cast<state_awaiter*>(ctx)->s_->cancel(self.cancel_message());
    }

    State* s_;
};

} // namespace asyncio::detail
