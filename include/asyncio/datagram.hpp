// SPDX-License-Identifier: MIT
// Datagram endpoints (UDP, Unix datagram sockets): loop.create_datagram_endpoint with a protocol.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/datagram_protocol.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/future.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/socket.hpp>
#include <asyncio/socket_address.hpp>
#include <asyncio/task.hpp>
#include <asyncio/threads.hpp>

#include <asyncio/detail/datagram_state.hpp>
#include <asyncio/detail/io_registry.hpp>
#include <asyncio/detail/loop_core.hpp>
#include <asyncio/detail/ref_ptr.hpp>
#include <asyncio/detail/running_loop.hpp>

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <any>
#include <cerrno>
#include <concepts>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace asyncio {

/// asyncio.DatagramTransport: a handle to one datagram endpoint (copies share it). The endpoint
/// closes when close() or abort() is called, or when the last handle goes (the socket is then
/// closed at once, without connection_lost). Methods are called on the loop's thread; an empty
/// (default-constructed or moved-from) handle throws std::runtime_error.
class datagram_transport {
public:
    datagram_transport() noexcept = default;
    datagram_transport(const datagram_transport& o) noexcept : s_(o.s_) {
        if (s_ != nullptr) {
            s_->add_handle();
        }
    }
    datagram_transport(datagram_transport&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    datagram_transport& operator=(datagram_transport o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    ~datagram_transport() {
        if (s_ != nullptr) {
            s_->drop_handle();
        }
    }

    /// DatagramTransport.sendto(data, addr): sends one datagram at once when nothing is
    /// buffered, else buffers a copy (sent when the socket is writable). `addr` may be omitted on
    /// a connected endpoint (remote_addr), and must then be that address (std::invalid_argument
    /// otherwise); it is required on an unconnected one. An OS error goes to the protocol's
    /// error_received. After close() or abort(), datagrams are dropped.
    void sendto(std::span<const std::byte> data, std::optional<socket_address> addr = {}) {
        s().sendto(data, addr);
    }
    /// sendto with text bytes.
    void sendto(std::string_view data, std::optional<socket_address> addr = {}) {
        s().sendto(std::as_bytes(std::span(data)), addr);
    }

    /// BaseTransport.close: stops receiving; connection_lost(null) follows once the buffer is
    /// sent. Idempotent.
    void close() { s().close(); }
    /// Transport.abort: drops the buffer; connection_lost(null) follows.
    void abort() { s().abort(); }
    /// BaseTransport.is_closing.
    [[nodiscard]] bool is_closing() const { return s().closing_; }

    /// get_extra_info: "peername" and "sockname" give a socket_address (empty when not
    /// connected), "socket" an `asyncio::socket*` (owned by the transport); else `fallback`.
    [[nodiscard]] std::any get_extra_info(std::string_view name, std::any fallback = {}) const {
        if (name == "peername") {
            return s().connected_ ? std::any(s().peer_) : std::move(fallback);
        }
        if (name == "sockname") {
            return s().local_;
        }
        if (name == "socket") {
            return &s().sock_;
        }
        return fallback;
    }
    /// get_extra_info("sockname"), typed.
    [[nodiscard]] const socket_address& sockname() const { return s().local_; }
    /// get_extra_info("peername"), typed: the remote address, or an empty one.
    [[nodiscard]] const socket_address& peername() const { return s().peer_; }

    /// Transport.get_write_buffer_size: buffered bytes plus 8 per buffered datagram.
    [[nodiscard]] std::size_t get_write_buffer_size() const { return s().buffer_size_; }
    /// Transport.get_write_buffer_limits: (low, high).
    [[nodiscard]] std::pair<std::size_t, std::size_t> get_write_buffer_limits() const {
        return {s().low_, s().high_};
    }
    /// Transport.set_write_buffer_limits(high, low): low defaults to high / 4.
    void set_write_buffer_limits(std::size_t high, std::optional<std::size_t> low = {}) {
        s().set_write_buffer_limits(high, low.value_or(high / 4));
    }
    /// BaseTransport.get_protocol (null once connection_lost has run).
    [[nodiscard]] std::shared_ptr<datagram_protocol> get_protocol() const { return s().protocol_; }

private:
    friend class detail::datagram_state;
    friend struct datagram_access;
    explicit datagram_transport(detail::datagram_state* s) noexcept : s_(s) { s_->add_handle(); }

    [[nodiscard]] detail::datagram_state& s() const {
        if (s_ == nullptr) {
            throw std::runtime_error(
                "empty datagram_transport (default-constructed or moved-from)");
        }
        return *s_;
    }

    detail::datagram_state* s_ = nullptr;
};

inline void detail::datagram_state::connection_made() {
    datagram_transport t(this);
    call_protocol([&](datagram_protocol& p) { p.connection_made(t); });
}

/// Internal: builds an endpoint.
struct datagram_access {
    static datagram_transport make(detail::datagram_state* s) noexcept {
        return datagram_transport(s);
    }
};

/// A host and port, as Python's `(host, port)` tuples; the host may be a name (resolved by
/// getaddrinfo on the default executor) or numeric.
struct host_port {
    // A constructor rather than an aggregate: g++ 12 copies a braced aggregate holding a
    // std::string bitwise when it is an argument in a co_await expression (a bad free later).
    host_port(std::string h, int p) : host(std::move(h)), port(p) {}
    std::string host;
    int port = 0;
};

/// The keyword-only arguments of loop.create_datagram_endpoint (scalars only: g++ 12 mishandles
/// braced aggregates holding strings in co_await expressions, so the addresses are parameters).
struct datagram_options {
    /// AF_INET, AF_INET6, or 0 (any, or as the addresses resolve).
    int family = 0;
    int proto = 0;
    /// getaddrinfo flags.
    int flags = 0;
    /// SO_REUSEPORT.
    bool reuse_port = false;
    /// SO_BROADCAST (and remote_addr is not connected to).
    bool allow_broadcast = false;
};

namespace detail {

template <class F> using datagram_protocol_of = typename std::invoke_result_t<F&>::element_type;

template <class F>
concept datagram_protocol_factory = requires(F& f) {
    { f() } -> std::convertible_to<std::shared_ptr<datagram_protocol>>;
    typename datagram_protocol_of<F>;
};

template <class P>
task<std::pair<datagram_transport, std::shared_ptr<P>>>
finish_datagram_endpoint(asyncio::socket sock, std::shared_ptr<P> protocol,
                         std::optional<socket_address> remote) {
    event_loop& loop = get_running_loop();
    ref_ptr<datagram_state> s(new datagram_state(loop, std::move(sock), protocol, remote));
    datagram_transport t = datagram_access::make(s.get());
    future<void> waiter = loop.create_future<void>();
    s->start(waiter);
    try {
        co_await waiter;
    } catch (...) {
        t.close();
        throw;
    }
    co_return std::pair<datagram_transport, std::shared_ptr<P>>(std::move(t), std::move(protocol));
}

} // namespace detail

namespace detail {

template <class F>
task<std::pair<datagram_transport, std::shared_ptr<datagram_protocol_of<F>>>>
create_datagram_endpoint_impl(F factory, std::optional<host_port> local_addr,
                              std::optional<host_port> remote_addr, datagram_options options) {
    if (!local_addr && !remote_addr && options.family == 0) {
        throw std::invalid_argument("unexpected address family");
    }
    // (family, proto) -> (local, remote), in the order getaddrinfo gives them.
    struct pair_info {
        int family;
        int proto;
        std::optional<socket_address> local;
        std::optional<socket_address> remote;
    };
    std::vector<pair_info> pairs;
    if (!local_addr && !remote_addr) {
        pairs.push_back({options.family, options.proto, {}, {}});
    }
    for (int idx = 0; idx < 2; ++idx) {
        const std::optional<host_port>& a = idx == 0 ? local_addr : remote_addr;
        if (!a) {
            continue;
        }
        const std::vector<address_info> infos = co_await getaddrinfo(
            a->host, a->port, options.family, SOCK_DGRAM, options.proto, options.flags);
        if (infos.empty()) {
            throw std::system_error(EAI_NONAME, gai_category(),
                                    "getaddrinfo() returned empty list");
        }
        for (const address_info& ai : infos) {
            auto it = std::find_if(pairs.begin(), pairs.end(), [&](const pair_info& p) {
                return p.family == ai.family && p.proto == ai.protocol;
            });
            if (it == pairs.end()) {
                pairs.push_back({ai.family, ai.protocol, {}, {}});
                it = pairs.end() - 1;
            }
            (idx == 0 ? it->local : it->remote) = ai.address;
        }
    }
    std::erase_if(pairs, [&](const pair_info& p) {
        return (local_addr && !p.local) || (remote_addr && !p.remote);
    });
    if (pairs.empty()) {
        throw std::invalid_argument("can not get address information");
    }
    std::vector<std::system_error> errors;
    for (const pair_info& p : pairs) {
        std::optional<asyncio::socket> sock;
        try {
            sock.emplace(p.family, SOCK_DGRAM, p.proto);
            if (options.reuse_port) {
                sock->setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
            }
            if (options.allow_broadcast) {
                sock->setsockopt(SOL_SOCKET, SO_BROADCAST, 1);
            }
            if (p.local) {
                sock->bind(*p.local);
            }
            if (p.remote && !options.allow_broadcast) {
                co_await sock_connect(*sock, *p.remote);
            }
        } catch (const std::system_error& e) {
            errors.push_back(e);
            continue;
        }
        co_return co_await detail::finish_datagram_endpoint(std::move(*sock), factory(), p.remote);
    }
    throw errors.front();
}

} // namespace detail

/// loop.create_datagram_endpoint(protocol_factory, local_addr, remote_addr, *, family, proto,
/// flags, reuse_port, allow_broadcast): a UDP endpoint bound to `local_addr` (port 0 picks a free
/// port) and/or connected to `remote_addr` (with allow_broadcast, only its default destination),
/// its protocol made by `factory` (a
/// callable returning `std::shared_ptr<P>`, P derived from datagram_protocol). Returns the
/// transport and the protocol once connection_made has run. Errors: std::invalid_argument
/// ("unexpected address family" without any address and family; "can not get address
/// information" when the two addresses share no family), std::overflow_error for a port out of
/// 0-65535, getaddrinfo's std::system_error (gai_category()), and the first OS error of
/// bind/connect (std::system_error) when every resolved address fails. For Unix datagram
/// sockets, pass a socket you bound yourself.
template <detail::datagram_protocol_factory F>
[[nodiscard("co_await the endpoint")]] task<
    std::pair<datagram_transport, std::shared_ptr<detail::datagram_protocol_of<F>>>>
create_datagram_endpoint(F factory, std::optional<host_port> local_addr = std::nullopt,
                         std::optional<host_port> remote_addr = std::nullopt,
                         datagram_options options = {}) {
    return detail::create_datagram_endpoint_impl(std::move(factory), std::move(local_addr),
                                                 std::move(remote_addr), options);
}

/// loop.create_datagram_endpoint(protocol_factory, sock=sock): an endpoint over a datagram
/// socket made by the caller (bound and/or connected, any family, Unix included), which the
/// transport now owns. Throws std::invalid_argument for a stream socket.
template <detail::datagram_protocol_factory F>
[[nodiscard("co_await the endpoint")]] task<
    std::pair<datagram_transport, std::shared_ptr<detail::datagram_protocol_of<F>>>>
create_datagram_endpoint(F factory, asyncio::socket sock) {
    if (sock.type() == SOCK_STREAM) {
        throw std::invalid_argument("A datagram socket was expected, got a stream socket (fd=" +
                                    std::to_string(sock.fileno()) + ")");
    }
    std::optional<socket_address> remote;
    co_return co_await detail::finish_datagram_endpoint(std::move(sock), factory(), remote);
}

} // namespace asyncio
