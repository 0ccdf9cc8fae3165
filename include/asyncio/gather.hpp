// SPDX-License-Identifier: MIT
// gather (asyncio.gather): run awaitables concurrently and collect their results in order.
#pragma once

#include <asyncio/awaitable.hpp>
#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/future.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/task.hpp>

#include <asyncio/detail/gather_core.hpp>
#include <asyncio/detail/ref_ptr.hpp>
#include <asyncio/detail/value_slot.hpp>

#include <array>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <iterator>
#include <memory>
#include <new>
#include <ranges>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace asyncio {

/// Tag selecting asyncio's `return_exceptions=True`: `gather(asyncio::return_exceptions, ...)`.
struct return_exceptions_t {
    explicit constexpr return_exceptions_t() = default;
};
inline constexpr return_exceptions_t return_exceptions{};

/// One child's outcome under `return_exceptions`: its value or its exception (a cancelled child
/// holds a cancelled_error).
template <class T> class outcome {
public:
    explicit outcome(std::exception_ptr e) noexcept : e_(std::move(e)) {}
    template <class... Args> explicit outcome(std::in_place_t, Args&&... args) {
        v_.emplace(std::forward<Args>(args)...);
    }

    [[nodiscard]] bool has_value() const noexcept { return !e_; }
    explicit operator bool() const noexcept { return has_value(); }
    /// The value; rethrows the exception when the child failed.
    T& value() {
        if (e_) {
            std::rethrow_exception(e_);
        }
        return v_.get();
    }
    /// The exception, or null when the child succeeded.
    [[nodiscard]] std::exception_ptr exception() const noexcept { return e_; }

private:
    detail::value_slot<T> v_;
    std::exception_ptr e_;
};

namespace detail {

/// How gather holds one argument: the state it watches and whether it owns the result (a lazy
/// task or a wrapped awaitable: the result is moved out; a user's handle or future: copied).
template <class A> struct gather_child {
    using value_type = await_result_t<A>;
    using state_type = task_state<value_type>;
    static constexpr bool owned = true;
    static ref_ptr<state_type> make(A&& a, event_loop& loop) {
        task<value_type> t = await_as_task(std::move(a));
        return state_access::spawn(loop, t, {}, loop.core().eager_tasks);
    }
};
template <class T> struct gather_child<task<T>> {
    using value_type = T;
    using state_type = task_state<T>;
    static constexpr bool owned = true;
    static ref_ptr<state_type> make(task<T>&& t, event_loop& loop) {
        return state_access::spawn(loop, t, {}, loop.core().eager_tasks);
    }
};
/// A handle or future given to gather must be set and belong to the gather's loop (CPython raises
/// ValueError for a future of another loop, even a finished one).
template <class State> ref_ptr<State> checked_child(ref_ptr<State> s, const event_loop& loop) {
    if (!s) {
        throw invalid_state_error(
            "gather: an empty task_handle or future (default-constructed or moved-from)");
    }
    if (!s->belongs_to(loop)) {
        throw std::invalid_argument(
            "The future belongs to a different loop than the one specified as the loop argument");
    }
    return s;
}
template <class T> struct gather_child<task_handle<T>> {
    using value_type = T;
    using state_type = task_state<T>;
    static constexpr bool owned = false;
    static ref_ptr<state_type> make(const task_handle<T>& h, event_loop& loop) {
        return checked_child(state_access::get(h), loop);
    }
};
template <class T> struct gather_child<future<T>> {
    using value_type = T;
    using state_type = future_state<T>;
    static constexpr bool owned = false;
    static ref_ptr<state_type> make(const future<T>& f, event_loop& loop) {
        return checked_child(state_access::get(f), loop);
    }
};

/// One child's contribution to the result: its value (none for void) or, with
/// return_exceptions, an outcome.
template <class Child, bool ReturnExceptions>
decltype(auto) extract(typename Child::state_type& s) {
    using T = typename Child::value_type;
    using R = result_or_none_t<T>;
    auto value = [&]() -> R {
        if constexpr (std::is_void_v<T>) {
            s.check_result();
            return none{};
        } else {
            return take_result<Child::owned>(s, s.slot());
        }
    };
    if constexpr (ReturnExceptions) {
        if (s.cancelled()) {
            // CPython rebuilds the error from the child's stored message, which a finished task
            // no longer has (a future keeps it).
            return outcome<R>(std::make_exception_ptr(
                cancelled_error(s.is_task() ? std::string() : s.cancel_message())));
        }
        if (s.status() == future_status::exception) {
            return outcome<R>(s.exception());
        }
        return outcome<R>(std::in_place, value());
    } else {
        return value();
    }
}

/// What `co_await g` uses for a gather `g`, lvalue or rvalue: a pointer to it. (g++ 12 copies an
/// xvalue operand that is its own awaiter, GCC bug 99575, and a gather cannot be copied; going
/// through operator co_await makes `co_await std::move(g)` compile everywhere.)
template <class G> struct gather_awaiter {
    G* g;
    [[nodiscard]] bool await_ready() const noexcept { return g->await_ready(); }
    template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) noexcept {
        g->await_suspend(h);
    }
    decltype(auto) await_resume() { return g->await_resume(); }
};

template <bool ReturnExceptions, class... Children>
class gather_awaitable final : public gather_core {
public:
    template <class... Args>
    explicit gather_awaitable(event_loop& loop, Args&&... args) : gather_core(ReturnExceptions) {
        spawn(loop, std::index_sequence_for<Children...>{}, std::forward<Args>(args)...);
        attach(slots_.data(), sizeof...(Children), loop);
    }

    gather_awaitable(const gather_awaitable&) = delete;
    gather_awaitable& operator=(const gather_awaitable&) = delete;
    // Unlink from the children before the slots drop the references.
    ~gather_awaitable() { detach(); }

    auto operator co_await() & noexcept { return gather_awaiter<gather_awaitable>{this}; }
    auto operator co_await() && noexcept { return gather_awaiter<gather_awaitable>{this}; }

    auto await_resume() {
        rethrow_if_failed();
        take_results_once();
        return collect(std::index_sequence_for<Children...>{});
    }

private:
    template <std::size_t... I, class... Args>
    void spawn(event_loop& loop, std::index_sequence<I...>, Args&&... args) {
        // A comma fold runs left to right: the children become tasks in argument order.
        ((slots_[I].child = Children::make(std::forward<Args>(args), loop)), ...);
    }

    template <std::size_t... I> auto collect(std::index_sequence<I...>) {
        return std::tuple<decltype(extract<Children, ReturnExceptions>(
            std::declval<typename Children::state_type&>()))...>{
            extract<Children, ReturnExceptions>(
                static_cast<typename Children::state_type&>(*slots_[I].child))...};
    }

    std::array<slot, sizeof...(Children)> slots_{};
};

template <bool ReturnExceptions, class Child>
class gather_range_awaitable final : public gather_core {
    using state_type = typename Child::state_type;

public:
    template <class Range>
        requires(!std::is_same_v<std::remove_cvref_t<Range>, gather_range_awaitable>)
    explicit gather_range_awaitable(Range&& r) : gather_core(ReturnExceptions) {
        event_loop& loop = get_running_loop();
        try {
            if constexpr (std::ranges::sized_range<Range>) {
                // One pass: each child is spawned and attached into its slot in turn.
                const auto n = static_cast<std::size_t>(std::ranges::size(r));
                storage_.reserve(n);
                begin_attach(storage_.data(), n, loop);
                for (auto&& a : r) {
                    storage_.emplace_back().child = make(a, loop);
                    attach_next();
                }
            } else {
                std::vector<ref_ptr<state_type>> children;
                for (auto&& a : r) {
                    children.push_back(make(a, loop));
                }
                storage_.reserve(children.size());
                begin_attach(storage_.data(), children.size(), loop);
                for (ref_ptr<state_type>& c : children) {
                    storage_.emplace_back().child = std::move(c);
                    attach_next();
                }
            }
        } catch (...) {
            detach(); // the children spawned so far run on, unwatched (as in CPython)
            throw;
        }
        end_attach();
    }
    gather_range_awaitable(const gather_range_awaitable&) = delete;
    gather_range_awaitable& operator=(const gather_range_awaitable&) = delete;
    ~gather_range_awaitable() { detach(); }

    auto operator co_await() & noexcept { return gather_awaiter<gather_range_awaitable>{this}; }
    auto operator co_await() && noexcept { return gather_awaiter<gather_range_awaitable>{this}; }

    auto await_resume() {
        rethrow_if_failed();
        take_results_once();
        using E = decltype(extract<Child, ReturnExceptions>(std::declval<state_type&>()));
        std::vector<E> out;
        out.reserve(child_count());
        for (std::size_t i = 0; i < child_count(); ++i) {
            out.push_back(
                extract<Child, ReturnExceptions>(static_cast<state_type&>(*storage_[i].child)));
            release_child(i);
        }
        return out;
    }

private:
    // `a` is an element of the range: a lazy task is moved from, a handle or future shared.
    template <class A> static ref_ptr<state_type> make(A& a, event_loop& loop) {
        if constexpr (Child::owned) {
            return Child::make(std::move(a), loop);
        } else {
            return Child::make(a, loop);
        }
    }

    /// Slots are linked into their children's done lists, so they never move: room for all of
    /// them up front, each built in place when its child is known (no zeroing pass first).
    class slot_array {
    public:
        slot_array() noexcept = default;
        slot_array(const slot_array&) = delete;
        slot_array& operator=(const slot_array&) = delete;
        ~slot_array() {
            for (std::size_t i = 0; i < size_; ++i) {
                slots_[i].~slot();
            }
            std::allocator<slot>().deallocate(slots_, capacity_);
        }
        void reserve(std::size_t n) {
            slots_ = std::allocator<slot>().allocate(n);
            capacity_ = n;
        }
        slot& emplace_back() {
            ASYNCIO_ASSERT(size_ < capacity_);
            return *::new (static_cast<void*>(slots_ + size_++)) slot();
        }
        slot* data() noexcept { return slots_; }
        slot& operator[](std::size_t i) noexcept { return slots_[i]; }

    private:
        slot* slots_ = nullptr;
        std::size_t capacity_ = 0;
        std::size_t size_ = 0;
    };
    slot_array storage_;
};

template <class A> using gather_child_t = gather_child<std::remove_cvref_t<A>>;

/// A range (gather's range form) as opposed to a single awaitable.
template <class R>
concept gather_range = std::ranges::input_range<R>;

template <class A> inline constexpr bool is_task = false;
template <class T> inline constexpr bool is_task<task<T>> = true;

/// What gather takes as one argument: an awaitable, with a lazy task<T> passed as an rvalue
/// (gather spawns it; `gather(std::move(t))` for a named one).
template <class A>
concept gather_argument =
    awaitable<A> && !(std::is_lvalue_reference_v<A> && is_task<std::remove_cvref_t<A>>);

/// A range whose elements gather can take (lazy tasks in it are moved from).
template <class R>
concept gather_awaitable_range = gather_range<R> && awaitable<std::ranges::range_reference_t<R>>;

template <class... Aws>
inline constexpr bool is_single_range = sizeof...(Aws) == 1 && (gather_range<Aws> && ...);

} // namespace detail

/// asyncio.gather(*aws): `co_await gather(a, b, ...)` gives a std::tuple of the results in
/// argument order (asyncio::none for void children). Arguments may be lazy tasks (spawned as
/// tasks right here, in argument order), task handles, futures or any other awaitable (run as a
/// task). The first failure propagates at once while the other children keep running. Cancelling
/// the awaiting task cancels every child. The awaiter resumes two iterations after the last child
/// finishes; gathering nothing, or only finished children, does not suspend.
template <class... Aws>
    requires(!detail::is_single_range<Aws...>) && (detail::gather_argument<Aws> && ...)
[[nodiscard("co_await the gather")]] detail::gather_awaitable<
    false, detail::gather_child_t<Aws>...> gather(Aws&&... aws) {
    return detail::gather_awaitable<false, detail::gather_child_t<Aws>...>(
        get_running_loop(), std::forward<Aws>(aws)...);
}

/// asyncio.gather(*aws, return_exceptions=True): each slot is an asyncio::outcome<T> holding the
/// child's value or exception; completes only when every child is done.
template <class... Aws>
    requires(!detail::is_single_range<Aws...>) && (detail::gather_argument<Aws> && ...)
[[nodiscard("co_await the gather")]] detail::gather_awaitable<
    true, detail::gather_child_t<Aws>...> gather(return_exceptions_t, Aws&&... aws) {
    return detail::gather_awaitable<true, detail::gather_child_t<Aws>...>(
        get_running_loop(), std::forward<Aws>(aws)...);
}

/// asyncio.gather(*range): a std::vector of results in range order. Lazy tasks in the range are
/// moved from (and spawned in order); handles and futures are shared.
template <detail::gather_awaitable_range Range>
[[nodiscard("co_await the gather")]] auto gather(Range&& range) {
    return detail::gather_range_awaitable<
        false, detail::gather_child_t<std::ranges::range_reference_t<Range>>>(
        std::forward<Range>(range));
}

/// asyncio.gather(*range, return_exceptions=True): a std::vector of asyncio::outcome<T>.
template <detail::gather_awaitable_range Range>
[[nodiscard("co_await the gather")]] auto gather(return_exceptions_t, Range&& range) {
    return detail::gather_range_awaitable<
        true, detail::gather_child_t<std::ranges::range_reference_t<Range>>>(
        std::forward<Range>(range));
}

} // namespace asyncio
