// SPDX-License-Identifier: MIT
// echo: a TCP echo server and its client in one program, over asyncio-cpp's streams
// (start_server, open_connection, readline, write, drain, write_eof). The server listens on
// 127.0.0.1, on a port the system picks; the client sends three lines, prints the echoes, closes
// its side, and the program stops by itself.
//
//   echo
//
// The Python twin (examples/py/echo.py; the CTest tests check that both print
// examples/echo.expected):
//
//     LINES = ["hello", "asyncio from C++", "bye"]
//
//     async def handle_echo(reader, writer):
//         while line := await reader.readline():
//             print(f"server: received {line.decode().rstrip()!r}")
//             writer.write(line)
//             await writer.drain()
//         print("server: the client closed its side; closing")
//         writer.close()
//         await writer.wait_closed()
//
//     async def client(port):
//         reader, writer = await asyncio.open_connection("127.0.0.1", port)
//         for text in LINES:
//             writer.write(f"{text}\n".encode())
//             await writer.drain()
//             echo = await reader.readline()
//             print(f"client: echoed {echo.decode().rstrip()!r}")
//         writer.write_eof()
//         rest = await reader.read()
//         print(f"client: end of stream ({len(rest)} more bytes)")
//         writer.close()
//         await writer.wait_closed()
//
//     async def main():
//         server = await asyncio.start_server(handle_echo, "127.0.0.1", 0)
//         port = server.sockets[0].getsockname()[1]
//         print("server: listening on 127.0.0.1 (port chosen by the system)")
//         await asyncio.wait_for(client(port), 10)
//         server.close()
//         await server.wait_closed()
//         print("server: closed")
//
//     asyncio.run(main())
#include <asyncio/asyncio.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

namespace {

using namespace std::chrono_literals;

constexpr std::string_view lines[] = {"hello", "asyncio from C++", "bye"};

// Python's line.decode().rstrip() for the lines of this program.
std::string stripped(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
        s.pop_back();
    }
    return s;
}

asyncio::task<> handle_echo(asyncio::stream_reader reader, asyncio::stream_writer writer) {
    while (auto line = co_await reader.next()) { // while line := await reader.readline():
        std::printf("server: received '%s'\n", stripped(*line).c_str());
        writer.write(*line);
        co_await writer.drain();
    }
    std::printf("server: the client closed its side; closing\n");
    writer.close();
    co_await writer.wait_closed();
}

asyncio::task<> client(int port) {
    auto [reader, writer] = co_await asyncio::open_connection("127.0.0.1", port);
    for (std::string_view text : lines) {
        writer.write(std::string(text) + "\n");
        co_await writer.drain();
        const std::string echo = co_await reader.readline();
        std::printf("client: echoed '%s'\n", stripped(echo).c_str());
    }
    writer.write_eof();
    const std::string rest = co_await reader.read();
    std::printf("client: end of stream (%zu more bytes)\n", rest.size());
    writer.close();
    co_await writer.wait_closed();
}

asyncio::task<> main_task() {
    asyncio::server server = co_await asyncio::start_server(handle_echo, "127.0.0.1", 0);
    const int port = server.sockets().at(0).getsockname().port();
    std::printf("server: listening on 127.0.0.1 (port chosen by the system)\n");
    co_await asyncio::wait_for(client(port), 10s);
    server.close();
    co_await server.wait_closed();
    std::printf("server: closed\n");
}

} // namespace

int main() {
    try {
        asyncio::run(main_task());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "echo: %s\n", e.what());
        return 1;
    }
    return 0;
}
