// SPDX-License-Identifier: MIT
// The shared state of one datagram endpoint (CPython's _SelectorDatagramTransport).
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/datagram_protocol.hpp>
#include <asyncio/future.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/socket.hpp>
#include <asyncio/socket_address.hpp>

#include <asyncio/detail/io_registry.hpp>
#include <asyncio/detail/loop_core.hpp>
#include <asyncio/detail/ref_ptr.hpp>
#include <asyncio/detail/running_loop.hpp>
#include <asyncio/detail/sock_awaiter.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace asyncio::detail {

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

} // namespace asyncio::detail
