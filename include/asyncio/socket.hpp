// SPDX-License-Identifier: MIT
// Sockets for the loop: an RAII non-blocking socket, name resolution in the executor, and the
// sock_* awaitables of asyncio's selector loop (sock_recv, sock_sendall, sock_connect, ...).
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/socket_address.hpp>
#include <asyncio/task.hpp>
#include <asyncio/threads.hpp>

#include <asyncio/detail/io_registry.hpp>
#include <asyncio/detail/running_loop.hpp>
#include <asyncio/detail/sock_awaiter.hpp>

#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace asyncio {

class socket;

namespace detail {

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
