// SPDX-License-Identifier: MIT
// The selector interface the loop polls for I/O readiness; one backend per header beside it.
#pragma once

#include <asyncio/config.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <system_error>
#include <vector>

namespace asyncio {

/// Which system call the loop waits in (a loop option: `run_options{.selector = ...}`).
/// `automatic` is epoll on Linux and poll(2) elsewhere.
enum class selector_kind { automatic, epoll, poll };

} // namespace asyncio

namespace asyncio::detail {

/// Readiness bits, as Python's selectors.EVENT_READ / EVENT_WRITE.
inline constexpr std::uint32_t event_read = 1;
inline constexpr std::uint32_t event_write = 2;

/// One ready descriptor reported by `select`.
struct io_event {
    int fd;
    std::uint32_t events;
};

/// A readiness poller over descriptors registered for reading and/or writing (level-triggered,
/// as Python's selectors). An error or hang-up on a descriptor reports it ready for whatever it is
/// registered for, so that the operation waiting on it runs and meets the error.
class selector {
public:
    selector() = default;
    selector(const selector&) = delete;
    selector& operator=(const selector&) = delete;
    virtual ~selector() = default;

    /// Starts watching `fd` for `events` (non-zero); throws std::system_error (EBADF for a
    /// closed descriptor, EEXIST if already watched).
    virtual void add(int fd, std::uint32_t events) = 0;
    /// Changes the events of a watched descriptor (non-zero).
    virtual void modify(int fd, std::uint32_t events) = 0;
    /// Stops watching `fd`; a descriptor already closed is simply forgotten.
    virtual void remove(int fd) noexcept = 0;
    /// Waits until a descriptor is ready or `timeout_ns` has passed (negative: no limit, 0: a
    /// non-blocking check), replaces `out` by the ready descriptors. An interruption by a signal
    /// returns with nothing ready.
    virtual void select(std::int64_t timeout_ns, std::vector<io_event>& out) = 0;
    /// "epoll", "poll": the backend's name.
    [[nodiscard]] virtual const char* name() const noexcept = 0;
};

/// Converts a poll timeout to whole milliseconds, rounding up so that the loop never wakes just
/// before a deadline and spins (as CPython's selectors do); negative means no limit.
[[nodiscard]] inline int timeout_ms(std::int64_t timeout_ns) noexcept {
    if (timeout_ns < 0) {
        return -1;
    }
    constexpr std::int64_t max_ms = 86'400'000; // a day, the loop's own cap
    const std::int64_t ms = timeout_ns / 1'000'000 + (timeout_ns % 1'000'000 != 0 ? 1 : 0);
    return static_cast<int>(ms > max_ms ? max_ms : ms);
}

/// Throws std::system_error for the current errno.
[[noreturn]] inline void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

} // namespace asyncio::detail
