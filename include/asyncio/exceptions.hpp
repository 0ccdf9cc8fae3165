// SPDX-License-Identifier: MIT
// The exception types that mirror asyncio's (CancelledError, InvalidStateError, QueueEmpty, ...).
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

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

/// Python's GeneratorExit: thrown into an async_generator at its current `co_yield` by
/// `aclose()` (or when an unfinished generator is finalised), so that its cleanup runs. Like
/// cancelled_error it derives from no standard exception class; a generator may catch it to clean
/// up (even with co_await after the catch block) but must then rethrow or return, not yield.
class generator_exit {
public:
    [[nodiscard]] const char* what() const noexcept { return "generator exit"; }
};

/// asyncio.InvalidStateError: e.g. `result()` of a pending future, `set_result` twice.
class invalid_state_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

/// asyncio.TimeoutError (Python's builtin TimeoutError since 3.11).
class timeout_error : public std::runtime_error {
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

} // namespace asyncio
