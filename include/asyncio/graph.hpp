// SPDX-License-Identifier: MIT
// Call graphs (asyncio.capture_call_graph, format_call_graph, print_call_graph of CPython 3.14):
// where each task is suspended and which tasks await it, and a dump of every task on a signal.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/future.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/task.hpp>

#include <asyncio/detail/awaited_by.hpp>
#include <asyncio/detail/future_state.hpp>
#include <asyncio/detail/gather_core.hpp>
#include <asyncio/detail/repr_value.hpp>
#include <asyncio/detail/running_loop.hpp>
#include <asyncio/detail/state_awaiter.hpp>
#include <asyncio/detail/task_core.hpp>
#include <asyncio/detail/task_promise.hpp>

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace asyncio {

/// asyncio.FrameCallGraphEntry: one coroutine of a task's await chain, where it is suspended.
/// `function` is the name the compiler gives the function holding the `co_await`
/// (`__builtin_FUNCTION()`: unqualified, "operator()" for a lambda), `file` and `line` that
/// co_await's location. Python stores the frame object; C++ has none to keep.
struct frame_call_graph_entry {
    std::string function;
    std::string file;
    int line = 0;
};

/// asyncio.FutureCallGraph: a task (or future), its call stack innermost first, and the graphs of
/// the tasks awaiting it: a task awaiting it with co_await, the task awaiting a gather it is a
/// child of (as CPython 3.14, which names gather's caller rather than the gathering future), the
/// host task of its task group. A value: it keeps the task's state alive (`task`), not its frames.
struct future_call_graph {
    /// A task (false for a future<T>).
    bool is_task = false;
    /// Task.get_name() (empty for a future).
    std::string name;
    /// The address of the task or future state, what Python's id() prints.
    std::uintptr_t id = 0;
    /// The task (empty for a future).
    task_ref task;
    std::vector<frame_call_graph_entry> call_stack;
    std::vector<future_call_graph> awaited_by;
};

/// The keyword arguments of asyncio.capture_call_graph: `capture_call_graph(t, {.limit = 2})`.
/// `depth` (current task only, at least 1): how many frames to skip from the innermost, 1 keeping
/// the frame that calls capture_call_graph. `limit`: each call stack in the graph keeps at most
/// |limit| entries, the outermost ones when positive, the innermost ones when negative (CPython's
/// code, which keeps the entries nearest the task's own coroutine for a positive limit); 0 keeps
/// none, so only "Awaited by" remains; empty keeps all.
struct call_graph_options {
    int depth = 1;
    std::optional<int> limit;
};

namespace detail::graph {

// The location of the co_await each coroutine of `t`'s chain is suspended at, innermost first.
// Without ASYNCIO_CALL_GRAPH nothing is recorded: none. A coroutine that has not awaited yet (a
// task not started) is left out, as are the frames of async generators (their co_awaits are not
// recorded: a task awaited inside one is shown as awaited by the coroutine awaiting the generator).
// `running`: `t` is the current task, whose innermost coroutine is the one running (its last
// await is over), so the walk starts at the coroutine awaiting it.
inline std::vector<frame_call_graph_entry> suspended_frames(task_core& t, bool running = false) {
    std::vector<frame_call_graph_entry> out;
#if defined(ASYNCIO_CALL_GRAPH)
    const task_promise_base* p = t.done() ? nullptr : t.innermost();
    if (running && p != nullptr) {
        p = p->caller_;
    }
    for (; p != nullptr; p = p->caller_) {
        if (p->await_file_ != nullptr) {
            out.push_back({p->await_function_, p->await_file_, p->await_line_});
        }
    }
#else
    static_cast<void>(t);
    static_cast<void>(running);
#endif
    return out;
}

// What waits for `s`, in the order of its done list, each task once (CPython keeps a set).
inline std::vector<task_core*> waiters_of(future_state_base& s) {
    std::vector<task_core*> out;
    s.for_each_done_node([&](const done_node& n) {
        task_core* t = task_waiter::waiting_task(n);
        if (t == nullptr) {
            t = gather_core::waiting_task(n);
        }
        if (t == nullptr) {
            t = awaited_by_node::waiting_task(n);
        }
        if (t != nullptr && std::ranges::find(out, t) == out.end()) {
            out.push_back(t);
        }
    });
    return out;
}

// graph.py's limit: a positive limit keeps the outermost entries, a negative one the innermost.
inline void apply_limit(std::vector<frame_call_graph_entry>& st, std::optional<int> limit) {
    if (!limit) {
        return;
    }
    const auto keep = static_cast<std::size_t>(*limit < 0 ? -static_cast<long>(*limit)
                                                          : static_cast<long>(*limit));
    if (keep >= st.size()) {
        return;
    }
    if (*limit > 0) {
        st.erase(st.begin(), st.end() - static_cast<std::ptrdiff_t>(keep));
    } else {
        st.erase(st.begin() + static_cast<std::ptrdiff_t>(keep), st.end());
    }
}

inline future_call_graph node_for(future_state_base& s) {
    future_call_graph g;
    g.is_task = s.is_task();
    g.id = reinterpret_cast<std::uintptr_t>(&s);
    if (g.is_task) {
        g.name = s.name();
        g.task = state_access::ref_of(static_cast<task_core*>(&s));
    }
    return g;
}

// _build_graph_for_future: the awaiters' graphs recursively. `path` holds the tasks being
// expanded: a task met again (tasks awaiting each other in a cycle) is listed, not expanded.
inline void add_awaited_by(future_call_graph& g, future_state_base& s, std::optional<int> limit,
                           std::vector<const future_state_base*>& path) {
    path.push_back(&s);
    for (task_core* w : waiters_of(s)) {
        future_call_graph parent = node_for(*w);
        if (std::ranges::find(path, w) == path.end()) {
            if (limit != 0) {
                parent.call_stack = suspended_frames(*w);
                apply_limit(parent.call_stack, limit);
            }
            add_awaited_by(parent, *w, limit, path);
        }
        g.awaited_by.push_back(std::move(parent));
    }
    path.pop_back();
}

inline future_call_graph build(future_state_base& s, std::optional<int> limit) {
    future_call_graph g = node_for(s);
    if (g.is_task && limit != 0) {
        g.call_stack = suspended_frames(static_cast<task_core&>(s));
        apply_limit(g.call_stack, limit);
    }
    std::vector<const future_state_base*> path;
    add_awaited_by(g, s, limit, path);
    return g;
}

// The current task's graph: the innermost entry is where capture_call_graph was called (passed
// down from the public function's default arguments), then the coroutines awaiting that one.
inline future_call_graph build_current(task_core& t, const call_graph_options& o,
                                       frame_call_graph_entry here) {
    if (o.depth < 1) {
        throw std::invalid_argument("depth must be at least 1");
    }
    future_call_graph g = node_for(t);
    std::vector<frame_call_graph_entry> st;
    st.push_back(std::move(here));
    const std::vector<frame_call_graph_entry> rest = suspended_frames(t, true);
    st.insert(st.end(), rest.begin(), rest.end());
    const auto skip = static_cast<std::size_t>(o.depth - 1);
    if (skip > st.size()) {
        throw std::invalid_argument("call stack is not deep enough");
    }
    st.erase(st.begin(), st.begin() + static_cast<std::ptrdiff_t>(skip));
    if (o.limit == 0) {
        st.clear();
    }
    apply_limit(st, o.limit);
    g.call_stack = std::move(st);
    std::vector<const future_state_base*> path;
    add_awaited_by(g, t, o.limit, path);
    return g;
}

inline task_core* current_of_running_loop() noexcept {
    event_loop* l = running_loop();
    return l == nullptr ? nullptr : static_cast<task_core*>(l->core().current_task);
}

inline void render(const future_call_graph& g, std::ostringstream& out, std::size_t level,
                   bool& first) {
    const std::string indent(level * 4, ' ');
    auto line = [&]() -> std::ostringstream& {
        if (!first) {
            out << '\n';
        }
        first = false;
        out << indent;
        return out;
    };
    if (g.is_task) {
        line() << "* Task(name=";
        repr::write_string(out, g.name);
        out << ", id=0x" << std::hex << g.id << std::dec << ')';
    } else {
        line() << "* Future(id=0x" << std::hex << g.id << std::dec << ')';
    }
    if (!g.call_stack.empty()) {
        line() << "  + Call stack:";
        for (const frame_call_graph_entry& e : g.call_stack) {
            line() << "  |   File ";
            repr::write_string(out, e.file);
            out << ", line " << e.line << ", in async " << e.function << "()";
        }
    }
    if (!g.awaited_by.empty()) {
        line() << "  + Awaited by:";
        for (const future_call_graph& a : g.awaited_by) {
            render(a, out, level + 1, first);
        }
    }
}

} // namespace detail::graph

/// asyncio.capture_call_graph() for the current task: its graph, or nullopt when called from a
/// plain callback (no current task). The innermost entry is where this function is called (call
/// it from the coroutine itself: a plain function in between is shown in its place); the
/// coroutines awaiting that one follow when ASYNCIO_CALL_GRAPH is defined (config.hpp), else
/// that entry is the only one. Throws std::runtime_error outside a running loop,
/// std::invalid_argument for a depth below 1 (CPython would show its own introspection frames)
/// or deeper than the known frames ("call stack is not deep enough", CPython's ValueError).
[[nodiscard]] inline std::optional<future_call_graph>
capture_call_graph(call_graph_options options = {}, const char* function = __builtin_FUNCTION(),
                   const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    if (detail::running_loop() == nullptr) {
        throw std::runtime_error("capture_call_graph() is called outside of a running event loop "
                                 "and no *future* to introspect was provided");
    }
    detail::task_core* t = detail::graph::current_of_running_loop();
    if (t == nullptr) {
        return std::nullopt;
    }
    return detail::graph::build_current(*t, options, {function, file, line});
}

/// asyncio.capture_call_graph(task): the graph of `task` (the current task's, as above, when
/// `task` is the task running now). A task that is done has no call stack. Throws
/// invalid_state_error for an empty reference, and std::invalid_argument for a bad depth as above.
/// Costs a walk of the task's chain and of the done lists of it and of its awaiters.
[[nodiscard]] inline future_call_graph
capture_call_graph(const task_ref& task, call_graph_options options = {},
                   const char* function = __builtin_FUNCTION(), const char* file = __builtin_FILE(),
                   int line = __builtin_LINE()) {
    detail::task_core* t = detail::state_access::core_of(task);
    if (t == nullptr) {
        throw invalid_state_error(
            "empty task handle (default-constructed or moved-from): it refers to no task");
    }
    if (t == detail::graph::current_of_running_loop()) {
        return detail::graph::build_current(*t, options, {function, file, line});
    }
    return detail::graph::build(*t, options.limit);
}

/// asyncio.capture_call_graph(future): "Future(id=...)" and the tasks awaiting it.
template <class T>
[[nodiscard]] future_call_graph capture_call_graph(const future<T>& f,
                                                   call_graph_options options = {}) {
    auto s = detail::state_access::get(f);
    if (!s) {
        throw invalid_state_error("empty future (default-constructed or moved-from)");
    }
    return detail::graph::build(*s, options.limit);
}

/// The text of a graph in CPython 3.14's layout (format_call_graph's render_level): lines joined
/// by '\n', no newline at the end.
[[nodiscard]] inline std::string format_call_graph(const future_call_graph& graph) {
    std::ostringstream out;
    bool first = true;
    detail::graph::render(graph, out, 0, first);
    return out.str();
}

/// asyncio.format_call_graph(): the current task's graph as text; "" without a current task.
[[nodiscard]] inline std::string format_call_graph(call_graph_options options = {},
                                                   const char* function = __builtin_FUNCTION(),
                                                   const char* file = __builtin_FILE(),
                                                   int line = __builtin_LINE()) {
    std::optional<future_call_graph> g = capture_call_graph(options, function, file, line);
    return g ? format_call_graph(*g) : std::string();
}

/// asyncio.format_call_graph(task).
[[nodiscard]] inline std::string format_call_graph(const task_ref& task,
                                                   call_graph_options options = {},
                                                   const char* function = __builtin_FUNCTION(),
                                                   const char* file = __builtin_FILE(),
                                                   int line = __builtin_LINE()) {
    return format_call_graph(capture_call_graph(task, options, function, file, line));
}

/// asyncio.format_call_graph(future).
template <class T>
[[nodiscard]] std::string format_call_graph(const future<T>& f, call_graph_options options = {}) {
    return format_call_graph(capture_call_graph(f, options));
}

/// asyncio.print_call_graph(file=...): format_call_graph() and a newline written to `out`
/// (stdout by default; an empty line without a current task, as Python's print("")).
inline void print_call_graph(std::FILE* out = stdout, call_graph_options options = {},
                             const char* function = __builtin_FUNCTION(),
                             const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    const std::string text = format_call_graph(options, function, file, line) + "\n";
    std::fputs(text.c_str(), out);
}

/// asyncio.print_call_graph(task, file=...).
inline void print_call_graph(const task_ref& task, std::FILE* out = stdout,
                             call_graph_options options = {},
                             const char* function = __builtin_FUNCTION(),
                             const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    const std::string text = format_call_graph(task, options, function, file, line) + "\n";
    std::fputs(text.c_str(), out);
}

/// The graphs of all_tasks() (the running loop's pending tasks, oldest first), each followed by
/// a blank line: what `python -m asyncio pstree PID` shows of a live process, from inside it.
/// Throws std::runtime_error outside a running loop.
[[nodiscard]] inline std::string format_all_call_graphs(call_graph_options options = {},
                                                        const char* function = __builtin_FUNCTION(),
                                                        const char* file = __builtin_FILE(),
                                                        int line = __builtin_LINE()) {
    std::string out;
    for (const task_ref& t : all_tasks()) {
        out += format_call_graph(t, options, function, file, line);
        out += "\n\n";
    }
    return out;
}

/// format_all_call_graphs() written to `out` (stderr by default) and flushed.
inline void print_all_call_graphs(std::FILE* out = stderr, call_graph_options options = {},
                                  const char* function = __builtin_FUNCTION(),
                                  const char* file = __builtin_FILE(),
                                  int line = __builtin_LINE()) {
    const std::string text = format_all_call_graphs(options, function, file, line);
    std::fputs(text.c_str(), out);
    std::fflush(out);
}

#if defined(SIGUSR1)
/// The task dump on demand, as `python -m asyncio ps PID` for a live server: from now on, each
/// time the process receives `signum` (SIGUSR1 by default), the loop's next iteration writes a
/// header line and every pending task's call graph to `out` (stderr by default). One line at the
/// start of main's coroutine: `asyncio::dump_call_graphs_on_signal();`, then `kill -USR1 <pid>`.
/// Through loop.add_signal_handler, whose errors it throws (std::runtime_error outside a loop).
inline void dump_call_graphs_on_signal(int signum = SIGUSR1, std::FILE* out = stderr) {
    get_running_loop().add_signal_handler(signum, [signum, out] {
        const std::string head = "asyncio-cpp: signal " + std::to_string(signum) +
                                 ": call graphs of the " + std::to_string(all_tasks().size()) +
                                 " pending tasks\n\n";
        std::fputs(head.c_str(), out);
        print_all_call_graphs(out);
    });
}
#endif

} // namespace asyncio
