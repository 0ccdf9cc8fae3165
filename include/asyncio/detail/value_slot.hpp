// SPDX-License-Identifier: MIT
// Storage for a coroutine's or future's result: a value, a reference (as a pointer) or nothing.
#pragma once

#include <asyncio/config.hpp>

#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace asyncio {

/// The value of a `void` child in a gather result (Python's `None`).
struct none {
    friend bool operator==(none, none) noexcept { return true; }
};

} // namespace asyncio

namespace asyncio::detail {

/// The result of a coroutine, a future or a task: engaged once set. Every reader knows from its
/// owner's status that a value was set, so a trivially copyable and destructible `T` (an integer,
/// a pointer, a plain struct) is stored without an engaged flag (8 bytes less for an int64 in every
/// task's frame and state); other types keep one, to know whether to destroy.
template <class T,
          bool Plain = std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>>
class value_slot {
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

template <class T> class value_slot<T, true> {
public:
    value_slot() noexcept {}
    template <class... Args> void emplace(Args&&... args) {
        ::new (static_cast<void*>(std::addressof(v_))) T(std::forward<Args>(args)...);
    }
    T& get() noexcept { return v_; }
    void reset() noexcept {}

private:
    union {
        T v_;
    };
};

template <class T> class value_slot<T&, false> {
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

template <> class value_slot<void, false> {
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
