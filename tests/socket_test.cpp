// SPDX-License-Identifier: MIT
// Sockets: the RAII socket, addresses and resolution errors, and the sock_* awaitables on real
// sockets over 127.0.0.1, ::1 and socketpairs, on both selectors.
//
// Python observations quoted below are printed by tests/py/sockets.py (CPython 3.13.0); the CTest
// case asyncio.py.sockets checks that it still prints them (tests/py/sockets.expected).

#include "support/io_support.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <catch2/catch.hpp>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using asyncio::clock_kind;
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

/// A listening TCP socket on 127.0.0.1 and a free port.
asyncio::socket listener(const char* host = "127.0.0.1", int family = AF_INET) {
    asyncio::socket s(family);
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    s.bind(socket_address(host, 0));
    s.listen();
    return s;
}

/// Runs `body` with asyncio::run on the real clock with the given selector.
template <class F> void run_real(selector_kind sel, F body) {
    asyncio::run(body(), run_options{.selector = sel});
}

std::error_code code_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::system_error& e) {
        return e.code();
    }
    return {};
}

} // namespace

TEST_CASE("socket: a TCP client and server on 127.0.0.1 exchange bytes with sock_connect, "
          "sock_accept, sock_sendall and sock_recv, and every descriptor is closed once",
          "[io][socket]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    const int fds_before = asyncio::testing::open_fd_count();
    std::string server_got;
    std::string client_got;
    socket_address peer_seen;
    socket_address client_name;
    run_real(sel, [&]() -> task<> {
        asyncio::socket srv = listener();
        const socket_address where = srv.getsockname();
        CHECK(where.host() == "127.0.0.1");
        CHECK(where.port() > 0);
        auto server = [&]() -> task<> {
            auto [conn, peer] = co_await asyncio::sock_accept(srv);
            peer_seen = peer;
            std::string line;
            while (line.find('\n') == std::string::npos) {
                std::string part = co_await asyncio::sock_recv(conn, 4);
                REQUIRE(!part.empty());
                line += part;
            }
            server_got = line;
            co_await asyncio::sock_sendall(conn, "echo: " + line);
        };
        auto client = [&]() -> task<> {
            asyncio::socket c(AF_INET);
            co_await asyncio::sock_connect(c, where);
            client_name = c.getsockname();
            co_await asyncio::sock_sendall(c, std::string_view("hello\n"));
            std::string reply;
            for (;;) {
                std::string part = co_await asyncio::sock_recv(c, 100);
                if (part.empty()) {
                    break;
                }
                reply += part;
            }
            client_got = reply;
        };
        co_await asyncio::gather(server(), client());
    });
    CHECK(server_got == "hello\n");
    CHECK(client_got == "echo: hello\n");
    CHECK(peer_seen == client_name);
    CHECK(asyncio::testing::open_fd_count() == fds_before);
}

TEST_CASE("socket: IPv6 loopback ::1 works like 127.0.0.1", "[io][socket]") {
    asyncio::socket probe(AF_INET6);
    try {
        probe.bind(socket_address("::1", 0));
    } catch (const std::system_error&) {
        WARN("no IPv6 loopback on this machine: not tested");
        return;
    }
    probe.close();
    std::string got;
    run_real(selector_kind::epoll, [&]() -> task<> {
        asyncio::socket srv = listener("::1", AF_INET6);
        CHECK(srv.getsockname().to_string().rfind("[::1]:", 0) == 0);
        auto server = [&]() -> task<> {
            auto [conn, peer] = co_await asyncio::sock_accept(srv);
            CHECK(peer.family() == AF_INET6);
            got = co_await asyncio::sock_recv(conn, 10);
        };
        auto client = [&]() -> task<> {
            asyncio::socket c(AF_INET6);
            co_await asyncio::sock_connect(c, srv.getsockname());
            co_await asyncio::sock_sendall(c, std::string_view("v6"));
        };
        co_await asyncio::gather(server(), client());
    });
    CHECK(got == "v6");
}

TEST_CASE("socket: sock_recv does not suspend when data is there, and otherwise resumes one "
          "iteration after the socket became readable",
          "[io][socket]") {
    // py: data ready: sock_recv returned b'ab' at tick 0
    // py: data sent at tick 2: sock_recv returned b'cd' at tick 4
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    std::vector<std::string> log;
    run_real(sel, [&]() -> task<> {
        auto pair_1 = asyncio::socket::pair();
        asyncio::socket& a = pair_1.first;
        asyncio::socket& b = pair_1.second;
        int tick = 0;
        bool done = false;
        auto ticker = [&]() -> task<> {
            while (!done) {
                co_await asyncio::sleep(0s);
                ++tick;
                if (tick == 2) {
                    REQUIRE(::send(b.fileno(), "cd", 2, 0) == 2);
                }
            }
        };
        REQUIRE(::send(b.fileno(), "ab", 2, 0) == 2);
        auto t = asyncio::create_task(ticker());
        std::string first = co_await asyncio::sock_recv(a, 10);
        log.push_back(first + " at tick " + std::to_string(tick));
        std::string second = co_await asyncio::sock_recv(a, 10);
        log.push_back(second + " at tick " + std::to_string(tick));
        done = true;
        co_await t;
    });
    CHECK(log == std::vector<std::string>{"ab at tick 0", "cd at tick 4"});
}

TEST_CASE("socket: a cancelled sock_recv removes its registration and loses no byte",
          "[io][socket]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    std::string later;
    bool cancelled = false;
    run_real(sel, [&]() -> task<> {
        auto pair_2 = asyncio::socket::pair();
        asyncio::socket& a = pair_2.first;
        asyncio::socket& b = pair_2.second;
        auto body = [&]() -> task<std::string> { co_return co_await asyncio::sock_recv(a, 10); };
        auto reader = asyncio::create_task(body());
        co_await asyncio::sleep(0s);
        co_await asyncio::sleep(0s);
        reader.cancel();
        try {
            static_cast<void>(co_await reader);
        } catch (const asyncio::cancelled_error&) {
            cancelled = true;
        }
        // Nothing waits to read any more: a callback may now be registered.
        auto& loop = asyncio::get_running_loop();
        loop.add_reader(a.fileno(), [] {});
        CHECK(loop.remove_reader(a.fileno()));
        co_await asyncio::sock_sendall(b, std::string_view("kept"));
        later = co_await asyncio::sock_recv(a, 10);
    });
    CHECK(cancelled);
    CHECK(later == "kept");
}

TEST_CASE("socket: bytes received before a cancellation reaches the task are returned, and the "
          "cancellation hits the task's next await",
          "[io][socket]") {
    // Deliberate difference: CPython's sock_recv future holds the data when task.cancel() comes
    // in the same iteration, and the task raises CancelledError instead, dropping it.
    std::vector<std::string> log;
    run_real(selector_kind::epoll, [&]() -> task<> {
        auto pair_3 = asyncio::socket::pair();
        asyncio::socket& a = pair_3.first;
        asyncio::socket& b = pair_3.second;
        auto& loop = asyncio::get_running_loop();
        auto body = [&]() -> task<> {
            std::string got = co_await asyncio::sock_recv(a, 10);
            log.push_back("got " + got);
            try {
                co_await asyncio::sleep(1s);
                log.emplace_back("slept");
            } catch (const asyncio::cancelled_error&) {
                log.emplace_back("cancelled at the next await");
                throw;
            }
        };
        auto reader = asyncio::create_task(body());
        co_await asyncio::sleep(0s); // the reader waits for data
        // The data arrives; in the next iteration the reader's receive runs (I/O callbacks come
        // first) and then this timer, which cancels the reader, already woken with its bytes.
        REQUIRE(::send(b.fileno(), "xy", 2, 0) == 2);
        loop.call_later(0s, [&] { reader.cancel(); });
        try {
            co_await reader;
        } catch (const asyncio::cancelled_error&) {
            log.emplace_back("reader cancelled");
        }
    });
    CHECK(log ==
          std::vector<std::string>{"got xy", "cancelled at the next await", "reader cancelled"});
}

TEST_CASE("socket: sock_sendall of 4 MiB through a socketpair arrives whole and in order while "
          "the writer waits for the socket to drain",
          "[io][socket]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    std::string data(4 << 20, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
    }
    std::string received;
    run_real(sel, [&]() -> task<> {
        auto pair_4 = asyncio::socket::pair();
        asyncio::socket& a = pair_4.first;
        asyncio::socket& b = pair_4.second;
        auto writer = [&]() -> task<> {
            co_await asyncio::sock_sendall(a, data);
            a.shutdown(SHUT_WR);
        };
        auto reader = [&]() -> task<> {
            std::vector<std::byte> buf(65536);
            for (;;) {
                const std::size_t n = co_await asyncio::sock_recv_into(b, buf);
                if (n == 0) {
                    break;
                }
                received.append(reinterpret_cast<const char*>(buf.data()), n);
            }
        };
        co_await asyncio::gather(writer(), reader());
    });
    CHECK(received.size() == data.size());
    CHECK(received == data);
}

TEST_CASE("socket: OS errors raise std::system_error with the errno's std::errc: connection "
          "refused, broken pipe, connection reset",
          "[io][socket]") {
    // py: connect to a closed port: ConnectionRefusedError 111 Connect call failed
    //     ('127.0.0.1', PORT)
    // py: sendall to a closed peer: BrokenPipeError 32
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    std::vector<std::error_code> codes;
    std::string refused_what;
    run_real(sel, [&]() -> task<> {
        // Bound but not listening: the port stays ours and refuses connections.
        asyncio::socket closed_port(AF_INET);
        closed_port.bind(socket_address("127.0.0.1", 0));
        const socket_address target = closed_port.getsockname();
        asyncio::socket c(AF_INET);
        try {
            co_await asyncio::sock_connect(c, target);
        } catch (const std::system_error& e) {
            codes.push_back(e.code());
            refused_what = e.what();
        }
        auto pair_5 = asyncio::socket::pair();
        asyncio::socket& a = pair_5.first;
        asyncio::socket& b = pair_5.second;
        b.close();
        try {
            co_await asyncio::sock_sendall(a, std::string(1 << 16, 'x'));
        } catch (const std::system_error& e) {
            codes.push_back(e.code());
        }
        // A peer that closes with unread data resets the connection (TCP).
        asyncio::socket srv = listener();
        asyncio::socket cl(AF_INET);
        co_await asyncio::sock_connect(cl, srv.getsockname());
        auto [conn, peer] = co_await asyncio::sock_accept(srv);
        co_await asyncio::sock_sendall(cl, std::string_view("unread"));
        co_await asyncio::sleep(10ms);
        conn.close(); // unread data: the kernel sends RST
        co_await asyncio::sleep(10ms);
        try {
            static_cast<void>(co_await asyncio::sock_recv(cl, 10));
        } catch (const std::system_error& e) {
            codes.push_back(e.code());
        }
    });
    REQUIRE(codes.size() == 3);
    CHECK(codes[0] == std::errc::connection_refused);
    CHECK(refused_what.rfind("Connect call failed 127.0.0.1:", 0) == 0);
    CHECK(codes[1] == std::errc::broken_pipe);
    CHECK(codes[2] == std::errc::connection_reset);
}

TEST_CASE("socket: a second operation waiting to read the same socket raises runtime_error "
          "instead of stranding the first",
          "[io][socket]") {
    std::string first;
    std::string error;
    run_real(selector_kind::epoll, [&]() -> task<> {
        auto pair_6 = asyncio::socket::pair();
        asyncio::socket& a = pair_6.first;
        asyncio::socket& b = pair_6.second;
        auto body = [&]() -> task<> { first = co_await asyncio::sock_recv(a, 5); };
        auto t1 = asyncio::create_task(body());
        co_await asyncio::sleep(0s);
        try {
            static_cast<void>(co_await asyncio::sock_recv(a, 5));
        } catch (const std::runtime_error& e) {
            error = e.what();
        }
        co_await asyncio::sock_sendall(b, std::string_view("one"));
        co_await t1;
    });
    CHECK(first == "one");
    CHECK(error.find("already waited on for reading") != std::string::npos);
}

TEST_CASE("socket: closing a socket while an operation waits on it fails the operation with "
          "EBADF, and remove_reader fails it with ECANCELED",
          "[io][socket]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    std::vector<std::error_code> codes;
    run_real(sel, [&]() -> task<> {
        auto pair_7 = asyncio::socket::pair();
        asyncio::socket& a = pair_7.first;
        [[maybe_unused]] asyncio::socket& b = pair_7.second;
        auto waiter = [&](asyncio::socket& s) -> task<> {
            try {
                static_cast<void>(co_await asyncio::sock_recv(s, 5));
            } catch (const std::system_error& e) {
                codes.push_back(e.code());
            }
        };
        auto t = asyncio::create_task(waiter(a));
        co_await asyncio::sleep(0s);
        a.close();
        co_await t;
        CHECK(a.fileno() == -1);
        auto pair_8 = asyncio::socket::pair(); // b is readable now: its peer is closed
        asyncio::socket& c = pair_8.first;
        [[maybe_unused]] asyncio::socket& d = pair_8.second;
        auto t2 = asyncio::create_task(waiter(c));
        co_await asyncio::sleep(0s);
        CHECK(asyncio::get_running_loop().remove_reader(c.fileno()));
        co_await t2;
        // An operation on a closed socket fails at once.
        try {
            static_cast<void>(co_await asyncio::sock_recv(a, 5));
        } catch (const std::system_error& e) {
            codes.push_back(e.code());
        }
    });
    REQUIRE(codes.size() == 3);
    CHECK(codes[0] == std::errc::bad_file_descriptor);
    CHECK(codes[1] == std::errc::operation_canceled);
    CHECK(codes[2] == std::errc::bad_file_descriptor);
}

TEST_CASE("socket: UDP datagrams go both ways with sock_sendto and sock_recvfrom", "[io][socket]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    std::vector<std::string> log;
    run_real(sel, [&]() -> task<> {
        asyncio::socket server(AF_INET, SOCK_DGRAM);
        server.bind(socket_address("127.0.0.1", 0));
        asyncio::socket client(AF_INET, SOCK_DGRAM);
        client.bind(socket_address("127.0.0.1", 0));
        auto srv = [&]() -> task<> {
            auto [data, from] = co_await asyncio::sock_recvfrom(server, 100);
            log.push_back("server got " + data);
            CHECK(from == client.getsockname());
            const std::size_t n = co_await asyncio::sock_sendto(server, "re: " + data, from);
            CHECK(n == 4 + data.size());
        };
        auto cli = [&]() -> task<> {
            co_await asyncio::sleep(0s);
            co_await asyncio::sock_sendto(client, std::string_view("ping"), server.getsockname());
            auto [reply, from] = co_await asyncio::sock_recvfrom(client, 100);
            log.push_back("client got " + reply);
        };
        co_await asyncio::gather(srv(), cli());
    });
    CHECK(log == std::vector<std::string>{"server got ping", "client got re: ping"});
}

TEST_CASE("socket: addresses refuse a port out of range with overflow_error and a name with a "
          "getaddrinfo error",
          "[io][socket]") {
    // py: port -1: OverflowError connect(): port must be 0-65535.
    // py: getaddrinfo('not-a-number', 80, flags=AI_NUMERICHOST): gaierror -2 Name or service not
    //     known
    REQUIRE_THROWS_MATCHES(socket_address("127.0.0.1", -1), std::overflow_error,
                           Catch::Message("port must be 0-65535"));
    REQUIRE_THROWS_AS(socket_address("127.0.0.1", 65536), std::overflow_error);
    const auto c1 = code_of([] { static_cast<void>(socket_address("localhost", 80)); });
    CHECK(c1.category() == asyncio::gai_category());
    CHECK(c1.value() == EAI_NONAME);
    const auto c2 = code_of([] {
        static_cast<void>(asyncio::getaddrinfo_blocking("not-a-number", 80, AF_UNSPEC, SOCK_STREAM,
                                                        0, AI_NUMERICHOST));
    });
    CHECK(c2.category() == asyncio::gai_category());
    CHECK(c2.value() == EAI_NONAME);
    CHECK(c2.message() == "Name or service not known");
    const auto ok =
        asyncio::getaddrinfo_blocking("127.0.0.1", 8080, AF_INET, SOCK_STREAM, 0, AI_NUMERICHOST);
    REQUIRE(ok.size() == 1);
    CHECK(ok[0].address == socket_address("127.0.0.1", 8080));
    CHECK(socket_address("::1", 80).to_string() == "[::1]:80");
    CHECK(socket_address::unix_path("/tmp/x.sock").host() == "/tmp/x.sock");
}

TEST_CASE("socket: a socket closes exactly once and an operation on a closed one raises EBADF",
          "[io][socket]") {
    const int before = asyncio::testing::open_fd_count();
    {
        asyncio::socket s(AF_INET);
        CHECK(s.is_open());
        asyncio::socket moved = std::move(s);
        CHECK(!s.is_open());
        CHECK(asyncio::testing::open_fd_count() == before + 1);
        moved.close();
        moved.close();
        CHECK(asyncio::testing::open_fd_count() == before);
        CHECK(code_of([&] { moved.listen(); }) == std::errc::bad_file_descriptor);
        auto pair_9 = asyncio::socket::pair();
        asyncio::socket& a = pair_9.first;
        [[maybe_unused]] asyncio::socket& b = pair_9.second;
        CHECK((::fcntl(a.fileno(), F_GETFL) & O_NONBLOCK) != 0);
        CHECK((::fcntl(a.fileno(), F_GETFD) & FD_CLOEXEC) != 0);
    }
    CHECK(asyncio::testing::open_fd_count() == before);
}

TEST_CASE("socket: destroying a loop with a task waiting on a socket unregisters it and leaks "
          "nothing",
          "[io][socket]") {
    asyncio::testing::lifetime_scope scope;
    auto pair_10 = asyncio::socket::pair();
    asyncio::socket& a = pair_10.first;
    asyncio::socket& b = pair_10.second;
    {
        asyncio::event_loop loop(clock_kind::virtual_time);
        auto t = loop.create_task([](asyncio::socket& s, asyncio::testing::tracked) -> task<> {
            static_cast<void>(co_await asyncio::sock_recv(s, 5));
        }(a, asyncio::testing::tracked(1)));
        loop.call_soon([&loop] { loop.stop(); });
        loop.run_forever();
        CHECK(!t.done());
        loop.set_exception_handler([](asyncio::event_loop&, const asyncio::exception_context&) {});
    }
    CHECK(scope.balanced());
    // The descriptor is usable again by another loop.
    std::string got;
    asyncio::run([&]() -> task<> {
        co_await asyncio::sock_sendall(b, std::string_view("again"));
        got = co_await asyncio::sock_recv(a, 10);
    }());
    CHECK(got == "again");
}

TEST_CASE("socket: a descriptor closed and its number reused right after an operation completed "
          "is waited on correctly (the kernel's interest kept between waits never goes stale)",
          "[io][socket]") {
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    std::vector<std::string> got;
    auto reuse = [&](bool raw_close) -> task<> {
        auto pair_11 = asyncio::socket::pair();
        asyncio::socket& a = pair_11.first;
        asyncio::socket& b = pair_11.second;
        auto sender = [&](const asyncio::socket& s, std::string_view what) -> task<> {
            co_await asyncio::sleep(5ms);
            co_await asyncio::sock_sendall(s, what);
        };
        auto t = asyncio::create_task(sender(b, "first"));
        got.push_back(co_await asyncio::wait_for(asyncio::sock_recv(a, 10), 5s));
        co_await t;
        const int old_fd = a.fileno();
        if (raw_close) {
            ::close(a.detach());
        } else {
            a.close();
        }
        b.close();
        auto pair_12 = asyncio::socket::pair();
        asyncio::socket& c = pair_12.first;
        asyncio::socket& d = pair_12.second;
        CHECK((c.fileno() == old_fd || d.fileno() == old_fd));
        asyncio::socket& same = c.fileno() == old_fd ? c : d;
        asyncio::socket& peer = c.fileno() == old_fd ? d : c;
        auto t2 = asyncio::create_task(sender(peer, "second"));
        got.push_back(co_await asyncio::wait_for(asyncio::sock_recv(same, 10), 5s));
        co_await t2;
    };
    run_real(sel, [&]() -> task<> {
        co_await reuse(false);
        co_await reuse(true);
    });
    // Across runs: the first run ends right after its receive; the descriptor is closed behind
    // the loop's back while it does not run, then reused.
    asyncio::event_loop loop(clock_kind::monotonic, sel);
    auto pair_13 = asyncio::socket::pair();
    asyncio::socket& a = pair_13.first;
    asyncio::socket& b = pair_13.second;
    const int old_fd = a.fileno();
    auto first = [&]() -> task<std::string> {
        co_await asyncio::sock_sendall(b, std::string_view("third"));
        co_await asyncio::sleep(5ms);
        co_return co_await asyncio::sock_recv(a, 10);
    };
    got.push_back(loop.run_until_complete(first()));
    ::close(a.detach());
    b.close();
    auto pair_14 = asyncio::socket::pair();
    asyncio::socket& c = pair_14.first;
    asyncio::socket& d = pair_14.second;
    asyncio::socket& same = c.fileno() == old_fd ? c : d;
    asyncio::socket& peer = c.fileno() == old_fd ? d : c;
    auto second = [&]() -> task<std::string> {
        auto later = [&]() -> task<> {
            co_await asyncio::sleep(5ms);
            co_await asyncio::sock_sendall(peer, std::string_view("fourth"));
        };
        auto t = asyncio::create_task(later());
        std::string r = co_await asyncio::wait_for(asyncio::sock_recv(same, 10), 5s);
        co_await t;
        co_return r;
    };
    got.push_back(loop.run_until_complete(second()));
    CHECK(got == std::vector<std::string>{"first", "second", "first", "second", "third", "fourth"});
}

TEST_CASE("socket: getaddrinfo resolves a name in an executor thread and a numeric host at once, "
          "and sock_connect takes a host name",
          "[io][socket][threads]") {
    // py: getaddrinfo('not-a-number', 80, flags=AI_NUMERICHOST): gaierror -2 Name or service not
    //     known
    const selector_kind sel = any_selector();
    INFO(name_of(sel));
    std::string got;
    std::vector<std::string> resolved;
    std::error_code refused_name;
    run_real(sel, [&]() -> task<> {
        for (const auto& a : co_await asyncio::getaddrinfo("localhost", 80, AF_INET, SOCK_STREAM)) {
            resolved.push_back(a.address.to_string());
        }
        for (const auto& a : co_await asyncio::getaddrinfo("127.0.0.1", 81, AF_INET, SOCK_STREAM)) {
            resolved.push_back(a.address.to_string());
        }
        try {
            static_cast<void>(co_await asyncio::getaddrinfo("not-a-number", 80, AF_UNSPEC,
                                                            SOCK_STREAM, 0, AI_NUMERICHOST));
        } catch (const std::system_error& e) {
            refused_name = e.code();
        }
        asyncio::socket srv = listener();
        auto server = [&]() -> task<> {
            auto [conn, peer] = co_await asyncio::sock_accept(srv);
            got = co_await asyncio::sock_recv(conn, 10);
        };
        auto client = [&]() -> task<> {
            asyncio::socket c(AF_INET);
            co_await asyncio::sock_connect(c, "localhost", srv.getsockname().port());
            co_await asyncio::sock_sendall(c, std::string_view("by name"));
        };
        co_await asyncio::gather(server(), client());
    });
    CHECK(resolved == std::vector<std::string>{"127.0.0.1:80", "127.0.0.1:81"});
    CHECK(refused_name.category() == asyncio::gai_category());
    CHECK(refused_name.value() == EAI_NONAME);
    CHECK(got == "by name");
}
