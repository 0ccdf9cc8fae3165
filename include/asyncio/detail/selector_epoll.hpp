// SPDX-License-Identifier: MIT
// The epoll(7) selector backend (Linux).
#pragma once

#include <asyncio/config.hpp>

#include <asyncio/detail/selector.hpp>

#if defined(__linux__)
#define ASYNCIO_HAS_EPOLL 1

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <vector>

namespace asyncio::detail {

/// epoll, level-triggered: one epoll_ctl per registration change, one epoll_wait per poll.
class epoll_selector final : public selector {
public:
    epoll_selector() : epfd_(::epoll_create1(EPOLL_CLOEXEC)) {
        if (epfd_ < 0) {
            throw_errno("epoll_create1");
        }
    }
    ~epoll_selector() override { ::close(epfd_); }

    void add(int fd, std::uint32_t events) override { ctl(EPOLL_CTL_ADD, fd, events); }
    void modify(int fd, std::uint32_t events) override { ctl(EPOLL_CTL_MOD, fd, events); }
    void remove(int fd) noexcept override {
        epoll_event ev{};
        ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev); // ENOENT/EBADF: closed meanwhile
        if (count_ > 0) {
            --count_;
        }
    }

    void select(std::int64_t timeout_ns, std::vector<io_event>& out) override {
        out.clear();
        const std::size_t cap = count_ < 1 ? 1 : (count_ > 1024 ? 1024 : count_);
        buf_.resize(cap);
        const int n =
            ::epoll_wait(epfd_, buf_.data(), static_cast<int>(cap), timeout_ms(timeout_ns));
        if (n < 0) {
            if (errno == EINTR) {
                return;
            }
            throw_errno("epoll_wait");
        }
        for (int i = 0; i < n; ++i) {
            const std::uint32_t e = buf_[static_cast<std::size_t>(i)].events;
            std::uint32_t ready = 0;
            // As Python's EpollSelector: anything but "readable" (error, hang-up) wakes a writer,
            // anything but "writable" wakes a reader.
            if ((e & ~static_cast<std::uint32_t>(EPOLLIN)) != 0) {
                ready |= event_write;
            }
            if ((e & ~static_cast<std::uint32_t>(EPOLLOUT)) != 0) {
                ready |= event_read;
            }
            out.push_back(io_event{buf_[static_cast<std::size_t>(i)].data.fd, ready});
        }
    }

    [[nodiscard]] const char* name() const noexcept override { return "epoll"; }

private:
    void ctl(int op, int fd, std::uint32_t events) {
        epoll_event ev{};
        ev.events = ((events & event_read) != 0 ? static_cast<std::uint32_t>(EPOLLIN) : 0U) |
                    ((events & event_write) != 0 ? static_cast<std::uint32_t>(EPOLLOUT) : 0U);
        ev.data.fd = fd;
        if (::epoll_ctl(epfd_, op, fd, &ev) != 0) {
            throw_errno("epoll_ctl");
        }
        if (op == EPOLL_CTL_ADD) {
            ++count_;
        }
    }

    int epfd_;
    std::size_t count_ = 0;
    std::vector<epoll_event> buf_;
};

} // namespace asyncio::detail

#endif
