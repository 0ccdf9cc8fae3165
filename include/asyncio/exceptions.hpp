// SPDX-License-Identifier: MIT
// The exception types that mirror asyncio's (CancelledError, InvalidStateError, QueueEmpty, ...).
#pragma once

#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace asyncio {

/// asyncio.CancelledError: thrown at a task's current `co_await` when the task is cancelled.
/// Deliberately derives from no standard exception class, as Python's CancelledError derives from
/// BaseException and not Exception: `catch (const std::exception&)` does not swallow it. Catch it
/// by name (or with `catch (...)`) and rethrow unless the task really means to carry on.
class cancelled_error {
public:
    /// `msg` is the text given to `cancel(msg)`; empty when none was given.
    explicit cancelled_error(std::string msg = {}) : message_(std::move(msg)) {}

    /// The message given to `cancel(msg)` (Python: `exc.args[0]`).
    [[nodiscard]] const std::string& message() const noexcept { return message_; }

    /// The message, or "cancelled" when it is empty, for logging.
    [[nodiscard]] const char* what() const noexcept {
        return message_.empty() ? "cancelled" : message_.c_str();
    }

private:
    std::string message_;
};

/// Python's KeyboardInterrupt, as asyncio::run throws it after Ctrl-C: on the main thread, the
/// first SIGINT cancels the main task, and when the main task then ends cancelled because of it,
/// run throws keyboard_interrupt once the shutdown is done. Like cancelled_error it derives from no
/// standard exception class (Python's KeyboardInterrupt is a BaseException), so `catch (const
/// std::exception&)` does not swallow it.
class keyboard_interrupt {
public:
    [[nodiscard]] const char* what() const noexcept { return "keyboard interrupt"; }
};

/// Python's GeneratorExit: thrown into an async_generator at its current `co_yield` by
/// `aclose()` (or when an unfinished generator is finalised), so that its cleanup runs. Like
/// cancelled_error it derives from no standard exception class; a generator may catch it to clean
/// up (even with co_await after the catch block) but must then rethrow or return, not yield.
class generator_exit {
public:
    [[nodiscard]] const char* what() const noexcept { return "generator exit"; }
};

/// Python's StopAsyncIteration where a C++ caller cannot be given std::nullopt instead: thrown by
/// `async_generator::aclose()` on a generator that an earlier aclose() already threw
/// generator_exit into and that yielded again (CPython's `ag_closed` flag: that aclose raised
/// "async generator ignored GeneratorExit"; every later one raises StopAsyncIteration without
/// entering the body). `next()` still signals the end of a generator with std::nullopt.
class stop_async_iteration : public std::runtime_error {
public:
    stop_async_iteration() : std::runtime_error("StopAsyncIteration") {}
};

/// asyncio.InvalidStateError: e.g. `result()` of a pending future, `set_result` twice.
class invalid_state_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

/// Python's LookupError as contextvars raises it: `context_var::get()` of a variable with no value
/// in the current context and no default. what() is the variable's repr, "<ContextVar
/// name='request_id'>" (CPython adds the object's address).
class lookup_error : public std::out_of_range {
public:
    using std::out_of_range::out_of_range;
};

/// asyncio.TimeoutError (Python's builtin TimeoutError since 3.11).
class timeout_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// asyncio.BrokenBarrierError: a barrier wait on a barrier that was reset or aborted.
class broken_barrier_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// asyncio.QueueEmpty: `get_nowait()` on an empty queue.
class queue_empty : public std::runtime_error {
public:
    queue_empty() : std::runtime_error("queue is empty") {}
};

/// asyncio.QueueFull: `put_nowait()` on a full queue.
class queue_full : public std::runtime_error {
public:
    queue_full() : std::runtime_error("queue is full") {}
};

/// asyncio.QueueShutDown (3.13): put after `shutdown()`, or get on a shut-down empty queue.
class queue_shut_down : public std::runtime_error {
public:
    queue_shut_down() : std::runtime_error("queue is shut down") {}
};

/// asyncio.IncompleteReadError (an EOFError in Python): the stream ended before a `readexactly(n)`
/// or a `readuntil(separator)` was satisfied. `partial()` holds the bytes read before the end
/// (they are no longer in the reader's buffer); `expected()` is `n`, or std::nullopt for
/// readuntil. what() is CPython's str(): "3 bytes read on a total of 5 expected bytes" ("...of
/// undefined expected bytes" for readuntil).
class incomplete_read_error : public std::runtime_error {
public:
    incomplete_read_error(std::string partial, std::optional<std::size_t> expected)
        : std::runtime_error(describe(partial.size(), expected)), partial_(std::move(partial)),
          expected_(expected) {}

    /// IncompleteReadError.partial: the bytes read before the end of the stream.
    [[nodiscard]] const std::string& partial() const noexcept { return partial_; }
    /// IncompleteReadError.expected: the byte count asked for (none for readuntil).
    [[nodiscard]] std::optional<std::size_t> expected() const noexcept { return expected_; }

private:
    static std::string describe(std::size_t got, std::optional<std::size_t> expected) {
        return std::to_string(got) + " bytes read on a total of " +
               (expected ? std::to_string(*expected) : std::string("undefined")) +
               " expected bytes";
    }

    std::string partial_;
    std::optional<std::size_t> expected_;
};

/// asyncio.LimitOverrunError: `readuntil` found no separator within the reader's limit, or found
/// it past the limit. The bytes stay in the reader's buffer; `consumed()` is how many of them may
/// be taken without meeting the separator (CPython's `consumed`).
class limit_overrun_error : public std::runtime_error {
public:
    limit_overrun_error(const std::string& message, std::size_t consumed)
        : std::runtime_error(message), consumed_(consumed) {}

    /// LimitOverrunError.consumed.
    [[nodiscard]] std::size_t consumed() const noexcept { return consumed_; }

private:
    std::size_t consumed_;
};

/// Python's ExceptionGroup, as a task_group raises it ("unhandled errors in a TaskGroup"): a
/// message and the exceptions it groups, in the order they happened; a nested task_group's group
/// appears as one of them. `what()` is Python's str(): "message (2 sub-exceptions)". `except*`
/// becomes `split<E>()`, which divides the group (recursively, keeping the nesting) into the part
/// whose leaves are an `E` and the rest: `auto [timeouts, rest] = eg.split<timeout_error>();
/// if (rest) throw *rest;`.
class exception_group : public std::runtime_error {
public:
    exception_group(std::string message, std::vector<std::exception_ptr> exceptions)
        : std::runtime_error(describe(message, exceptions.size())), message_(std::move(message)),
          exceptions_(std::move(exceptions)) {}

    /// ExceptionGroup.message.
    [[nodiscard]] const std::string& message() const noexcept { return message_; }
    /// ExceptionGroup.exceptions.
    [[nodiscard]] const std::vector<std::exception_ptr>& exceptions() const noexcept {
        return exceptions_;
    }

    /// ExceptionGroup.split(E): the leaves that are an `E`, and the others, each as a group with
    /// the same nesting (std::nullopt when empty).
    template <class E>
    [[nodiscard]] std::pair<std::optional<exception_group>, std::optional<exception_group>>
    split() const {
        std::vector<std::exception_ptr> match;
        std::vector<std::exception_ptr> rest;
        for (const std::exception_ptr& e : exceptions_) {
            try {
                std::rethrow_exception(e);
            } catch (const exception_group& g) {
                auto [m, r] = g.split<E>();
                if (m) {
                    match.push_back(std::make_exception_ptr(std::move(*m)));
                }
                if (r) {
                    rest.push_back(std::make_exception_ptr(std::move(*r)));
                }
            } catch (const E&) {
                match.push_back(e);
            } catch (...) {
                rest.push_back(e);
            }
        }
        return {make(std::move(match)), make(std::move(rest))};
    }
    /// ExceptionGroup.subgroup(E): the part of split<E>() that matches.
    template <class E> [[nodiscard]] std::optional<exception_group> subgroup() const {
        return split<E>().first;
    }
    /// Whether some leaf, at any depth, is an `E`.
    template <class E> [[nodiscard]] bool contains() const { return subgroup<E>().has_value(); }

private:
    static std::string describe(const std::string& message, std::size_t n) {
        return message + " (" + std::to_string(n) +
               (n == 1 ? " sub-exception)" : " sub-exceptions)");
    }
    [[nodiscard]] std::optional<exception_group> make(std::vector<std::exception_ptr> v) const {
        if (v.empty()) {
            return std::nullopt;
        }
        return exception_group(message_, std::move(v));
    }

    std::string message_;
    std::vector<std::exception_ptr> exceptions_;
};

} // namespace asyncio
