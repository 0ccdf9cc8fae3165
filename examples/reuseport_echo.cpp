// SPDX-License-Identifier: MIT
// Several cores: one asyncio loop per thread, each with its own echo server on one shared port
// (SO_REUSEPORT: the kernel spreads new connections over the listening sockets).
//
//   reuseport_echo --self-test [--threads N]       # serve, check 20 clients, stop: exit 0
//   reuseport_echo [--threads N] [--port P]        # serve until SIGINT/SIGTERM
//
// An asyncio-cpp loop, like CPython's, runs on one thread; to use more cores, run one loop per
// thread (or per process) and let the kernel share out the connections. Each thread here calls
// asyncio::run on its own coroutine, which starts a server with reuse_port = true on the same
// port; connections never move between loops, so nothing is shared but the port. Stopping goes
// through each loop's call_soon_threadsafe, and the threads are joined at the end. Beyond one
// machine the same shape repeats behind a load balancer: one process (or loop) per core on each
// machine, all alike and stateless between connections.
//
// --self-test (the CTest check): the main thread runs a client on a loop of its own, opens 20
// connections at once, sends 5 messages on each and checks every echo, then stops the servers.
// Serving mode prints "ready" once every loop listens (bench/peers/echo_compare.sh --reuseport
// measures it with 1 and 2 threads).
//
// Its Python twin (one process per core, as CPython has the GIL):
//
//   import asyncio, multiprocessing
//
//   async def echo(reader, writer):
//       while data := await reader.read(65536):
//           writer.write(data)
//           await writer.drain()
//       writer.close()
//
//   async def serve(port):
//       server = await asyncio.start_server(echo, "127.0.0.1", port, reuse_port=True)
//       async with server:
//           await server.serve_forever()
//
//   def main(port=8888, processes=2):
//       workers = [multiprocessing.Process(target=asyncio.run, args=(serve(port),))
//                  for _ in range(processes)]
//       for w in workers: w.start()
//       for w in workers: w.join()
#include <asyncio/asyncio.hpp>

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace {

constexpr int self_test_clients = 20;
constexpr int self_test_messages = 5;

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
    } catch (const std::system_error&) { // the peer went away
    }
    writer.close();
}

/// One thread's share: its loop serves until `stop` is called from any thread.
class shard {
public:
    /// Starts the thread; returns once its server listens (the port it got), or rethrows what
    /// start_server threw.
    int start(int port) {
        std::future<int> listening = ready_.get_future();
        thread_ = std::thread([this, port] {
            try {
                asyncio::run(serve(port));
            } catch (...) {
                try {
                    ready_.set_exception(std::current_exception());
                } catch (const std::future_error&) { // already listening: report it here
                    std::fprintf(stderr, "reuseport_echo: a loop failed\n");
                }
            }
        });
        try {
            return listening.get();
        } catch (...) {
            thread_.join();
            throw;
        }
    }

    /// Asks the loop to close its server and finish (any thread may call it).
    void stop() {
        loop_->call_soon_threadsafe([this] {
            if (!stop_.done()) {
                stop_.set_result();
            }
        });
    }
    void join() { thread_.join(); }

private:
    asyncio::task<> serve(int port) {
        asyncio::server srv = co_await asyncio::start_server(
            [](asyncio::stream_reader& r, asyncio::stream_writer& w) { return echo(r, w); },
            "127.0.0.1", port, asyncio::server_options{.reuse_port = true});
        loop_ = &asyncio::get_running_loop();
        stop_ = loop_->create_future<void>();
        ready_.set_value(srv.sockets().front().getsockname().port());
        co_await stop_;
        srv.close();
        co_await srv.wait_closed();
    }

    std::thread thread_;
    std::promise<int> ready_;
    asyncio::event_loop* loop_ = nullptr;
    asyncio::future<void> stop_;
};

/// One client of the self-test: each message goes out and must come back whole.
asyncio::task<int> client(int port, int id) {
    auto [reader, writer] = co_await asyncio::open_connection("127.0.0.1", port);
    int matched = 0;
    for (int i = 0; i < self_test_messages; ++i) {
        const std::string msg = "client " + std::to_string(id) + " message " + std::to_string(i);
        writer.write(msg);
        co_await writer.drain();
        if (co_await reader.readexactly(static_cast<std::ptrdiff_t>(msg.size())) == msg) {
            ++matched;
        }
    }
    writer.close();
    co_await writer.wait_closed();
    co_return matched;
}

asyncio::task<int> self_test(int port) {
    std::vector<asyncio::task<int>> clients;
    for (int i = 0; i < self_test_clients; ++i) {
        clients.push_back(client(port, i));
    }
    int matched = 0;
    for (const int m : co_await asyncio::gather(std::move(clients))) {
        matched += m;
    }
    co_return matched;
}

} // namespace

int main(int argc, char** argv) {
    int threads = 2;
    int port = 0;
    bool test = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--self-test") {
            test = true;
        } else if (a == "--threads" && i + 1 < argc) {
            threads = std::atoi(argv[++i]);
        } else if (a == "--port" && i + 1 < argc) {
            port = std::atoi(argv[++i]);
        } else {
            std::fprintf(stderr, "usage: reuseport_echo [--self-test] [--threads N] [--port P]\n");
            return 2;
        }
    }
    if (threads < 1 || port < 0 || (port == 0 && !test)) {
        std::fprintf(stderr, "reuseport_echo: --threads >= 1 and, to serve, --port P\n");
        return 2;
    }

    // The serving threads inherit this mask: SIGINT and SIGTERM reach only sigwait below.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    std::vector<std::unique_ptr<shard>> shards;
    int status = 0;
    try {
        for (int i = 0; i < threads; ++i) {
            shards.push_back(std::make_unique<shard>());
            port = shards.back()->start(port); // the first picks the port when it is 0
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "reuseport_echo: %s\n", e.what());
        shards.pop_back(); // its thread has ended
        status = 1;
    }

    if (status == 0 && test) {
        std::printf("%d loops listening on one port\n", threads);
        try {
            const int matched = asyncio::run(self_test(port));
            std::printf("%d connections, %d echoes matched of %d\n", self_test_clients, matched,
                        self_test_clients * self_test_messages);
            status = matched == self_test_clients * self_test_messages ? 0 : 1;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "reuseport_echo: the client failed: %s\n", e.what());
            status = 1;
        }
    } else if (status == 0) {
        std::printf("ready\n");
        std::fflush(stdout);
        int sig = 0;
        sigwait(&stop_signals, &sig);
    }

    for (auto& s : shards) {
        s->stop();
    }
    for (auto& s : shards) {
        s->join();
    }
    if (test && status == 0) {
        std::printf("%d loops stopped\n", threads);
    }
    return status;
}
