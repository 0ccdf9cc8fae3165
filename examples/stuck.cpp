// SPDX-License-Identifier: MIT
// stuck: a program that hangs, and what the task dump on SIGUSR1 shows about it. Two tasks of a
// task group each wait for the other's message before sending their own, so neither ever runs
// again; a watchdog notices, sends the process SIGUSR1 (what `kill -USR1 <pid>` would do to a live
// server), and the dump of every task's call graph names where each one waits and who awaits it.
// Then the watchdog cancels the two, and the program ends.
//
//   stuck [--virtual-time]
//
// The dump is the one-line asyncio::dump_call_graphs_on_signal(); it writes to stderr unless told
// otherwise (here stdout, so that the CTest test can read it). --virtual-time runs the loop on a
// virtual clock (the watchdog's second passes at once).

// Record where every co_await of a task is, so that the dump lists each task's frames. Every
// translation unit of a program must agree on it (this program has only one).
#define ASYNCIO_CALL_GRAPH 1

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct mailboxes {
    asyncio::queue<std::string> to_ping;
    asyncio::queue<std::string> to_pong;
};

// Each waits for the other's message first: neither ever sends.
asyncio::task<void> ping(mailboxes& m) {
    std::string msg = co_await m.to_ping.get();
    co_await m.to_pong.put("ping, after " + msg);
}

asyncio::task<void> pong(mailboxes& m) {
    std::string msg = co_await m.to_pong.get();
    co_await m.to_ping.put("pong, after " + msg);
}

asyncio::task<void> exchange(mailboxes& m, std::vector<asyncio::task_ref>& players) {
    co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<void> {
        players.push_back(tg.create_task(ping(m), "ping"));
        players.push_back(tg.create_task(pong(m), "pong"));
        co_return;
    });
}

asyncio::task<void> watchdog(std::vector<asyncio::task_ref>& players) {
    co_await asyncio::sleep(1s);
    std::puts("no progress for a second: sending SIGUSR1 to myself");
    std::fflush(stdout);
    std::raise(SIGUSR1);
    co_await asyncio::sleep(10ms); // the dump runs in one of the loop's next iterations
    for (asyncio::task_ref& t : players) {
        t.cancel();
    }
}

asyncio::task<void> amain() {
    asyncio::dump_call_graphs_on_signal(SIGUSR1, stdout);
    mailboxes m;
    std::vector<asyncio::task_ref> players;
    auto dog = asyncio::create_task(watchdog(players), "watchdog");
    co_await exchange(m, players);
    co_await dog;
    std::puts("both cancelled: the program ends");
}

} // namespace

int main(int argc, char** argv) {
    asyncio::run_options opts;
    for (int k = 1; k < argc; ++k) {
        if (std::strcmp(argv[k], "--virtual-time") == 0) {
            opts.clock = asyncio::clock_kind::virtual_time;
        } else {
            std::fprintf(stderr, "usage: stuck [--virtual-time]\n");
            return 2;
        }
    }
    asyncio::run(amain(), std::move(opts));
}
