// SPDX-License-Identifier: MIT
// Tests for graph.hpp (CPython 3.14's capture_call_graph, format_call_graph, print_call_graph)
// and for the task promise's await_transform. Built twice: in asyncio_tests without
// ASYNCIO_CALL_GRAPH (graphs show tasks and who awaits whom, and only the frame asking for the
// current task's graph) and in asyncio_call_graph_tests with it (every suspended frame).

#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using asyncio::call_graph_options;
using asyncio::future_call_graph;
using asyncio::task;
using asyncio::task_ref;
using asyncio::testing::run_virtual;

namespace {

#if defined(ASYNCIO_CALL_GRAPH)
constexpr bool frames_recorded = true;
#else
constexpr bool frames_recorded = false;
#endif

// Ids, file names and line numbers differ between runs and between C++ and Python.
std::string masked(const std::string& text) {
    std::string s = std::regex_replace(text, std::regex("id=0x[0-9a-f]+"), "id=0x?");
    s = std::regex_replace(s, std::regex("File '[^']*'"), "File '?'");
    return std::regex_replace(s, std::regex("line [0-9]+"), "line ?");
}

std::vector<std::string> functions_of(const future_call_graph& g) {
    std::vector<std::string> out;
    for (const auto& e : g.call_stack) {
        out.push_back(e.function);
    }
    return out;
}

std::vector<std::string> names_of(const std::vector<future_call_graph>& gs) {
    std::vector<std::string> out;
    for (const auto& g : gs) {
        out.push_back(g.name);
    }
    return out;
}

[[maybe_unused]] std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

std::string read_all(std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string out;
    for (int c = std::fgetc(f); c != EOF; c = std::fgetc(f)) {
        out += static_cast<char>(c);
    }
    return out;
}

// --- the twin of tests/py/call_graph.py: names as there, so that only files and lines differ ---
namespace twin {

task<void> leaf(asyncio::future<void> fut) {
    co_await fut;
}
task<void> middle(asyncio::future<void> fut) {
    co_await leaf(fut);
}
task<void> worker(asyncio::future<void> fut) {
    co_await middle(fut);
}
task<void> group_child(asyncio::future<void> fut) {
    co_await fut;
}

task<void> reporter(asyncio::future<void> fut, std::string* out) {
    std::vector<task_ref> tasks = asyncio::all_tasks();
    std::sort(tasks.begin(), tasks.end(),
              [](const task_ref& a, const task_ref& b) { return a.get_name() < b.get_name(); });
    for (const task_ref& t : tasks) {
        *out += asyncio::format_call_graph(t) + "\n";
    }
    fut.set_result();
    co_return;
}

task<void> body(asyncio::task_group& tg, asyncio::future<void> fut, std::string* out) {
    tg.create_task(group_child(fut));
    co_await asyncio::gather(worker(fut), reporter(fut, out));
}

task<void> main(std::string* out) {
    asyncio::future<void> fut = asyncio::get_running_loop().create_future<void>();
    // asyncio::task_group::run runs the body in a coroutine of its own, run_body: the twin's
    // run_body helper mirrors it (a plain lambda returning body's task adds no frame).
    co_await asyncio::task_group::run([&](asyncio::task_group& tg) { return body(tg, fut, out); });
}

} // namespace twin

// a -> b -> c, inline; c reports its own graph (depth/limit), or waits for `release`.
struct chain {
    asyncio::future<void> release;
    std::vector<future_call_graph> graphs;
    std::vector<call_graph_options> asks;
    int capture_line = 0;
};

task<void> chain_c(chain* ch) {
    for (const call_graph_options& o : ch->asks) {
        // clang-format off
        ch->capture_line = __LINE__; ch->graphs.push_back(*asyncio::capture_call_graph(o));
        // clang-format on
    }
    if (ch->release) {
        co_await ch->release;
    }
}
task<void> chain_b(chain* ch) {
    co_await chain_c(ch);
}
task<void> chain_a(chain* ch) {
    co_await chain_b(ch);
}

task<int> wait_for_future(asyncio::future<void> f) {
    co_await f;
    co_return 1;
}

task<void> await_handle(asyncio::task_handle<int> h) {
    (void)co_await h;
}

} // namespace

TEST_CASE("call graph: a task group with a gather and an inline chain prints as CPython 3.14 "
          "prints it") {
    std::string out;
    run_virtual(twin::main(&out));
    if constexpr (frames_recorded) {
        // py: tests/py/call_graph.py, whose output (tests/py/call_graph.expected) was written by
        // reading CPython 3.14's graph.py, tasks.py and taskgroups.py (see the script).
        std::string here = __FILE__;
        std::ifstream in(here.substr(0, here.find_last_of("/\\") + 1) + "py/call_graph.expected");
        REQUIRE(in);
        std::stringstream want;
        want << in.rdbuf();
        std::vector<std::string> expected = lines_of(masked(want.str()));
        REQUIRE(expected.front() == "@3.14+");
        expected.erase(expected.begin());
        const std::vector<std::string> got = lines_of(masked(out));
        REQUIRE(got.size() == expected.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
            INFO("line " << i + 1);
            CHECK(got[i] == expected[i]);
        }
    } else {
        // Without ASYNCIO_CALL_GRAPH: the same tasks and awaiters, and only the current task's
        // innermost frame (where format_call_graph was called).
        CHECK(masked(out) == "* Task(name='Task-1', id=0x?)\n"
                             "* Task(name='Task-2', id=0x?)\n"
                             "  + Awaited by:\n"
                             "    * Task(name='Task-1', id=0x?)\n"
                             "* Task(name='Task-3', id=0x?)\n"
                             "  + Awaited by:\n"
                             "    * Task(name='Task-1', id=0x?)\n"
                             "* Task(name='Task-4', id=0x?)\n"
                             "  + Call stack:\n"
                             "  |   File '?', line ?, in async reporter()\n"
                             "  + Awaited by:\n"
                             "    * Task(name='Task-1', id=0x?)\n");
    }
}

TEST_CASE("call graph: the current task's graph starts where capture_call_graph is called") {
    run_virtual([]() -> task<void> {
        const int line = __LINE__ + 1;
        const auto g = asyncio::capture_call_graph();
        REQUIRE(g);
        CHECK(g->is_task);
        CHECK(g->name == "Task-1");
        CHECK(g->task == asyncio::current_task());
        REQUIRE(g->call_stack.size() == 1);
        CHECK(g->call_stack[0].function == "operator()");
        CHECK(g->call_stack[0].line == line);
        CHECK(g->call_stack[0].file.find("call_graph_test.cpp") != std::string::npos);
        CHECK(g->awaited_by.empty());
        co_return;
    }());
}

TEST_CASE("call graph: depth skips frames of the current task and limit keeps outermost or "
          "innermost entries") {
    chain ch;
    // Without recorded frames only the innermost is known: depth 3 and 4 would be too deep.
    const int d3 = frames_recorded ? 3 : 2;
    const int d4 = frames_recorded ? 4 : 2;
    ch.asks = {{},
               {.depth = 2, .limit = std::nullopt},
               {.depth = d3, .limit = std::nullopt},
               {.depth = d4, .limit = std::nullopt},
               {.limit = 2},
               {.limit = -2},
               {.limit = 0}};
    run_virtual(chain_a(&ch));
    REQUIRE(ch.graphs.size() == 7);
    using v = std::vector<std::string>;
    const v c{"chain_c"};
    if constexpr (frames_recorded) {
        // py: graph.py: sys._getframe(depth) then f_back up to the task's coroutine; a positive
        // limit keeps call_stack[-limit:] of that innermost-first list (the outermost entries).
        CHECK(functions_of(ch.graphs[0]) == v{"chain_c", "chain_b", "chain_a"});
        CHECK(ch.graphs[0].call_stack[0].line == ch.capture_line);
        CHECK(functions_of(ch.graphs[1]) == v{"chain_b", "chain_a"});
        CHECK(functions_of(ch.graphs[2]) == v{"chain_a"});
        CHECK(functions_of(ch.graphs[3]).empty());
        CHECK(functions_of(ch.graphs[4]) == v{"chain_b", "chain_a"});
        CHECK(functions_of(ch.graphs[5]) == v{"chain_c", "chain_b"});
    } else {
        CHECK(functions_of(ch.graphs[0]) == c);
        CHECK(functions_of(ch.graphs[1]).empty());
        CHECK(functions_of(ch.graphs[4]) == c);
        CHECK(functions_of(ch.graphs[5]) == c);
    }
    CHECK(functions_of(ch.graphs[6]).empty());
}

TEST_CASE("call graph: a depth below 1 or beyond the known frames raises invalid_argument") {
    chain ch;
    const int too_deep = frames_recorded ? 5 : 3;
    ch.asks = {{.depth = too_deep, .limit = std::nullopt}};
    CHECK_THROWS_MATCHES(run_virtual(chain_a(&ch)), std::invalid_argument,
                         Catch::Message("call stack is not deep enough"));
    chain zero;
    zero.asks = {{.depth = 0, .limit = std::nullopt}};
    CHECK_THROWS_MATCHES(run_virtual(chain_a(&zero)), std::invalid_argument,
                         Catch::Message("depth must be at least 1"));
    chain negative;
    negative.asks = {{.depth = -1, .limit = std::nullopt}};
    CHECK_THROWS_AS(run_virtual(chain_a(&negative)), std::invalid_argument);
}

TEST_CASE("call graph: a suspended task shows its chain and limit applies to each call stack") {
    run_virtual([]() -> task<void> {
        chain ch;
        ch.release = asyncio::get_running_loop().create_future<void>();
        auto t = asyncio::create_task(chain_a(&ch), "chained");
        co_await asyncio::sleep(0s);
        using v = std::vector<std::string>;
        const auto g = asyncio::capture_call_graph(t);
        CHECK(g.name == "chained");
        CHECK(g.awaited_by.empty());
        const auto outer = asyncio::capture_call_graph(t, {.limit = 1});
        const auto inner = asyncio::capture_call_graph(t, {.limit = -1});
        if constexpr (frames_recorded) {
            CHECK(functions_of(g) == v{"chain_c", "chain_b", "chain_a"});
            CHECK(functions_of(outer) == v{"chain_a"});
            CHECK(functions_of(inner) == v{"chain_c"});
        } else {
            CHECK(g.call_stack.empty());
        }
        ch.release.set_result();
        co_await t;
        // A finished task has no call stack.
        CHECK(asyncio::capture_call_graph(t).call_stack.empty());
    }());
}

namespace {

asyncio::async_generator<int> gen_waiting(asyncio::future<void> f) {
    co_yield co_await wait_for_future(f);
}

task<void> consume(asyncio::future<void> f, asyncio::future<void> then, int* got) {
    auto gen = gen_waiting(f);
    while (auto item = co_await gen.next()) {
        *got += *item;
    }
    co_await then;
}

} // namespace

TEST_CASE("call graph: a task awaited inside an async generator shows the coroutine iterating it") {
    run_virtual([]() -> task<void> {
        auto f = asyncio::get_running_loop().create_future<void>();
        auto then = asyncio::get_running_loop().create_future<void>();
        int got = 0;
        auto t = asyncio::create_task(consume(f, then, &got), "consumer");
        co_await asyncio::sleep(0s);
        using v = std::vector<std::string>;
        const v inside = frames_recorded ? v{"wait_for_future", "consume"} : v{};
        CHECK(functions_of(asyncio::capture_call_graph(t)) == inside);
        f.set_result();
        co_await asyncio::sleep(0s);
        co_await asyncio::sleep(0s);
        // The generator's task is over: the chain is the consumer's own coroutine again.
        const v after = frames_recorded ? v{"consume"} : v{};
        CHECK(functions_of(asyncio::capture_call_graph(t)) == after);
        then.set_result();
        co_await t;
        CHECK(got == 1);
    }());
}

TEST_CASE("call graph: a task awaited by two tasks lists both in the order they awaited") {
    run_virtual([]() -> task<void> {
        auto f = asyncio::get_running_loop().create_future<void>();
        auto inner = asyncio::create_task(wait_for_future(f), "inner");
        auto first = asyncio::create_task(await_handle(inner), "first");
        auto second = asyncio::create_task(await_handle(inner), "second");
        co_await asyncio::sleep(0s);
        const auto g = asyncio::capture_call_graph(inner, {.limit = 0});
        CHECK(g.call_stack.empty());
        CHECK(names_of(g.awaited_by) == std::vector<std::string>{"first", "second"});
        // The future those wait for, as CPython prints a Future.
        const std::string text = masked(asyncio::format_call_graph(f, {.limit = 0}));
        CHECK(text == "* Future(id=0x?)\n"
                      "  + Awaited by:\n"
                      "    * Task(name='inner', id=0x?)\n"
                      "      + Awaited by:\n"
                      "        * Task(name='first', id=0x?)\n"
                      "        * Task(name='second', id=0x?)");
        f.set_result();
        co_await first;
        co_await second;
    }());
}

TEST_CASE("call graph: gather children and task group children are awaited by the task that "
          "awaits the gather or hosts the group") {
    run_virtual([]() -> task<void> {
        auto f = asyncio::get_running_loop().create_future<void>();
        std::vector<std::string> seen;
        auto host = asyncio::create_task(
            asyncio::task_group::run([&](asyncio::task_group& tg) -> task<void> {
                tg.create_task(wait_for_future(f), "group-child");
                co_await asyncio::gather(wait_for_future(f), wait_for_future(f));
            }),
            "host");
        co_await asyncio::sleep(0s);
        for (const task_ref& t : asyncio::all_tasks()) {
            if (t == host || t == asyncio::current_task()) {
                continue;
            }
            const auto g = asyncio::capture_call_graph(t);
            REQUIRE(g.awaited_by.size() == 1);
            CHECK(g.awaited_by[0].name == "host");
            seen.push_back(g.name);
        }
        CHECK(seen.size() == 3);
        f.set_result();
        co_await host;
        // Done: nobody waits any more.
        CHECK(asyncio::capture_call_graph(host).awaited_by.empty());
    }());
}

TEST_CASE("call graph: tasks awaiting each other in a cycle are listed once and not expanded") {
    // The two tasks never finish, and cancelling either would cancel the other in turn without
    // end: the loop is destroyed with them pending instead (its handler hears about both).
    // Declared before the loop, which reports the two pending tasks to `reports` as it dies.
    std::vector<std::string> reports;
    asyncio::task_handle<void> a;
    asyncio::task_handle<void> b;
    auto wait_on = [](asyncio::task_handle<void>* other) -> task<void> {
        co_await asyncio::sleep(0s);
        co_await *other;
    };
    asyncio::event_loop loop(asyncio::clock_kind::virtual_time);
    loop.set_exception_handler([&](asyncio::event_loop&, const asyncio::exception_context& c) {
        reports.push_back(c.message);
    });
    std::string text;
    loop.run_until_complete([&]() -> task<void> {
        a = asyncio::create_task(wait_on(&b), "a");
        b = asyncio::create_task(wait_on(&a), "b");
        co_await asyncio::sleep(0s);
        co_await asyncio::sleep(0s);
        text = masked(asyncio::format_call_graph(a, {.limit = 0}));
    }());
    CHECK(text == "* Task(name='a', id=0x?)\n"
                  "  + Awaited by:\n"
                  "    * Task(name='b', id=0x?)\n"
                  "      + Awaited by:\n"
                  "        * Task(name='a', id=0x?)");
}

TEST_CASE("call graph: without a current task the graph is empty and outside a loop an error") {
    CHECK_THROWS_MATCHES(asyncio::capture_call_graph(), std::runtime_error,
                         Catch::Message("capture_call_graph() is called outside of a running "
                                        "event loop and no *future* to introspect was provided"));
    run_virtual([]() -> task<void> {
        bool ran = false;
        std::string text = "unset";
        asyncio::get_running_loop().call_soon([&] {
            ran = !asyncio::capture_call_graph().has_value();
            text = asyncio::format_call_graph();
        });
        co_await asyncio::sleep(0s);
        CHECK(ran);
        CHECK(text.empty());
        CHECK_THROWS_AS(asyncio::capture_call_graph(task_ref{}), asyncio::invalid_state_error);
    }());
}

TEST_CASE("call graph: print_call_graph writes the text and a newline and the dump every task") {
    run_virtual([]() -> task<void> {
        std::FILE* f = std::tmpfile();
        REQUIRE(f != nullptr);
        asyncio::print_call_graph(f);
        auto release = asyncio::get_running_loop().create_future<void>();
        auto other = asyncio::create_task(wait_for_future(release), "sleeper");
        co_await asyncio::sleep(0s);
        asyncio::print_all_call_graphs(f);
        const std::string text = masked(read_all(f));
        std::fclose(f);
        const std::string self = "* Task(name='Task-1', id=0x?)\n"
                                 "  + Call stack:\n"
                                 "  |   File '?', line ?, in async operator()()\n";
        const std::string sleeper = frames_recorded
                                        ? "* Task(name='sleeper', id=0x?)\n"
                                          "  + Call stack:\n"
                                          "  |   File '?', line ?, in async wait_for_future()\n"
                                        : "* Task(name='sleeper', id=0x?)\n";
        CHECK(text == self + self + "\n" + sleeper + "\n");
        release.set_result();
        co_await other;
    }());
}

TEST_CASE("call graph: dump_call_graphs_on_signal prints every task's graph on SIGUSR1",
          "[signals]") {
    struct sigaction saved{};
    REQUIRE(::sigaction(SIGUSR1, nullptr, &saved) == 0);
    run_virtual([]() -> task<void> {
        std::FILE* f = std::tmpfile();
        REQUIRE(f != nullptr);
        asyncio::dump_call_graphs_on_signal(SIGUSR1, f);
        auto waiter = asyncio::get_running_loop().create_future<void>();
        auto stuck = asyncio::create_task(wait_for_future(waiter), "stuck");
        co_await asyncio::sleep(0s);
        std::raise(SIGUSR1);
        for (int i = 0; i < 10 && std::ftell(f) == 0; ++i) {
            co_await asyncio::sleep(0s);
        }
        const std::string text = masked(read_all(f));
        std::fclose(f);
        asyncio::get_running_loop().remove_signal_handler(SIGUSR1);
        const std::string main_graph = frames_recorded
                                           ? "* Task(name='Task-1', id=0x?)\n"
                                             "  + Call stack:\n"
                                             "  |   File '?', line ?, in async operator()()\n"
                                           : "* Task(name='Task-1', id=0x?)\n";
        const std::string stuck_graph = frames_recorded
                                            ? "* Task(name='stuck', id=0x?)\n"
                                              "  + Call stack:\n"
                                              "  |   File '?', line ?, in async wait_for_future()\n"
                                            : "* Task(name='stuck', id=0x?)\n";
        CHECK(text == "asyncio-cpp: signal " + std::to_string(SIGUSR1) +
                          ": call graphs of the 2 pending tasks\n\n" + main_graph + "\n" +
                          stuck_graph + "\n");
        waiter.set_result();
        co_await stuck;
    }());
    ::sigaction(SIGUSR1, &saved, nullptr);
}

namespace {

// Counts the copies and moves of an awaiter: await_transform must hand the operand on as is.
struct counted_awaiter {
    int* copies;
    explicit counted_awaiter(int* c) noexcept : copies(c) {}
    counted_awaiter(const counted_awaiter& o) noexcept : copies(o.copies) { ++*copies; }
    counted_awaiter(counted_awaiter&& o) noexcept : copies(o.copies) { ++*copies; }
    counted_awaiter& operator=(const counted_awaiter&) = delete;
    counted_awaiter& operator=(counted_awaiter&&) = delete;
    ~counted_awaiter() = default;
    [[nodiscard]] bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    [[nodiscard]] int await_resume() const noexcept { return 7; }
};

struct member_co_await {
    int value;
    auto operator co_await() const& noexcept { return std::suspend_never{}; }
    // Only an rvalue's co_await gives the value: the operand's value category must survive.
    struct give {
        int v;
        [[nodiscard]] bool await_ready() const noexcept { return true; }
        void await_suspend(std::coroutine_handle<>) const noexcept {}
        [[nodiscard]] int await_resume() const noexcept { return v; }
    };
    give operator co_await() && noexcept { return give{value}; }
};

struct free_co_await {
    int value;
};
member_co_await::give operator co_await(free_co_await f) noexcept {
    return member_co_await::give{f.value};
}

} // namespace

TEST_CASE("call graph: co_await in a task still works on every kind of awaitable with no copy") {
    run_virtual([]() -> task<void> {
        int copies = 0;
        const int from_prvalue = co_await counted_awaiter(&copies);
        counted_awaiter lvalue(&copies);
        const int from_lvalue = co_await lvalue;
        const counted_awaiter& cref = lvalue;
        const int from_const = co_await cref;
        CHECK(from_prvalue + from_lvalue + from_const == 21);
        CHECK(copies == 0);
        const int member = co_await member_co_await{3};
        CHECK(member == 3);
        free_co_await free{4};
        const int from_free_lvalue = co_await free;
        const int from_free_prvalue = co_await free_co_await{5};
        CHECK(from_free_lvalue == 4);
        CHECK(from_free_prvalue == 5);
    }());
}
