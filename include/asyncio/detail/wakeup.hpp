// SPDX-License-Identifier: MIT
// The loop's self-wake descriptor and the queue other threads hand callbacks through.
#pragma once

#include <asyncio/config.hpp>

#include <asyncio/detail/ready_queue.hpp>
#include <asyncio/detail/selector.hpp>

#if defined(__linux__)
#include <sys/eventfd.h>
#endif
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace asyncio::detail {

/// A descriptor that becomes readable when `notify()` is called, from any thread or from a
/// signal handler: an eventfd on Linux with the epoll backend, else a non-blocking pipe.
class wakeup {
public:
    explicit wakeup(bool use_pipe) {
#if defined(__linux__)
        if (!use_pipe) {
            read_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
            if (read_fd_ < 0) {
                throw_errno("eventfd");
            }
            write_fd_ = read_fd_;
            return;
        }
#else
        static_cast<void>(use_pipe);
#endif
        int p[2];
        if (::pipe(p) != 0) {
            throw_errno("pipe");
        }
        for (int fd : p) {
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        read_fd_ = p[0];
        write_fd_ = p[1];
    }
    wakeup(const wakeup&) = delete;
    wakeup& operator=(const wakeup&) = delete;
    ~wakeup() {
        ::close(read_fd_);
        if (write_fd_ != read_fd_) {
            ::close(write_fd_);
        }
    }

    [[nodiscard]] int read_fd() const noexcept { return read_fd_; }

    /// Makes read_fd() readable. Async-signal-safe (one write); a full pipe or counter means a
    /// wake-up is already pending, which is all that is needed.
    void notify() const noexcept {
        if (write_fd_ == read_fd_) {
            const std::uint64_t one = 1;
            [[maybe_unused]] const auto r = ::write(write_fd_, &one, sizeof one);
        } else {
            const char b = 0;
            [[maybe_unused]] const auto r = ::write(write_fd_, &b, 1);
        }
    }

    /// Empties the descriptor (the loop thread, once it was reported readable).
    void drain() const noexcept {
        char buf[64];
        while (::read(read_fd_, buf, write_fd_ == read_fd_ ? 8 : sizeof buf) > 0) {
        }
    }

private:
    int read_fd_ = -1;
    int write_fd_ = -1;
};

/// The entries other threads schedule on a loop (call_soon_threadsafe): a short mutex around a
/// vector the loop swaps out once per iteration, and an atomic flag the loop reads without the
/// mutex. Only the post that finds the queue empty writes to the wake-up descriptor. Shared
/// (std::shared_ptr) by the loop and whatever may post after the loop is gone (a worker thread
/// whose job outlives it): posting to a closed queue returns false.
class remote_queue {
public:
    explicit remote_queue(bool use_pipe) : wake_(use_pipe) {}

    /// Any thread: queues `e` and wakes the loop. False (and `e` untouched) once closed.
    bool post(ready_entry e) {
        bool was_empty = false;
        {
            std::lock_guard<std::mutex> lock(m_);
            if (closed_) {
                return false;
            }
            was_empty = items_.empty();
            items_.push_back(e);
            pending_.store(true, std::memory_order_release);
        }
        if (was_empty) {
            wake_.notify();
        }
        return true;
    }

    /// Whether something was posted since the last `take` (a hint read without the mutex).
    [[nodiscard]] bool pending() const noexcept { return pending_.load(std::memory_order_acquire); }

    /// Marks the queue pending and wakes the loop: async-signal-safe (signal handlers use it).
    void poke() noexcept {
        pending_.store(true, std::memory_order_release);
        wake_.notify();
    }

    /// The loop thread: moves everything posted so far into `out` (cleared first).
    void take(std::vector<ready_entry>& out) {
        out.clear();
        pending_.store(false, std::memory_order_relaxed);
        std::lock_guard<std::mutex> lock(m_);
        out.swap(items_);
    }

    /// Refuses further posts; returns what is still queued (for the loop to discard).
    std::vector<ready_entry> close() {
        std::lock_guard<std::mutex> lock(m_);
        closed_ = true;
        return std::move(items_);
    }

    [[nodiscard]] bool closed() {
        std::lock_guard<std::mutex> lock(m_);
        return closed_;
    }

    [[nodiscard]] const detail::wakeup& wake() const noexcept { return wake_; }

private:
    std::mutex m_;
    std::vector<ready_entry> items_;
    std::atomic<bool> pending_{false};
    bool closed_ = false;
    detail::wakeup wake_;
};

} // namespace asyncio::detail
