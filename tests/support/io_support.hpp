// SPDX-License-Identifier: MIT
// Test helpers for I/O: a socketpair that closes itself, open-descriptor counting, the selector
// backends to run each I/O test on, and the process's CPU time.
#pragma once

#include <asyncio/asyncio.hpp>

#include <dirent.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <utility>

namespace asyncio::testing {

/// Two connected AF_UNIX stream sockets (blocking, as socketpair makes them), closed on scope
/// exit unless released.
struct socket_pair {
    int a = -1;
    int b = -1;
    socket_pair() {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
            throw std::runtime_error("socketpair failed");
        }
        a = fds[0];
        b = fds[1];
    }
    socket_pair(const socket_pair&) = delete;
    socket_pair& operator=(const socket_pair&) = delete;
    ~socket_pair() {
        close_a();
        close_b();
    }
    void close_a() noexcept {
        if (a >= 0) {
            ::close(std::exchange(a, -1));
        }
    }
    void close_b() noexcept {
        if (b >= 0) {
            ::close(std::exchange(b, -1));
        }
    }
};

/// Descriptors open in this process (entries of /proc/self/fd, less the one the count uses).
[[nodiscard]] inline int open_fd_count() {
    DIR* d = ::opendir("/proc/self/fd");
    if (d == nullptr) {
        throw std::runtime_error("cannot list /proc/self/fd");
    }
    int n = 0;
    while (const dirent* e = ::readdir(d)) {
        if (e->d_name[0] != '.') {
            ++n;
        }
    }
    ::closedir(d);
    return n - 1;
}

/// CPU time (user + system) this process used so far.
[[nodiscard]] inline std::chrono::microseconds process_cpu_time() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    const auto us = [](const timeval& t) {
        return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
    };
    return us(u.ru_utime) + us(u.ru_stime);
}

} // namespace asyncio::testing
