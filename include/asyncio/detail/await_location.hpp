// SPDX-License-Identifier: MIT
// What the task promise's await_transform returns when ASYNCIO_CALL_GRAPH records co_await
// locations: the operand's awaiter, referred to rather than copied.
#pragma once

#include <asyncio/config.hpp>

#include <coroutine>
#include <type_traits>
#include <utility>

namespace asyncio::detail {

template <class A>
concept has_member_co_await = requires(A&& a) { static_cast<A&&>(a).operator co_await(); };
template <class A>
concept has_free_co_await = requires(A&& a) { operator co_await(static_cast<A&&>(a)); };

/// Stands for the awaiter of a co_await operand once await_transform has seen it, and forwards
/// the three calls to it. `Awaiter` is a reference to the operand itself, or the value its
/// `operator co_await` returned (built in place). Why not hand the operand back as a reference:
/// g++ 12 copies (or moves) the object a reference-returning co_await operand refers to into the
/// frame, which would copy every awaiter and reject the non-copyable ones; a prvalue is not copied.
template <class Awaiter> class forwarding_awaiter {
public:
    template <class Make> forwarding_awaiter(std::in_place_t, Make&& make) : aw_(make()) {}
    forwarding_awaiter(const forwarding_awaiter&) = delete;
    forwarding_awaiter& operator=(const forwarding_awaiter&) = delete;
    ~forwarding_awaiter() = default;

    // The language calls the three on an lvalue awaiter; so does this (aw_ names an lvalue).
    decltype(auto) await_ready() noexcept(noexcept(std::declval<Awaiter&>().await_ready())) {
        return aw_.await_ready();
    }
    template <class Promise>
    decltype(auto) await_suspend(std::coroutine_handle<Promise> h) noexcept(
        noexcept(std::declval<Awaiter&>().await_suspend(h))) {
        return aw_.await_suspend(h);
    }
    decltype(auto) await_resume() noexcept(noexcept(std::declval<Awaiter&>().await_resume())) {
        return aw_.await_resume();
    }

private:
    Awaiter aw_;
};

/// The awaiter `co_await a` would use (its operator co_await applied, member first), wrapped.
template <class A> auto forward_awaiter(A&& a) {
    if constexpr (has_member_co_await<A>) {
        using R = decltype(static_cast<A&&>(a).operator co_await());
        return forwarding_awaiter<R>(
            std::in_place, [&]() -> R { return static_cast<A&&>(a).operator co_await(); });
    } else if constexpr (has_free_co_await<A>) {
        using R = decltype(operator co_await(static_cast<A&&>(a)));
        return forwarding_awaiter<R>(std::in_place,
                                     [&]() -> R { return operator co_await(static_cast<A&&>(a)); });
    } else {
        return forwarding_awaiter<A&&>(std::in_place, [&]() -> A&& { return static_cast<A&&>(a); });
    }
}

} // namespace asyncio::detail
