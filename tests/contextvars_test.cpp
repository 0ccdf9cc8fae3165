// SPDX-License-Identifier: MIT
// Tests for contextvars.hpp: context_var, tokens, contexts, and how tasks and callbacks inherit
// them. The CPython twin is tests/py/contextvars_semantics.py (its output: .expected beside it).

#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <asyncio/asyncio.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

using asyncio::testing::run_virtual;

namespace {

asyncio::context_var<std::string> request_id("request_id");
asyncio::context_var<int> counter("counter", 7);

// Records what it sees, sets its own value, and checks it after a switch.
asyncio::task<void> child(int n, std::vector<std::string>* seen) {
    seen->push_back("child " + std::to_string(n) + " sees " + request_id.get("unset"));
    request_id.set("child" + std::to_string(n));
    co_await asyncio::sleep(0ms);
    seen->push_back("child " + std::to_string(n) + " after sleep " + request_id.get());
}

} // namespace

TEST_CASE("context_var: get without a value raises lookup_error, defaults apply in order",
          "[contextvars]") {
    asyncio::context_var<int> var("var");
    // py: get unset, no default -> LookupError: <ContextVar name='var'
    CHECK_THROWS_MATCHES(var.get(), asyncio::lookup_error,
                         Catch::Matchers::Message("<ContextVar name='var'>"));
    // py: get unset, default arg -> 5 ; get var default -> 7 ; get var default, arg wins -> 9
    CHECK(var.get(5) == 5);
    CHECK(counter.get() == 7);
    CHECK(counter.get(9) == 9);
}

TEST_CASE("context_var: set returns a token whose reset restores the old value or its absence",
          "[contextvars]") {
    asyncio::context_var<int> var("var");
    auto t = var.set(1);
    // py: token.old_value is MISSING -> True ; token.var is var -> True
    CHECK_FALSE(t.old_value().has_value());
    CHECK(&t.var() == &var);
    auto t2 = var.set(2);
    // py: old_value -> 1 ; after reset -> 1
    CHECK(t2.old_value() == 1);
    var.reset(t2);
    CHECK(var.get() == 1);
    // py: reset twice -> RuntimeError: <Token used var=<ContextVar name='var'
    CHECK_THROWS_MATCHES(
        var.reset(t2), std::runtime_error,
        Catch::Matchers::Message(
            "<Token used var=<ContextVar name='var'>> has already been used once"));
    var.reset(t);
    // py: reset to missing -> 'none'
    CHECK(var.get(-1) == -1);
}

TEST_CASE("context_var: reset refuses a token of another variable or another context",
          "[contextvars]") {
    asyncio::context_var<int> var("var");
    asyncio::context_var<int> other("other");
    auto t = var.set(1);
    // py: reset with other var's token -> ValueError: <Token var=<ContextVar name='var'
    CHECK_THROWS_MATCHES(
        other.reset(t), std::invalid_argument,
        Catch::Matchers::Message("<Token var=<ContextVar name='var'>> was created by a different "
                                 "ContextVar"));
    asyncio::context ctx = asyncio::copy_context();
    auto t3 = ctx.run([&] { return var.set(3); });
    // py: reset token of another context -> ValueError: <Token var=<ContextVar name='var'
    CHECK_THROWS_MATCHES(
        var.reset(t3), std::invalid_argument,
        Catch::Matchers::Message("<Token var=<ContextVar name='var'>> was created in a different "
                                 "Context"));
    // py: other context keeps its value -> 3 ; copy not affected -> 1
    CHECK(var.get_in(ctx) == 3);
    CHECK(var.get() == 1);
    // py: ctx len/contains -> (1, True, False)
    CHECK(ctx.size() == 1);
    CHECK_FALSE(other.get_in(ctx).has_value());
    var.reset(t);
}

TEST_CASE("context: run inside itself raises, and a copy is independent of the original",
          "[contextvars]") {
    asyncio::context ctx;
    // py: run nested -> RuntimeError: cannot enter context: <_contextvars.Context object
    CHECK_THROWS_AS(ctx.run([&] { return ctx.run([] { return 0; }); }), std::runtime_error);
    asyncio::context_var<int> var("var");
    ctx.run([&] { var.set(1); });
    asyncio::context copy = ctx.run([] { return asyncio::copy_context(); });
    copy.run([&] { var.set(2); });
    CHECK(var.get_in(ctx) == 1);
    CHECK(var.get_in(copy) == 2);
    CHECK_FALSE(var.get_in(asyncio::context()).has_value());
}

TEST_CASE("context_var: each thread has its own current context", "[contextvars][threads]") {
    asyncio::context_var<int> var("var");
    auto t = var.set(1);
    int seen = 0;
    std::thread th([&] {
        seen = var.get(-1);
        var.set(2); // kept by the thread until it ends
    });
    th.join();
    CHECK(seen == -1);
    CHECK(var.get() == 1);
    var.reset(t);
}

TEST_CASE("contextvars: children of gather and task groups inherit the creator's context and "
          "their sets stay their own",
          "[contextvars]") {
    const auto seen = run_virtual([]() -> asyncio::task<std::vector<std::string>> {
        std::vector<std::string> s;
        request_id.set("main");
        co_await asyncio::gather(child(1, &s), child(2, &s));
        s.push_back("main after gather " + request_id.get());
        co_await asyncio::task_group::run([&](asyncio::task_group& g) -> asyncio::task<void> {
            (void)g.create_task(child(3, &s));
            co_return;
        });
        s.push_back("main after taskgroup " + request_id.get());
        co_return s;
    }());
    // py: (tests/py/contextvars_semantics.py, the asyncio part)
    const std::vector<std::string> expected{
        "child 1 sees main",          "child 2 sees main",        "child 1 after sleep child1",
        "child 2 after sleep child2", "main after gather main",   "child 3 sees main",
        "child 3 after sleep child3", "main after taskgroup main"};
    CHECK(seen == expected);
}

TEST_CASE("contextvars: a task copies its creator's context at create_task, not at its first step",
          "[contextvars]") {
    const auto seen = run_virtual([]() -> asyncio::task<std::vector<std::string>> {
        std::vector<std::string> s;
        request_id.set("before");
        auto t = asyncio::create_task(child(5, &s));
        request_id.set("after");
        co_await t;
        s.push_back("main " + request_id.get());
        co_return s;
    }());
    // py: child sees 5 before ; child after sleep 5 child5
    const std::vector<std::string> expected{"child 5 sees before", "child 5 after sleep child5",
                                            "main after"};
    CHECK(seen == expected);
}

TEST_CASE("contextvars: a task given a context runs in it and leaves its sets there",
          "[contextvars]") {
    const auto seen = run_virtual([]() -> asyncio::task<std::vector<std::string>> {
        std::vector<std::string> s;
        request_id.set("main");
        asyncio::context c = asyncio::copy_context();
        c.run([] { request_id.set("explicit"); });
        co_await asyncio::create_task(child(4, &s), c);
        // py: explicit context after task child4
        s.push_back("context after task " + request_id.get_in(c).value_or("?"));
        s.push_back("main " + request_id.get());
        co_return s;
    }());
    const std::vector<std::string> expected{"child 4 sees explicit", "child 4 after sleep child4",
                                            "context after task child4", "main main"};
    CHECK(seen == expected);
}

TEST_CASE("contextvars: callbacks run in a copy of the context current when they were scheduled",
          "[contextvars]") {
    const auto seen = run_virtual([]() -> asyncio::task<std::vector<std::string>> {
        std::vector<std::string> s;
        auto& loop = asyncio::get_running_loop();
        request_id.set("at call_soon");
        loop.call_soon([&] { s.push_back("call_soon sees " + request_id.get()); });
        request_id.set("later");
        auto done = loop.create_future<void>();
        loop.call_later(10ms, [&] {
            s.push_back("call_later sees " + request_id.get());
            request_id.set("cb");
            done.set_result();
        });
        co_await done;
        s.push_back("main after callback set " + request_id.get());
        const asyncio::context empty;
        loop.call_soon([&] { s.push_back("call_soon context= " + request_id.get("unset")); },
                       empty);
        loop.call_at(loop.time(), [&] { s.push_back("call_at sees " + request_id.get()); });
        co_await asyncio::sleep(0ms);
        co_await asyncio::sleep(0ms);
        co_return s;
    }());
    // py: call_soon sees at call_soon ; call_later sees later ; main after callback set later ;
    // py: call_soon context= unset
    const std::vector<std::string> expected{"call_soon sees at call_soon", "call_later sees later",
                                            "main after callback set later",
                                            "call_soon context= unset", "call_at sees later"};
    CHECK(seen == expected);
}

TEST_CASE("contextvars: done callbacks run in a copy of the context current at "
          "add_done_callback",
          "[contextvars]") {
    const auto seen = run_virtual([]() -> asyncio::task<std::vector<std::string>> {
        std::vector<std::string> s;
        auto fut = asyncio::get_running_loop().create_future<int>();
        request_id.set("at add_done_callback");
        fut.add_done_callback([&s] {
            s.push_back("callback sees " + request_id.get());
            request_id.set("set by callback");
        });
        request_id.set("later");
        fut.set_result(1);
        co_await asyncio::sleep(0ms);
        s.push_back("main " + request_id.get());
        co_return s;
    }());
    // py: done callback sees at add_done_callback ; main after done callback later
    CHECK(seen == std::vector<std::string>{"callback sees at add_done_callback", "main later"});
}

TEST_CASE("contextvars: a value set in main() before run is visible in the main task",
          "[contextvars]") {
    auto t = request_id.set("from main()");
    const std::string seen = run_virtual([]() -> asyncio::task<std::string> {
        request_id.set("inside"); // the main task's own copy
        co_return request_id.get();
    }());
    CHECK(seen == "inside");
    CHECK(request_id.get() == "from main()");
    request_id.reset(t);
    CHECK(request_id.get("unset") == "unset");
}

TEST_CASE("contextvars: a task whose creator had an empty context allocates none until it sets",
          "[contextvars]") {
    // Implementation property behind W1's cost: the copy of an empty context is a null pointer.
    const bool empty_until_set = run_virtual([]() -> asyncio::task<bool> {
        const bool before = asyncio::detail::current_context_ref() == nullptr;
        request_id.set("x");
        const bool after = asyncio::detail::current_context_ref() != nullptr;
        co_return before&& after;
    }());
    CHECK(empty_until_set);
}
