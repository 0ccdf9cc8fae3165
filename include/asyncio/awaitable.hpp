// SPDX-License-Identifier: MIT
// The awaitable concepts, the result type of an await, and ensure_future and create_task for
// any awaitable.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/future.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/task.hpp>

#include <concepts>
#include <string>
#include <type_traits>
#include <utility>

namespace asyncio {

/// An awaiter: what `co_await` works on once operator co_await, if any, was applied. Only
/// await_ready and await_resume are checked: await_suspend takes the awaiting coroutine's handle,
/// whose promise type the concept cannot know.
template <class A>
concept awaiter = requires(A& a) {
    { a.await_ready() } -> std::convertible_to<bool>;
    a.await_resume();
};

namespace detail {

/// The awaiter `co_await aw` would use (member or free operator co_await, or `aw` itself).
template <class Aw> decltype(auto) get_awaiter(Aw&& aw) {
    if constexpr (requires { std::forward<Aw>(aw).operator co_await(); }) {
        return std::forward<Aw>(aw).operator co_await();
    } else if constexpr (requires { operator co_await(std::forward<Aw>(aw)); }) {
        return operator co_await(std::forward<Aw>(aw));
    } else {
        return std::forward<Aw>(aw);
    }
}

} // namespace detail

/// Something an asyncio-cpp coroutine can `co_await` (Python's awaitable): a task<T>, a
/// task_handle<T>, a future<T>, sleep(...), gather(...), a queue operation, or any type with
/// await_ready/await_suspend/await_resume or an operator co_await giving such an awaiter.
/// `A` is the type as it is awaited: `awaitable<task<int>&>` is about `co_await t` for an lvalue.
template <class A>
concept awaitable = requires(A&& a) {
    { detail::get_awaiter(std::forward<A>(a)) } -> awaiter;
};

/// What `co_await a` gives for an `A`.
template <awaitable A>
using await_result_t = decltype(detail::get_awaiter(std::declval<A>()).await_resume());

namespace detail {

/// Runs any other awaitable as a task, so combinators can treat every child alike.
template <class Aw> task<await_result_t<Aw>> await_as_task(Aw aw) {
    co_return co_await std::move(aw);
}

template <class A> inline constexpr bool is_future_like = false;
template <class T> inline constexpr bool is_future_like<task<T>> = true;
template <class T> inline constexpr bool is_future_like<task_handle<T>> = true;
template <class T> inline constexpr bool is_future_like<future<T>> = true;

} // namespace detail

/// asyncio.ensure_future for any other awaitable (a sleep, a gather, a queue operation, a type of
/// your own): moved into a task created on `loop`, as CPython wraps a coroutine. (Tasks, handles
/// and futures have their own overloads: a task<T> is spawned, a handle or future is returned.)
template <class A>
    requires(!detail::is_future_like<std::remove_cvref_t<A>>) && awaitable<A> &&
            std::move_constructible<std::remove_cvref_t<A>>
[[nodiscard]] task_handle<await_result_t<std::remove_cvref_t<A>>> ensure_future(A&& aw,
                                                                                event_loop& loop) {
    return loop.create_task(detail::await_as_task(std::remove_cvref_t<A>(std::forward<A>(aw))));
}

/// asyncio.create_task(b.wait()) for an awaitable that is not a task<T> (a barrier's or event's
/// wait, a lock's acquire, a sleep, a queue operation, a type of your own): it runs inside a task
/// made here, as CPython runs the coroutine those methods are. That wrapper is the frame the
/// awaitable itself does not allocate. Starts in the next iteration, like a task<T>.
template <class A>
    requires(!detail::is_future_like<std::remove_cvref_t<A>>) && awaitable<A> &&
            std::move_constructible<std::remove_cvref_t<A>>
task_handle<await_result_t<std::remove_cvref_t<A>>> create_task(A&& aw) {
    return get_running_loop().create_task(
        detail::await_as_task(std::remove_cvref_t<A>(std::forward<A>(aw))));
}
/// The same, named (an empty name gives the default "Task-<n>").
template <class A>
    requires(!detail::is_future_like<std::remove_cvref_t<A>>) && awaitable<A> &&
            std::move_constructible<std::remove_cvref_t<A>>
task_handle<await_result_t<std::remove_cvref_t<A>>> create_task(A&& aw, std::string name) {
    return get_running_loop().create_task(
        detail::await_as_task(std::remove_cvref_t<A>(std::forward<A>(aw))), std::move(name));
}

} // namespace asyncio
