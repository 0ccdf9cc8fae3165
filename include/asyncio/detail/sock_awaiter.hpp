// SPDX-License-Identifier: MIT
// The sock_* awaiters (recv, recv_into, sendall, connect, sendto, recvfrom) and their shared base.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/socket_address.hpp>

#include <asyncio/detail/io_registry.hpp>
#include <asyncio/detail/task_core.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace asyncio::detail {

[[noreturn]] inline void throw_socket_error(int err, const std::string& what) {
    throw std::system_error(err, std::generic_category(), what);
}

/// Whether an errno means "not ready yet, wait for the selector".
[[nodiscard]] inline bool would_block(int err) noexcept {
    return err == EAGAIN || err == EWOULDBLOCK || err == EINTR || err == EINPROGRESS;
}

/// The shared machinery of the sock_* awaiters, each a plain awaiter living in the awaiting frame
/// (no allocation): it tries the operation at once (as CPython does, so a ready socket does not
/// suspend); otherwise it registers as the reader or writer of the descriptor, retries in each
/// iteration in which the descriptor is ready (the selector's callback runs in iteration N) and
/// wakes the task for N+1 once the operation is done, as CPython's future does. A cancel removes
/// the registration (nothing was transferred by a pending receive). `Op` provides
/// `bool attempt()` (true when finished, with `err_` set on failure) and `result()`.
template <class Op> class sock_awaiter : private io_watcher {
    friend Op;
    sock_awaiter(int fd, std::uint32_t dir) noexcept : fd_(fd), dir_(dir) {
        on_ready = &ready_fn;
        on_removed = &removed_fn;
    }
    sock_awaiter(const sock_awaiter& o) noexcept : sock_awaiter(o.fd_, o.dir_) {}

public:
    sock_awaiter& operator=(const sock_awaiter&) = delete;
    ~sock_awaiter() { unregister(); }

    [[nodiscard]] bool await_ready() {
        if (fd_ < 0) {
            err_ = EBADF;
            return true;
        }
        return self().attempt();
    }

    template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
        task_core* root = root_of(h);
        loop_core& core = root->loop().core();
        if (core.io_.find(fd_, dir_) != nullptr) {
            throw std::runtime_error(
                "file descriptor " + std::to_string(fd_) + " is already waited on for " +
                (dir_ == event_read ? "reading" : "writing") + " by another operation or callback");
        }
        core.io_.watch(*core.selector_, core.ready_, fd_, dir_, this);
        loop_ = &core;
        root_ = root;
        root->suspend(h, cancel_hook{&on_cancel, this});
    }

    /// For Op::await_resume: throws cancelled_error or the operation's error. A cancellation that
    /// arrives after the operation completed (its result already taken from the socket) is
    /// delivered at the task's next suspension, so that no byte is lost (CPython drops them).
    void finish() {
        if (root_ != nullptr) {
            if (err_ == 0 && done_) {
                root_->postpone_cancel_delivery();
            } else {
                root_->throw_if_cancel_delivered();
            }
        }
        if (err_ != 0) {
            throw_socket_error(err_, self().what());
        }
    }

protected:
    Op& self() noexcept { return static_cast<Op&>(*this); }

    int fd_;
    std::uint32_t dir_;
    int err_ = 0;
    bool done_ = false;

private:
    /// `lazy`: the operation completed or was cancelled while the loop runs, and the socket is
    /// likely waited on again soon: the kernel may keep its interest for a while.
    void unregister(bool lazy = false) noexcept {
        if (loop_ != nullptr) {
            loop_->io_.unwatch_if(*loop_->selector_, loop_->ready_, fd_, dir_, this, lazy);
            loop_ = nullptr;
        }
    }

    static void ready_fn(io_watcher* w, bool run) {
        auto* self = static_cast<sock_awaiter*>(w);
        if (!run || !self->self().attempt()) {
            return; // not ready after all: stay registered
        }
        self->unregister(true);
        self->root_->wake();
    }

    static void removed_fn(io_watcher* w, int err) noexcept {
        auto* self = static_cast<sock_awaiter*>(w);
        self->loop_ = nullptr; // already unregistered
        self->err_ = err;
        self->root_->wake();
    }

    static bool on_cancel(void* ctx, task_core& t) {
        auto* self = static_cast<sock_awaiter*>(ctx);
        self->unregister(true);
        t.deliver_cancel();
        t.wake();
        return true;
    }

    loop_core* loop_ = nullptr;
    task_core* root_ = nullptr;
};

class recv_awaiter final : public sock_awaiter<recv_awaiter> {
public:
    recv_awaiter(int fd, std::size_t n) : sock_awaiter(fd, event_read), n_(n) {}
    bool attempt() {
        buf_.resize(n_);
        const auto r = ::recv(fd_, buf_.data(), n_, 0);
        if (r >= 0) {
            buf_.resize(static_cast<std::size_t>(r));
            return done_ = true;
        }
        if (would_block(errno)) {
            return false;
        }
        err_ = errno;
        return true;
    }
    std::string await_resume() {
        finish();
        return std::move(buf_);
    }
    [[nodiscard]] static const char* what() noexcept { return "recv"; }

private:
    std::size_t n_;
    std::string buf_;
};

class recv_into_awaiter final : public sock_awaiter<recv_into_awaiter> {
public:
    recv_into_awaiter(int fd, std::span<std::byte> buf) noexcept
        : sock_awaiter(fd, event_read), buf_(buf) {}
    bool attempt() {
        const auto r = ::recv(fd_, buf_.data(), buf_.size(), 0);
        if (r >= 0) {
            n_ = static_cast<std::size_t>(r);
            return done_ = true;
        }
        if (would_block(errno)) {
            return false;
        }
        err_ = errno;
        return true;
    }
    std::size_t await_resume() {
        finish();
        return n_;
    }
    [[nodiscard]] static const char* what() noexcept { return "recv_into"; }

private:
    std::span<std::byte> buf_;
    std::size_t n_ = 0;
};

class sendall_awaiter final : public sock_awaiter<sendall_awaiter> {
public:
    sendall_awaiter(int fd, std::span<const std::byte> data) noexcept
        : sock_awaiter(fd, event_write), data_(data) {}
    bool attempt() {
        while (sent_ < data_.size()) {
            const auto r = ::send(fd_, data_.data() + sent_, data_.size() - sent_, MSG_NOSIGNAL);
            if (r < 0) {
                if (would_block(errno)) {
                    return false;
                }
                err_ = errno;
                return true;
            }
            sent_ += static_cast<std::size_t>(r);
        }
        return done_ = true;
    }
    void await_resume() { finish(); }
    [[nodiscard]] static const char* what() noexcept { return "send"; }

private:
    std::span<const std::byte> data_;
    std::size_t sent_ = 0;
};

class connect_awaiter final : public sock_awaiter<connect_awaiter> {
public:
    connect_awaiter(int fd, socket_address a) noexcept
        : sock_awaiter(fd, event_write), address_(a) {}
    bool attempt() {
        if (!started_) {
            started_ = true;
            if (::connect(fd_, address_.data(), address_.size()) == 0) {
                return done_ = true;
            }
            if (would_block(errno)) {
                return false;
            }
            err_ = errno;
            return true;
        }
        int e = 0;
        socklen_t len = sizeof e;
        if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &e, &len) != 0) {
            e = errno;
        }
        if (e == 0) {
            return done_ = true;
        }
        if (would_block(e)) {
            return false;
        }
        err_ = e;
        return true;
    }
    void await_resume() { finish(); }
    [[nodiscard]] std::string what() const { return "Connect call failed " + address_.to_string(); }

private:
    socket_address address_;
    bool started_ = false;
};

class sendto_awaiter final : public sock_awaiter<sendto_awaiter> {
public:
    sendto_awaiter(int fd, std::span<const std::byte> data, socket_address to) noexcept
        : sock_awaiter(fd, event_write), data_(data), to_(to) {}
    bool attempt() {
        const auto r =
            ::sendto(fd_, data_.data(), data_.size(), MSG_NOSIGNAL, to_.data(), to_.size());
        if (r >= 0) {
            n_ = static_cast<std::size_t>(r);
            return done_ = true;
        }
        if (would_block(errno)) {
            return false;
        }
        err_ = errno;
        return true;
    }
    std::size_t await_resume() {
        finish();
        return n_;
    }
    [[nodiscard]] std::string what() const { return "sendto " + to_.to_string(); }

private:
    std::span<const std::byte> data_;
    socket_address to_;
    std::size_t n_ = 0;
};

class recvfrom_awaiter final : public sock_awaiter<recvfrom_awaiter> {
public:
    recvfrom_awaiter(int fd, std::size_t n) : sock_awaiter(fd, event_read), n_(n) {}
    bool attempt() {
        buf_.resize(n_);
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        const auto r = ::recvfrom(fd_, buf_.data(), n_, 0, reinterpret_cast<sockaddr*>(&ss), &len);
        if (r >= 0) {
            buf_.resize(static_cast<std::size_t>(r));
            from_ = socket_address(reinterpret_cast<sockaddr*>(&ss), len);
            return done_ = true;
        }
        if (would_block(errno)) {
            return false;
        }
        err_ = errno;
        return true;
    }
    std::pair<std::string, socket_address> await_resume() {
        finish();
        return {std::move(buf_), from_};
    }
    [[nodiscard]] static const char* what() noexcept { return "recvfrom"; }

private:
    std::size_t n_;
    std::string buf_;
    socket_address from_;
};

[[nodiscard]] inline std::span<const std::byte> as_bytes(std::string_view s) noexcept {
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

} // namespace asyncio::detail
