// SPDX-License-Identifier: MIT
// Datagram endpoints (UDP, Unix datagram sockets): loop.create_datagram_endpoint with a protocol.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/future.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/socket.hpp>
#include <asyncio/socket_address.hpp>
#include <asyncio/task.hpp>
#include <asyncio/threads.hpp>

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

class datagram_transport;

/// asyncio.DatagramProtocol: derive from it and override what you need (every method does
/// nothing by default). The loop calls these from its thread: connection_made once, then
/// datagram_received for each datagram and error_received for each failed send or receive (an
/// ICMP "port unreachable" reported on a connected socket, for instance, as
/// errc::connection_refused), pause_writing/resume_writing as the write buffer crosses its marks,
/// and connection_lost once at the end. An exception thrown by one of them goes to the loop's
/// exception handler; the transport carries on.
class datagram_protocol {
public:
    virtual ~datagram_protocol() = default;

    /// The transport is ready; keep a copy of it to send.
    virtual void connection_made(datagram_transport& /*transport*/) {}
    /// One datagram (possibly empty) and its sender; the bytes are the override's to keep.
    // NOLINTNEXTLINE(performance-unnecessary-value-param): overrides take ownership
    virtual void datagram_received(std::string /*data*/, const socket_address& /*addr*/) {}
    /// A send or receive failed with an OS error; the transport stays open.
    virtual void error_received(const std::system_error& /*exc*/) {}
    /// The transport is closed: null after close() or abort(), else what ended it.
    // NOLINTNEXTLINE(performance-unnecessary-value-param): overrides may keep it
    virtual void connection_lost(std::exception_ptr /*exc*/) {}
    /// The write buffer went above its high-water mark (64 KiB by default).
    virtual void pause_writing() {}
    /// The write buffer came back to its low-water mark (16 KiB by default).
    virtual void resume_writing() {}

protected:
    datagram_protocol() = default;
    datagram_protocol(const datagram_protocol&) = default;
    datagram_protocol(datagram_protocol&&) = default;
    datagram_protocol& operator=(const datagram_protocol&) = default;
    datagram_protocol& operator=(datagram_protocol&&) = default;
};

namespace detail {

/// CPython's _SelectorDatagramTransport: the socket, the protocol and the write buffer of one
/// endpoint, shared by every datagram_transport handle.
///
/// References: each handle, a registered reader or writer watcher and each queued callback hold
/// one. The protocol is held until connection_lost has been called (the protocol usually holds a
/// handle, so this breaks the cycle, as CPython's _call_connection_lost does by forgetting it).
/// When the loop closes with the endpoint still open, its registrations are taken away: the
/// socket is closed and the protocol dropped without a call (no code runs once the loop closes).
class datagram_state {
public:
    datagram_state(event_loop& loop, asyncio::socket sock, std::shared_ptr<datagram_protocol> p,
                   std::optional<socket_address> remote)
        : loop_(&loop), sock_(std::move(sock)), protocol_(std::move(p)), address_(remote) {
        rw_.self = this;
        rw_.on_ready = &read_ready;
        rw_.on_removed = &read_removed;
        ww_.self = this;
        ww_.on_ready = &write_ready;
        ww_.on_removed = &write_removed;
        try {
            local_ = sock_.getsockname();
        } catch (const std::system_error&) { // NOLINT(bugprone-empty-catch): CPython leaves None
        }
        try {
            peer_ = sock_.getpeername();
            connected_ = true;
        } catch (const std::system_error&) { // NOLINT(bugprone-empty-catch): not connected
        }
    }

    datagram_state(const datagram_state&) = delete;
    datagram_state& operator=(const datagram_state&) = delete;
    datagram_state(datagram_state&&) = delete;
    datagram_state& operator=(datagram_state&&) = delete;
    ~datagram_state() {
        remove_reader();
        remove_writer();
        sock_.close();
    }

    void add_ref() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0) {
            delete this;
        }
    }
    void add_handle() noexcept {
        ++handles_;
        ++refs_;
    }
    /// The last handle going while the endpoint is open closes it (CPython's transport __del__
    /// closes the socket of an unclosed transport).
    void drop_handle() noexcept {
        if (--handles_ == 0 && !closing_) {
            abort_now();
        }
        release();
    }

    /// The three callbacks CPython's transport __init__ queues, in one: connection_made, then
    /// the reader registered, then `waiter` completed (unless cancelled meanwhile).
    void start(future<void> waiter) {
        (void)loop_->call_soon(
            [s = ref_ptr<datagram_state>(this), w = std::move(waiter)]() mutable {
                s->connection_made();
                if (!s->closing_) {
                    s->add_reader();
                }
                if (!w.done()) {
                    w.set_result();
                }
            });
    }

    /// DatagramTransport.sendto.
    void sendto(std::span<const std::byte> data, const std::optional<socket_address>& addr) {
        if (address_) {
            if (addr && *addr != *address_) {
                throw std::invalid_argument("Invalid address: must be None or " +
                                            address_->to_string());
            }
        } else if (!addr && !connected_) {
            throw std::invalid_argument("sendto() needs an address: the transport is not "
                                        "connected (no remote_addr)");
        }
        const socket_address& to = address_ ? *address_ : addr ? *addr : peer_;
        if (conn_lost_ != 0) {
            ++conn_lost_; // dropped, as CPython drops sends once the connection is lost
            return;
        }
        if (buffer_.empty()) {
            const int err = send_one(data, to);
            if (err == 0) {
                return;
            }
            if (!would_block(err)) {
                report_error(err, "sendto");
                return;
            }
            add_writer();
        }
        buffer_.emplace_back(std::string(reinterpret_cast<const char*>(data.data()), data.size()),
                             to);
        buffer_size_ += data.size() + header_size;
        maybe_pause_protocol();
    }

    /// BaseTransport.close: no more datagrams are received; connection_lost(null) follows in a
    /// later iteration, once what is buffered has been sent.
    void close() {
        if (closing_) {
            return;
        }
        closing_ = true;
        remove_reader();
        if (buffer_.empty()) {
            ++conn_lost_;
            remove_writer();
            schedule_connection_lost(nullptr);
        }
    }

    /// Transport.abort: the buffer is dropped; connection_lost(null) follows.
    void abort() { force_close(nullptr); }

    void set_write_buffer_limits(std::size_t high, std::size_t low) {
        if (low > high) {
            throw std::invalid_argument("high (" + std::to_string(high) + ") must be >= low (" +
                                        std::to_string(low) + ") must be >= 0");
        }
        high_ = high;
        low_ = low;
        maybe_pause_protocol();
    }

    event_loop* loop_;
    asyncio::socket sock_;
    std::shared_ptr<datagram_protocol> protocol_;
    std::optional<socket_address> address_;
    socket_address local_;
    socket_address peer_;
    bool connected_ = false;
    bool closing_ = false;
    std::size_t buffer_size_ = 0;
    std::size_t high_ = std::size_t{64} * 1024;
    std::size_t low_ = std::size_t{16} * 1024;

private:
    /// What CPython adds to the buffer's size for each datagram besides its bytes.
    static constexpr std::size_t header_size = 8;
    /// The largest datagram received whole (CPython's max_size).
    static constexpr std::size_t recv_size = std::size_t{256} * 1024;

    struct watch final : io_watcher {
        datagram_state* self = nullptr;
    };

    [[nodiscard]] static bool would_block(int err) noexcept {
        return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
    }

    /// One send: 0, or the errno.
    int send_one(std::span<const std::byte> data, const socket_address& to) const noexcept {
        const auto r = connected_ ? ::send(sock_.fileno(), data.data(), data.size(), MSG_NOSIGNAL)
                                  : ::sendto(sock_.fileno(), data.data(), data.size(), MSG_NOSIGNAL,
                                             to.data(), to.size());
        return r < 0 ? errno : 0;
    }

    /// Runs one protocol method; what it throws goes to the loop's exception handler.
    template <class F> void call_protocol(F&& f) noexcept {
        if (!protocol_) {
            return;
        }
        std::shared_ptr<datagram_protocol> p = protocol_; // it may close the transport
        try {
            std::forward<F>(f)(*p);
        } catch (...) {
            loop_->call_exception_handler(
                {"Exception in a datagram protocol callback", std::current_exception(), {}});
        }
    }

    void connection_made();

    void report_error(int err, const char* what) noexcept {
        const std::system_error e(err, std::generic_category(), what);
        call_protocol([&](datagram_protocol& p) { p.error_received(e); });
    }

    void add_reader() {
        if (!reading_ && sock_.is_open()) {
            loop_core& c = loop_->core();
            c.io_.watch(*c.selector_, c.ready_, sock_.fileno(), event_read, &rw_);
            reading_ = true;
            ++refs_;
        }
    }
    void remove_reader() noexcept {
        if (reading_) {
            reading_ = false;
            loop_core& c = loop_->core();
            c.io_.unwatch_if(*c.selector_, c.ready_, sock_.fileno(), event_read, &rw_);
            --refs_; // never the last: the caller holds another
        }
    }
    void add_writer() {
        if (!writing_) {
            loop_core& c = loop_->core();
            c.io_.watch(*c.selector_, c.ready_, sock_.fileno(), event_write, &ww_);
            writing_ = true;
            ++refs_;
        }
    }
    void remove_writer() noexcept {
        if (writing_) {
            writing_ = false;
            loop_core& c = loop_->core();
            c.io_.unwatch_if(*c.selector_, c.ready_, sock_.fileno(), event_write, &ww_, true);
            --refs_;
        }
    }

    void maybe_pause_protocol() noexcept {
        if (buffer_size_ > high_ && !protocol_paused_) {
            protocol_paused_ = true;
            call_protocol([](datagram_protocol& p) { p.pause_writing(); });
        }
    }
    void maybe_resume_protocol() noexcept {
        if (protocol_paused_ && buffer_size_ <= low_) {
            protocol_paused_ = false;
            call_protocol([](datagram_protocol& p) { p.resume_writing(); });
        }
    }

    /// Transport._force_close.
    void force_close(std::exception_ptr exc) noexcept {
        if (conn_lost_ != 0) {
            return;
        }
        buffer_.clear();
        buffer_size_ = 0;
        remove_writer();
        if (!closing_) {
            closing_ = true;
            remove_reader();
        }
        ++conn_lost_;
        schedule_connection_lost(std::move(exc));
    }

    void schedule_connection_lost(std::exception_ptr exc) noexcept {
        if (running_loop() != loop_ || loop_->core().closing_) {
            call_connection_lost(exc);
            return;
        }
        try {
            (void)loop_->call_soon([s = ref_ptr<datagram_state>(this), e = std::move(exc)]() {
                s->call_connection_lost(e);
            });
        } catch (...) {
            call_connection_lost(nullptr);
        }
    }

    /// Transport._call_connection_lost: the protocol learns, then the socket closes and the
    /// protocol is forgotten.
    void call_connection_lost(const std::exception_ptr& exc) noexcept {
        if (lost_called_) {
            return;
        }
        lost_called_ = true;
        ref_ptr<datagram_state> keep(this);
        call_protocol([&](datagram_protocol& p) { p.connection_lost(exc); });
        sock_.close();
        protocol_.reset();
    }

    /// Closes at once, with no protocol call (the last handle went, or the loop is closing).
    void abort_now() noexcept {
        ref_ptr<datagram_state> keep(this);
        closing_ = true;
        ++conn_lost_;
        lost_called_ = true;
        buffer_.clear();
        buffer_size_ = 0;
        remove_reader();
        remove_writer();
        sock_.close();
        protocol_.reset();
    }

    static void read_ready(io_watcher* w, bool run) {
        datagram_state* s = static_cast<watch*>(w)->self;
        if (!run || s->conn_lost_ != 0) {
            return;
        }
        ref_ptr<datagram_state> keep(s);
        char* scratch = s->loop_->core().recv_scratch(recv_size);
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        const auto r = ::recvfrom(s->sock_.fileno(), scratch, recv_size, 0,
                                  reinterpret_cast<sockaddr*>(&from), &len);
        if (r < 0) {
            if (!would_block(errno)) {
                s->report_error(errno, "recvfrom");
            }
            return;
        }
        std::string data(scratch, static_cast<std::size_t>(r));
        const socket_address addr(reinterpret_cast<const sockaddr*>(&from), len);
        s->call_protocol([&](datagram_protocol& p) { p.datagram_received(std::move(data), addr); });
    }

    static void read_removed(io_watcher* w, int) noexcept {
        datagram_state* s = static_cast<watch*>(w)->self;
        if (s->reading_) { // the loop closes, or the socket was closed behind our back
            s->reading_ = false;
            ref_ptr<datagram_state> keep(s);
            --s->refs_;
            s->abort_now();
        }
    }

    static void write_ready(io_watcher* w, bool run) {
        datagram_state* s = static_cast<watch*>(w)->self;
        if (!run) {
            return;
        }
        ref_ptr<datagram_state> keep(s);
        while (!s->buffer_.empty()) {
            auto& [data, to] = s->buffer_.front();
            const int err = s->send_one(std::as_bytes(std::span(data)), to);
            if (would_block(err)) {
                break; // try again when writable
            }
            s->buffer_size_ -= data.size() + header_size;
            s->buffer_.pop_front();
            if (err != 0) {
                s->report_error(err, "sendto");
                return;
            }
        }
        s->maybe_resume_protocol();
        if (s->buffer_.empty()) {
            s->remove_writer();
            if (s->closing_) {
                s->call_connection_lost(nullptr);
            }
        }
    }

    static void write_removed(io_watcher* w, int) noexcept {
        datagram_state* s = static_cast<watch*>(w)->self;
        if (s->writing_) {
            s->writing_ = false;
            ref_ptr<datagram_state> keep(s);
            --s->refs_;
            s->abort_now();
        }
    }

    std::deque<std::pair<std::string, socket_address>> buffer_;
    watch rw_;
    watch ww_;
    int refs_ = 0;
    int handles_ = 0;
    int conn_lost_ = 0;
    bool reading_ = false;
    bool writing_ = false;
    bool protocol_paused_ = false;
    bool lost_called_ = false;
};

} // namespace detail

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
