// SPDX-License-Identifier: MIT
// Standalone asio (Debian's libasio-dev 1.22, C++20 awaitables) peer of the W1-W6 workloads of
// bench/peers/compare.sh: one single-threaded io_context, asio::co_spawn, asio::awaitable.
//
//   g++ -O2 -std=c++20 bench/peers/asio_peer.cpp -o asio_peer
//   ./asio_peer WORKLOAD N [--nb]
//
// WORKLOAD is one of W1, W2, W3-1p1c, W3-4p4c, W4, W5, W6; N counts operations (compare.sh's header
// says what one operation is). W3 goes through asio::experimental::channel with a buffer of 1024;
// --nb (W3 only) tries try_send/try_receive first and awaits async_send/async_receive only when
// that fails ("non-blocking attempt first"). asio has no gather, no queue join and no task_done:
// they are a counter plus a one-slot channel that wakes the waiter (see `event`).
// Checks its result and prints exactly one line:
//   asio|asio-nb <workload> N=<n> total_s=<seconds> ns_per_op=<ns>
#include <asio.hpp>
#include <asio/experimental/channel.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::int64_t w2_tasks = 1000;
constexpr std::int64_t w4_max_delay_ns = 50'000'000;
constexpr std::uint64_t w4_seed = 42;
constexpr int w5_depth = 10'000;
constexpr std::size_t w3_maxsize = 1024;

using asio::awaitable;
using asio::use_awaitable;
using channel_t = asio::experimental::channel<void(asio::error_code, std::int64_t)>;

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "asio: %s\n", what.c_str());
    std::exit(1);
}

std::int64_t triangle(std::int64_t n) {
    return n * (n - 1) / 2;
}

// asyncio.Event's stand-in: a channel with room for one message. Not a steady_timer: the first
// timer starts the io_context's reactor, which then adds an epoll_wait system call to every round
// of the run queue, a cost asio programs without timers do not pay.
class event {
public:
    explicit event(const asio::any_io_executor& ex) : ch_(ex, 1) {}

    void set() { (void)ch_.try_send(asio::error_code{}, 0); }
    awaitable<void> wait() { (void)co_await ch_.async_receive(use_awaitable); }

private:
    // asio 1.22 cannot instantiate a channel of void(error_code) (ambiguous channel_traits), so
    // the message carries an unused int.
    asio::experimental::channel<void(asio::error_code, int)> ch_;
};

// gather's stand-in: `remaining` children left; the last one sets the event main waits on.
struct countdown {
    explicit countdown(const asio::any_io_executor& ex, std::int64_t n) : remaining(n), done(ex) {}

    void one_done() {
        if (--remaining == 0) {
            done.set();
        }
    }

    awaitable<void> wait() {
        while (remaining > 0) {
            co_await done.wait();
        }
    }

    std::int64_t remaining;
    event done;
};

// W1: spawn n coroutines returning their index, gather them, sum.
awaitable<std::int64_t> w1_child(std::int64_t i) {
    co_return i;
}

awaitable<void> w1(std::int64_t n) {
    auto ex = co_await asio::this_coro::executor;
    std::vector<std::int64_t> results(static_cast<std::size_t>(n));
    countdown all(ex, n);
    for (std::int64_t i = 0; i < n; ++i) {
        asio::co_spawn(ex, w1_child(i), [&results, &all, i](std::exception_ptr e, std::int64_t v) {
            if (e) {
                std::rethrow_exception(e);
            }
            results[static_cast<std::size_t>(i)] = v;
            all.one_done();
        });
    }
    co_await all.wait();
    std::int64_t sum = 0;
    for (std::int64_t v : results) {
        sum += v;
    }
    if (sum != triangle(n)) {
        fail("W1: wrong sum " + std::to_string(sum));
    }
}

// W2: w2_tasks coroutines each yield n / w2_tasks times; a yield is a post to the io_context.
awaitable<void> w2_yielder(std::int64_t rounds, std::int64_t* counter) {
    auto ex = co_await asio::this_coro::executor;
    for (std::int64_t i = 0; i < rounds; ++i) {
        co_await asio::post(ex, use_awaitable);
    }
    *counter += rounds;
}

awaitable<void> w2(std::int64_t n) {
    auto ex = co_await asio::this_coro::executor;
    std::int64_t counter = 0;
    countdown all(ex, w2_tasks);
    for (std::int64_t i = 0; i < w2_tasks; ++i) {
        asio::co_spawn(ex, w2_yielder(n / w2_tasks, &counter), [&all](std::exception_ptr e) {
            if (e) {
                std::rethrow_exception(e);
            }
            all.one_done();
        });
    }
    co_await all.wait();
    if (counter != n) {
        fail("W2: " + std::to_string(counter) + " yields");
    }
}

// W3: asyncio.Queue's put/get/task_done/join over a channel. `unfinished` counts items put and
// not yet marked done; join waits on an event that task_done sets when the count reaches 0.
// Main awaits the producers, then joins, then awaits the consumers, as the other peers do.
struct w3_queue {
    explicit w3_queue(asio::any_io_executor ex) : ch(ex, w3_maxsize), finished(ex) {}

    awaitable<void> put(std::int64_t v, bool nb) {
        ++unfinished;
        if (nb && ch.try_send(asio::error_code{}, v)) {
            co_return;
        }
        co_await ch.async_send(asio::error_code{}, v, use_awaitable);
    }

    awaitable<std::int64_t> get(bool nb) {
        if (nb) {
            std::int64_t got = 0;
            if (ch.try_receive([&got](asio::error_code, std::int64_t v) { got = v; })) {
                co_return got;
            }
        }
        co_return co_await ch.async_receive(use_awaitable);
    }

    // Like asyncio's task_done, which sets an Event only for a join that waits.
    void task_done() {
        if (--unfinished == 0 && joining) {
            finished.set();
        }
    }

    awaitable<void> join() {
        while (unfinished > 0) {
            joining = true;
            co_await finished.wait();
            joining = false;
        }
    }

    channel_t ch;
    event finished;
    std::int64_t unfinished = 0;
    bool joining = false;
};

awaitable<void> w3_producer(w3_queue* q, std::int64_t first, std::int64_t count, bool nb) {
    for (std::int64_t i = first; i < first + count; ++i) {
        co_await q->put(i, nb);
    }
}

awaitable<std::int64_t> w3_consumer(w3_queue* q, std::int64_t count, bool nb) {
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < count; ++i) {
        sum += co_await q->get(nb);
        q->task_done();
    }
    co_return sum;
}

awaitable<void> w3(std::int64_t n, std::int64_t pairs, bool nb) {
    auto ex = co_await asio::this_coro::executor;
    w3_queue q(ex);
    const std::int64_t per = n / pairs;
    std::int64_t sum = 0;
    countdown consumers(ex, pairs);
    countdown producers(ex, pairs);
    for (std::int64_t c = 0; c < pairs; ++c) {
        asio::co_spawn(ex, w3_consumer(&q, per, nb),
                       [&consumers, &sum](std::exception_ptr e, std::int64_t s) {
                           if (e) {
                               std::rethrow_exception(e);
                           }
                           sum += s;
                           consumers.one_done();
                       });
    }
    for (std::int64_t p = 0; p < pairs; ++p) {
        asio::co_spawn(ex, w3_producer(&q, p * per, per, nb), [&producers](std::exception_ptr e) {
            if (e) {
                std::rethrow_exception(e);
            }
            producers.one_done();
        });
    }
    co_await producers.wait();
    co_await q.join();
    co_await consumers.wait();
    if (sum != triangle(n) || q.ch.ready()) {
        fail("W3: wrong sum " + std::to_string(sum));
    }
}

// W4: n coroutines each wait a steady_timer for a seeded random delay in [0, 50 ms), gathered.
awaitable<void> w4_sleeper(std::int64_t delay_ns) {
    asio::steady_timer timer(co_await asio::this_coro::executor,
                             std::chrono::nanoseconds(delay_ns));
    co_await timer.async_wait(use_awaitable);
}

awaitable<void> w4(std::int64_t n) {
    auto ex = co_await asio::this_coro::executor;
    std::mt19937_64 rng(w4_seed);
    std::uniform_int_distribution<std::int64_t> delay(0, w4_max_delay_ns - 1);
    countdown all(ex, n);
    for (std::int64_t i = 0; i < n; ++i) {
        asio::co_spawn(ex, w4_sleeper(delay(rng)), [&all](std::exception_ptr e) {
            if (e) {
                std::rethrow_exception(e);
            }
            all.one_done();
        });
    }
    co_await all.wait();
}

// W5: a coroutine awaiting itself to depth 10,000, n / 10,000 times.
awaitable<int> w5_chain(int depth) {
    if (depth == 0) {
        co_return 0;
    }
    co_return 1 + co_await w5_chain(depth - 1);
}

awaitable<void> w5(std::int64_t n) {
    for (std::int64_t r = 0; r < n / w5_depth; ++r) {
        const int levels = co_await w5_chain(w5_depth);
        if (levels != w5_depth) {
            fail("W5: depth " + std::to_string(levels));
        }
    }
}

// W6: a socketpair ping-pong, one byte each way, n round trips (async_write + async_read_some).
awaitable<void> w6_echo(asio::local::stream_protocol::socket& s, std::int64_t n) {
    char b = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        const std::size_t got = co_await s.async_read_some(asio::buffer(&b, 1), use_awaitable);
        if (got != 1) {
            fail("W6: peer closed early");
        }
        co_await asio::async_write(s, asio::buffer(&b, 1), use_awaitable);
    }
}

awaitable<void> w6(std::int64_t n) {
    auto ex = co_await asio::this_coro::executor;
    asio::local::stream_protocol::socket a(ex);
    asio::local::stream_protocol::socket b(ex);
    asio::local::connect_pair(a, b);
    bool echo_done = false;
    asio::co_spawn(ex, w6_echo(b, n), [&](std::exception_ptr e) {
        if (e) {
            std::rethrow_exception(e);
        }
        echo_done = true;
    });
    std::int64_t trips = 0;
    char r = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        co_await asio::async_write(a, asio::buffer("x", 1), use_awaitable);
        const std::size_t got = co_await a.async_read_some(asio::buffer(&r, 1), use_awaitable);
        trips += got == 1 && r == 'x' ? 1 : 0;
    }
    if (trips != n) {
        fail("W6: " + std::to_string(trips) + " round trips");
    }
    // The echo task finishes after its last write: let it return before the sockets go.
    while (!echo_done) {
        co_await asio::post(ex, use_awaitable);
    }
}

awaitable<void> workload(std::string_view name, std::int64_t n, bool nb) {
    if (nb && name != "W3-1p1c" && name != "W3-4p4c") {
        fail("--nb applies to W3 only");
    }
    if (name == "W1") {
        return w1(n);
    }
    if (name == "W2") {
        return w2(n);
    }
    if (name == "W3-1p1c") {
        return w3(n, 1, nb);
    }
    if (name == "W3-4p4c") {
        return w3(n, 4, nb);
    }
    if (name == "W4") {
        return w4(n);
    }
    if (name == "W5") {
        return w5(n);
    }
    if (name == "W6") {
        return w6(n);
    }
    fail("unknown workload " + std::string(name));
}

} // namespace

int main(int argc, char** argv) {
    const bool nb = argc == 4 && std::string_view(argv[3]) == "--nb";
    if (argc != 3 && !nb) {
        fail("usage: asio_peer {W1,W2,W3-1p1c,W3-4p4c,W4,W5,W6} N [--nb]");
    }
    const std::string_view name = argv[1];
    const std::int64_t n = std::strtoll(argv[2], nullptr, 10);
    if (n <= 0) {
        fail("N must be positive");
    }
    const auto start = std::chrono::steady_clock::now();
    std::exception_ptr error;
    bool finished = false;
    {
        asio::io_context ctx(1);
        asio::co_spawn(ctx, workload(name, n, nb), [&](std::exception_ptr e) {
            error = e;
            finished = true;
        });
        ctx.run();
    }
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (error) {
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            fail(std::string(name) + " threw: " + e.what());
        }
    }
    if (!finished) {
        fail(std::string(name) + " did not finish");
    }
    const double work = name == "W4" ? wall - static_cast<double>(w4_max_delay_ns) * 1e-9 : wall;
    std::printf("%s %s N=%lld total_s=%.6f ns_per_op=%.1f\n", nb ? "asio-nb" : "asio", argv[1],
                static_cast<long long>(n), wall, work * 1e9 / static_cast<double>(n));
    return 0;
}
