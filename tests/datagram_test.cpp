// SPDX-License-Identifier: MIT
// Datagram endpoints: create_datagram_endpoint, datagram_transport and datagram_protocol over UDP
// on 127.0.0.1 and Unix datagram socket pairs, on both selectors.
//
// Python observations quoted below are printed by tests/py/datagram.py (CPython 3.13.0); the
// CTest case asyncio.py.datagram checks that it still prints them (tests/py/datagram.expected).

#include "support/io_support.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <catch2/catch.hpp>
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using asyncio::datagram_protocol;
using asyncio::datagram_transport;
using asyncio::host_port;
using asyncio::run_options;
using asyncio::selector_kind;
using asyncio::socket_address;
using asyncio::task;

namespace {

selector_kind any_selector() {
    return GENERATE(selector_kind::epoll, selector_kind::poll);
}

const char* name_of(selector_kind k) {
    return k == selector_kind::epoll ? "epoll" : "poll";
}

using log_t = std::vector<std::string>;

std::string py_bytes(const std::string& s) {
    return "b'" + s + "'";
}

/// Python's Recorder: logs every protocol call; the server echoes in upper case.
class recorder : public datagram_protocol {
public:
    recorder(std::string name, log_t& log, bool echo = false)
        : name_(std::move(name)), log_(&log), echo_(echo) {}

    void connection_made(datagram_transport& t) override {
        transport = t;
        log_->push_back(name_ + ": connection_made");
    }
    void datagram_received(std::string data, const socket_address& addr) override {
        ++received;
        log_->push_back(name_ + ": datagram_received " + py_bytes(data));
        if (echo_) {
            for (char& c : data) {
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            }
            transport.sendto(data, addr);
        }
    }
    void error_received(const std::system_error& e) override {
        log_->push_back(
            name_ + ": error_received " +
            (e.code() == std::errc::connection_refused ? "ConnectionRefusedError" : "OSError") +
            " errno=" + std::to_string(e.code().value()));
    }
    void connection_lost(std::exception_ptr e) override {
        log_->push_back(name_ + ": connection_lost " + (e ? "an error" : "None"));
        transport = {}; // the protocol lets go of its transport, as Python's would be collected
    }
    void pause_writing() override { log_->push_back(name_ + ": pause_writing"); }
    void resume_writing() override { log_->push_back(name_ + ": resume_writing"); }

    datagram_transport transport;
    int received = 0;

private:
    std::string name_;
    log_t* log_;
    bool echo_;
};

/// Waits (real time, bounded) until `cond` holds.
task<> until(std::function<bool()> cond) {
    for (int i = 0; i < 400; ++i) {
        if (cond()) {
            co_return;
        }
        co_await asyncio::sleep(5ms);
    }
    throw std::runtime_error("condition not reached in 2 s");
}

} // namespace

TEST_CASE("datagram: an echo over 127.0.0.1 follows CPython's order of connection_made, "
          "datagram_received and connection_lost, and close/abort end in connection_lost",
          "[io][datagram]") {
    // py: server: connection_made / server endpoint returned / client: connection_made / ...
    // (tests/py/datagram.py prints the whole log below, echo() part)
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    const int fds_before = asyncio::testing::open_fd_count();
    log_t log;
    auto body = [&]() -> task<> {
        auto [st, sp] = co_await asyncio::create_datagram_endpoint(
            [&] { return std::make_shared<recorder>("server", log, true); },
            host_port{"127.0.0.1", 0});
        log.emplace_back("server endpoint returned");
        const int port = st.sockname().port();
        auto [ct, cp] = co_await asyncio::create_datagram_endpoint(
            [&] { return std::make_shared<recorder>("client", log); }, std::nullopt,
            host_port{"127.0.0.1", port});
        log.emplace_back("client endpoint returned");
        log.push_back(std::string("client peername is the server: ") +
                      (std::any_cast<socket_address>(ct.get_extra_info("peername")) ==
                               socket_address("127.0.0.1", port)
                           ? "True"
                           : "False"));
        log.push_back(std::string("server peername: ") +
                      (st.get_extra_info("peername").has_value() ? "set" : "None"));
        recorder* c = cp.get();
        ct.sendto("hello");
        co_await until([c] { return c->received == 1; });
        ct.sendto("");
        co_await until([c] { return c->received == 2; });
        ct.sendto("world", socket_address("127.0.0.1", port));
        co_await until([c] { return c->received == 3; });
        try {
            ct.sendto("x", socket_address("127.0.0.1", 9));
        } catch (const std::invalid_argument& e) {
            log.push_back(std::string("sendto elsewhere: ValueError ") +
                          std::string(e.what()).substr(0, std::string(e.what()).find(':')));
        }
        ct.close();
        log.push_back(std::string("client is_closing ") + (ct.is_closing() ? "True" : "False"));
        ct.sendto("after close"); // dropped
        ct.close();               // idempotent
        log.emplace_back("before one iteration");
        co_await asyncio::sleep(0s);
        log.emplace_back("after one iteration");
        st.abort();
        co_await asyncio::sleep(0s);
        log.push_back("server received " + std::to_string(sp->received));
        CHECK(ct.get_protocol() == nullptr); // forgotten once connection_lost has run
    };
    asyncio::run(body(), run_options{.selector = sel});
    CHECK(log == log_t{"server: connection_made", "server endpoint returned",
                       "client: connection_made", "client endpoint returned",
                       "client peername is the server: True", "server peername: None",
                       "server: datagram_received b'hello'", "client: datagram_received b'HELLO'",
                       "server: datagram_received b''", "client: datagram_received b''",
                       "server: datagram_received b'world'", "client: datagram_received b'WORLD'",
                       "sendto elsewhere: ValueError Invalid address", "client is_closing True",
                       "before one iteration", "client: connection_lost None",
                       "after one iteration", "server: connection_lost None", "server received 3"});
    CHECK(asyncio::testing::open_fd_count() == fds_before);
}

TEST_CASE("datagram: a connected endpoint whose peer port is closed gets ConnectionRefusedError "
          "in error_received and stays open",
          "[io][datagram]") {
    // py: refused: connection_made
    // py: refused: error_received ConnectionRefusedError errno=111
    // py: refused is_closing False
    // py: refused: connection_lost None
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    const int fds_before = asyncio::testing::open_fd_count();
    log_t log;
    auto body = [&]() -> task<> {
        int port = 0;
        {
            asyncio::socket s(AF_INET, SOCK_DGRAM);
            s.bind(socket_address("127.0.0.1", 0));
            port = s.getsockname().port();
        }
        auto [t, p] = co_await asyncio::create_datagram_endpoint(
            [&] { return std::make_shared<recorder>("refused", log); }, std::nullopt,
            host_port{"127.0.0.1", port});
        t.sendto("anyone?");
        co_await until([&] { return log.size() >= 2; });
        log.push_back(std::string("refused is_closing ") + (t.is_closing() ? "True" : "False"));
        t.close();
        co_await asyncio::sleep(0s);
    };
    asyncio::run(body(), run_options{.selector = sel});
    CHECK(log == log_t{"refused: connection_made",
                       "refused: error_received ConnectionRefusedError errno=111",
                       "refused is_closing False", "refused: connection_lost None"});
    CHECK(asyncio::testing::open_fd_count() == fds_before);
}

TEST_CASE("datagram: bad input raises std::invalid_argument with CPython's messages",
          "[io][datagram]") {
    // py: no address: ValueError unexpected address family
    // py: (port 70000) OverflowError bind(): port must be 0-65535.
    // py: stream socket: ValueError A datagram socket was expected
    // Deliberate difference: sendto without an address on an unconnected endpoint raises
    // std::invalid_argument at the call; CPython's sock.sendto raises TypeError inside the
    // transport, which closes it ("Fatal write error on datagram transport").
    const int fds_before = asyncio::testing::open_fd_count();
    log_t log;
    auto body = [&]() -> task<> {
        auto factory = [&] { return std::make_shared<recorder>("bad", log); };
        try {
            (void)co_await asyncio::create_datagram_endpoint(factory);
        } catch (const std::invalid_argument& e) {
            log.push_back(std::string("no address: ") + e.what());
        }
        try {
            (void)co_await asyncio::create_datagram_endpoint(factory,
                                                             asyncio::socket(AF_INET, SOCK_STREAM));
        } catch (const std::invalid_argument& e) {
            const std::string w = e.what();
            log.push_back("stream socket: " + w.substr(0, w.find(',')));
        }
        auto [t, p] =
            co_await asyncio::create_datagram_endpoint(factory, host_port{"127.0.0.1", 0});
        try {
            t.sendto("nowhere");
        } catch (const std::invalid_argument&) {
            log.emplace_back("sendto without address: invalid_argument");
        }
        log.push_back(std::string("still open: ") + (t.is_closing() ? "no" : "yes"));
        try {
            t.set_write_buffer_limits(10, 20);
        } catch (const std::invalid_argument&) {
            log.emplace_back("low above high: invalid_argument");
        }
        t.close();
        co_await asyncio::sleep(0s);
        try {
            (void)co_await asyncio::create_datagram_endpoint(factory,
                                                             host_port{"127.0.0.1", 70000});
        } catch (const std::overflow_error&) {
            log.emplace_back("port out of range: overflow_error");
        } catch (const std::system_error&) {
            log.emplace_back("port out of range: system_error");
        }
    };
    asyncio::run(body());
    CHECK(log == log_t{"no address: unexpected address family",
                       "stream socket: A datagram socket was expected", "bad: connection_made",
                       "sendto without address: invalid_argument", "still open: yes",
                       "low above high: invalid_argument", "bad: connection_lost None",
                       "port out of range: overflow_error"});
    datagram_transport empty;
    CHECK_THROWS_AS(empty.close(), std::runtime_error);
    CHECK(asyncio::testing::open_fd_count() == fds_before);
}

TEST_CASE("datagram: a full peer queue buffers datagrams, pauses and resumes the protocol at the "
          "water marks, and close sends the rest before connection_lost",
          "[io][datagram]") {
    // A Unix datagram socket pair: the sender gets EAGAIN once the receiver's queue is full, so
    // the transport's buffer fills deterministically (UDP on loopback drops instead).
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    const int fds_before = asyncio::testing::open_fd_count();
    log_t log;
    std::size_t sent = 0;
    std::size_t got = 0;
    auto body = [&]() -> task<> {
        auto sp = asyncio::socket::pair(AF_UNIX, SOCK_DGRAM);
        asyncio::socket& peer = sp.second;
        auto [t, p] = co_await asyncio::create_datagram_endpoint(
            [&] { return std::make_shared<recorder>("sender", log); }, std::move(sp.first));
        t.set_write_buffer_limits(4096); // low 1024
        CHECK(t.get_write_buffer_limits() == std::pair<std::size_t, std::size_t>{1024, 4096});
        const std::string d(100, 'd');
        while (t.get_write_buffer_size() <= 4096 && sent < 100000) {
            t.sendto(d); // connected: no address needed
            ++sent;
        }
        CHECK(t.get_write_buffer_size() > 4096);
        CHECK(log.back() == "sender: pause_writing");
        const std::size_t buffered_datagrams = t.get_write_buffer_size() / (d.size() + 8);
        CHECK(t.get_write_buffer_size() == buffered_datagrams * (d.size() + 8));
        t.close(); // the buffer is still sent
        CHECK(t.is_closing());
        while (got < sent) {
            std::string r = co_await asyncio::wait_for(asyncio::sock_recv(peer, 1000), 5s);
            REQUIRE(r == d);
            ++got;
        }
        co_await until([&] { return log.back() == "sender: connection_lost None"; });
    };
    asyncio::run(body(), run_options{.selector = sel});
    CHECK(got == sent);
    CHECK(log == log_t{"sender: connection_made", "sender: pause_writing", "sender: resume_writing",
                       "sender: connection_lost None"});
    CHECK(asyncio::testing::open_fd_count() == fds_before);
}

TEST_CASE("datagram: an exception thrown by a protocol method goes to the loop's exception "
          "handler and the endpoint keeps receiving",
          "[io][datagram]") {
    struct thrower : datagram_protocol {
        int calls = 0;
        void datagram_received(std::string data, const socket_address&) override {
            ++calls;
            if (data == "boom") {
                throw std::runtime_error("boom from datagram_received");
            }
        }
    };
    std::vector<std::string> reported;
    int calls = 0;
    auto body = [&]() -> task<> {
        asyncio::get_running_loop().set_exception_handler(
            [&](asyncio::event_loop&, const asyncio::exception_context& ctx) {
                try {
                    std::rethrow_exception(ctx.exception);
                } catch (const std::exception& e) {
                    reported.push_back(ctx.message + ": " + e.what());
                }
            });
        auto sp = asyncio::socket::pair(AF_UNIX, SOCK_DGRAM);
        auto [t, p] = co_await asyncio::create_datagram_endpoint(
            [] { return std::make_shared<thrower>(); }, std::move(sp.first));
        co_await asyncio::sock_sendall(sp.second, "boom");
        co_await asyncio::sock_sendall(sp.second, "fine");
        thrower* raw = p.get();
        co_await until([raw] { return raw->calls == 2; });
        calls = raw->calls;
        t.close();
        co_await asyncio::sleep(0s);
    };
    asyncio::run(body());
    CHECK(calls == 2);
    CHECK(reported ==
          std::vector<std::string>{
              "Exception in a datagram protocol callback: boom from datagram_received"});
}

TEST_CASE("datagram: endpoints left open when asyncio::run ends, or whose last handle goes, "
          "close their sockets, even when the protocol holds its transport",
          "[io][datagram]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    const int fds_before = asyncio::testing::open_fd_count();
    log_t log;
    std::weak_ptr<recorder> held;
    std::weak_ptr<datagram_protocol> dropped;
    struct quiet : datagram_protocol {};
    auto body = [&]() -> task<> {
        const int fds_in_loop = asyncio::testing::open_fd_count();
        // The protocol keeps a handle (recorder.transport): only the loop's closing ends it.
        auto [t, p] = co_await asyncio::create_datagram_endpoint(
            [&] { return std::make_shared<recorder>("held", log); }, host_port{"127.0.0.1", 0});
        held = p;
        // No handle kept anywhere: the socket closes when the last one goes.
        {
            auto [t2, p2] = co_await asyncio::create_datagram_endpoint(
                [] { return std::make_shared<quiet>(); }, host_port{"127.0.0.1", 0});
            dropped = p2;
        }
        CHECK(dropped.expired());
        CHECK(asyncio::testing::open_fd_count() == fds_in_loop + 1);
    };
    asyncio::run(body(), run_options{.selector = sel});
    CHECK(held.expired());
    CHECK(log == log_t{"held: connection_made"}); // no call once the loop is closing
    CHECK(asyncio::testing::open_fd_count() == fds_before);
}
