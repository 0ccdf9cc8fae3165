// SPDX-License-Identifier: MIT
// The asio echo server of bench/peers/echo_compare.sh: standalone asio (Debian's libasio-dev
// 1.22) with C++20 awaitables on one single-threaded io_context.
//
//   g++ -O2 -std=c++20 bench/peers/echo_asio.cpp -o echo_asio
//   ./echo_asio PORT
//
// Listens on 127.0.0.1:PORT, prints "ready" once listening and nothing else; every accepted
// connection gets a coroutine (co_spawn) that echoes until the end of stream: async_read_some into
// a 64 KiB buffer of its own (the size asyncio-cpp's read(65536) asks for; allocated, not touched
// beyond what is received), then async_write of what came. TCP_NODELAY is set, as CPython,
// uvloop and asyncio-cpp do. Runs until killed.
#include <asio.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>

namespace {

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

constexpr std::size_t buffer_size = 65536;

awaitable<void> echo(tcp::socket socket) {
    const std::unique_ptr<char[]> data(new char[buffer_size]);
    try {
        for (;;) {
            const std::size_t n = co_await socket.async_read_some(
                asio::buffer(data.get(), buffer_size), use_awaitable);
            co_await asio::async_write(socket, asio::buffer(data.get(), n), use_awaitable);
        }
    } catch (const std::exception&) { // end of stream or the peer went away
    }
}

awaitable<void> listen(tcp::acceptor& acceptor) {
    for (;;) {
        tcp::socket socket = co_await acceptor.async_accept(use_awaitable);
        socket.set_option(tcp::no_delay(true));
        asio::co_spawn(acceptor.get_executor(), echo(std::move(socket)), asio::detached);
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: echo_asio PORT\n");
        return 2;
    }
    try {
        asio::io_context io(1);
        tcp::acceptor acceptor(io);
        const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"),
                               static_cast<unsigned short>(std::atoi(argv[1])));
        acceptor.open(ep.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind(ep);
        acceptor.listen();
        asio::co_spawn(io, listen(acceptor), asio::detached);
        std::printf("ready\n");
        std::fflush(stdout);
        io.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "echo_asio: %s\n", e.what());
        return 1;
    }
    return 0;
}
