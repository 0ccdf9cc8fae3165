// SPDX-License-Identifier: MIT
// asyncio.Server's state (listening sockets, accepted connections) and name resolution for streams.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/future.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/socket.hpp>
#include <asyncio/task.hpp>
#include <asyncio/threads.hpp>

#include <asyncio/detail/io_registry.hpp>
#include <asyncio/detail/ref_ptr.hpp>
#include <asyncio/detail/stream_state.hpp>

#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace asyncio::detail {

/// asyncio.Server's state: listening sockets watched for connections, the connections still
/// open, and the waiters of wait_closed.
class server_core {
public:
    using on_connection_fn = std::function<void(server_core&, stream_state&)>;

    server_core(event_loop& loop, std::vector<asyncio::socket> socks, on_connection_fn fn,
                std::size_t limit, int backlog)
        : loop_(&loop), socks_(std::move(socks)), on_connection_(std::move(fn)), limit_(limit),
          backlog_(backlog) {
        watches_.resize(socks_.size());
        for (std::size_t i = 0; i < socks_.size(); ++i) {
            watches_[i].self = this;
            watches_[i].index = i;
            watches_[i].on_ready = &accept_ready;
            watches_[i].on_removed = &accept_removed;
        }
    }
    server_core(const server_core&) = delete;
    server_core& operator=(const server_core&) = delete;
    ~server_core() { close_sockets(); }

    void add_ref() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0) {
            delete this;
        }
    }

    /// Server._start_serving: listen and watch every socket.
    void start_serving() {
        if (serving_ || closed_) {
            return;
        }
        serving_ = true;
        for (std::size_t i = 0; i < socks_.size(); ++i) {
            socks_[i].listen(backlog_);
            watch_socket(i);
        }
    }

    /// Server.close: stops listening (the sockets close); connections go on.
    void close() {
        if (closed_) {
            return;
        }
        closed_ = true;
        close_sockets();
        serving_ = false;
        if (serve_forever_ && !serve_forever_.done()) {
            (void)serve_forever_.cancel();
        }
        serve_forever_ = {};
        if (clients_.empty()) {
            wakeup();
        }
    }

    /// Closes the listening sockets (and removes a Unix socket's file if it is still ours).
    void close_sockets() noexcept {
        for (std::size_t i = 0; i < socks_.size(); ++i) {
            unwatch_socket(i);
        }
        if (!unix_path_.empty()) {
            struct stat st{};
            if (::stat(unix_path_.c_str(), &st) == 0 && st.st_ino == unix_inode_) {
                ::unlink(unix_path_.c_str());
            }
            unix_path_.clear();
        }
        socks_.clear();
    }

    void wakeup() {
        if (woken_) {
            return;
        }
        woken_ = true;
        std::vector<future<void>> ws = std::move(waiters_);
        for (future<void>& f : ws) {
            if (!f.done()) {
                f.set_result();
            }
        }
    }

    void attach(stream_state& s) {
        clients_.push_back(&s);
        s.server_ = this;
        s.detach_fn_ = &detach_thunk;
        add_ref();
    }
    void detach(stream_state& s) noexcept {
        std::erase(clients_, &s);
        if (clients_.empty() && closed_) {
            try {
                wakeup();
            } catch (...) { // NOLINT(bugprone-empty-catch): out of memory waking a waiter
            }
        }
        release();
    }

    event_loop* loop_;
    std::vector<asyncio::socket> socks_;
    std::vector<stream_state*> clients_;
    std::vector<future<void>> waiters_;
    future<void> serve_forever_;
    on_connection_fn on_connection_;
    std::size_t limit_;
    int backlog_;
    bool serving_ = false;
    bool closed_ = false;
    bool woken_ = false;
    std::string unix_path_;
    ino_t unix_inode_ = 0;

private:
    static void detach_thunk(void* server, stream_state& s) noexcept {
        static_cast<server_core*>(server)->detach(s);
    }

    struct watch final : io_watcher {
        server_core* self = nullptr;
        std::size_t index = 0;
        bool registered = false;
    };

    void watch_socket(std::size_t i) {
        watch& w = watches_[i];
        if (!w.registered) {
            loop_core& c = loop_->core();
            c.io_.watch(*c.selector_, c.ready_, socks_[i].fileno(), event_read, &w);
            w.registered = true;
        }
    }
    void unwatch_socket(std::size_t i) noexcept {
        watch& w = watches_[i];
        if (w.registered) {
            w.registered = false;
            loop_core& c = loop_->core();
            c.io_.unwatch_if(*c.selector_, c.ready_, socks_[i].fileno(), event_read, &w);
        }
    }

    // BaseSelectorEventLoop._accept_connection: up to `backlog` connections per readiness.
    static void accept_ready(io_watcher* iw, bool run) {
        auto* w = static_cast<watch*>(iw);
        server_core* self = w->self;
        if (!run) {
            return;
        }
        ref_ptr<server_core> keep(self);
        for (int n = 0; n < self->backlog_ && w->registered; ++n) {
            const int c = ::accept4(self->socks_[w->index].fileno(), nullptr, nullptr,
                                    SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (c < 0) {
                const int err = errno;
                if (would_block(err)) {
                    return;
                }
                if (err == ECONNABORTED || err == EPROTO) {
                    continue; // the peer gave up before we accepted: take the next one
                }
                if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                    // Out of descriptors or memory: stop accepting for a second (CPython's
                    // ACCEPT_RETRY_DELAY) instead of spinning on a ready socket.
                    self->loop_->call_exception_handler(
                        {"socket.accept() out of system resource",
                         std::make_exception_ptr(
                             std::system_error(err, std::generic_category(), "accept")),
                         {}});
                    const std::size_t i = w->index;
                    self->unwatch_socket(i);
                    (void)self->loop_->call_later(std::chrono::seconds(1), [keep, i] {
                        if (keep->serving_ && i < keep->socks_.size()) {
                            keep->watch_socket(i);
                        }
                    });
                    return;
                }
                throw std::system_error(err, std::generic_category(), "accept");
            }
            self->accepted(asyncio::socket::adopt(c));
        }
    }

    static void accept_removed(io_watcher* iw, int) noexcept {
        static_cast<watch*>(iw)->registered = false;
    }

    /// A new connection: its transport is made now; as in CPython, reading starts two iterations
    /// later (the accept task's step, then the transport's call_soon) and the client callback
    /// runs in the same iteration as reading starts, so a coroutine handler's first step comes
    /// three iterations after the accept.
    void accepted(asyncio::socket conn) {
        ref_ptr<stream_state> s(new stream_state(*loop_, std::move(conn), limit_));
        attach(*s);
        ref_ptr<server_core> self(this);
        (void)loop_->call_soon([s, self]() {
            (void)self->loop_->call_soon([s, self]() {
                if (s->is_closing()) {
                    return;
                }
                s->start_reading();
                self->on_connection_(*self, *s);
            });
        });
    }

    std::vector<watch> watches_;
    int refs_ = 0;
};

/// CPython's _ensure_resolved: loop.getaddrinfo for a stream socket (a numeric host, or none for
/// a server's every interface, at once without suspending; a name in the default executor).
inline task<std::vector<address_info>> resolve_stream(std::string host, int port, int family,
                                                      bool passive) {
    std::vector<address_info> infos = co_await getaddrinfo(
        std::move(host), port, family, SOCK_STREAM, 0, passive ? AI_PASSIVE : 0);
    co_return infos;
}

} // namespace asyncio::detail
