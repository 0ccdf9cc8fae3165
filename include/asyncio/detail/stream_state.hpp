// SPDX-License-Identifier: MIT
// The shared state of one stream connection: the reader's buffer and CPython's socket transport.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/future.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/socket.hpp>

#include <asyncio/detail/io_registry.hpp>
#include <asyncio/detail/ref_ptr.hpp>
#include <asyncio/detail/running_loop.hpp>
#include <asyncio/detail/sync_waiter.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>
#include <exception>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace asyncio::detail {

/// The reader's default limit (CPython's _DEFAULT_LIMIT, 64 KiB).
inline constexpr std::size_t stream_default_limit = std::size_t{64} * 1024;
/// How much one receive asks for (CPython's _SelectorSocketTransport.max_size).
inline constexpr std::size_t stream_recv_size = std::size_t{256} * 1024;

/// One connection, as CPython splits it into StreamReader, StreamReaderProtocol, StreamWriter and
/// _SelectorSocketTransport, in one object shared by the stream_reader and stream_writer handles.
///
/// The transport owns the socket. While reading is not paused, its reader watcher stays
/// registered with the loop's descriptor registry (no system call per wait): in each iteration in
/// which the socket is readable, the watcher runs from the ready queue, receives up to 256 KiB,
/// feeds the reader's buffer and wakes the task waiting for data, which resumes in the next
/// iteration (CPython: data_received sets the waiter's result). Once the buffer holds more than
/// twice the limit, reading is paused (the watcher unregistered) until a read brings it back to
/// the limit. The writer watcher is registered only while the write buffer is non-empty.
///
/// References: every stream_reader/stream_writer handle, the registered writer watcher and each
/// callback queued on the loop hold one. When the last handle goes, the connection is closed
/// (gracefully, flushing what is buffered, when its loop is running; otherwise at once).
class stream_state {
public:
    /// A reader with no transport (CPython's `StreamReader()`): fed by feed_data/feed_eof.
    explicit stream_state(std::size_t limit) : limit_(limit) {}

    /// A connected socket; reading starts with start_reading().
    stream_state(event_loop& loop, asyncio::socket sock, std::size_t limit)
        : limit_(limit), loop_(&loop), sock_(std::move(sock)), closed_(loop.create_future<void>()),
          has_transport_(true) {
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
        } catch (const std::system_error&) { // NOLINT(bugprone-empty-catch): CPython leaves None
        }
        if (local_.family() == AF_INET || local_.family() == AF_INET6) {
            sock_.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1); // as CPython's transports
        }
    }

    stream_state(const stream_state&) = delete;
    stream_state& operator=(const stream_state&) = delete;

    ~stream_state() {
        detach_from_server();
        remove_reader();
        remove_writer_registration();
        sock_.close();
        if (closed_ && closed_.done() && !closed_.cancelled()) {
            try { // retrieved (CPython's protocol __del__ does the same)
                (void)closed_.exception();
            } catch (...) { // NOLINT(bugprone-empty-catch): done and not cancelled: cannot throw
            }
        }
    }

    void add_ref() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0) {
            delete this;
        }
    }
    /// A stream_reader or stream_writer handle starts or stops referring to this connection.
    void add_handle() noexcept {
        ++handles_;
        ++refs_;
    }
    void drop_handle() noexcept {
        if (--handles_ == 0 && has_transport_ && !closing_) {
            if (running_loop() == loop_) {
                try {
                    close();
                } catch (...) {
                    abort_now();
                }
            } else {
                abort_now();
            }
        }
        release();
    }

    /// Registers the reader watcher (CPython's transport does it through call_soon). Throws what
    /// the registry throws.
    void start_reading() {
        if (!closing_ && !transport_paused_) {
            add_reader();
        }
    }

    // ---- reader (StreamReader) ----

    [[nodiscard]] std::size_t size() const noexcept { return buf_.size() - start_; }
    [[nodiscard]] std::string_view view() const noexcept {
        return std::string_view(buf_).substr(start_);
    }

    /// StreamReader.feed_data.
    void feed_data(std::string_view data) {
        ASYNCIO_ASSERT(!eof_);
        if (data.empty()) {
            return;
        }
        if (size() == 0) {
            buf_.assign(data);
            start_ = 0;
        } else {
            buf_.append(data);
        }
        wakeup_waiter();
        if (has_transport_ && !paused_ && size() > 2 * limit_) {
            pause_reading();
            paused_ = true;
        }
    }

    /// StreamReader.feed_eof.
    void feed_eof() noexcept {
        eof_ = true;
        wakeup_waiter();
    }

    /// StreamReader.set_exception.
    void set_exception(std::exception_ptr e) noexcept {
        exception_ = std::move(e);
        wakeup_waiter();
    }

    /// The first `n` buffered bytes, removed from the buffer (the whole buffer is handed over
    /// without a copy when it is taken entirely).
    [[nodiscard]] std::string take(std::size_t n) {
        std::string out;
        if (n >= size()) {
            if (start_ == 0) {
                out = std::move(buf_);
            } else {
                out.assign(buf_, start_);
            }
            buf_.clear();
            start_ = 0;
        } else {
            out.assign(buf_, start_, n);
            start_ += n;
            if (start_ >= 4096 && start_ > buf_.size() / 2) {
                buf_.erase(0, start_);
                start_ = 0;
            }
        }
        maybe_resume_transport();
        return out;
    }

    /// Forgets the first `n` buffered bytes.
    void discard(std::size_t n) { (void)take(n); }

    /// StreamReader._maybe_resume_transport.
    void maybe_resume_transport() {
        if (paused_ && size() <= limit_) {
            paused_ = false;
            resume_reading();
        }
    }

    /// The check of StreamReader._wait_for_data before its waiter is parked.
    void before_wait(const char* what) {
        if (!waiters_.empty()) {
            throw std::runtime_error(std::string(what) +
                                     "() called while another coroutine is already waiting for "
                                     "incoming data");
        }
        ASYNCIO_ASSERT(!eof_);
        if (paused_) {
            paused_ = false;
            resume_reading();
        }
    }

    /// The reader's error, if any, once the buffer is empty: the bytes received before an error
    /// are read first (CPython raises at once and strands them).
    void raise_if_failed() const {
        if (exception_) {
            std::rethrow_exception(exception_);
        }
    }

    // ---- transport (_SelectorSocketTransport) and protocol (StreamReaderProtocol) ----

    /// Transport.write: sent at once when nothing is buffered (no copy), the rest buffered.
    void write(std::span<const std::byte> data) {
        if (eof_written_) {
            throw std::runtime_error("Cannot call write() after write_eof()");
        }
        if (data.empty() || conn_lost_ != 0) {
            return; // CPython drops writes to a lost connection (and logs after 5 of them)
        }
        std::size_t sent = 0;
        if (wsize() == 0) {
            const auto r = ::send(sock_.fileno(), data.data(), data.size(), MSG_NOSIGNAL);
            if (r < 0) {
                if (!would_block(errno)) {
                    fatal_error(errno, "send");
                    return;
                }
            } else {
                sent = static_cast<std::size_t>(r);
            }
            if (sent == data.size()) {
                return;
            }
        }
        append_write(data.subspan(sent));
    }

    /// Transport.writelines: one sendmsg over the pieces when nothing is buffered.
    void writelines(std::span<const std::string_view> pieces) {
        if (eof_written_) {
            throw std::runtime_error("Cannot call write() after write_eof()");
        }
        if (conn_lost_ != 0) {
            return;
        }
        std::size_t skip = 0; // bytes of the pieces already sent
        if (wsize() == 0 && !pieces.empty()) {
            iovec iov[64];
            const std::size_t n = std::min<std::size_t>(pieces.size(), 64);
            for (std::size_t i = 0; i < n; ++i) {
                iov[i].iov_base = const_cast<char*>(pieces[i].data());
                iov[i].iov_len = pieces[i].size();
            }
            msghdr msg{};
            msg.msg_iov = iov;
            msg.msg_iovlen = n;
            const auto r = ::sendmsg(sock_.fileno(), &msg, MSG_NOSIGNAL);
            if (r < 0) {
                if (!would_block(errno)) {
                    fatal_error(errno, "send");
                    return;
                }
            } else {
                skip = static_cast<std::size_t>(r);
            }
        }
        for (const std::string_view p : pieces) {
            if (skip >= p.size()) {
                skip -= p.size();
                continue;
            }
            append_write(as_bytes(p.substr(skip)));
            skip = 0;
        }
    }

    /// Transport.write_eof: shuts the sending side once the buffer is flushed.
    void write_eof() {
        if (closing_ || eof_written_) {
            return;
        }
        eof_written_ = true;
        if (wsize() == 0) {
            sock_.shutdown(SHUT_WR);
        }
    }

    /// Transport.close: stops reading; the connection is lost once the buffer is flushed.
    void close() {
        if (closing_) {
            return;
        }
        closing_ = true;
        remove_reader();
        if (wsize() == 0) {
            ++conn_lost_;
            remove_writer_registration();
            schedule_connection_lost(nullptr);
        }
    }

    /// Transport.abort: the connection is lost at once, the buffer discarded.
    void abort() { force_close(nullptr); }

    [[nodiscard]] bool is_closing() const noexcept { return closing_; }
    [[nodiscard]] std::size_t wsize() const noexcept { return wbuf_.size() - wstart_; }

    /// Transport.set_write_buffer_limits.
    void set_write_buffer_limits(std::size_t high, std::size_t low) {
        if (low > high) {
            throw std::invalid_argument("high (" + std::to_string(high) + ") must be >= low (" +
                                        std::to_string(low) + ") must be >= 0");
        }
        high_ = high;
        low_ = low;
        maybe_pause_protocol();
    }

    /// Resolves `f` when the drain waiters wake (resume_writing or connection_lost).
    void add_drain_waiter(future<void> f) { drain_waiters_.push_back(std::move(f)); }
    void remove_drain_waiter(const future<void>& f) noexcept { std::erase(drain_waiters_, f); }

    // Everything below is plain data the public classes read.
    std::size_t limit_;
    std::string buf_;
    std::size_t start_ = 0;
    bool eof_ = false;
    bool paused_ = false; // the reader paused the transport (StreamReader._paused)
    std::exception_ptr exception_;
    sync_list waiters_;

    event_loop* loop_ = nullptr;
    asyncio::socket sock_;
    future<void> closed_; // StreamReaderProtocol._closed
    socket_address local_;
    socket_address peer_;
    bool has_transport_ = false;
    bool closing_ = false;
    bool eof_written_ = false;
    bool write_paused_ = false;    // FlowControlMixin._paused
    bool connection_lost_ = false; // FlowControlMixin._connection_lost
    /// The server that accepted the connection (a server_core), told when the connection is lost.
    void* server_ = nullptr;
    void (*detach_fn_)(void* server, stream_state& s) noexcept = nullptr;
    std::size_t high_ = std::size_t{64} * 1024;
    std::size_t low_ = std::size_t{16} * 1024;

private:
    struct watch final : io_watcher {
        stream_state* self = nullptr;
    };

    void wakeup_waiter() noexcept {
        waiters_.for_each([](sync_waiter& w) {
            if (!w.done()) {
                w.wake();
            }
        });
    }

    void add_reader() {
        if (!reading_ && sock_.is_open()) {
            loop_core& c = loop_->core();
            c.io_.watch(*c.selector_, c.ready_, sock_.fileno(), event_read, &rw_);
            reading_ = true;
        }
    }
    void remove_reader() noexcept {
        if (reading_) {
            reading_ = false;
            loop_core& c = loop_->core();
            c.io_.unwatch_if(*c.selector_, c.ready_, sock_.fileno(), event_read, &rw_);
        }
    }
    /// Unregisters the writer watcher and drops its reference (never the last one here: callers
    /// hold another).
    void remove_writer_registration() noexcept {
        if (writing_) {
            writing_ = false;
            loop_core& c = loop_->core();
            c.io_.unwatch_if(*c.selector_, c.ready_, sock_.fileno(), event_write, &ww_, true);
            --refs_;
        }
    }

    void pause_reading() noexcept {
        if (closing_ || transport_paused_) {
            return;
        }
        transport_paused_ = true;
        remove_reader();
    }
    void resume_reading() {
        if (closing_ || !transport_paused_) {
            return;
        }
        transport_paused_ = false;
        add_reader();
    }

    void append_write(std::span<const std::byte> rest) {
        if (wsize() == 0) {
            wbuf_.clear();
            wstart_ = 0;
        }
        wbuf_.append(reinterpret_cast<const char*>(rest.data()), rest.size());
        if (!writing_) {
            loop_core& c = loop_->core();
            c.io_.watch(*c.selector_, c.ready_, sock_.fileno(), event_write, &ww_);
            writing_ = true;
            ++refs_;
        }
        maybe_pause_protocol();
    }

    void maybe_pause_protocol() noexcept {
        if (wsize() > high_ && !write_paused_) {
            write_paused_ = true; // protocol.pause_writing()
        }
    }
    void maybe_resume_protocol() {
        if (write_paused_ && wsize() <= low_) {
            write_paused_ = false; // protocol.resume_writing(): wake the drain waiters
            for (future<void>& f : drain_waiters_) {
                if (!f.done()) {
                    f.set_result();
                }
            }
        }
    }

    /// _fatal_error for an OSError: the connection is lost with it.
    void fatal_error(int err, const char* what) noexcept {
        force_close(std::make_exception_ptr(std::system_error(err, std::generic_category(), what)));
    }

    /// Transport._force_close.
    void force_close(std::exception_ptr exc) noexcept {
        if (conn_lost_ != 0) {
            return;
        }
        if (wsize() != 0) {
            wbuf_.clear();
            wstart_ = 0;
        }
        remove_writer_registration();
        if (!closing_) {
            closing_ = true;
            remove_reader();
        }
        ++conn_lost_;
        schedule_connection_lost(std::move(exc));
    }

    void schedule_connection_lost(std::exception_ptr exc) noexcept {
        if (running_loop() != loop_ || loop_->core().closing_) {
            call_connection_lost(exc); // no loop to defer to
            return;
        }
        try {
            (void)loop_->call_soon([s = ref_ptr<stream_state>(this), e = std::move(exc)]() mutable {
                s->call_connection_lost(e);
            });
        } catch (...) {
            call_connection_lost(nullptr);
        }
    }

    /// Transport._call_connection_lost: the protocol learns (the reader ends or fails, the closed
    /// future completes, drain waiters wake), then the socket closes and the server forgets the
    /// connection.
    void call_connection_lost(const std::exception_ptr& exc) noexcept;

    void abort_now() noexcept {
        closing_ = true;
        ++conn_lost_;
        remove_reader();
        remove_writer_registration();
        sock_.close();
        connection_lost_ = true;
        detach_from_server();
    }

    /// The server's _detach: it forgets the connection (its wait_closed may complete).
    void detach_from_server() noexcept {
        if (server_ != nullptr) {
            detach_fn_(std::exchange(server_, nullptr), *this);
        }
    }

    static void read_ready(io_watcher* w, bool run) {
        stream_state* s = static_cast<watch*>(w)->self;
        if (!run || s->conn_lost_ != 0) {
            return;
        }
        char* scratch = s->loop_->core().recv_scratch(stream_recv_size);
        const auto r = ::recv(s->sock_.fileno(), scratch, stream_recv_size, 0);
        if (r < 0) {
            if (!would_block(errno)) {
                s->fatal_error(errno, "recv");
            }
            return;
        }
        if (r == 0) {
            // eof_received: the reader ends; the transport stays open for writing (the protocol
            // returns True), so only the reading stops.
            s->feed_eof();
            s->remove_reader();
            return;
        }
        s->feed_data(std::string_view(scratch, static_cast<std::size_t>(r)));
    }

    static void read_removed(io_watcher* w, int) noexcept {
        static_cast<watch*>(w)->self->reading_ = false; // the loop closes or the fd was closed
    }

    static void write_ready(io_watcher* w, bool run) {
        stream_state* s = static_cast<watch*>(w)->self;
        if (!run || s->conn_lost_ != 0) {
            return;
        }
        ref_ptr<stream_state> keep(s); // completing the loss below may drop the last reference
        const auto r =
            ::send(s->sock_.fileno(), s->wbuf_.data() + s->wstart_, s->wsize(), MSG_NOSIGNAL);
        if (r < 0) {
            if (!would_block(errno)) {
                s->fatal_error(errno, "send");
            }
            return;
        }
        s->wstart_ += static_cast<std::size_t>(r);
        if (s->wstart_ >= 65536 && s->wstart_ > s->wbuf_.size() / 2) {
            s->wbuf_.erase(0, s->wstart_);
            s->wstart_ = 0;
        }
        s->maybe_resume_protocol();
        if (s->wsize() == 0) {
            s->wbuf_.clear();
            s->wstart_ = 0;
            s->remove_writer_registration();
            if (s->closing_) {
                s->call_connection_lost(nullptr);
            } else if (s->eof_written_) {
                ::shutdown(s->sock_.fileno(), SHUT_WR);
            }
        }
    }

    static void write_removed(io_watcher* w, int) noexcept {
        stream_state* s = static_cast<watch*>(w)->self;
        if (s->writing_) {
            s->writing_ = false;
            s->release(); // the registration's reference (may be the last)
        }
    }

    std::string wbuf_;
    std::size_t wstart_ = 0;
    std::vector<future<void>> drain_waiters_;
    watch rw_;
    watch ww_;
    int refs_ = 0;
    int handles_ = 0;
    int conn_lost_ = 0;
    bool reading_ = false;
    bool writing_ = false;
    bool transport_paused_ = false;
    bool connection_lost_called_ = false;
};

inline void stream_state::call_connection_lost(const std::exception_ptr& exc) noexcept {
    if (connection_lost_called_) {
        return;
    }
    connection_lost_called_ = true;
    if (conn_lost_ == 0) {
        ++conn_lost_; // later writes are dropped
    }
    ref_ptr<stream_state> keep(this);
    try {
        // StreamReaderProtocol.connection_lost
        if (exc) {
            set_exception(exc);
        } else {
            feed_eof();
        }
        if (closed_ && !closed_.done()) {
            if (exc) {
                closed_.set_exception(exc);
            } else {
                closed_.set_result();
            }
        }
        // FlowControlMixin.connection_lost
        connection_lost_ = true;
        if (write_paused_) {
            for (future<void>& f : drain_waiters_) {
                if (!f.done()) {
                    if (exc) {
                        f.set_exception(exc);
                    } else {
                        f.set_result();
                    }
                }
            }
        }
    } catch (...) { // NOLINT(bugprone-empty-catch): out of memory scheduling a wake-up
    }
    connection_lost_ = true;
    remove_reader();
    remove_writer_registration();
    sock_.close();
    detach_from_server();
}

} // namespace asyncio::detail
