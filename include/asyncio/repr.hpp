// SPDX-License-Identifier: MIT
// Debug strings (asyncio's repr): operator<< and std::formatter for futures, tasks, handles,
// queues, locks, task groups and timeouts.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/future.hpp>
#include <asyncio/locks.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/queue.hpp>
#include <asyncio/task.hpp>
#include <asyncio/task_group.hpp>
#include <asyncio/timeouts.hpp>

#include <asyncio/detail/future_state.hpp>
#include <asyncio/detail/repr_value.hpp>
#include <asyncio/detail/task_core.hpp>
#include <asyncio/detail/value_slot.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <exception>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <version>

#if defined(__cpp_lib_format)
#include <format>
#endif

// What the debug strings print, field by field against CPython 3.13's repr:
//
//   future<T>        <Future pending> | <Future finished result=1> |
//                    <Future finished exception=std::invalid_argument('x')> | <Future cancelled>
//   task_handle<T>   <Task pending name='Task-1'> | <Task cancelling name='t'> |
//                    <Task finished name='t' result='s'> | <Task cancelled name='t'>
//   task_ref         the same without result= (its type is erased; exception= is printed)
//   handle           <Handle> | <Handle cancelled>
//   timer_handle     <TimerHandle when=12.5> | <TimerHandle cancelled when=12.5>
//   queue<T>         <Queue maxsize=1 _queue=[1] _getters[1] _putters[1] tasks=1 shutdown>
//                    (PriorityQueue, LifoQueue likewise; this is CPython's str(q): its repr
//                    adds "at 0x...", which says nothing a C++ reader needs)
//   event            <asyncio.locks.Event object at 0x... [unset, waiters:1]>
//   lock             <asyncio.locks.Lock object at 0x... [locked, waiters:1]>
//   semaphore        <asyncio.locks.Semaphore object at 0x... [unlocked, value:2]> | [locked, ...]
//   bounded_semaphore  <asyncio.locks.BoundedSemaphore object at 0x... [unlocked, value:3]>
//   condition        <asyncio.locks.Condition object at 0x... [locked, waiters:1]>
//   barrier          <asyncio.locks.Barrier object at 0x... [filling, waiters:2/3]> | [broken]
//                    (CPython's str() of a lock is its repr, with the object's address: here the
//                    C++ object's; `waiters:` counts what locks.py's deque holds, including a
//                    woken or cancelled waiter whose task has not run yet)
//   task_group       <TaskGroup tasks=1 errors=1 cancelling> | <TaskGroup entered>
//   timeout_scope    <Timeout [active] when=12.5> | <Timeout [active] when=None> |
//                    <Timeout [expiring]> (the states a body can see; when= is rounded to
//                    milliseconds, as CPython's round(when, 3))
//
// Differences C++ forces, deliberately:
// - A task has no `coro=<f() running at file:line>`: a coroutine handle knows neither its
//   function's name nor where it is suspended. The task's name is the substitute.
// - A task has no `wait_for=<...>`: the task records how to cancel what it awaits, not what that
//   is. A future or task has no `cb=[...]`: C++ callables have no printable name.
// - A handle prints no callback (`<Handle f() at file:line>` in CPython), for the same reason.
// - An exception prints as its dynamic type's demangled name and its what() text, e.g.
//   `std::invalid_argument('x')` for Python's `ValueError('x')`; `asyncio::cancelled_error('m')`
//   shows the cancel message; an exception of a type not derived from std::exception prints as
//   `TypeName()`. Without RTTI every type name is `exception`.
// - Values: strings (std::string, std::string_view, C strings, char) are quoted as Python
//   quotes them ('x', "it's", '\n', '\x01'); bool prints True/False; void results, asyncio::none
//   and nullptr print None; floating point prints as Python's float repr (1.0, 0.001, 1e+16); a
//   type with its own operator<< prints through it; any other type prints as `<TypeName>`
//   (demangled when the standard library allows, else `<object>`). A future or task result
//   string longer than 30 characters is shortened as reprlib does ('aaaaaaaaaaaa...aaaaaaaaaaaaa');
//   queue items are printed in full, as CPython does.
// - A priority_queue lists its items in the order they come out (CPython lists heapq's array,
//   whose order is an implementation detail of the heap).
// - An empty (default-constructed) future, task or handle prints `<Future empty>`, `<Task empty>`,
//   `<Handle empty>`: Python has no such object.
//
// Printing never changes state: it does not mark an exception as retrieved (the "exception was
// never retrieved" report still comes) and does not move a result out.

namespace asyncio {

namespace detail::repr {

/// Reads a state's exception without marking it retrieved (printing must not silence the
/// "exception was never retrieved" report). Never instantiated.
struct exception_peek : future_state_base {
    static const std::exception_ptr& of(const future_state_base& s) noexcept {
        return s.*(&exception_peek::exc_);
    }
};

/// The untyped state behind a task_ref. Never instantiated.
struct task_ref_peek : task_ref {
    static task_core* of(const task_ref& r) noexcept { return (r.*(&task_ref_peek::core_)).get(); }
};

/// `pending`, `finished` or `cancelled` (and, for a task, `cancelling`), as asyncio's `_state`.
inline void write_status(std::ostream& os, const future_state_base& s, int cancelling) {
    if (!s.done()) {
        os << (cancelling > 0 ? "cancelling" : "pending");
    } else if (s.cancelled()) {
        os << "cancelled";
    } else {
        os << "finished";
    }
}

/// ` result=...` / ` exception=...` of a finished state; nothing otherwise. `slot` is null when
/// the result type is unknown (task_ref).
template <class T>
void write_outcome(std::ostream& os, const future_state_base& s, value_slot<T>* slot) {
    if (s.status() == future_status::exception) {
        os << " exception=";
        write_exception(os, exception_peek::of(s));
    } else if (s.status() == future_status::result && slot != nullptr) {
        os << " result=";
        if constexpr (std::is_void_v<T>) {
            os << "None";
        } else {
            write_value(os, slot->get(), true);
        }
    }
}

inline void write_task_head(std::ostream& os, const task_core& t) {
    os << "<Task ";
    write_status(os, t, t.cancelling());
    os << " name=";
    write_string(os, t.name());
}

template <class Queue> void write_queue(std::ostream& os, std::string_view kind, const Queue& q) {
    os << '<' << kind << " maxsize=" << q.maxsize();
    if (!q.empty()) {
        os << " _queue=[";
        bool first = true;
        q.for_each_item([&](const auto& item) {
            if (!first) {
                os << ", ";
            }
            first = false;
            write_value(os, item);
        });
        os << ']';
    }
    if (const std::size_t n = q.waiting_getters(); n != 0) {
        os << " _getters[" << n << ']';
    }
    if (const std::size_t n = q.waiting_putters(); n != 0) {
        os << " _putters[" << n << ']';
    }
    if (const std::size_t n = q.unfinished_tasks(); n != 0) {
        os << " tasks=" << n;
    }
    if (q.is_shut_down()) {
        os << " shutdown";
    }
    os << '>';
}

/// Reads what the locks, the barrier and the timeout scope keep private, for their debug strings.
/// Printing changes nothing; the waiter lists are walked, not modified.
struct peek {
    static std::size_t count(const sync_list& l) { return const_cast<sync_list&>(l).size(); }
    static std::size_t waiters(const event& e) { return count(e.waiters_); }
    static std::size_t waiters(const lock_core& l) { return count(l.waiters_); }
    static std::size_t waiters(const semaphore_base& s) { return count(s.waiters_); }
    static std::size_t waiters(const condition& c) { return count(c.waiters_); }
    static bool locked(const semaphore_base& s) { return const_cast<semaphore_base&>(s).locked(); }
    static const char* state_name(const barrier_core& b) {
        switch (b.state_) {
        case barrier_core::barrier_state::filling:
            break;
        case barrier_core::barrier_state::draining:
            return "draining";
        case barrier_core::barrier_state::resetting:
            return "resetting";
        case barrier_core::barrier_state::broken:
            return "broken";
        }
        return "filling";
    }
    static const char* state_name(const timeout_scope& t) { return t.state_name(); }
    static bool entered(const timeout_scope& t) {
        return t.state_ == timeout_scope::state::entered;
    }
};

/// `<asyncio.locks.Kind object at 0x... [`, as CPython's object.__repr__ starts a lock's repr.
inline void write_lock_head(std::ostream& os, std::string_view kind, const void* address) {
    os << "<asyncio.locks." << kind << " object at " << address << " [";
}
/// `, waiters:n]>`, the waiters only when there are some.
inline std::ostream& write_lock_tail(std::ostream& os, std::size_t waiters) {
    if (waiters != 0) {
        os << ", waiters:" << waiters;
    }
    return os << "]>";
}
inline std::ostream& write_semaphore(std::ostream& os, std::string_view kind,
                                     const semaphore_base& s) {
    write_lock_head(os, kind, &s);
    if (peek::locked(s)) {
        os << "locked";
    } else {
        os << "unlocked, value:" << s.value();
    }
    return write_lock_tail(os, peek::waiters(s));
}

/// The debug string of `v` (what operator<< writes).
template <class V> std::string to_string(const V& v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

} // namespace detail::repr

/// asyncio.Future's repr: `<Future pending>`, `<Future finished result=1>`,
/// `<Future finished exception=std::invalid_argument('x')>`, `<Future cancelled>`. Reads the
/// state only: an exception is not marked retrieved. See repr.hpp's notes for what differs.
template <class T> std::ostream& operator<<(std::ostream& os, const future<T>& f) {
    if (!f) {
        return os << "<Future empty>";
    }
    auto s = detail::state_access::get(f);
    os << "<Future ";
    detail::repr::write_status(os, *s, 0);
    detail::repr::write_outcome<T>(os, *s, &s->slot());
    return os << '>';
}

/// asyncio.Task's repr: `<Task pending name='Task-1'>`, `<Task cancelling name='t'>` (a cancel
/// requested, not yet done), `<Task finished name='t' result=1>`, `<Task finished name='t'
/// exception=std::runtime_error('x')>`, `<Task cancelled name='t'>`. No `coro=` and no
/// `wait_for=`: see repr.hpp's notes.
template <class T> std::ostream& operator<<(std::ostream& os, const task_handle<T>& t) {
    if (!t) {
        return os << "<Task empty>";
    }
    auto s = detail::state_access::get(t);
    detail::repr::write_task_head(os, *s);
    detail::repr::write_outcome<T>(os, *s, &s->slot());
    return os << '>';
}

/// asyncio.Task's repr through a type-erased reference (current_task(), all_tasks()): as for
/// task_handle<T>, without `result=` (the result's type is not known here).
inline std::ostream& operator<<(std::ostream& os, const task_ref& t) {
    if (!t) {
        return os << "<Task empty>";
    }
    const detail::task_core& s = *detail::repr::task_ref_peek::of(t);
    detail::repr::write_task_head(os, s);
    detail::repr::write_outcome<void>(os, s, nullptr);
    return os << '>';
}

/// asyncio.Handle's repr: `<Handle>` or `<Handle cancelled>` (no callback name: see repr.hpp).
inline std::ostream& operator<<(std::ostream& os, const handle& h) {
    if (!h) {
        return os << "<Handle empty>";
    }
    return os << (h.cancelled() ? "<Handle cancelled>" : "<Handle>");
}

/// asyncio.TimerHandle's repr: `<TimerHandle when=12.5>` or `<TimerHandle cancelled when=12.5>`,
/// `when` in seconds on the loop's clock, printed as Python prints a float.
inline std::ostream& operator<<(std::ostream& os, const timer_handle& h) {
    if (!h) {
        return os << "<TimerHandle empty>";
    }
    os << (h.cancelled() ? "<TimerHandle cancelled when=" : "<TimerHandle when=");
    const auto ns = h.when().time_since_epoch().count();
    detail::repr::write_float(os, static_cast<double>(ns) / 1e9);
    return os << '>';
}

/// asyncio.Queue's str(): `<Queue maxsize=1 _queue=[1] _getters[1] _putters[1] tasks=1
/// shutdown>`, each field only when it is not empty/zero, as in CPython.
template <class T> std::ostream& operator<<(std::ostream& os, const queue<T>& q) {
    detail::repr::write_queue(os, "Queue", q);
    return os;
}
/// asyncio.PriorityQueue's str(); `_queue` lists the items in the order they come out.
template <class T, class Compare>
std::ostream& operator<<(std::ostream& os, const priority_queue<T, Compare>& q) {
    detail::repr::write_queue(os, "PriorityQueue", q);
    return os;
}
/// asyncio.LifoQueue's str(); `_queue` lists the items oldest first, as CPython's list does.
template <class T> std::ostream& operator<<(std::ostream& os, const lifo_queue<T>& q) {
    detail::repr::write_queue(os, "LifoQueue", q);
    return os;
}

/// asyncio.Event's repr: `<asyncio.locks.Event object at 0x... [unset, waiters:1]>` (`set` or
/// `unset`; the waiters only when there are some).
inline std::ostream& operator<<(std::ostream& os, const event& e) {
    detail::repr::write_lock_head(os, "Event", &e);
    os << (e.is_set() ? "set" : "unset");
    return detail::repr::write_lock_tail(os, detail::repr::peek::waiters(e));
}

/// asyncio.Lock's repr: `<asyncio.locks.Lock object at 0x... [locked, waiters:1]>`.
inline std::ostream& operator<<(std::ostream& os, const lock& l) {
    detail::repr::write_lock_head(os, "Lock", &l);
    os << (l.locked() ? "locked" : "unlocked");
    return detail::repr::write_lock_tail(os, detail::repr::peek::waiters(l));
}

/// asyncio.Semaphore's repr: `<asyncio.locks.Semaphore object at 0x... [unlocked, value:2]>`,
/// `[locked, waiters:1]` (locked as Semaphore.locked() says).
inline std::ostream& operator<<(std::ostream& os, const semaphore& s) {
    return detail::repr::write_semaphore(os, "Semaphore", s);
}
/// asyncio.BoundedSemaphore's repr, as the semaphore's.
inline std::ostream& operator<<(std::ostream& os, const bounded_semaphore& s) {
    return detail::repr::write_semaphore(os, "BoundedSemaphore", s);
}

/// asyncio.Condition's repr: `<asyncio.locks.Condition object at 0x... [locked, waiters:1]>`
/// (its lock's state, its own waiters).
inline std::ostream& operator<<(std::ostream& os, const condition& c) {
    detail::repr::write_lock_head(os, "Condition", &c);
    os << (c.locked() ? "locked" : "unlocked");
    return detail::repr::write_lock_tail(os, detail::repr::peek::waiters(c));
}

/// asyncio.Barrier's repr: `<asyncio.locks.Barrier object at 0x... [filling, waiters:2/3]>`
/// (n_waiting/parties), `[draining, waiters:0/3]`, `[broken]`.
inline std::ostream& operator<<(std::ostream& os, const barrier& b) {
    detail::repr::write_lock_head(os, "Barrier", &b);
    os << detail::repr::peek::state_name(b);
    if (!b.broken()) {
        os << ", waiters:" << b.n_waiting() << '/' << b.parties();
    }
    return os << "]>";
}

/// asyncio.TaskGroup's repr: `<TaskGroup tasks=2 errors=1 cancelling>`, `<TaskGroup entered>`.
inline std::ostream& operator<<(std::ostream& os, const task_group& g) {
    return os << g.repr();
}

/// asyncio.Timeout's repr: `<Timeout [active] when=12.5>` (seconds on the loop's clock, rounded
/// to milliseconds; `when=None` without a deadline), `<Timeout [expiring]>` once the deadline
/// fired while the body still runs.
inline std::ostream& operator<<(std::ostream& os, const timeout_scope& t) {
    os << "<Timeout [" << detail::repr::peek::state_name(t) << ']';
    if (detail::repr::peek::entered(t)) {
        os << " when=";
        if (const auto when = t.when()) {
            const auto ns = when->time_since_epoch().count();
            detail::repr::write_float(os, std::round(static_cast<double>(ns) / 1e6) / 1e3);
        } else {
            os << "None";
        }
    }
    return os << '>';
}

} // namespace asyncio

#if defined(__cpp_lib_format)

namespace asyncio::detail::repr {

/// std::format support: `{}` only (no format spec), writing what operator<< writes.
struct formatter_base {
    constexpr auto parse(std::format_parse_context& ctx) {
        auto it = ctx.begin();
        if (it != ctx.end() && *it != '}') {
            throw std::format_error("asyncio debug strings take no format spec");
        }
        return it;
    }
    template <class V, class Context> auto write(const V& v, Context& ctx) const {
        const std::string s = to_string(v);
        return std::copy(s.begin(), s.end(), ctx.out());
    }
};

} // namespace asyncio::detail::repr

template <class T>
struct std::formatter<asyncio::future<T>, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::future<T>& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <class T>
struct std::formatter<asyncio::task_handle<T>, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::task_handle<T>& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <> struct std::formatter<asyncio::task_ref, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::task_ref& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <> struct std::formatter<asyncio::handle, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::handle& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <>
struct std::formatter<asyncio::timer_handle, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::timer_handle& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <class T>
struct std::formatter<asyncio::queue<T>, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::queue<T>& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <class T, class Compare>
struct std::formatter<asyncio::priority_queue<T, Compare>, char>
    : asyncio::detail::repr::formatter_base {
    template <class Context>
    auto format(const asyncio::priority_queue<T, Compare>& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <class T>
struct std::formatter<asyncio::lifo_queue<T>, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::lifo_queue<T>& v, Context& ctx) const {
        return write(v, ctx);
    }
};

template <> struct std::formatter<asyncio::event, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::event& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <> struct std::formatter<asyncio::lock, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::lock& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <>
struct std::formatter<asyncio::semaphore, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::semaphore& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <>
struct std::formatter<asyncio::bounded_semaphore, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::bounded_semaphore& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <>
struct std::formatter<asyncio::condition, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::condition& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <> struct std::formatter<asyncio::barrier, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::barrier& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <>
struct std::formatter<asyncio::task_group, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::task_group& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <>
struct std::formatter<asyncio::timeout_scope, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::timeout_scope& v, Context& ctx) const {
        return write(v, ctx);
    }
};

#endif
