// SPDX-License-Identifier: MIT
// The asyncio-cpp echo server of bench/peers/echo_compare.sh: streams, one task per connection.
//
//   g++ -O2 -std=c++20 -Iinclude bench/peers/echo_asyncio.cpp -o echo_asyncio
//   ./echo_asyncio PORT
//
// Listens on 127.0.0.1:PORT (start_server), prints "ready" once listening and nothing else, and
// echoes every connection until its end of stream: read(65536), write, drain. Runs until killed.
// Its Python twin is echo_server.py:
//
//   async def echo(reader, writer):
//       while data := await reader.read(65536):
//           writer.write(data)
//           await writer.drain()
//       writer.close()
#include <asyncio/asyncio.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <system_error>

namespace {

asyncio::task<> echo(asyncio::stream_reader reader, asyncio::stream_writer writer) {
    try {
        for (;;) {
            std::string data = co_await reader.read(65536);
            if (data.empty()) {
                break;
            }
            writer.write(data);
            co_await writer.drain();
        }
    } catch (const std::system_error&) { // the peer went away: nothing to report
    }
    writer.close();
}

asyncio::task<> serve(int port) {
    asyncio::server srv = co_await asyncio::start_server(
        [](asyncio::stream_reader& r, asyncio::stream_writer& w) { return echo(r, w); },
        "127.0.0.1", port);
    std::printf("ready\n");
    std::fflush(stdout);
    co_await srv.serve_forever();
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: echo_asyncio PORT\n");
        return 2;
    }
    try {
        asyncio::run(serve(std::atoi(argv[1])),
                     asyncio::run_options{.clock = asyncio::clock_kind::monotonic});
    } catch (const std::exception& e) {
        std::fprintf(stderr, "echo_asyncio: %s\n", e.what());
        return 1;
    }
    return 0;
}
