// SPDX-License-Identifier: MIT
// The machinery behind contextvars: a context object holding an immutable, shared variable map,
// and the thread's current context (the library's second thread_local).
#pragma once

#include <asyncio/config.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace asyncio::detail {

/// One variable's value in a context: the variable's process-wide id and its value, type-erased.
struct context_entry {
    std::uint64_t var = 0;
    std::shared_ptr<const void> value;
};

/// The immutable map of a context, sorted by variable id. Contexts share it (copying a context
/// copies one pointer); setting a variable builds a new map, O(number of variables set).
using context_map = std::vector<context_entry>;

/// Python's contextvars.Context: a mutable object whose variables live in an immutable map it
/// shares with its copies. Reference-counted (atomically: a callback built by
/// call_soon_threadsafe holds one from another thread).
struct context_data {
    std::atomic<std::uint32_t> refs{1};
    /// True while the context is entered (Context.run, a task step, a callback).
    bool entered = false;
    std::shared_ptr<const context_map> map;

    void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }

    /// The entry of variable `id`, or null.
    [[nodiscard]] const context_entry* find(std::uint64_t id) const noexcept {
        if (!map) {
            return nullptr;
        }
        auto it =
            std::lower_bound(map->begin(), map->end(), id,
                             [](const context_entry& e, std::uint64_t k) { return e.var < k; });
        return it != map->end() && it->var == id ? &*it : nullptr;
    }

    /// Sets (`value` non-null) or removes (null) variable `id`: a new map replaces the shared one.
    void assign(std::uint64_t id, std::shared_ptr<const void> value) {
        auto next = std::make_shared<context_map>();
        if (map) {
            next->reserve(map->size() + 1);
        }
        bool placed = false;
        if (map) {
            for (const context_entry& e : *map) {
                if (!placed && e.var >= id) {
                    placed = true;
                    if (value) {
                        next->push_back(context_entry{id, value});
                    }
                    if (e.var == id) {
                        continue;
                    }
                }
                next->push_back(e);
            }
        }
        if (!placed && value) {
            next->push_back(context_entry{id, std::move(value)});
        }
        if (next->empty()) {
            map.reset();
        } else {
            map = std::move(next);
        }
    }
};

/// The current context of this thread (CPython's PyThreadState.context): the library's second
/// thread_local, beside the running-loop pointer. It cannot live in the loop: Python's variables
/// work in plain main() before any loop runs (asyncio::run's main task copies that context), and
/// on executor threads, which have no loop. Null stands for an
/// empty context nobody has materialised yet: a task or callback whose creator's context was
/// empty runs with null, so that W1's million tasks allocate nothing for contexts; a set() then
/// creates the object (context_current_for_set). Whoever installs a context for a step or a
/// callback takes back what the slot holds afterwards (possibly that new object).
inline context_data*& current_context_ref() noexcept {
    thread_local context_data* current = nullptr;
    return current;
}

/// Keeps the context created by a set() outside any task or callback (in main(), or on an
/// executor thread) until the thread ends.
struct thread_base_context {
    thread_base_context() = default;
    thread_base_context(const thread_base_context&) = delete;
    thread_base_context& operator=(const thread_base_context&) = delete;
    ~thread_base_context() {
        if (context_data* c = std::exchange(current_context_ref(), nullptr)) {
            c->release();
        }
    }
};

/// The current context, materialised (a set() must write somewhere).
inline context_data& context_current_for_set() {
    context_data*& cur = current_context_ref();
    if (cur == nullptr) {
        thread_local thread_base_context owner; // registers the release at thread exit
        static_cast<void>(owner);
        cur = new context_data();
    }
    return *cur;
}

/// contextvars.copy_context() for the library's own use: null when the current context is empty
/// (nothing to copy, nothing allocated), else a new context sharing the current map. O(1).
[[nodiscard]] ASYNCIO_NOINLINE inline context_data* context_copy_of(const context_data& cur) {
    if (!cur.map) {
        return nullptr;
    }
    auto* c = new context_data();
    c->map = cur.map;
    return c;
}
[[nodiscard]] inline context_data* context_copy_current() {
    const context_data* cur = current_context_ref();
    return cur == nullptr ? nullptr : context_copy_of(*cur);
}

/// A task's or callback's reference to its context: null for an empty one, released on
/// destruction (also when the owner's constructor throws after it was built).
class context_ref {
public:
    /// The context a new task runs in: `given` (a reference is added) or, when null, a copy of
    /// the current one (null when that is empty: nothing is allocated then).
    explicit context_ref(context_data* given)
        : p_(given == nullptr && current_context_ref() == nullptr ? nullptr : acquire(given)) {}
    context_ref(const context_ref&) = delete;
    context_ref& operator=(const context_ref&) = delete;
    ~context_ref() {
        if (p_ != nullptr) {
            p_->release();
        }
    }
    /// The slot a context_scope installs and takes back.
    [[nodiscard]] context_data*& slot() noexcept { return p_; }

private:
    ASYNCIO_NOINLINE static context_data* acquire(context_data* given) {
        if (given != nullptr) {
            given->add_ref();
            return given;
        }
        return context_copy_current();
    }

    context_data* p_;
};

/// Runs a step or a callback in the context `slot` owns: installs it as the thread's current one
/// for the scope, then takes back what the thread slot holds (the same, or a context created by a
/// set() when `slot` was null) and restores the outer context.
class context_scope {
public:
    explicit context_scope(context_data*& slot) noexcept
        : slot_(slot), outer_(std::exchange(current_context_ref(), slot)) {}
    context_scope(const context_scope&) = delete;
    context_scope& operator=(const context_scope&) = delete;
    ~context_scope() { slot_ = std::exchange(current_context_ref(), outer_); }

private:
    context_data*& slot_;
    context_data* outer_;
};

/// Releases a context slot (null is fine).
inline void context_release(context_data*& slot) noexcept {
    if (context_data* c = std::exchange(slot, nullptr)) {
        c->release();
    }
}

/// A process-wide id for a new context variable (never reused, so a value can never be read
/// back through a variable of another type that took a destroyed one's address).
[[nodiscard]] inline std::uint64_t new_context_var_id() noexcept {
    static std::atomic<std::uint64_t> next{0};
    return next.fetch_add(1, std::memory_order_relaxed) + 1;
}

} // namespace asyncio::detail
