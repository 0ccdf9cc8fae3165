// SPDX-License-Identifier: MIT
// generator<T> (a Python generator function, `def f(): yield ...`), elements_of (`yield from`) and
// next (Python's builtin next(g) and next(g, default)).
#pragma once

#include <asyncio/config.hpp>

#include <asyncio/detail/frame.hpp>
#include <asyncio/detail/generator_promise.hpp>

#include <concepts>
#include <coroutine>
#include <cstddef>
#include <iterator>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>

namespace asyncio {

/// `co_yield asyncio::elements_of(r)` yields every element of the range `r` in turn: Python's
/// `yield from r` (C++23's std::ranges::elements_of). For a generator passed as an rvalue
/// (`elements_of(walk(node->left))` or `elements_of(std::move(g))`) the nested generator is
/// resumed directly by the consumer, so a recursion N generators deep costs O(1) per element, not
/// O(N), and the stack stays flat at any depth. A started generator continues where it stands
/// (its unread element comes first). Any other input range (a container, a view, a generator
/// lvalue) is iterated element by element; lvalue elements of a generator<T> with a value `T` are
/// copied, never moved from. The range lives until the co_yield finishes, so a temporary is fine,
/// except that g++ 11 and 12 reject a braced list inside any co_yield or co_await expression
/// ("array used as initializer", a GCC bug): name `std::vector<int>{1, 2}` before the co_yield.
template <class R> struct elements_of {
    R range;

    explicit constexpr elements_of(R&& r) noexcept(std::is_nothrow_constructible_v<R, R&&>)
        : range(std::forward<R>(r)) {}
};
template <class R> elements_of(R&&) -> elements_of<R&&>;

template <class T> class generator;

namespace detail {

template <class G> inline constexpr bool is_generator_v = false;
template <class T> inline constexpr bool is_generator_v<generator<T>> = true;

/// `elements_of(R)` takes the O(1) nesting path: R is a non-const generator rvalue (or a
/// generator held by value) with the same yielded reference type.
template <class R, class Yielded>
concept nestable_generator =
    is_generator_v<std::remove_reference_t<R>> && !std::is_lvalue_reference_v<R> &&
    std::same_as<typename std::remove_reference_t<R>::yielded, Yielded>;

/// `co_yield *it` compiles in a generator yielding `Yielded`: directly or through a copy.
template <class Ref, class Yielded>
concept yieldable_as = std::convertible_to<Ref, Yielded> ||
                       (std::is_rvalue_reference_v<Yielded> &&
                        std::convertible_to<Ref, const std::remove_reference_t<Yielded>&>);

template <class Yielded, class It, class Sent> generator<Yielded> each_element(It first, Sent last);

/// Reaches into a generator for its frame (nesting) and its promise (next).
struct generator_access {
    template <class Yielded, class G> static nest_awaiter<Yielded> nest(G& g) noexcept {
        generator_promise_base<Yielded>* cp = g.frame_ ? &g.promise() : nullptr;
        return nest_awaiter<Yielded>(std::move(g.frame_), cp);
    }

    template <class T>
    static std::optional<typename generator<T>::value_type> next(generator<T>& g) {
        auto& p = g.promise();
        if (p.read() && !g.frame_.done()) {
            p.resume();
        }
        if (g.frame_.done()) {
            return std::nullopt;
        }
        using reference = typename generator<T>::reference;
        return std::optional<typename generator<T>::value_type>(std::in_place,
                                                                static_cast<reference>(*p.take()));
    }
};

} // namespace detail

/// A generator function (Python's `def odds(a, b): yield ...`): `co_yield` hands out values one at
/// a time, lazily; the body runs only inside begin(), `++it` and next(), up to its next co_yield.
/// A C++20 input range and view: range-for, std::ranges algorithms (`std::ranges::copy(g,
/// std::back_inserter(v))` is Python's `list(g)`) and views (`g | std::views::take(3)`) all work.
/// Move-only; `co_await` is not allowed inside (use async_generator for that).
///
/// `T` is what the consumer sees, as in C++23's std::generator: for a value type `*it` is `T&&`
/// (so a move-only `T` can be moved out: `auto p = *it;`), for a reference type `*it` is that
/// reference (`generator<int&>` lets the consumer modify the yielded objects). `co_yield lvalue`
/// in a generator of values copies the lvalue; `co_yield std::move(x)` or a temporary does not.
///
/// An exception thrown by the body propagates to the consumer out of the begin(), `++it` or
/// next() that resumed it; the generator is then finished. Destroying a generator that has not
/// finished destroys its frame (and those of its nested generators, innermost first, without
/// recursion) and runs the body's destructors, as Python's close() does; Python's send() and
/// throw() have no counterpart.
///
/// Iteration continues where the generator stands, as with Python's `iter(g) is g`: an element
/// counts as consumed once it is read (`*it` or next()), and begin() on a started generator
/// resumes it only past a consumed element. So a range-for after `next(g)`, or after a `break`,
/// continues with the following element, as in Python; an element produced but never read (the
/// one `std::views::take(n)` steps onto after its n-th) is the next one begin() or next() gives.
template <class T> class [[nodiscard]] generator : public std::ranges::view_base {
    static_assert(!std::is_void_v<T>, "generator<void>: yield a value (or use asyncio::none)");

public:
    /// What the consumer may keep: `std::remove_cvref_t<T>`; next() returns it.
    using value_type = std::remove_cvref_t<T>;
    /// The type of `*it`: `T` for a reference, `T&&` for a value.
    using reference = std::conditional_t<std::is_reference_v<T>, T, T&&>;
    /// What `co_yield` binds to. Generators with the same yielded type nest in O(1).
    using yielded = reference;

    class promise_type;
    class iterator;

    generator(generator&& o) noexcept = default;
    generator& operator=(generator&& o) noexcept {
        if (this != &o) {
            destroy();
            frame_ = std::move(o.frame_);
        }
        return *this;
    }
    generator(const generator&) = delete;
    generator& operator=(const generator&) = delete;
    ~generator() { destroy(); }

    /// Starts the body (on the first call) and runs it to its first co_yield; on a started
    /// generator, resumes it only if its current element was read (see the class comment).
    /// Rethrows what the body throws. Precondition: the generator was not moved from.
    [[nodiscard]] iterator begin() {
        if (promise().read() && !frame_.done()) {
            promise().resume();
        }
        return iterator(frame_.get());
    }
    /// The end of the range: an iterator equals it once the body has returned (or thrown).
    [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }

private:
    friend struct detail::generator_access;

    using base_promise = detail::generator_promise_base<yielded>;

    explicit generator(std::coroutine_handle<promise_type> h) noexcept : frame_(h) {}

    promise_type& promise() const noexcept { return frame_.promise<promise_type>(); }

    void destroy() noexcept {
        if (frame_ && !frame_.done()) {
            promise().destroy_nested();
        }
        frame_.reset();
    }

    detail::unique_frame frame_;
};

template <class T>
class generator<T>::promise_type : public detail::generator_promise_base<yielded> {
public:
    generator get_return_object() noexcept {
        auto h = std::coroutine_handle<promise_type>::from_promise(*this);
        this->set_self(h);
        return generator(h);
    }

    using base_promise::yield_value;

    /// `co_yield elements_of(std::move(g))`: g's frame moves into the awaiter, in this frame.
    template <class R>
        requires detail::nestable_generator<R, yielded>
    detail::nest_awaiter<yielded> yield_value(elements_of<R> e) noexcept {
        auto& g = static_cast<std::remove_reference_t<R>&>(e.range);
        return detail::generator_access::nest<yielded>(g);
    }

    /// `co_yield elements_of(range)` for any other input range: a nested generator walks it.
    template <class R>
        requires(!detail::nestable_generator<R, yielded>) && std::ranges::input_range<R> &&
                detail::yieldable_as<std::ranges::range_reference_t<R>, yielded>
    detail::nest_awaiter<yielded> yield_value(elements_of<R> e) {
        auto& r = e.range;
        auto walker = detail::each_element<yielded>(std::ranges::begin(r), std::ranges::end(r));
        return detail::generator_access::nest<yielded>(walker);
    }
};

/// The iterator of a generator: move-only, single pass (std::input_iterator). `*it` reads the
/// current element (no copy, any number of times); `++it` resumes the body up to its next
/// co_yield and rethrows what the body throws. Valid while its generator lives, moves included.
template <class T> class generator<T>::iterator {
public:
    using value_type = generator::value_type;
    using difference_type = std::ptrdiff_t;

    iterator(iterator&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    iterator& operator=(iterator&& o) noexcept {
        h_ = std::exchange(o.h_, nullptr);
        return *this;
    }
    iterator(const iterator&) = delete;
    iterator& operator=(const iterator&) = delete;
    ~iterator() = default;

    [[nodiscard]] reference operator*() const noexcept {
        return static_cast<reference>(*h_.promise().take());
    }
    iterator& operator++() {
        h_.promise().resume();
        return *this;
    }
    void operator++(int) { ++*this; }

    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
        return it.h_.done();
    }

private:
    friend class generator;
    explicit iterator(std::coroutine_handle<> h) noexcept
        : h_(std::coroutine_handle<promise_type>::from_address(h.address())) {}

    std::coroutine_handle<promise_type> h_;
};

namespace detail {

template <class Yielded, class It, class Sent>
generator<Yielded> each_element(It first, Sent last) {
    for (; first != last; ++first) {
        co_yield *first;
    }
}

} // namespace detail

/// Python's `next(g)`: resumes the generator up to its next co_yield and returns that element,
/// copied or moved into the optional (from a `generator<int&>` too: iterate to get references).
/// Returns std::nullopt once the generator has finished, every time after: the C++ twin of
/// StopIteration, since `while (auto x = asyncio::next(g))` reads better than a try block. An
/// element produced but not read yet (see generator's class comment) is returned without resuming.
/// Rethrows what the body throws. Found by ADL too: `next(g)`.
template <class T> std::optional<typename generator<T>::value_type> next(generator<T>& g) {
    return detail::generator_access::next(g);
}

/// Python's `next(g, default)`: the next element, or `default_value` converted to the value type
/// once the generator has finished.
template <class T, class U>
    requires std::convertible_to<U&&, typename generator<T>::value_type>
typename generator<T>::value_type next(generator<T>& g, U&& default_value) {
    if (auto v = detail::generator_access::next(g)) {
        return std::move(*v);
    }
    return static_cast<typename generator<T>::value_type>(std::forward<U>(default_value));
}

} // namespace asyncio
