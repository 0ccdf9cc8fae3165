// SPDX-License-Identifier: MIT
// shield, wait and as_completed (asyncio.shield, asyncio.wait, asyncio.as_completed).
#pragma once

#include <asyncio/awaitable.hpp>
#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/future.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/queue.hpp>
#include <asyncio/task.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace asyncio {

namespace detail {

/// A task_handle<T> or a future<T>: what wait and as_completed watch.
template <class H> inline constexpr bool is_watchable = false;
template <class T> inline constexpr bool is_watchable<task_handle<T>> = true;
template <class T> inline constexpr bool is_watchable<future<T>> = true;

/// What a range element becomes: handles and futures stay themselves, anything else awaitable
/// is spawned as a task (as CPython's ensure_future).
template <class A> auto to_watchable(A&& a, event_loop& loop) {
    if constexpr (is_watchable<std::remove_cvref_t<A>>) {
        return std::remove_cvref_t<A>(a);
    } else {
        return ensure_future(std::forward<A>(a), loop);
    }
}

/// The same for an element of a range: a lazy task in it is moved from (as gather does), a
/// handle or future copied.
template <class A> auto element_to_watchable(A& a, event_loop& loop) {
    if constexpr (is_watchable<std::remove_cv_t<A>>) {
        return std::remove_cv_t<A>(a);
    } else {
        return ensure_future(std::move(a), loop);
    }
}

template <class R>
using watchable_of_t = decltype(element_to_watchable(
    std::declval<std::remove_reference_t<std::ranges::range_reference_t<R>>&>(),
    std::declval<event_loop&>()));

/// The identity of a handle or future (duplicates collapse, as in CPython's set).
template <class H> const void* identity_of(const H& h) {
    return state_access::get(h).get();
}

/// The distinct elements of `r`, as handles or futures, in their first order.
template <class R> auto distinct_watchables(R&& r, event_loop& loop) {
    using H = watchable_of_t<R>;
    std::vector<H> out;
    std::unordered_set<const void*> seen;
    for (auto&& a : r) {
        H h = element_to_watchable(a, loop);
        if (!identity_of(h)) {
            throw invalid_state_error("an empty task_handle or future (default-constructed or "
                                      "moved-from) cannot be waited for");
        }
        if (seen.insert(identity_of(h)).second) {
            out.push_back(std::move(h));
        }
    }
    return out;
}

template <class R>
concept watchable_range =
    std::ranges::input_range<R> && awaitable<std::ranges::range_reference_t<R>>;

template <class H> void copy_outcome(H& inner, future<typename H::value_type>& outer) {
    using T = typename H::value_type;
    if (inner.cancelled()) {
        outer.cancel();
    } else if (std::exception_ptr e = inner.exception()) {
        outer.set_exception(e);
    } else if constexpr (std::is_void_v<T>) {
        outer.set_result();
    } else {
        outer.set_result(inner.result());
    }
}

} // namespace detail

/// asyncio.shield(aw): a future that completes as `aw` does, which cancelling does not propagate
/// into `aw`: cancelling the task awaiting the shield (or the returned future) cancels only the
/// future, and `aw` runs on (its result is then dropped, its exception marked retrieved).
/// Cancelling `aw` itself cancels the future. `aw` is a task_handle<T> or future<T>, or any other
/// awaitable, which then runs as a task. When `aw` is already done the future is returned done
/// (CPython returns `aw` itself). The awaiter resumes two iterations after `aw` finishes.
/// The result is copied from a handle or future the caller holds.
template <class A>
    requires awaitable<A>
[[nodiscard("co_await the shield")]] auto shield(A&& aw) {
    event_loop& loop = get_running_loop();
    auto inner = detail::to_watchable(std::forward<A>(aw), loop);
    using H = decltype(inner);
    using T = typename H::value_type;
    future<T> outer = loop.create_future<T>();
    if (inner.done()) {
        detail::copy_outcome(inner, outer);
        return outer;
    }
    // Each side's callback holds the other: inner's ends with inner, outer's with outer.
    const callback_id on_inner = inner.add_done_callback([outer](H& in) mutable {
        if (outer.cancelled()) {
            if (!in.cancelled()) {
                (void)in.exception(); // marks it retrieved
            }
            return;
        }
        detail::copy_outcome(in, outer);
    });
    outer.add_done_callback([inner, on_inner]() mutable {
        if (!inner.done()) {
            inner.remove_done_callback(on_inner);
        }
    });
    return outer;
}

/// asyncio.FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED.
enum class return_when { first_completed, first_exception, all_completed };
inline constexpr return_when first_completed = return_when::first_completed;
inline constexpr return_when first_exception = return_when::first_exception;
inline constexpr return_when all_completed = return_when::all_completed;

/// What wait returns: the handles or futures that are done and those still pending, each in input
/// order (CPython returns two sets; here the order is deterministic). `auto [done, pending] = ...`.
template <class H> struct wait_result {
    std::vector<H> done;
    std::vector<H> pending;
};

namespace detail {

template <class H>
task<wait_result<H>> wait_impl(std::vector<H> fs, return_when when,
                               std::optional<std::int64_t> timeout_ns) {
    event_loop& loop = get_running_loop();
    future<void> waiter = loop.create_future<void>();
    handle timeout_handle;
    if (timeout_ns) {
        timeout_handle = loop.call_later(std::chrono::nanoseconds(*timeout_ns), [waiter]() mutable {
            if (!waiter.done()) {
                waiter.set_result();
            }
        });
    }
    // Shared with the callbacks: one that is already scheduled when this coroutine ends still
    // runs after it (as CPython's closure keeps its counter).
    auto counter = std::make_shared<std::size_t>(fs.size());
    std::vector<callback_id> ids;
    ids.reserve(fs.size());
    auto on_completion = [counter, when, waiter, timeout_handle](H& f) mutable {
        --*counter;
        if (*counter == 0 || when == return_when::first_completed ||
            (when == return_when::first_exception && !f.cancelled() && f.exception())) {
            timeout_handle.cancel();
            if (!waiter.done()) {
                waiter.set_result();
            }
        }
    };
    struct cleanup {
        std::vector<H>& fs;
        std::vector<callback_id>& ids;
        handle& timeout_handle;
        ~cleanup() {
            timeout_handle.cancel();
            for (std::size_t i = 0; i < ids.size(); ++i) {
                fs[i].remove_done_callback(ids[i]);
            }
        }
    } guard{fs, ids, timeout_handle};
    for (H& f : fs) {
        ids.push_back(f.add_done_callback(on_completion));
    }
    co_await waiter;
    wait_result<H> out;
    for (H& f : fs) {
        (f.done() ? out.done : out.pending).push_back(f);
    }
    co_return out;
}

inline void check_return_when(return_when when) {
    if (when != return_when::first_completed && when != return_when::first_exception &&
        when != return_when::all_completed) {
        throw std::invalid_argument("Invalid return_when value: " +
                                    std::to_string(static_cast<int>(when)));
    }
}

} // namespace detail

/// asyncio.wait(fs, return_when=...): waits until every one (all_completed, the default), the
/// first one (first_completed) or the first to fail (first_exception; a cancellation does not
/// count) of the handles or futures in `fs` is done; duplicates count once. Never raises the
/// awaitables' exceptions and never cancels them. It always suspends, even when the condition
/// already holds, and resumes two iterations later, as in CPython. An empty range raises
/// std::invalid_argument("Set of Tasks/Futures is empty.").
template <detail::watchable_range R>
[[nodiscard("co_await the wait")]] auto wait(R&& fs, return_when when = all_completed) {
    detail::check_return_when(when);
    auto v = detail::distinct_watchables(std::forward<R>(fs), get_running_loop());
    if (v.empty()) {
        throw std::invalid_argument("Set of Tasks/Futures is empty.");
    }
    return detail::wait_impl(std::move(v), when, std::nullopt);
}

/// asyncio.wait(fs, timeout=..., return_when=...): the same, returning when `timeout` passes at
/// the latest (it never raises timeout_error).
template <detail::watchable_range R, class Rep, class Period>
[[nodiscard("co_await the wait")]] auto wait(R&& fs, std::chrono::duration<Rep, Period> timeout,
                                             return_when when = all_completed) {
    detail::check_return_when(when);
    auto v = detail::distinct_watchables(std::forward<R>(fs), get_running_loop());
    if (v.empty()) {
        throw std::invalid_argument("Set of Tasks/Futures is empty.");
    }
    return detail::wait_impl(std::move(v), when, detail::to_nanoseconds(timeout));
}

/// asyncio.as_completed(aws, timeout=...) (3.13): the handles or futures of `aws` (other
/// awaitables run as tasks; duplicates count once) in the order they complete.
///
///     auto ac = asyncio::as_completed(tasks);
///     while (auto t = co_await ac.next()) { use(t->result()); }   // async for t in as_completed
///     for (std::size_t i = 0; i < n; ++i) { use(co_await ac.next_result()); } // for aw in ...
///
/// `next()` gives the next completed handle (std::nullopt once all were given), as 3.13's
/// `async for` yields the original tasks; `next_result()` its result, or raises its exception, as
/// awaiting an element of the plain iteration does. When the timeout passes first, every
/// remaining `next()` raises timeout_error. Not copyable or movable; must not outlive its loop.
template <class H> class as_completed_iterator {
public:
    using value_type = typename H::value_type;

    as_completed_iterator(std::vector<H> todo, std::optional<std::int64_t> timeout_ns)
        : s_(std::make_shared<state>()) {
        event_loop& loop = get_running_loop();
        s_->todo = std::move(todo);
        s_->left = s_->pending = s_->todo.size();
        s_->ids.reserve(s_->todo.size());
        // The callbacks share the state: one already scheduled when the iterator goes still runs.
        for (H& f : s_->todo) {
            s_->ids.push_back(f.add_done_callback([st = s_](H& done) { st->on_completion(done); }));
        }
        if (!s_->todo.empty() && timeout_ns) {
            s_->timeout = loop.call_later(std::chrono::nanoseconds(*timeout_ns),
                                          [st = s_] { st->on_timeout(); });
        }
    }
    as_completed_iterator(const as_completed_iterator&) = delete;
    as_completed_iterator& operator=(const as_completed_iterator&) = delete;
    ~as_completed_iterator() { s_->detach(); }

    /// How many handles or futures are still to be given.
    [[nodiscard]] std::size_t remaining() const noexcept { return s_->left; }

    /// The next handle or future to complete; std::nullopt once every one was given.
    [[nodiscard("co_await the next")]] task<std::optional<H>> next() {
        std::shared_ptr<state> st = s_;
        if (st->left == 0) {
            co_return std::nullopt;
        }
        --st->left;
        std::optional<H> f = co_await st->done.get();
        if (!f) {
            throw timeout_error("");
        }
        co_return f;
    }

    /// The next completed awaitable's result (or its exception); std::runtime_error once none is
    /// left (Python's StopIteration).
    [[nodiscard("co_await the next result")]] task<value_type> next_result() {
        if (s_->left == 0) {
            throw std::runtime_error("as_completed: no awaitable left");
        }
        std::optional<H> f = co_await next();
        if constexpr (std::is_void_v<value_type>) {
            f->result();
        } else {
            co_return f->result();
        }
    }

private:
    struct state {
        std::vector<H> todo;
        std::vector<callback_id> ids;
        queue<std::optional<H>> done;
        handle timeout;
        std::size_t left = 0;
        std::size_t pending = 0;

        void on_completion(H& f) {
            if (pending == 0) {
                return; // the timeout came first
            }
            --pending;
            done.put_nowait(f);
            if (pending == 0) {
                timeout.cancel();
                timeout = handle();
            }
        }

        void on_timeout() {
            detach();
            for (; pending > 0; --pending) {
                done.put_nowait(std::nullopt); // each remaining next() raises timeout_error
            }
        }

        // Drops the callbacks that have not fired and the timeout, which all hold the state.
        void detach() noexcept {
            timeout.cancel();
            timeout = handle();
            for (std::size_t i = 0; i < ids.size(); ++i) {
                if (!todo[i].done()) {
                    todo[i].remove_done_callback(ids[i]);
                }
            }
            ids.clear();
        }
    };

    std::shared_ptr<state> s_;
};

/// asyncio.as_completed(aws): see as_completed_iterator.
template <detail::watchable_range R>
[[nodiscard]] as_completed_iterator<detail::watchable_of_t<R>> as_completed(R&& aws) {
    return {detail::distinct_watchables(std::forward<R>(aws), get_running_loop()), std::nullopt};
}

/// asyncio.as_completed(aws, timeout=...): see as_completed_iterator.
template <detail::watchable_range R, class Rep, class Period>
[[nodiscard]] as_completed_iterator<detail::watchable_of_t<R>>
as_completed(R&& aws, std::chrono::duration<Rep, Period> timeout) {
    return {detail::distinct_watchables(std::forward<R>(aws), get_running_loop()),
            detail::to_nanoseconds(timeout)};
}

} // namespace asyncio
