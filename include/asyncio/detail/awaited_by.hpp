// SPDX-License-Identifier: MIT
// A passive done-list entry that names a task waiting for a future or task without awaiting it.
#pragma once

#include <asyncio/config.hpp>

#include <asyncio/detail/future_state.hpp>

namespace asyncio::detail {

class task_core;

/// CPython 3.14's future_add_to_awaited_by(fut, waiter) for waits that are no co_await: a task
/// group links one into each child's done list, naming the group's host task, so that the child's
/// call graph (graph.hpp) shows the host under "Awaited by". Completion only unlinks it (it
/// schedules nothing); it unlinks itself if it dies first. Its owner keeps it at a fixed address
/// while it is linked. 32 bytes.
class awaited_by_node : public done_node {
public:
    awaited_by_node() noexcept { on_done = &passed; }
    awaited_by_node(const awaited_by_node&) = delete;
    awaited_by_node& operator=(const awaited_by_node&) = delete;
    ~awaited_by_node() { unlink(); }

    /// Links the node into `s`'s done list (s pending), naming `waiter`.
    void attach(future_state_base& s, task_core* waiter) noexcept {
        waiter_ = waiter;
        s.add_waiter(*this);
    }

    /// The task named by `n`, a node of a done list, or null when `n` is no awaited_by_node.
    [[nodiscard]] static task_core* waiting_task(const done_node& n) noexcept {
        return n.on_done == &passed ? static_cast<const awaited_by_node&>(n).waiter_ : nullptr;
    }

private:
    static void passed(done_node*) noexcept {}

    task_core* waiter_ = nullptr;
};

} // namespace asyncio::detail
