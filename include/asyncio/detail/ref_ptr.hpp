// SPDX-License-Identifier: MIT
// An intrusive reference-counting pointer for the shared states of futures and tasks.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace asyncio::detail {

/// Holds one reference to `S` (which has add_ref() and release()).
template <class S> class ref_ptr {
public:
    ref_ptr() noexcept = default;
    /// Adopts a reference the caller already holds.
    static ref_ptr adopt(S* s) noexcept {
        ref_ptr r;
        r.p_ = s;
        return r;
    }
    /// Takes a new reference.
    explicit ref_ptr(S* s) noexcept : p_(s) {
        if (p_ != nullptr) {
            p_->add_ref();
        }
    }
    ref_ptr(const ref_ptr& o) noexcept : ref_ptr(o.p_) {}
    ref_ptr(ref_ptr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    /// From a reference to a derived state (a task or future state to its base).
    template <class U>
        requires(!std::is_same_v<U, S> && std::is_convertible_v<U*, S*>)
    ref_ptr(ref_ptr<U>&& o) noexcept : p_(o.release()) {}
    ref_ptr& operator=(ref_ptr o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~ref_ptr() { reset(); }

    void reset() noexcept {
        if (S* p = std::exchange(p_, nullptr)) {
            p->release();
        }
    }
    /// Gives up the reference without releasing it.
    [[nodiscard]] S* release() noexcept { return std::exchange(p_, nullptr); }
    [[nodiscard]] S* get() const noexcept { return p_; }
    S* operator->() const noexcept { return p_; }
    S& operator*() const noexcept { return *p_; }
    explicit operator bool() const noexcept { return p_ != nullptr; }
    friend bool operator==(const ref_ptr& a, const ref_ptr& b) noexcept { return a.p_ == b.p_; }

private:
    S* p_ = nullptr;
};

} // namespace asyncio::detail
