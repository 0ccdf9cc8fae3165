// SPDX-License-Identifier: MIT
// Test helpers: run a coroutine body on a fresh virtual-time loop, capture exception-handler
// reports, and count object lifetimes to prove frames and values are destroyed exactly once.
#pragma once

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <exception>
#include <string>
#include <utility>
#include <vector>

namespace asyncio::testing {

/// Counts live instances; a `tracked` local or by-value parameter in a coroutine proves its frame
/// was destroyed. Use one `lifetime_scope` per test to reset and check the counters.
struct lifetime_counter {
    static inline long constructed = 0;
    static inline long destroyed = 0;
    static long alive() noexcept { return constructed - destroyed; }
    static void reset() noexcept { constructed = destroyed = 0; }
};

/// A value that counts its constructions (all kinds) and destructions.
class tracked {
public:
    explicit tracked(int v = 0) noexcept : value(v) { ++lifetime_counter::constructed; }
    tracked(const tracked& o) noexcept : value(o.value) { ++lifetime_counter::constructed; }
    tracked(tracked&& o) noexcept : value(o.value) {
        o.moved_from = true;
        ++lifetime_counter::constructed;
    }
    tracked& operator=(const tracked&) = default;
    tracked& operator=(tracked&&) = default;
    ~tracked() { ++lifetime_counter::destroyed; }

    int value = 0;
    bool moved_from = false;
};

/// Resets the counters on entry; `balanced()` says every tracked object was destroyed.
struct lifetime_scope {
    lifetime_scope() noexcept { lifetime_counter::reset(); }
    [[nodiscard]] static bool balanced() noexcept { return lifetime_counter::alive() == 0; }
};

/// Reports received by the exception handler during a `run_virtual` call.
struct captured_reports {
    std::vector<exception_context> items;
    [[nodiscard]] bool contains(const std::string& message) const {
        for (const auto& r : items) {
            if (r.message.find(message) != std::string::npos) {
                return true;
            }
        }
        return false;
    }
};

/// Runs `main` with asyncio::run on a fresh virtual-time loop; the exception handler records
/// every report into `reports` (when given) instead of printing it.
template <class T> T run_virtual(task<T> main, captured_reports* reports = nullptr) {
    run_options opts;
    opts.clock = clock_kind::virtual_time;
    if (reports != nullptr) {
        opts.handler = [reports](event_loop&, const exception_context& ctx) {
            reports->items.push_back(ctx);
        };
    }
    return asyncio::run(std::move(main), std::move(opts));
}

/// The what() of a stored exception, or a marker for a null or non-std exception (for messages).
inline std::string what_of(const std::exception_ptr& e) {
    if (!e) {
        return "<null exception_ptr>";
    }
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "<not a std::exception>";
    }
}

/// Seconds on the running loop's clock as a double (virtual time starts at 0).
inline double now_seconds() {
    return std::chrono::duration<double>(get_running_loop().time().time_since_epoch()).count();
}

/// The lines a twin test prints, compared with its CPython script's output.
using log_t = std::vector<std::string>;

/// Milliseconds on the running loop's clock, as the twins print them.
inline std::string now_ms() {
    const auto t = get_running_loop().time().time_since_epoch();
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(t).count());
}

/// A bool as Python prints it.
inline std::string py_bool(bool b) {
    return b ? "True" : "False";
}

/// Runs one twin case, `body(&log)`, on a fresh virtual-time loop and returns what it logged.
inline log_t run_case(task<> (*body)(log_t*)) {
    log_t log;
    run_virtual(body(&log));
    return log;
}

} // namespace asyncio::testing
