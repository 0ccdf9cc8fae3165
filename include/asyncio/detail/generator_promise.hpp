// SPDX-License-Identifier: MIT
// The machinery under generator<T>: the promise base, the driver that resumes the innermost active
// generator, the awaiters behind co_yield and co_yield elements_of, and the leaf-first teardown.
#pragma once

#include <asyncio/config.hpp>

#include <asyncio/detail/frame.hpp>

#include <coroutine>
#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

namespace asyncio::detail {

template <class Yielded> class generator_promise_base;

/// Where a generator nested by `co_yield elements_of(...)` reports back: the parent to resume when
/// it finishes, the exception it ended with, and the owner of its frame (for the teardown). Lives
/// in the parent's frame, inside the nest_awaiter.
template <class Yielded> struct nest_link {
    std::coroutine_handle<> parent;
    generator_promise_base<Yielded>* parent_promise = nullptr;
    unique_frame* owner = nullptr;
    std::exception_ptr exception;
};

/// The part of a generator promise that depends only on the yielded reference type, so that
/// generator<int> and generator<int&&> (both yield `int&&`) nest into each other.
///
/// A consumer iterates the root generator; `co_yield elements_of(child)` pushes the child onto a
/// stack of active generators, linked through nest_link. The root keeps the innermost one in top_
/// and the current element in value_, so every element costs one resume of the leaf, whatever the
/// depth. Starting or finishing a nested generator never resumes anyone from inside a coroutine:
/// it names the next frame in the root's top_, sets transfer_ and returns to the driver loop in
/// resume(), so the stack stays flat at any depth on every compiler (g++ 12 does not turn
/// symmetric transfer into a tail call at -O0 or under ASan).
template <class Yielded> class generator_promise_base {
public:
    static_assert(std::is_reference_v<Yielded>);
    using value_type = std::remove_cvref_t<Yielded>;
    using pointer = std::add_pointer_t<Yielded>;

    generator_promise_base() noexcept = default;
    generator_promise_base(const generator_promise_base&) = delete;
    generator_promise_base& operator=(const generator_promise_base&) = delete;

    std::suspend_always initial_suspend() const noexcept { return {}; }

    struct final_awaiter {
        bool await_ready() const noexcept { return false; }
        // A nested generator hands the root back to its parent; the root simply stays suspended
        // at its final point (done() becomes true) and the driver returns to the consumer.
        template <class Promise>
        void await_suspend(std::coroutine_handle<Promise> h) const noexcept {
            generator_promise_base& self = h.promise();
            if (self.nest_ != nullptr) {
                generator_promise_base& root = *self.root_;
                root.top_ = self.nest_->parent;
                root.top_promise_ = self.nest_->parent_promise;
                root.transfer_ = true;
            }
        }
        void await_resume() const noexcept {}
    };
    final_awaiter final_suspend() const noexcept { return {}; }

    /// `co_yield expr` where expr binds to the yielded reference: the root points at it, no copy.
    /// The operand lives until the generator is resumed.
    std::suspend_always yield_value(Yielded v) noexcept {
        root_->value_ = std::addressof(v);
        return {};
    }

    /// `co_yield lvalue` in a generator whose yielded type is an rvalue reference (generator<int>
    /// yields `int&&`): the copy lives in the awaiter, in the coroutine frame, until resumption.
    struct copy_awaiter {
        value_type value;
        generator_promise_base* root;

        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<>) noexcept {
            root->value_ = std::addressof(value);
        }
        void await_resume() const noexcept {}
    };
    copy_awaiter yield_value(const std::remove_reference_t<Yielded>& v)
        requires std::is_rvalue_reference_v<Yielded> &&
                 std::is_constructible_v<value_type, const std::remove_reference_t<Yielded>&>
    {
        return copy_awaiter{value_type(v), root_};
    }

    void return_void() const noexcept {}

    // A nested generator's exception goes to its parent's co_yield elements_of; the root's goes to
    // the consumer, rethrown by resume() after the driver loop.
    void unhandled_exception() noexcept {
        if (nest_ != nullptr) {
            nest_->exception = std::current_exception();
        } else {
            exception_ = std::current_exception();
        }
    }

    /// A generator cannot `co_await`: it has no event loop to wait on (use async_generator).
    template <class U> void await_transform(U&&) = delete;

    /// The driver, called on the root by begin(), ++it and next(): resumes the innermost generator
    /// until one yields or the root finishes. Rethrows the root's exception.
    void resume() {
        read_ = false;
        do {
            transfer_ = false;
            top_.resume();
        } while (transfer_);
        if (exception_) {
            std::rethrow_exception(std::exchange(exception_, nullptr));
        }
    }

    /// The root's current element (valid after a yield, until the next resume()), now counted as
    /// read: begin() and next() move past a read element, not past an unread one.
    [[nodiscard]] pointer take() noexcept {
        read_ = true;
        return value_;
    }
    /// False while the root stands on an element nobody has read yet; true before the first
    /// resume() too, when there is no element at all.
    [[nodiscard]] bool read() const noexcept { return read_; }

    /// Destroys the nested generators of a suspended root from the innermost outwards, one frame at
    /// a time, so an abandoned chain of any depth is freed without recursion. Each frame runs its
    /// locals' destructors as if its generator object had been destroyed; the caller then destroys
    /// the root frame.
    void destroy_nested() noexcept {
        while (top_promise_ != this) {
            nest_link<Yielded>* link = top_promise_->nest_;
            top_ = link->parent;
            top_promise_ = link->parent_promise;
            link->owner->reset();
        }
    }

    /// Makes `self` (whose handle is `h`) a root: called once from get_return_object.
    void set_self(std::coroutine_handle<> h) noexcept { top_ = h; }

    /// Nests the generator `child` (with promise `cp`) under the suspended generator `pp`, whose
    /// handle is `parent`; `link` lives in pp's frame. When the child was already started and its
    /// current element was not read, that element is yielded first (Python's `yield from`
    /// continues a started generator where it stands).
    static void nest(generator_promise_base& pp, std::coroutine_handle<> parent,
                     generator_promise_base& cp, unique_frame& child,
                     nest_link<Yielded>& link) noexcept {
        generator_promise_base& root = *pp.root_;
        link.parent = parent;
        link.parent_promise = &pp;
        link.owner = &child;
        // A child started as a root may have nested generators of its own: they now report to our
        // root. Only such a child has a chain to walk; a fresh one has top_promise_ == &cp.
        generator_promise_base* leaf = cp.top_promise_;
        for (generator_promise_base* n = leaf; n != &cp; n = n->nest_->parent_promise) {
            n->root_ = &root;
        }
        cp.root_ = &root;
        cp.nest_ = &link;
        root.top_ = cp.top_;
        root.top_promise_ = leaf;
        if (!cp.read_) {
            root.value_ = cp.value_; // back to the consumer with the child's unread element
        } else {
            root.transfer_ = true; // the driver resumes the child next
        }
    }

private:
    pointer value_ = nullptr;                    // root: the current element
    generator_promise_base* root_ = this;        // the generator the consumer iterates
    nest_link<Yielded>* nest_ = nullptr;         // nested only: the way back to the parent
    std::coroutine_handle<> top_;                // root: the innermost active generator
    generator_promise_base* top_promise_ = this; // root: its promise
    std::exception_ptr exception_;               // root: thrown by the root's body
    bool transfer_ = false;                      // root: resume top_ again before returning
    bool read_ = true;                           // root: value_ was read (or there is none yet)
};

/// The awaiter of `co_yield elements_of(generator)`: owns the nested generator's frame for the
/// duration of the co_yield, pushes it on the root's stack, and rethrows what it threw.
template <class Yielded> class nest_awaiter {
public:
    nest_awaiter(unique_frame child, generator_promise_base<Yielded>* child_promise) noexcept
        : child_(std::move(child)), child_promise_(child_promise) {}
    nest_awaiter(const nest_awaiter&) = delete;
    nest_awaiter& operator=(const nest_awaiter&) = delete;
    ~nest_awaiter() = default;

    // An empty or finished generator has nothing to yield: no suspension.
    bool await_ready() const noexcept { return !child_ || child_.done(); }
    template <class Promise> void await_suspend(std::coroutine_handle<Promise> parent) noexcept {
        generator_promise_base<Yielded>::nest(parent.promise(), parent, *child_promise_, child_,
                                              link_);
    }
    void await_resume() {
        if (link_.exception) {
            std::rethrow_exception(std::exchange(link_.exception, nullptr));
        }
    }

private:
    unique_frame child_;
    generator_promise_base<Yielded>* child_promise_;
    nest_link<Yielded> link_;
};

} // namespace asyncio::detail
