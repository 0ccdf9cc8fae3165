// SPDX-License-Identifier: MIT
// Runtime of the generated C++ twins: the printing helpers and the entry that runs one program.
#pragma once

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace difftest {

using namespace std::chrono_literals;

/// Python's `Err(Exception)` of the generated programs.
class err : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Python's print(*parts): the parts joined by spaces, one line.
inline void P(std::initializer_list<std::string> parts) {
    std::string line;
    bool first = true;
    for (const std::string& p : parts) {
        if (!first) {
            line += ' ';
        }
        first = false;
        line += p;
    }
    line += '\n';
    std::fputs(line.c_str(), stdout);
}

inline std::string S(long v) {
    return std::to_string(v);
}
inline std::string B(bool b) {
    return b ? "True" : "False";
}

/// An exception as one word, the same spelling as pyrt.py's X().
inline std::string X(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const err& x) {
        return std::string("Err(") + x.what() + ")";
    } catch (const asyncio::cancelled_error& x) {
        return "Cancelled(" + x.message() + ")";
    } catch (const asyncio::queue_empty&) {
        return "QueueEmpty";
    } catch (const asyncio::queue_full&) {
        return "QueueFull";
    } catch (const asyncio::queue_shut_down&) {
        return "QueueShutDown";
    } catch (const asyncio::timeout_error&) {
        return "TimeoutError";
    } catch (const asyncio::invalid_state_error& x) {
        return std::string("InvalidState(") + x.what() + ")";
    } catch (const std::invalid_argument&) {
        return "ValueError";
    } catch (const std::runtime_error& x) {
        return std::string("RuntimeError(") + x.what() + ")";
    } catch (const std::exception& x) {
        return std::string("std::exception(") + x.what() + ")";
    } catch (...) {
        return "unknown";
    }
}

inline std::string R(int v) {
    return S(v);
}
inline std::string R(asyncio::outcome<int>& o) {
    return o.has_value() ? S(o.value()) : X(o.exception());
}
template <class V> std::string RV(V& v) {
    std::string s;
    for (auto& x : v) {
        if (!s.empty() || &x != &*v.begin()) {
            s += ' ';
        }
        s += R(x);
    }
    return s;
}
template <class... Ts> std::string RT(std::tuple<Ts...>& t) {
    std::string s;
    bool first = true;
    std::apply([&](auto&... x) { ((s += (first ? "" : " "), s += R(x), first = false), ...); }, t);
    return s;
}

inline std::string D(asyncio::task_handle<int>& t) {
    if (!t.done()) {
        return "pending";
    }
    if (t.cancelled()) {
        return "cancelled";
    }
    if (std::exception_ptr e = t.exception()) {
        return "exc " + X(e);
    }
    return "result " + S(t.result());
}

inline long T() {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(
                                 asyncio::get_running_loop().time().time_since_epoch())
                                 .count());
}

inline asyncio::task<int> entry(asyncio::task<int> main) {
    try {
        int r = co_await std::move(main);
        P({"main returned", S(r)});
    } catch (...) {
        P({"main raised", X(std::current_exception())});
    }
    for (int i = 0; i < 100; ++i) {
        if (asyncio::all_tasks().size() <= 1 && asyncio::get_running_loop().pending_timers() == 0) {
            break;
        }
        co_await asyncio::sleep(1s);
    }
    co_await asyncio::sleep(0s);
    co_await asyncio::sleep(0s);
    long left = static_cast<long>(asyncio::all_tasks().size()) - 1;
    P({"end pending", S(left)});
    co_return 0;
}

/// Runs one program on a virtual-time loop; the exception handler's reports are dropped (CPython
/// writes its own to stderr, which is not compared).
inline void run_program(asyncio::task<int> (*main)(int), void (*setup)(), void (*teardown)()) {
    asyncio::run_options opts;
    opts.clock = asyncio::clock_kind::virtual_time;
    opts.handler = [](asyncio::event_loop&, const asyncio::exception_context&) {};
    setup();
    try {
        (void)asyncio::run(entry(main(0)), std::move(opts));
    } catch (...) {
        P({"run raised", X(std::current_exception())});
    }
    teardown();
}

/// One program of a batch: its id and its entry point.
struct program {
    int id;
    void (*run)();
};

} // namespace difftest
