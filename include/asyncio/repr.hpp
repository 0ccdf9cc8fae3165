// SPDX-License-Identifier: MIT
// Debug strings (asyncio's repr): operator<< and std::formatter for futures, tasks, handles,
// queues.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/future.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/queue.hpp>
#include <asyncio/task.hpp>

#include <asyncio/detail/future_state.hpp>
#include <asyncio/detail/repr_value.hpp>
#include <asyncio/detail/task_core.hpp>
#include <asyncio/detail/value_slot.hpp>

#include <algorithm>
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

#endif
