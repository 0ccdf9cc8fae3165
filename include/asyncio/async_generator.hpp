// SPDX-License-Identifier: MIT
// async_generator<T>: Python's asynchronous generator (`async def` with `yield`, `async for`).
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/task.hpp>

#include <asyncio/detail/frame.hpp>
#include <asyncio/detail/loop_core.hpp>
#include <asyncio/detail/task_core.hpp>

#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace asyncio {

template <class T> class async_generator;

namespace detail {

template <class T> struct async_generator_promise : promise_base, asyncgen_link, pooled {
    std::optional<T> current_;
    std::exception_ptr exception_;
    event_loop* loop_ = nullptr;
    bool started_ = false;
    bool running_ = false;
    bool finished_ = false;
    bool exit_requested_ = false;
    /// An aclose() has thrown generator_exit into it (CPython's `ag_closed`): a later aclose()
    /// throws stop_async_iteration without entering the body, and a drop destroys the frame at
    /// once instead of handing it to a closing task.
    bool aclosed_ = false;
    /// What an aclose() step throws at the co_yield instead of generator_exit: cancelled_error
    /// when the closing task was cancelled before its first step (close_guard).
    std::exception_ptr throw_in_;
    /// Dropped by its owner while unfinished: the loop owns the frame until a task closes it.
    bool orphaned_ = false;
    /// run()'s shutdown_asyncgens has tried to close it (once is all it gets).
    bool shutdown_closed_ = false;
    /// The finalizer's pending call_soon; cancelled when the frame goes or a closer takes over.
    handle finalizer_;

    async_generator_promise() noexcept {
        spawn_close = &spawn_close_task;
        needs_close = [](const asyncgen_link* l) noexcept {
            const auto& p = static_cast<const async_generator_promise&>(*l);
            return !p.shutdown_closed_ && !p.running_ && !p.finished_;
        };
        on_loop_closed = &loop_closed;
    }
    async_generator_promise(const async_generator_promise&) = delete;
    async_generator_promise& operator=(const async_generator_promise&) = delete;
    ~async_generator_promise() {
        finalizer_.cancel();
        static_cast<asyncgen_link*>(this)->unlink();
    }

    async_generator<T> get_return_object() noexcept;
    std::suspend_always initial_suspend() noexcept { return {}; }

    /// Hands the value to the consumer's `next()` and returns to it through the task's driver.
    struct yield_awaiter {
        async_generator_promise* p;
        bool await_ready() noexcept { return false; }
        void await_suspend(std::coroutine_handle<>) noexcept {
            p->running_ = false;
            p->root_->set_next(p->continuation_);
        }
        // aclose() resumes the generator here with generator_exit, so its cleanup runs.
        void await_resume() const {
            if (p->exit_requested_) {
                if (p->throw_in_) {
                    std::rethrow_exception(std::exchange(p->throw_in_, nullptr));
                }
                throw generator_exit{};
            }
        }
    };
    template <class U = T>
        requires std::is_constructible_v<T, U&&>
    yield_awaiter yield_value(U&& v) {
        current_.emplace(std::forward<U>(v));
        return yield_awaiter{this};
    }

    struct final_awaiter {
        bool await_ready() noexcept { return false; }
        template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) noexcept {
            Promise& p = h.promise();
            p.running_ = false;
            p.finished_ = true;
            static_cast<asyncgen_link&>(p).unlink();
            p.root_->set_next(p.continuation_);
        }
        void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }

    /// Resumes the generator from the consumer `h` (inline, through the driver).
    template <class Promise> void enter(std::coroutine_handle<Promise> h) {
        root_ = root_of(h);
        continuation_ = h;
        running_ = true;
        if (!started_) {
            started_ = true;
            loop_ = &root_->loop();
            loop_->core().asyncgens.push_back(*this);
        }
        root_->set_next(std::coroutine_handle<async_generator_promise>::from_promise(*this));
    }

    static void spawn_close_task(asyncgen_link* l);
    static void close_later(async_generator_promise& p);
    static void closer_cancelled(async_generator_promise& p) noexcept;

    /// Queues close_later(p) for the next iteration; false if that fails (out of memory).
    static bool schedule_finalizer(async_generator_promise& p) noexcept {
        try {
            p.finalizer_ = p.loop_->call_soon([pp = &p] { close_later(*pp); });
            return true;
        } catch (...) {
            return false;
        }
    }

    /// Called by the awaiter that drove a step (next() or aclose()) once it has taken the step's
    /// outcome. An owner that dropped the generator during the step left the frame to this
    /// point (orphaned_ while running): finished or spent by aclose, it is destroyed here;
    /// otherwise it goes to the loop's finalizer like any generator dropped while suspended.
    static void step_ended(async_generator_promise& p) noexcept {
        if (!p.orphaned_) {
            return;
        }
        if (!p.finished_ && !p.aclosed_ && p.loop_ != nullptr && !p.loop_->core().closing_) {
            if (p.loop_->core().shutting_down_) {
                return; // run()'s shutdown_asyncgens closes it with the others
            }
            if (schedule_finalizer(p)) {
                return;
            }
            // Out of memory: destroy the frame without awaiting cleanup (below).
        }
        p.orphaned_ = false;
        unique_frame(std::coroutine_handle<async_generator_promise>::from_promise(p)).reset();
    }

    static void loop_closed(asyncgen_link* l) noexcept {
        auto& p = static_cast<async_generator_promise&>(*l);
        p.loop_ = nullptr;
        if (p.orphaned_) {
            unique_frame(std::coroutine_handle<async_generator_promise>::from_promise(p)).reset();
        }
    }
};

/// `co_await gen.aclose()`.
template <class T> class aclose_awaiter {
public:
    explicit aclose_awaiter(async_generator_promise<T>* p,
                            std::exception_ptr throw_in = nullptr) noexcept
        : p_(p), throw_in_(std::move(throw_in)) {}

    [[nodiscard]] bool await_ready() const {
        if (p_ == nullptr || !p_->started_ || p_->finished_) {
            return true;
        }
        if (p_->running_) {
            throw std::runtime_error("aclose(): asynchronous generator is already running");
        }
        if (p_->aclosed_) {
            // It survived an earlier aclose by yielding again: CPython never re-enters it.
            throw stop_async_iteration();
        }
        return false;
    }
    template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
        p_->exit_requested_ = true;
        p_->aclosed_ = true;
        p_->throw_in_ = std::move(throw_in_);
        p_->enter(h);
    }
    void await_resume() {
        if (p_ == nullptr || !p_->exit_requested_) {
            return;
        }
        p_->exit_requested_ = false;
        const bool finished = p_->finished_;
        std::exception_ptr e = std::exchange(p_->exception_, nullptr);
        p_->current_.reset();
        async_generator_promise<T>::step_ended(*p_); // p_ may be gone from here on
        if (!finished) {
            throw std::runtime_error("async generator ignored GeneratorExit");
        }
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const generator_exit&) {
                return; // the expected way out; any other exception propagates to the caller
            }
        }
    }

private:
    async_generator_promise<T>* p_;
    std::exception_ptr throw_in_;
};

} // namespace detail

/// Python's asynchronous generator: a coroutine that may both `co_await` (sleep, queue get,
/// other tasks) and `co_yield` values, consumed from a task with
///
///     while (auto item = co_await gen.next()) { use(*item); }      // async for item in gen:
///
/// `next()` is `anext()`: it runs the generator inline in the consuming task until its next
/// `co_yield` (the item) or its end (std::nullopt, the twin of StopAsyncIteration); an exception
/// thrown in the body propagates out of `next()`, after which the generator is exhausted.
/// Cancelling the consuming task while the generator awaits delivers cancelled_error inside the
/// generator, so its cleanup runs. `co_await gen.aclose()` stops it early: generator_exit is
/// thrown at its current `co_yield` and its cleanup runs, including cleanup that awaits. A
/// second `next()` while one is in progress (from another task) throws std::runtime_error
/// ("anext(): asynchronous generator is already running"). An unfinished generator that is
/// destroyed while its loop runs is closed by a new task (asyncio's finalizer; if that task is
/// cancelled before it starts, cancelled_error is thrown into the generator instead), one dropped
/// while a task is inside its `next()` finishes that step first, and `run()` closes those still
/// suspended when the main task ends. `T` is a value type (possibly
/// move-only); moved-from or closed generators are exhausted.
template <class T> class [[nodiscard]] async_generator {
    static_assert(!std::is_reference_v<T>, "async_generator<T> yields values: use a pointer");

public:
    using promise_type = detail::async_generator_promise<T>;
    using value_type = T;

    async_generator() noexcept = default;
    async_generator(async_generator&&) noexcept = default;
    async_generator& operator=(async_generator&& o) noexcept {
        if (this != &o) {
            finalize();
            frame_ = std::move(o.frame_);
        }
        return *this;
    }
    async_generator(const async_generator&) = delete;
    async_generator& operator=(const async_generator&) = delete;
    ~async_generator() { finalize(); }

    /// `co_await gen.next()` (Python's `await anext(gen)`): std::optional<T> holding the next
    /// item, or std::nullopt once the generator is exhausted.
    [[nodiscard("co_await the next item")]] auto next() noexcept { return next_awaiter{this}; }

    /// `co_await gen.aclose()`: closes the generator, running its cleanup; a no-op when it never
    /// started or already finished. Rethrows an exception its cleanup raised other than
    /// generator_exit; throws std::runtime_error if the generator yields again, after which every
    /// further aclose() throws stop_async_iteration without entering it (as CPython does; `next()`
    /// still resumes it).
    [[nodiscard("co_await the aclose")]] detail::aclose_awaiter<T> aclose() noexcept {
        if (frame_ && !promise().started_) {
            frame_.reset(); // never started: nothing to clean up
        }
        return detail::aclose_awaiter<T>(frame_ ? &promise() : nullptr);
    }

private:
    friend promise_type;
    explicit async_generator(std::coroutine_handle<promise_type> h) noexcept : frame_(h) {}

    promise_type& promise() const noexcept { return frame_.promise<promise_type>(); }

    // Holds the promise, not the generator: the generator may be dropped by its owner while
    // this awaiter's task is inside the step (step_ended then disposes of the frame).
    struct next_awaiter {
        async_generator* g;
        promise_type* p = nullptr;

        [[nodiscard]] bool await_ready() {
            if (!g->frame_) {
                return true;
            }
            p = &g->promise();
            if (p->finished_) {
                return true;
            }
            if (p->running_) {
                throw std::runtime_error("anext(): asynchronous generator is already running");
            }
            return false;
        }
        template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
            p->enter(h);
        }
        std::optional<T> await_resume() {
            if (p == nullptr) {
                return std::nullopt;
            }
            std::exception_ptr e = std::exchange(p->exception_, nullptr);
            std::optional<T> out;
            if (!e && !p->finished_ && p->current_) {
                out.emplace(std::move(*p->current_));
                p->current_.reset();
            }
            promise_type::step_ended(*p); // p may be gone from here on
            if (e) {
                std::rethrow_exception(e);
            }
            return out;
        }
    };

    // asyncio's async-generator finalizer: an unfinished generator dropped while its loop runs is
    // handed to the loop, which closes it in a task created in the next iteration (as CPython's
    // finalizer hook does), so cleanup that awaits still runs; asyncio::run closes it at shutdown
    // if that task never got to run. Otherwise the frame is destroyed here.
    void finalize() noexcept {
        if (!frame_) {
            return;
        }
        promise_type& p = promise();
        if (p.running_ && p.loop_ != nullptr && !p.loop_->core().closing_) {
            // A task is inside its next() or aclose(): that awaiter disposes of the frame when
            // the step ends (step_ended), as CPython's awaitable keeps the generator alive.
            p.orphaned_ = true;
            (void)frame_.release();
            return;
        }
        // One that already survived an aclose is destroyed at once, as CPython closes an
        // ag_closed generator without its finalizer hook.
        if (p.started_ && !p.finished_ && !p.aclosed_ && p.loop_ != nullptr &&
            !p.loop_->core().closing_) {
            // While run() shuts down, shutdown_asyncgens closes it with the others.
            if (p.loop_->core().shutting_down_ || promise_type::schedule_finalizer(p)) {
                p.orphaned_ = true;
                (void)frame_.release();
                return;
            }
            // Out of memory: destroy the frame without awaiting cleanup (below).
        }
        frame_.reset();
    }

    detail::unique_frame frame_;
};

namespace detail {

template <class T> async_generator<T> async_generator_promise<T>::get_return_object() noexcept {
    return async_generator<T>(std::coroutine_handle<async_generator_promise>::from_promise(*this));
}

/// A parameter of close_generator. Its copy in the coroutine frame is destroyed without the body
/// ever running when the closing task is cancelled before its first step; CPython's closing task
/// then throws CancelledError into the generator at its yield, so that its cleanup runs. Here the
/// guard's destructor creates a closing task that does that (closer_cancelled).
template <class T> class close_guard {
public:
    explicit close_guard(async_generator_promise<T>* p) noexcept : p_(p) {}
    close_guard(close_guard&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    close_guard(const close_guard&) = delete;
    close_guard& operator=(const close_guard&) = delete;
    close_guard& operator=(close_guard&&) = delete;
    ~close_guard() {
        if (p_ != nullptr) {
            async_generator_promise<T>::closer_cancelled(*p_);
        }
    }
    /// The body started: it closes the generator itself.
    void disarm() noexcept { p_ = nullptr; }

private:
    async_generator_promise<T>* p_;
};

/// Closes a generator in its own task (throwing `throw_in` at its co_yield, or generator_exit);
/// takes ownership of an orphaned one when it starts. Cancelled before it starts, it leaves the
/// generator to another closing task that throws cancelled_error (close_guard).
template <class T>
task<void> close_generator(async_generator_promise<T>* p, close_guard<T> guard,
                           std::exception_ptr throw_in) {
    guard.disarm();
    unique_frame owner;
    p->finalizer_.cancel(); // this task is the closer
    if (p->orphaned_) {
        p->orphaned_ = false;
        owner = unique_frame(std::coroutine_handle<async_generator_promise<T>>::from_promise(*p));
    }
    co_await aclose_awaiter<T>(p, std::move(throw_in));
}

template <class T> void async_generator_promise<T>::spawn_close_task(asyncgen_link* l) {
    auto& p = static_cast<async_generator_promise&>(*l);
    p.shutdown_closed_ = true;
    close_later(p);
}

template <class T> void async_generator_promise<T>::close_later(async_generator_promise& p) {
    if (p.loop_ != nullptr && !p.finished_ && !p.running_) {
        (void)p.loop_->create_task(close_generator<T>(&p, close_guard<T>(&p), nullptr));
    }
}

template <class T>
void async_generator_promise<T>::closer_cancelled(async_generator_promise& p) noexcept {
    // While run() shuts down, shutdown_asyncgens closes it (with generator_exit) instead.
    if (p.loop_ == nullptr || p.finished_ || p.running_ || p.loop_->core().closing_ ||
        p.loop_->core().shutting_down_) {
        return;
    }
    try {
        (void)p.loop_->create_task(
            close_generator<T>(&p, close_guard<T>(&p), std::make_exception_ptr(cancelled_error())));
    } catch (...) {
        // Out of memory: no closing task. It stays registered, so run()'s shutdown or the loop's
        // destruction disposes of it.
        return;
    }
}

} // namespace detail

} // namespace asyncio
