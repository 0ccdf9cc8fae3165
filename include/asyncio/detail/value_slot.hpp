// SPDX-License-Identifier: MIT
// Storage for a coroutine's or future's result: a value, a reference (as a pointer) or nothing.
#pragma once

#include <asyncio/config.hpp>

#include <memory>
#include <optional>
#include <utility>

namespace asyncio {

/// The value of a `void` child in a gather result (Python's `None`).
struct none {
    friend bool operator==(none, none) noexcept { return true; }
};

} // namespace asyncio

namespace asyncio::detail {

template <class T> class value_slot {
public:
    template <class... Args> void emplace(Args&&... args) {
        v_.emplace(std::forward<Args>(args)...);
    }
    [[nodiscard]] bool has_value() const noexcept { return v_.has_value(); }
    T& get() noexcept {
        ASYNCIO_ASSERT(v_.has_value());
        return *v_;
    }
    void reset() noexcept { v_.reset(); }

private:
    std::optional<T> v_;
};

template <class T> class value_slot<T&> {
public:
    void emplace(T& r) noexcept { p_ = std::addressof(r); }
    [[nodiscard]] bool has_value() const noexcept { return p_ != nullptr; }
    T& get() noexcept {
        ASYNCIO_ASSERT(p_ != nullptr);
        return *p_;
    }
    void reset() noexcept { p_ = nullptr; }

private:
    T* p_ = nullptr;
};

template <> class value_slot<void> {
public:
    void emplace() noexcept { set_ = true; }
    [[nodiscard]] bool has_value() const noexcept { return set_; }
    void get() noexcept {}
    void reset() noexcept { set_ = false; }

private:
    bool set_ = false;
};

/// `T` for values and references, `none` for void: the element type of gather results.
template <class T> using result_or_none_t = std::conditional_t<std::is_void_v<T>, none, T>;

} // namespace asyncio::detail
