// SPDX-License-Identifier: MIT
// Sockets for the loop: an RAII non-blocking socket, addresses, name resolution errors, and the
// sock_* awaitables of asyncio's selector loop (sock_recv, sock_sendall, sock_connect, ...).
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/task.hpp>
#include <asyncio/threads.hpp>

#include <asyncio/detail/io_registry.hpp>
#include <asyncio/detail/running_loop.hpp>
#include <asyncio/detail/task_core.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace asyncio {

namespace detail {

class gai_error_category final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "getaddrinfo"; }
    [[nodiscard]] std::string message(int code) const override { return ::gai_strerror(code); }
};

} // namespace detail

/// The error category of getaddrinfo's EAI_* codes, which are not errno values (Python's
/// socket.gaierror): `std::system_error(EAI_NONAME, asyncio::gai_category())`, whose message is
/// gai_strerror's.
[[nodiscard]] inline const std::error_category& gai_category() noexcept {
    static const detail::gai_error_category category;
    return category;
}

/// A socket address: IPv4 or IPv6 (host and port) or a Unix-domain path. Python passes tuples
/// `(host, port)`; here `socket_address("127.0.0.1", 8080)`.
class socket_address {
public:
    /// An empty address (family AF_UNSPEC).
    socket_address() noexcept = default;

    /// A numeric IPv4 or IPv6 host ("127.0.0.1", "::1") and a port. Throws std::overflow_error
    /// ("port must be 0-65535") for a port out of range (Python's OverflowError), and
    /// std::system_error(EAI_NONAME, gai_category()) for a host that is not a numeric address
    /// (resolve names with getaddrinfo).
    socket_address(std::string_view host, int port) {
        if (port < 0 || port > 65535) {
            throw std::overflow_error("port must be 0-65535");
        }
        const std::string h(host);
        auto* v4 = reinterpret_cast<sockaddr_in*>(&storage_);
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage_);
        if (::inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            v4->sin_port = htons(static_cast<std::uint16_t>(port));
            size_ = sizeof(sockaddr_in);
        } else if (::inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons(static_cast<std::uint16_t>(port));
            size_ = sizeof(sockaddr_in6);
        } else {
            storage_ = {};
            throw std::system_error(EAI_NONAME, gai_category(), h);
        }
    }

    /// A Unix-domain socket path. Throws std::invalid_argument when it does not fit sun_path.
    [[nodiscard]] static socket_address unix_path(std::string_view path) {
        socket_address a;
        auto* un = reinterpret_cast<sockaddr_un*>(&a.storage_);
        if (path.size() >= sizeof un->sun_path) {
            throw std::invalid_argument("AF_UNIX path too long");
        }
        un->sun_family = AF_UNIX;
        std::memcpy(un->sun_path, path.data(), path.size());
        a.size_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
        return a;
    }

    /// Copies a system address of `len` bytes.
    socket_address(const sockaddr* sa, socklen_t len) noexcept {
        if (len > static_cast<socklen_t>(sizeof storage_)) {
            len = sizeof storage_;
        }
        std::memcpy(&storage_, sa, static_cast<std::size_t>(len));
        size_ = len;
    }

    /// AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC when empty.
    [[nodiscard]] int family() const noexcept { return storage_.ss_family; }
    /// The numeric host ("127.0.0.1", "::1"), or the path of a Unix address.
    [[nodiscard]] std::string host() const {
        char buf[INET6_ADDRSTRLEN] = {};
        if (family() == AF_INET) {
            ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf,
                        sizeof buf);
            return buf;
        }
        if (family() == AF_INET6) {
            ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
                        sizeof buf);
            return buf;
        }
        if (family() == AF_UNIX) {
            const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
            const auto max = static_cast<std::size_t>(size_) - offsetof(sockaddr_un, sun_path);
            return {un->sun_path, ::strnlen(un->sun_path, max)};
        }
        return {};
    }
    /// The port (0 for a Unix address).
    [[nodiscard]] int port() const noexcept {
        if (family() == AF_INET) {
            return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
        }
        if (family() == AF_INET6) {
            return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
        }
        return 0;
    }
    /// "127.0.0.1:8080", "[::1]:8080", or the path.
    [[nodiscard]] std::string to_string() const {
        if (family() == AF_INET6) {
            return "[" + host() + "]:" + std::to_string(port());
        }
        if (family() == AF_INET) {
            return host() + ":" + std::to_string(port());
        }
        return host();
    }

    [[nodiscard]] const sockaddr* data() const noexcept {
        return reinterpret_cast<const sockaddr*>(&storage_);
    }
    [[nodiscard]] socklen_t size() const noexcept { return size_; }

    friend bool operator==(const socket_address& a, const socket_address& b) noexcept {
        return a.size_ == b.size_ &&
               std::memcmp(&a.storage_, &b.storage_, static_cast<std::size_t>(a.size_)) == 0;
    }

private:
    sockaddr_storage storage_{};
    socklen_t size_ = 0;
};

/// One result of getaddrinfo_blocking (Python's 5-tuple without the canonical name).
struct address_info {
    int family = 0;
    int type = 0;
    int protocol = 0;
    socket_address address;
};

/// socket.getaddrinfo, run on the calling thread (it may block on DNS: in a coroutine, resolve
/// names in an executor thread). `flags` are AI_* (AI_NUMERICHOST refuses names without any
/// lookup). Throws std::system_error with gai_category() (EAI_NONAME, ...) when it fails.
[[nodiscard]] inline std::vector<address_info>
getaddrinfo_blocking(const std::string& host, int port, int family = AF_UNSPEC, int type = 0,
                     int protocol = 0, int flags = 0) {
    if (port < 0 || port > 65535) {
        throw std::overflow_error("port must be 0-65535");
    }
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = type;
    hints.ai_protocol = protocol;
    hints.ai_flags = flags | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const std::string service = std::to_string(port);
    const int rc =
        ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0) {
        if (rc == EAI_SYSTEM) {
            throw std::system_error(errno, std::generic_category(), "getaddrinfo");
        }
        throw std::system_error(rc, gai_category(), host);
    }
    std::vector<address_info> out;
    try {
        for (const addrinfo* p = res; p != nullptr; p = p->ai_next) {
            out.push_back(address_info{p->ai_family, p->ai_socktype, p->ai_protocol,
                                       socket_address(p->ai_addr, p->ai_addrlen)});
        }
    } catch (...) {
        ::freeaddrinfo(res);
        throw;
    }
    ::freeaddrinfo(res);
    return out;
}

class socket;

namespace detail {

[[noreturn]] inline void throw_socket_error(int err, const std::string& what) {
    throw std::system_error(err, std::generic_category(), what);
}

/// The running loop forgets `fd` before it is closed: its pending socket operations fail with
/// EBADF and its add_reader/add_writer callbacks go.
inline void forget_fd(int fd) noexcept {
    if (event_loop* l = running_loop()) {
        loop_core& c = l->core();
        c.io_.forget(*c.selector_, c.ready_, fd, EBADF);
    }
}

} // namespace detail

/// A socket (Python's socket.socket): non-blocking and close-on-exec from birth, closed exactly
/// once by its destructor or close(). Move-only. Errors raise std::system_error with the errno
/// (compare with std::errc: connection_refused, connection_reset, broken_pipe, ...).
class socket {
public:
    /// No socket (fileno() == -1).
    socket() noexcept = default;
    /// socket.socket(family, type, proto): AF_INET/AF_INET6/AF_UNIX, SOCK_STREAM/SOCK_DGRAM.
    explicit socket(int family, int type = SOCK_STREAM, int protocol = 0)
        : fd_(::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol)) {
        if (fd_ < 0) {
            detail::throw_socket_error(errno, "socket");
        }
    }
    /// Takes ownership of an open descriptor and makes it non-blocking and close-on-exec.
    [[nodiscard]] static socket adopt(int fd) {
        if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) {
            detail::throw_socket_error(EBADF, "adopt");
        }
        socket s;
        s.fd_ = fd;
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        return s;
    }
    /// socket.socketpair(): two connected sockets (AF_UNIX by default).
    [[nodiscard]] static std::pair<socket, socket> pair(int family = AF_UNIX,
                                                        int type = SOCK_STREAM) {
        int fds[2];
        if (::socketpair(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
            detail::throw_socket_error(errno, "socketpair");
        }
        socket a;
        socket b;
        a.fd_ = fds[0];
        b.fd_ = fds[1];
        return {std::move(a), std::move(b)};
    }

    socket(socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    socket& operator=(socket&& o) noexcept {
        if (this != &o) {
            close();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    socket(const socket&) = delete;
    socket& operator=(const socket&) = delete;
    ~socket() { close(); }

    /// The descriptor, or -1 once closed.
    [[nodiscard]] int fileno() const noexcept { return fd_; }
    [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }

    /// Closes the descriptor (once; later calls do nothing). A socket operation of the running
    /// loop still waiting on it fails with std::system_error(EBADF) instead of hanging.
    void close() noexcept {
        if (fd_ >= 0) {
            const int fd = std::exchange(fd_, -1);
            detail::forget_fd(fd);
            ::close(fd);
        }
    }
    /// Gives up ownership: returns the descriptor, which the caller must close. The running loop
    /// forgets the descriptor first (an operation still waiting on it fails with EBADF), so that
    /// it may be closed or handed to other code at once.
    [[nodiscard]] int detach() noexcept {
        if (fd_ >= 0) {
            detail::forget_fd(fd_);
        }
        return std::exchange(fd_, -1);
    }

    void bind(const socket_address& a) {
        if (::bind(checked(), a.data(), a.size()) != 0) {
            detail::throw_socket_error(errno, "bind " + a.to_string());
        }
    }
    /// listen(backlog): CPython's default backlog for servers is 100.
    void listen(int backlog = 100) {
        if (::listen(checked(), backlog) != 0) {
            detail::throw_socket_error(errno, "listen");
        }
    }
    [[nodiscard]] socket_address getsockname() const {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (::getsockname(checked(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
            detail::throw_socket_error(errno, "getsockname");
        }
        return {reinterpret_cast<sockaddr*>(&ss), len};
    }
    /// Throws std::system_error(ENOTCONN) when not connected.
    [[nodiscard]] socket_address getpeername() const {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (::getpeername(checked(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
            detail::throw_socket_error(errno, "getpeername");
        }
        return {reinterpret_cast<sockaddr*>(&ss), len};
    }
    void setsockopt(int level, int option, int value) {
        if (::setsockopt(checked(), level, option, &value, sizeof value) != 0) {
            detail::throw_socket_error(errno, "setsockopt");
        }
    }
    [[nodiscard]] int getsockopt(int level, int option) const {
        int value = 0;
        socklen_t len = sizeof value;
        if (::getsockopt(checked(), level, option, &value, &len) != 0) {
            detail::throw_socket_error(errno, "getsockopt");
        }
        return value;
    }
    /// shutdown(SHUT_RD | SHUT_WR | SHUT_RDWR).
    void shutdown(int how) {
        if (::shutdown(checked(), how) != 0) {
            detail::throw_socket_error(errno, "shutdown");
        }
    }
    [[nodiscard]] int family() const { return getsockopt(SOL_SOCKET, SO_DOMAIN); }
    [[nodiscard]] int type() const { return getsockopt(SOL_SOCKET, SO_TYPE); }

    /// The descriptor, or std::system_error(EBADF) once closed.
    [[nodiscard]] int checked() const {
        if (fd_ < 0) {
            detail::throw_socket_error(EBADF, "socket is closed");
        }
        return fd_;
    }

private:
    int fd_ = -1;
};

namespace detail {

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

class accept_awaiter final : public sock_awaiter<accept_awaiter> {
public:
    explicit accept_awaiter(int fd) noexcept : sock_awaiter(fd, event_read) {}
    bool attempt() {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        const int c =
            ::accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c >= 0) {
            conn_ = socket::adopt(c);
            peer_ = socket_address(reinterpret_cast<sockaddr*>(&ss), len);
            return done_ = true;
        }
        // A connection reset before it was accepted is not this socket's error: wait for the
        // next one (as the kernel's ECONNABORTED tells).
        if (would_block(errno) || errno == ECONNABORTED) {
            return false;
        }
        err_ = errno;
        return true;
    }
    std::pair<socket, socket_address> await_resume() {
        finish();
        return {std::move(conn_), peer_};
    }
    [[nodiscard]] static const char* what() noexcept { return "accept"; }

private:
    socket conn_;
    socket_address peer_;
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

} // namespace detail

/// loop.sock_recv(sock, n): up to `n` bytes, at least one unless the peer closed (then ""). Does
/// not suspend when data is already there; otherwise resumes one iteration after the socket
/// became readable, as in CPython. Errors: std::system_error (errc::connection_reset, ...);
/// std::runtime_error when another operation already waits to read this socket (CPython would
/// silently strand the first). A cancel removes the registration: no byte is read.
[[nodiscard("co_await the receive")]] inline detail::recv_awaiter sock_recv(const socket& s,
                                                                            std::size_t n) {
    return {s.fileno(), n};
}

/// loop.sock_recv_into(sock, buf): receives into `buf`, returns the byte count (0: closed).
[[nodiscard("co_await the receive")]] inline detail::recv_into_awaiter
sock_recv_into(const socket& s, std::span<std::byte> buf) noexcept {
    return {s.fileno(), buf};
}

/// loop.sock_sendall(sock, data): sends every byte, waiting for the socket to be writable as
/// often as needed. `data` must stay alive until the await completes (a temporary in the same
/// expression does). Errors: std::system_error (errc::broken_pipe once the peer is gone; no
/// SIGPIPE is raised). After an error or a cancel, how much was sent is unknown (as in CPython).
[[nodiscard("co_await the send")]] inline detail::sendall_awaiter
sock_sendall(const socket& s, std::span<const std::byte> data) noexcept {
    return {s.fileno(), data};
}
/// The same for text.
[[nodiscard("co_await the send")]] inline detail::sendall_awaiter
sock_sendall(const socket& s, std::string_view data) noexcept {
    return {s.fileno(), detail::as_bytes(data)};
}

/// loop.sock_connect(sock, address) with a resolved address: resumes once connected (a
/// connection that completes at once, like a Unix socket's, does not suspend). Errors:
/// std::system_error whose what() is "Connect call failed <address>: <reason>" (errc::
/// connection_refused, ...).
[[nodiscard("co_await the connect")]] inline detail::connect_awaiter
sock_connect(const socket& s, socket_address address) noexcept {
    return {s.fileno(), address};
}

/// loop.sock_accept(sock): the next connection of a listening socket, as a non-blocking socket,
/// and the peer's address.
[[nodiscard("co_await the accept")]] inline detail::accept_awaiter
sock_accept(const socket& s) noexcept {
    return detail::accept_awaiter(s.fileno());
}

/// loop.sock_sendto(sock, data, address): one datagram; returns the bytes sent.
[[nodiscard("co_await the send")]] inline detail::sendto_awaiter
sock_sendto(const socket& s, std::span<const std::byte> data, socket_address to) noexcept {
    return {s.fileno(), data, to};
}
/// The same for text.
[[nodiscard("co_await the send")]] inline detail::sendto_awaiter
sock_sendto(const socket& s, std::string_view data, socket_address to) noexcept {
    return {s.fileno(), detail::as_bytes(data), to};
}

/// loop.sock_recvfrom(sock, bufsize): one datagram (truncated to `n` bytes) and its sender.
[[nodiscard("co_await the receive")]] inline detail::recvfrom_awaiter sock_recvfrom(const socket& s,
                                                                                    std::size_t n) {
    return {s.fileno(), n};
}

/// loop.getaddrinfo(host, port, family=, type=, proto=, flags=): a numeric host is converted at
/// once, as CPython's shortcut does; a name is resolved by getaddrinfo_blocking in the default
/// executor (a thread of the loop's pool), so DNS never blocks the loop. Errors as
/// getaddrinfo_blocking's (gai_category()).
[[nodiscard("co_await the resolution")]] inline task<std::vector<address_info>>
getaddrinfo(std::string host, int port, int family = AF_UNSPEC, int type = 0, int protocol = 0,
            int flags = 0) {
    in6_addr probe{};
    const bool numeric = host.empty() || ::inet_pton(AF_INET, host.c_str(), &probe) == 1 ||
                         ::inet_pton(AF_INET6, host.c_str(), &probe) == 1;
    if (numeric || (flags & AI_NUMERICHOST) != 0) {
        co_return getaddrinfo_blocking(host, port, family, type, protocol, flags);
    }
    co_return co_await to_thread([](const std::string& h, int p, int f, int t, int pr,
                                    int fl) { return getaddrinfo_blocking(h, p, f, t, pr, fl); },
                                 std::move(host), port, family, type, protocol, flags);
}

namespace detail {

// By value (the descriptor, family and type), so that the coroutine holds no reference.
inline task<> connect_by_name(int fd, int family, int type, std::string host, int port) {
    const std::vector<address_info> found =
        co_await getaddrinfo(std::move(host), port, family, type);
    if (found.empty()) {
        throw std::system_error(EAI_NONAME, gai_category());
    }
    co_await connect_awaiter(fd, found.front().address);
}

} // namespace detail

/// loop.sock_connect(sock, (host, port)): resolves `host` for the socket's family and type
/// (getaddrinfo above: in the default executor unless numeric), then connects to the first
/// address. Errors: getaddrinfo's, then sock_connect's.
[[nodiscard("co_await the connect")]] inline task<> sock_connect(const socket& s, std::string host,
                                                                 int port) {
    return detail::connect_by_name(s.checked(), s.family(), s.type(), std::move(host), port);
}

} // namespace asyncio
