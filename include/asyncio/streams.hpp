// SPDX-License-Identifier: MIT
// Streams (asyncio's streams.py): open_connection, start_server, stream_reader, stream_writer,
// server, and their Unix-socket forms.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/future.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/sleep.hpp>
#include <asyncio/socket.hpp>
#include <asyncio/task.hpp>
#include <asyncio/threads.hpp>

#include <asyncio/detail/ref_ptr.hpp>
#include <asyncio/detail/stream_ops.hpp>
#include <asyncio/detail/stream_server.hpp>
#include <asyncio/detail/stream_state.hpp>

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <any>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <initializer_list>
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

class stream_reader;
class stream_writer;

/// asyncio.StreamReader: the receiving side of a connection, or a standalone buffer fed with
/// feed_data/feed_eof. Handles are cheap to copy and share one buffer. While any handle of a
/// connection (reader or writer) lives, the connection stays open; when the last one goes, it is
/// closed (CPython: when the writer is garbage-collected).
///
/// Deliberate difference: bytes received before a connection error (a reset) are read first; the
/// error is raised by the read that finds the buffer empty (or too short). CPython raises the
/// error at once and strands those bytes in the buffer.
class stream_reader {
public:
    /// StreamReader(limit=65536): a reader with no connection. Throws std::invalid_argument for a
    /// zero limit ("Limit cannot be <= 0").
    explicit stream_reader(std::size_t limit = detail::stream_default_limit) : h_(make(limit)) {}

    /// StreamReader.read(n): `n < 0` reads to the end of the stream; `n == 0` returns "" at once;
    /// `n > 0` waits for at least one byte (unless the stream ended) and returns up to `n`. Does
    /// not suspend when bytes are buffered; otherwise resumes one iteration after the bytes came
    /// (as CPython's waiter). Throws the connection's error (std::system_error, e.g.
    /// errc::connection_reset) once the buffer is empty, std::runtime_error when another task
    /// already waits on this reader.
    [[nodiscard("co_await the read")]] detail::read_awaiter read(std::ptrdiff_t n = -1) const {
        return {h_.ref(), n};
    }

    /// StreamReader.readline(): up to and including "\n"; at the end of the stream the partial
    /// last line, then "". A line longer than the limit throws std::invalid_argument (Python's
    /// ValueError) with LimitOverrunError's message, after dropping that line from the buffer (or
    /// the whole buffer when no "\n" was seen).
    [[nodiscard("co_await the read")]] task<std::string> readline() const {
        return detail::read_until(h_.ref(), std::string("\n"), true);
    }

    /// StreamReader.readuntil(separator): up to and including the separator. Throws
    /// incomplete_read_error (expected() empty) at the end of the stream, with the bytes read,
    /// which leave the buffer; limit_overrun_error when the separator is not within the limit
    /// (the bytes stay buffered); std::invalid_argument for an empty separator.
    [[nodiscard("co_await the read")]] task<std::string>
    readuntil(std::string_view separator = "\n") const {
        return detail::read_until(h_.ref(), std::string(separator), false);
    }

    /// StreamReader.readuntil((sep1, sep2, ...)) (3.13): up to and including the first
    /// separator found; when several end at different places, the shortest chunk wins. Errors as
    /// the single-separator form; std::invalid_argument for an empty list.
    [[nodiscard("co_await the read")]] task<std::string>
    readuntil(std::span<const std::string_view> separators) const {
        return detail::read_until(
            h_.ref(), std::vector<std::string>(separators.begin(), separators.end()), false);
    }
    /// readuntil({"\r\n", "\n"}). Inside a co_await expression g++ 12 rejects the braced list
    /// ("array used as initializer"): name it first (a std::array or std::vector of
    /// std::string_view) and pass that.
    [[nodiscard("co_await the read")]] task<std::string>
    readuntil(std::initializer_list<std::string_view> separators) const {
        return readuntil(std::span<const std::string_view>(separators.begin(), separators.size()));
    }

    /// StreamReader.readexactly(n): exactly `n` bytes, or incomplete_read_error at the end of the
    /// stream. Throws std::invalid_argument for n < 0.
    [[nodiscard("co_await the read")]] task<std::string> readexactly(std::ptrdiff_t n) const {
        if (n < 0) {
            throw std::invalid_argument("readexactly size can not be less than zero");
        }
        return detail::read_exactly(h_.ref(), static_cast<std::size_t>(n));
    }

    /// `async for line in reader`: the next line (readline), or std::nullopt at the end.
    [[nodiscard("co_await the line")]] task<std::optional<std::string>> next() const {
        return next_line(h_.ref());
    }

    /// StreamReader.at_eof(): the stream ended and the buffer is empty.
    [[nodiscard]] bool at_eof() const noexcept { return h_.get()->eof_ && h_.get()->size() == 0; }
    /// StreamReader.feed_data: appends bytes and wakes the waiting read.
    void feed_data(std::string_view data) { h_.get()->feed_data(data); }
    /// StreamReader.feed_eof: ends the stream and wakes the waiting read.
    void feed_eof() noexcept { h_.get()->feed_eof(); }
    /// StreamReader.exception(): the connection's error, or null.
    [[nodiscard]] std::exception_ptr exception() const noexcept { return h_.get()->exception_; }
    /// StreamReader.set_exception: later reads throw `e` once the buffer is empty.
    void set_exception(std::exception_ptr e) noexcept { h_.get()->set_exception(std::move(e)); }
    /// The limit given at construction.
    [[nodiscard]] std::size_t limit() const noexcept { return h_.get()->limit_; }
    /// Bytes buffered and not yet read (len(reader._buffer)).
    [[nodiscard]] std::size_t buffered() const noexcept { return h_.get()->size(); }

private:
    friend class stream_writer;
    friend struct stream_access;
    explicit stream_reader(detail::stream_state* s) noexcept : h_(s) {}

    static detail::stream_state* make(std::size_t limit) {
        if (limit == 0) {
            throw std::invalid_argument("Limit cannot be <= 0");
        }
        return new detail::stream_state(limit);
    }

    static task<std::optional<std::string>> next_line(detail::ref_ptr<detail::stream_state> s) {
        std::string line = co_await detail::read_until(std::move(s), std::string("\n"), true);
        if (line.empty()) {
            co_return std::nullopt;
        }
        co_return line;
    }

    detail::stream_handle h_;
};

/// asyncio.StreamWriter: the sending side of a connection (with its transport's controls).
class stream_writer {
public:
    /// StreamWriter.write: synchronous. Sent at once when nothing is buffered (no copy); what the
    /// socket does not take is buffered and sent as it becomes writable. Dropped silently once
    /// the connection is lost (as CPython). Throws std::runtime_error after write_eof().
    void write(std::string_view data) { s()->write(detail::as_bytes(data)); }
    /// The same for bytes.
    void write(std::span<const std::byte> data) { s()->write(data); }

    /// StreamWriter.writelines: one system call for all pieces when nothing is buffered.
    void writelines(std::span<const std::string_view> pieces) { s()->writelines(pieces); }
    void writelines(std::initializer_list<std::string_view> pieces) {
        s()->writelines(std::span<const std::string_view>(pieces.begin(), pieces.size()));
    }

    /// StreamWriter.drain: returns at once while the write buffer is at most the high-water mark
    /// (64 KiB); otherwise waits until it falls to the low-water mark (16 KiB). Throws the
    /// connection's error (std::system_error, e.g. errc::connection_reset, errc::broken_pipe), or
    /// std::system_error(errc::connection_reset, "Connection lost") once the connection is gone.
    [[nodiscard("co_await the drain")]] detail::drain_awaiter drain() const {
        return detail::drain_awaiter(h_.ref());
    }

    /// StreamWriter.write_eof: shuts down the sending side once the buffer is flushed.
    void write_eof() { s()->write_eof(); }
    /// StreamWriter.can_write_eof: true for sockets.
    [[nodiscard]] bool can_write_eof() const noexcept { return true; }
    /// StreamWriter.close: stops reading, flushes the buffer, then closes the socket (in a later
    /// iteration; wait_closed tells when).
    void close() { s()->close(); }
    /// Transport.abort: closes at once, discarding the buffer.
    void abort() { s()->abort(); }
    /// StreamWriter.is_closing.
    [[nodiscard]] bool is_closing() const noexcept { return s()->is_closing(); }
    /// StreamWriter.wait_closed: completes when the connection is lost, with its error if any.
    /// As in CPython, cancelling the waiting task cancels this shared future.
    [[nodiscard("co_await the close")]] future<void> wait_closed() const { return s()->closed_; }

    /// StreamWriter.get_extra_info: "peername" and "sockname" give a socket_address, "socket" an
    /// `asyncio::socket*` (owned by the connection: do not close it); anything else `fallback`.
    [[nodiscard]] std::any get_extra_info(std::string_view name, std::any fallback = {}) const {
        if (name == "peername") {
            return s()->peer_;
        }
        if (name == "sockname") {
            return s()->local_;
        }
        if (name == "socket") {
            return &s()->sock_;
        }
        return fallback;
    }
    /// get_extra_info("peername"), typed.
    [[nodiscard]] const socket_address& peername() const noexcept { return s()->peer_; }
    /// get_extra_info("sockname"), typed.
    [[nodiscard]] const socket_address& sockname() const noexcept { return s()->local_; }

    /// Transport.get_write_buffer_size.
    [[nodiscard]] std::size_t get_write_buffer_size() const noexcept { return s()->wsize(); }
    /// Transport.set_write_buffer_limits(high, low): low defaults to high / 4.
    void set_write_buffer_limits(std::size_t high, std::optional<std::size_t> low = {}) {
        s()->set_write_buffer_limits(high, low.value_or(high / 4));
    }
    /// Transport.get_write_buffer_limits: (low, high).
    [[nodiscard]] std::pair<std::size_t, std::size_t> get_write_buffer_limits() const noexcept {
        return {s()->low_, s()->high_};
    }

private:
    friend struct stream_access;
    explicit stream_writer(detail::stream_state* s) noexcept : h_(s) {}
    [[nodiscard]] detail::stream_state* s() const noexcept { return h_.get(); }

    detail::stream_handle h_;
};

/// Internal: builds handles over a connection.
struct stream_access {
    static stream_reader reader(detail::stream_state* s) noexcept { return stream_reader(s); }
    static stream_writer writer(detail::stream_state* s) noexcept { return stream_writer(s); }
};

/// Options of open_connection and open_unix_connection.
struct stream_options {
    /// The reader's limit (64 KiB): readline/readuntil's longest chunk, and reading pauses above
    /// twice it.
    std::size_t limit = detail::stream_default_limit;
    /// AF_UNSPEC, AF_INET or AF_INET6 (open_connection).
    int family = AF_UNSPEC;
};

/// Options of start_server and start_unix_server (CPython's keyword arguments). Not yet:
/// happy_eyeballs_delay, ssl, sock=.
struct server_options {
    std::size_t limit = detail::stream_default_limit;
    /// listen()'s backlog, also the most connections accepted per readiness (CPython: 100).
    int backlog = 100;
    /// SO_REUSEADDR (CPython's default on Unix: true).
    bool reuse_address = true;
    /// SO_REUSEPORT.
    bool reuse_port = false;
    /// AF_UNSPEC, AF_INET or AF_INET6.
    int family = AF_UNSPEC;
    /// Start accepting at once (otherwise start_serving or serve_forever does).
    bool start_serving = true;
};

namespace detail {

/// The task of one connection of a server whose callback is a coroutine function: CPython's
/// task plus its done callback (an exception is reported, and the connection closed).
template <class F> task<> run_handler(std::shared_ptr<F> fn, stream_reader r, stream_writer w) {
    std::exception_ptr err;
    bool cancelled = false;
    try {
        co_await (*fn)(r, w);
    } catch (const cancelled_error&) {
        cancelled = true;
        err = std::current_exception();
    } catch (...) {
        err = std::current_exception();
    }
    if (cancelled) {
        w.close();
        std::rethrow_exception(err);
    }
    if (err) {
        get_running_loop().call_exception_handler(
            {"Unhandled exception in client_connected_cb", err, {}});
        w.close();
    }
}

/// The end of open_connection: a connected socket becomes a reader and a writer, two iterations
/// later (CPython: the transport's call_soon of connection_made, add_reader and the waiter).
inline task<std::pair<stream_reader, stream_writer>> make_stream(asyncio::socket sock,
                                                                 std::size_t limit) {
    event_loop& loop = get_running_loop();
    ref_ptr<stream_state> s(new stream_state(loop, std::move(sock), limit));
    stream_reader r = stream_access::reader(s.get());
    stream_writer w = stream_access::writer(s.get());
    co_await sleep(std::chrono::seconds(0));
    s->start_reading();
    co_await sleep(std::chrono::seconds(0));
    co_return std::pair<stream_reader, stream_writer>(std::move(r), std::move(w));
}

template <class F> server_core::on_connection_fn make_on_connection(F cb) {
    auto fn = std::make_shared<F>(std::move(cb));
    return [fn](server_core& server, stream_state& s) {
        stream_reader r = stream_access::reader(&s);
        stream_writer w = stream_access::writer(&s);
        using result = std::invoke_result_t<F&, stream_reader&, stream_writer&>;
        if constexpr (std::is_void_v<result>) {
            try {
                (*fn)(r, w);
            } catch (...) {
                server.loop_->call_exception_handler(
                    {"Unhandled exception in client_connected_cb", std::current_exception(), {}});
                w.close();
            }
        } else {
            (void)server.loop_->create_task(run_handler<F>(fn, std::move(r), std::move(w)));
        }
    };
}

} // namespace detail

/// asyncio.Server, as start_server returns it: listening sockets that hand each new connection to
/// the client callback. Move-only; destroying it closes it (connections go on).
class server {
public:
    server() noexcept = default;
    server(server&&) noexcept = default;
    server& operator=(server&& o) noexcept {
        if (this != &o) {
            shut();
            core_ = std::move(o.core_);
        }
        return *this;
    }
    server(const server&) = delete;
    server& operator=(const server&) = delete;
    ~server() { shut(); }

    /// Server.close: stops listening and closes the listening sockets; open connections and
    /// their handlers carry on (close_clients/abort_clients end them). A serve_forever in
    /// progress ends with cancelled_error, as in CPython.
    void close() { core().close(); }

    /// Server.wait_closed: completes once the server is closed and its last connection is gone.
    [[nodiscard("co_await the close")]] task<> wait_closed() const {
        return wait_closed_impl(core_);
    }

    /// Server.is_serving.
    [[nodiscard]] bool is_serving() const noexcept { return core_ && core_->serving_; }

    /// Server.sockets: the listening sockets (none once closed). Owned by the server. Throws
    /// std::runtime_error for an empty (default-constructed or moved-from) server.
    [[nodiscard]] const std::vector<asyncio::socket>& sockets() const { return core().socks_; }

    /// Server.start_serving: starts accepting, then yields once so the listening sockets are
    /// registered (CPython: "skip one loop iteration").
    [[nodiscard("co_await the start")]] task<> start_serving() {
        core().start_serving();
        return yield_once();
    }

    /// Server.serve_forever: accepts until cancelled, then closes the server and waits for it.
    /// Throws std::runtime_error when already serving forever or closed.
    [[nodiscard("co_await the serving")]] task<> serve_forever() {
        return serve_forever_impl(core_);
    }

    /// Server.close_clients (3.13): closes every open connection (buffers are flushed first).
    void close_clients() {
        std::vector<detail::stream_state*> cs = core().clients_;
        for (detail::stream_state* s : cs) {
            s->close();
        }
    }
    /// Server.abort_clients (3.13): aborts every open connection.
    void abort_clients() {
        std::vector<detail::stream_state*> cs = core().clients_;
        for (detail::stream_state* s : cs) {
            s->abort();
        }
    }

private:
    friend struct server_access;
    explicit server(detail::ref_ptr<detail::server_core> c) noexcept : core_(std::move(c)) {}

    [[nodiscard]] detail::server_core& core() const {
        if (!core_) {
            throw std::runtime_error("empty server (default-constructed or moved-from)");
        }
        return *core_;
    }

    void shut() noexcept {
        if (!core_) {
            return;
        }
        if (detail::running_loop() == core_->loop_) {
            try {
                core_->close();
            } catch (...) {
                core_->close_sockets();
            }
        } else {
            core_->close_sockets();
        }
        core_.reset();
    }

    static task<> yield_once() { co_await sleep(std::chrono::seconds(0)); }

    static task<> wait_closed_impl(detail::ref_ptr<detail::server_core> c) {
        if (c->woken_) {
            co_return;
        }
        future<void> f = c->loop_->create_future<void>();
        c->waiters_.push_back(f);
        co_await f;
    }

    static task<> serve_forever_impl(detail::ref_ptr<detail::server_core> c) {
        if (c->serve_forever_) {
            throw std::runtime_error("server is already being awaited on serve_forever()");
        }
        if (c->closed_) {
            throw std::runtime_error("server is closed");
        }
        c->start_serving();
        future<void> f = c->loop_->create_future<void>();
        c->serve_forever_ = f;
        std::exception_ptr cancelled;
        try {
            co_await f;
        } catch (const cancelled_error&) {
            cancelled = std::current_exception();
        }
        if (cancelled) {
            c->close();
            struct clear {
                detail::server_core* c;
                future<void>* f;
                ~clear() {
                    if (c->serve_forever_ == *f) {
                        c->serve_forever_ = {};
                    }
                }
            } guard{c.get(), &f};
            co_await wait_closed_impl(c);
            std::rethrow_exception(cancelled);
        }
        if (c->serve_forever_ == f) {
            c->serve_forever_ = {};
        }
    }

    detail::ref_ptr<detail::server_core> core_;
};

/// Internal: builds a server over its state.
struct server_access {
    static server make(detail::ref_ptr<detail::server_core> c) noexcept {
        return server(std::move(c));
    }
};

namespace detail {

inline task<server> finish_server(ref_ptr<server_core> c, bool start) {
    if (start) {
        c->start_serving();
        co_await sleep(std::chrono::seconds(0));
    }
    co_return server_access::make(std::move(c));
}

} // namespace detail

/// asyncio.open_connection(host, port): connects (trying each resolved address in turn) and
/// returns a reader and a writer. Numeric hosts are not looked up; a name is resolved by
/// getaddrinfo on the loop's default executor. Errors: std::system_error (errc::connection_refused,
/// ...; the first error when every address fails the same way, else "Multiple exceptions: ..."),
/// and getaddrinfo's (gai_category()).
[[nodiscard("co_await the connection")]] inline task<std::pair<stream_reader, stream_writer>>
open_connection(std::string host, int port, stream_options options = {}) {
    const std::vector<address_info> infos =
        co_await detail::resolve_stream(host, port, options.family, false);
    std::vector<std::system_error> errors;
    for (const address_info& ai : infos) {
        asyncio::socket sock(ai.family, SOCK_STREAM, ai.protocol);
        try {
            co_await sock_connect(sock, ai.address);
        } catch (const std::system_error& e) {
            errors.push_back(e);
            continue;
        }
        co_return co_await detail::make_stream(std::move(sock), options.limit);
    }
    if (errors.empty()) {
        throw std::system_error(EAI_NONAME, gai_category(), "getaddrinfo returned empty list");
    }
    const bool same = std::ranges::all_of(errors, [&](const std::system_error& e) {
        return std::string_view(e.what()) == errors.front().what();
    });
    if (same) {
        throw errors.front();
    }
    std::string msg = "Multiple exceptions: ";
    for (std::size_t i = 0; i < errors.size(); ++i) {
        msg += (i == 0 ? "" : ", ") + std::string(errors[i].what());
    }
    throw std::system_error(errors.front().code(), msg);
}

/// asyncio.open_unix_connection(path).
[[nodiscard("co_await the connection")]] inline task<std::pair<stream_reader, stream_writer>>
open_unix_connection(std::string path, stream_options options = {}) {
    asyncio::socket sock(AF_UNIX);
    co_await sock_connect(sock, socket_address::unix_path(path));
    co_return co_await detail::make_stream(std::move(sock), options.limit);
}

/// asyncio.start_server(client_connected_cb, host, port): listens on every address `host`
/// resolves to and calls `callback(reader, writer)` for each connection, with `stream_reader&`
/// and `stream_writer&` (copy them to keep them). A callback returning a task (a coroutine
/// function) runs as one task per connection, starting three iterations after the accept as in
/// CPython; when it ends with an exception, that is reported to the loop's exception handler
/// ("Unhandled exception in client_connected_cb") and the connection closed. When the callback's
/// copies of the reader and writer are gone, the connection closes. Port 0 picks a free port
/// (read it from sockets()). Bind errors: std::system_error.
template <class F>
[[nodiscard("co_await the server")]] task<server>
start_server(F callback, std::string host, int port, server_options options = {}) {
    event_loop& loop = get_running_loop();
    std::vector<asyncio::socket> socks;
    std::vector<socket_address> seen;
    const std::vector<address_info> infos =
        co_await detail::resolve_stream(host, port, options.family, true);
    for (const address_info& ai : infos) {
        if (std::ranges::find(seen, ai.address) != seen.end()) {
            continue;
        }
        seen.push_back(ai.address);
        asyncio::socket s(ai.family, SOCK_STREAM, ai.protocol);
        if (options.reuse_address) {
            s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
        }
        if (options.reuse_port) {
            s.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
        }
        if (ai.family == AF_INET6) {
            s.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1);
        }
        s.bind(ai.address);
        socks.push_back(std::move(s));
    }
    detail::ref_ptr<detail::server_core> c(new detail::server_core(
        loop, std::move(socks), detail::make_on_connection(std::move(callback)), options.limit,
        options.backlog));
    co_return co_await detail::finish_server(std::move(c), options.start_serving);
}

/// asyncio.start_unix_server(client_connected_cb, path): as start_server on a Unix socket. A
/// stale socket file at `path` is removed first; close() removes the file if it is still the
/// server's (3.13's cleanup_socket=True).
template <class F>
[[nodiscard("co_await the server")]] task<server> start_unix_server(F callback, std::string path,
                                                                    server_options options = {}) {
    event_loop& loop = get_running_loop();
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
        ::unlink(path.c_str());
    }
    asyncio::socket s(AF_UNIX);
    s.bind(socket_address::unix_path(path));
    std::vector<asyncio::socket> socks;
    socks.push_back(std::move(s));
    detail::ref_ptr<detail::server_core> c(new detail::server_core(
        loop, std::move(socks), detail::make_on_connection(std::move(callback)), options.limit,
        options.backlog));
    if (::stat(path.c_str(), &st) == 0) {
        c->unix_path_ = path;
        c->unix_inode_ = st.st_ino;
    }
    co_return co_await detail::finish_server(std::move(c), options.start_serving);
}

} // namespace asyncio
