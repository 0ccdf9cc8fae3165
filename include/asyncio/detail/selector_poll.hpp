// SPDX-License-Identifier: MIT
// The poll(2) selector backend (any POSIX system).
#pragma once

#include <asyncio/config.hpp>

#include <asyncio/detail/selector.hpp>

#include <fcntl.h>
#include <poll.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace asyncio::detail {

/// poll(2): the registered set lives in a dense array handed to the kernel on every poll, with a
/// descriptor-indexed table of positions, so that add, modify and remove are O(1).
class poll_selector final : public selector {
public:
    void add(int fd, std::uint32_t events) override {
        if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) {
            errno = EBADF; // poll would only report POLLNVAL later: fail now, as epoll does
            throw_errno("poll add");
        }
        const auto i = static_cast<std::size_t>(fd);
        if (i >= pos_.size()) {
            pos_.resize(i + 1, npos);
        }
        if (pos_[i] != npos) {
            errno = EEXIST;
            throw_errno("poll add");
        }
        pos_[i] = fds_.size();
        fds_.push_back(pollfd{fd, mask(events), 0});
    }
    void modify(int fd, std::uint32_t events) override {
        const auto i = static_cast<std::size_t>(fd);
        if (fd < 0 || i >= pos_.size() || pos_[i] == npos) {
            errno = ENOENT;
            throw_errno("poll modify");
        }
        fds_[pos_[i]].events = mask(events);
    }
    void remove(int fd) noexcept override {
        const auto i = static_cast<std::size_t>(fd);
        if (fd < 0 || i >= pos_.size() || pos_[i] == npos) {
            return;
        }
        const std::size_t at = pos_[i];
        fds_[at] = fds_.back();
        pos_[static_cast<std::size_t>(fds_[at].fd)] = at;
        fds_.pop_back();
        pos_[i] = npos;
    }

    void select(std::int64_t timeout_ns, std::vector<io_event>& out) override {
        out.clear();
        const int n = ::poll(fds_.data(), static_cast<nfds_t>(fds_.size()), timeout_ms(timeout_ns));
        if (n < 0) {
            if (errno == EINTR) {
                return;
            }
            throw_errno("poll");
        }
        for (std::size_t k = 0; k < fds_.size() && out.size() < static_cast<std::size_t>(n); ++k) {
            const auto e = static_cast<unsigned>(fds_[k].revents);
            if (e == 0) {
                continue;
            }
            std::uint32_t ready = 0;
            // As Python's PollSelector: anything but "readable" wakes a writer, anything but
            // "writable" wakes a reader (errors, hang-ups and POLLNVAL reach both).
            if ((e & ~static_cast<unsigned>(POLLIN)) != 0) {
                ready |= event_write;
            }
            if ((e & ~static_cast<unsigned>(POLLOUT)) != 0) {
                ready |= event_read;
            }
            out.push_back(io_event{fds_[k].fd, ready});
        }
    }

    [[nodiscard]] const char* name() const noexcept override { return "poll"; }

private:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    static short mask(std::uint32_t events) noexcept {
        return static_cast<short>(((events & event_read) != 0 ? POLLIN : 0) |
                                  ((events & event_write) != 0 ? POLLOUT : 0));
    }

    std::vector<pollfd> fds_;
    std::vector<std::size_t> pos_;
};

} // namespace asyncio::detail
