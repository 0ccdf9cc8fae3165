// SPDX-License-Identifier: MIT
// Socket addresses, getaddrinfo on the calling thread and its error category (socket.gaierror).
#pragma once

#include <asyncio/config.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
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

} // namespace asyncio
