// SPDX-License-Identifier: MIT
// A circular doubly linked intrusive list: O(1) push, pop and self-unlink, no allocation.
#pragma once

#include <asyncio/config.hpp>

#include <cstddef>

namespace asyncio::detail {

/// Base of every element; `Tag` lets one object sit in several lists at once.
template <class Tag> struct list_hook {
    list_hook() noexcept = default;
    list_hook(const list_hook&) = delete;
    list_hook& operator=(const list_hook&) = delete;
    ~list_hook() = default;

    [[nodiscard]] bool linked() const noexcept { return next_ != nullptr; }

    /// Removes this element from whatever list holds it; a no-op when unlinked.
    void unlink() noexcept {
        if (next_ != nullptr) {
            prev_->next_ = next_;
            next_->prev_ = prev_;
            next_ = prev_ = nullptr;
        }
    }

    list_hook* prev_ = nullptr;
    list_hook* next_ = nullptr;
};

/// FIFO list of `T` (which derives from `list_hook<Tag>`). Not copyable or movable: the sentinel
/// points at itself.
template <class T, class Tag> class intrusive_list {
    using hook = list_hook<Tag>;

public:
    intrusive_list() noexcept { head_.prev_ = head_.next_ = &head_; }
    intrusive_list(const intrusive_list&) = delete;
    intrusive_list& operator=(const intrusive_list&) = delete;
    ~intrusive_list() { clear(); }

    [[nodiscard]] bool empty() const noexcept { return head_.next_ == &head_; }

    /// The number of elements, by walking the list (O(n): for debug strings, not hot paths).
    [[nodiscard]] std::size_t count() const noexcept {
        std::size_t n = 0;
        for (const hook* h = head_.next_; h != &head_; h = h->next_) {
            ++n;
        }
        return n;
    }

    void push_back(T& item) noexcept {
        hook& h = item;
        ASYNCIO_ASSERT(!h.linked());
        h.prev_ = head_.prev_;
        h.next_ = &head_;
        head_.prev_->next_ = &h;
        head_.prev_ = &h;
    }

    [[nodiscard]] T& front() noexcept { return static_cast<T&>(*head_.next_); }

    /// Unlinks and returns the first element; the list must not be empty.
    T& pop_front() noexcept {
        ASYNCIO_ASSERT(!empty());
        hook* h = head_.next_;
        h->unlink();
        return static_cast<T&>(*h);
    }

    /// Unlinks every element without touching them otherwise.
    void clear() noexcept {
        while (!empty()) {
            head_.next_->unlink();
        }
    }

    /// Calls `f(T&)` for each element in order; `f` must not unlink other elements.
    template <class F> void for_each(F&& f) {
        for (hook* h = head_.next_; h != &head_;) {
            hook* next = h->next_;
            f(static_cast<T&>(*h));
            h = next;
        }
    }

private:
    hook head_;
};

} // namespace asyncio::detail
