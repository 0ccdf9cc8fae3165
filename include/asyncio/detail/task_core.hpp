// SPDX-License-Identifier: MIT
// The untyped core of a spawned task: the step driver (trampoline), cancellation, scheduling.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/loop.hpp>

#include <asyncio/detail/context_core.hpp>
#include <asyncio/detail/frame.hpp>
#include <asyncio/detail/future_state.hpp>

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace asyncio::detail {

class task_core;
struct task_promise_base;

/// What `task.cancel()` calls while the task is suspended: cancels what the task waits for
/// (removes the timer, cancels the awaited future or task) and returns true if that was accepted.
/// Otherwise the task remembers the request and delivers it at its next step.
struct cancel_hook {
    bool (*fn)(void* ctx, task_core& task) = nullptr;
    void* ctx = nullptr;
};

/// The part of every asyncio-cpp promise the awaiters rely on: which task is running the chain
/// (`root_`) and whom to resume when this coroutine finishes (`continuation_`).
struct promise_base {
    std::coroutine_handle<> continuation_;
    task_core* root_ = nullptr;
};

/// The task running the awaiting coroutine `h`.
template <class Promise>
[[nodiscard]] task_core* root_of(std::coroutine_handle<Promise> h) noexcept {
    static_assert(std::is_base_of_v<promise_base, Promise>,
                  "asyncio-cpp awaitables can only be awaited inside asyncio::task coroutines");
    ASYNCIO_ASSERT(h.promise().root_ != nullptr);
    return h.promise().root_;
}

/// Run at the start of a task's next step, with the cancel hook's context: a queue waiter
/// re-checks its condition there and returns false to wait again without resuming.
using recheck_fn = bool (*)(void* ctx, task_core& task);

/// A spawned task (asyncio.Task minus the typed result). The loop holds one reference until the
/// task finishes; task handles hold the others. It and its coroutine frame come from the loop's
/// arena, usually side by side.
class task_core : public future_state_base {
    // The flags come first, so that they fill the tail padding of future_state_base.
    bool deliver_cancel_ = false;
    bool started_ = false;
    bool scheduled_ = false;

protected:
    bool must_cancel_ = false;

public:
    /// `numbered`: the task gets the default name "Task-<n>" (false when the caller names it).
    /// `eager`: its first step is not scheduled; the creator calls run_first_step() at once.
    /// `ctx`: the context the task runs in (the task adds a reference), or null for a copy of the
    /// current one (null again when that is empty: nothing is allocated then).
    task_core(event_loop& loop, unique_frame frame, const state_ops* table, bool numbered,
              bool eager, context_data* ctx)
        : future_state_base(loop, table, true), frame_(std::move(frame)), ctx_(ctx) {
        auto& core = loop.core();
        if (numbered) {
            set_number(++core.task_counter);
        }
        resume_point_ = frame_.get();
        add_ref(); // the loop's reference, dropped when the task finishes
        if (!eager) {
            wake(); // may throw (bad_alloc): nothing is linked yet
        }
        core.tasks.push_back(*this);
    }

    /// An eager task's first step (3.12's eager_task_factory): run synchronously by its creator,
    /// as the current task, until the body first suspends or ends. The creator holds a reference.
    void run_first_step() noexcept { step(); }

    /// Schedules the next step (the task resumes in the next iteration, behind what is queued).
    void wake() {
        ASYNCIO_ASSERT(!scheduled_);
        scheduled_ = true;
        hook_.fn = nullptr; // woken: a cancel now is delivered at the step; the recheck keeps ctx
        loop_->core().schedule(&step_entry, this);
    }

    /// suspend(h) then wake(): a bare yield to the back of the ready queue (sleep(0)), inline
    /// because every switch goes through it. The task is scheduled before anything changes, so a
    /// failure to schedule (out of memory) leaves it as it was.
    void yield_now(std::coroutine_handle<> h) {
        ASYNCIO_ASSERT(!scheduled_);
        loop_->core().schedule(&step_entry, this);
        scheduled_ = true;
        resume_point_ = h;
        hook_ = cancel_hook{};
        recheck_ = nullptr;
    }

    /// Records where the chain suspended, how a cancel request reaches what it waits for, and
    /// optionally a check run at the start of the next step: a queue waiter re-checks its
    /// condition there and, if another task took the item first, waits again without resuming
    /// (asyncio's `while q.empty(): await getter`, without a coroutine frame).
    void suspend(std::coroutine_handle<> h, cancel_hook hook = {},
                 recheck_fn recheck = nullptr) noexcept {
        resume_point_ = h;
        hook_ = hook;
        recheck_ = recheck;
    }

    /// True when this step delivers a cancellation (the resumed await will throw).
    [[nodiscard]] bool cancel_delivery_pending() const noexcept { return deliver_cancel_; }

    /// For the awaiter that resumes: throws cancelled_error if this step delivers a cancellation.
    void throw_if_cancel_delivered() {
        if (deliver_cancel_) {
            throw_cancel_delivered();
        }
    }
    /// Used by hooks that withdrew the task from what it waited for: the resumed await throws.
    void deliver_cancel() noexcept { deliver_cancel_ = true; }
    /// For an awaiter whose operation completed before a cancellation reached it and whose result
    /// cannot be put back (bytes received from a socket): the await returns the result, and the
    /// cancellation is delivered at the task's next suspension instead (as a cancel requested
    /// while the task runs).
    void postpone_cancel_delivery() noexcept {
        if (deliver_cancel_) {
            deliver_cancel_ = false;
            must_cancel_ = true;
        }
    }

    /// Task.cancel(msg): see asyncio-semantics.md section 2. What the task waits for is cancelled
    /// through request_cancel, so a chain of any depth is walked on a flat stack.
    bool cancel(std::string msg = {}) {
        if (done()) {
            mark_retrieved();
            return false;
        }
        ++cancelling_count_ref(); // out of line: most tasks are never cancelled
        request_cancel(*this, std::move(msg));
        return true;
    }

    /// Applies a cancellation requested by cancel(), in the walk's depth-first order.
    void apply_cancel(std::string msg) {
        if (done()) {
            return;
        }
        if (deliver_cancel_) {
            // A cancellation is already on its way to the task's await (an earlier cancel was
            // accepted by what it waited for): that one is delivered, with its message, and this
            // request merges into it (CPython: the future's CancelledError is kept).
            must_cancel_ = true;
            return;
        }
        set_cancel_message(std::move(msg));
        if (hook_.fn != nullptr && hook_.fn(hook_.ctx, *this)) {
            return;
        }
        must_cancel_ = true;
    }

    /// Cancels a future or a task state `s` (whose own cancel() already did its bookkeeping):
    /// queued on the loop's walk, and applied at once unless a walk is under way. Hooks call
    /// cancel() on what the task awaits; those calls land here and are applied after the hook
    /// returns, depth first (the order recursive calls would have), so neither a chain of 100,000
    /// tasks nor 100,000 nested gathers grows the stack.
    static void request_cancel(future_state_base& s, std::string msg) {
        loop_core& core = s.loop().core();
        s.add_ref();
        try {
            core.cancel_work.push_back(cancel_request{&s, std::move(msg)});
        } catch (...) {
            s.release();
            throw;
        }
        if (!core.cancel_walking) {
            walk(core);
        }
    }

    /// The awaited future or task ended cancelled: its own cancelled_error is what the resumed
    /// await raises, so a cancellation requested meanwhile is not delivered a second time there.
    void keep_awaited_cancellation() noexcept { deliver_cancel_ = false; }
    [[nodiscard]] int cancelling() const noexcept { return cancelling_count(); }
    /// Task.uncancel() as in 3.13: reaching 0 also withdraws a cancel request not yet delivered.
    int uncancel() noexcept {
        if (cancelling_count() == 0) {
            return 0;
        }
        int& n = cancelling_count_ref(); // exists: the count is not 0
        if (--n == 0) {
            must_cancel_ = false;
        }
        return n;
    }

    /// Names the next coroutine of this chain the driver resumes (the loop's trampoline slot).
    void set_next(std::coroutine_handle<> h) noexcept { loop_->core().trampoline = h; }

#if defined(ASYNCIO_CALL_GRAPH)
    /// Call graphs (graph.hpp): the innermost coroutine of this task's await chain, kept by the
    /// task's start, each inline await of a task<T> and each finish (never by a plain co_await).
    [[nodiscard]] task_promise_base* innermost() const noexcept { return innermost_; }
    void set_innermost(task_promise_base* p) noexcept { innermost_ = p; }
#endif

protected:
    ~task_core() = default;

    /// Called by the typed finish function once the result (if any) has left the frame.
    void conclude(std::exception_ptr ex) noexcept {
        // From the pending tasks to the states the loop detaches if it dies first.
        static_cast<state_link*>(this)->unlink();
        loop_->core().states.push_back(*this);
        if (ex) {
            // A coroutine that ends with cancelled_error ends cancelled (with its message).
            try {
                std::rethrow_exception(ex);
            } catch (const cancelled_error& e) {
                complete_cancelled(e.message());
            } catch (...) {
                complete_exception(std::move(ex));
            }
        } else if (must_cancel_) {
            // Cancelled right before the coroutine returned: still ends cancelled (CPython).
            must_cancel_ = false;
            complete_cancelled(cancel_message());
        } else {
            complete_result();
        }
        release(); // the loop's reference
    }

    /// The loop dies while the task is pending: its frames go (nothing resumes it again) and it
    /// ends cancelled ("Event loop is closed"), so a handle that outlives the loop reads done and
    /// cancelled, and cancel() returns false.
    static void abandon_pending(state_link* l) noexcept {
        auto& t = static_cast<task_core&>(*l);
        t.hook_ = {};
        t.destroy_frames();
        t.loop_->call_exception_handler(
            {t.report_message("Task was destroyed but it is pending!"), nullptr, t.name()});
        t.complete_cancelled("Event loop is closed");
        t.loop_ = nullptr; // no longer linked anywhere: forget the loop now
        t.release();
    }

public:
    /// For task<T>'s destructor: while this task's frames are being destroyed (abandon), a frame
    /// of its await chain is handed over here instead of being destroyed inside its parent's
    /// destruction, which would recurse once per level.
    [[nodiscard]] bool defer_frame_destruction(std::coroutine_handle<> h) noexcept {
        if (loop_ == nullptr || loop_->core().frame_sink == nullptr) {
            return false;
        }
        try {
            loop_->core().frame_sink->push_back(h);
            return true;
        } catch (...) {
            return false; // out of memory: destroyed in place (recursively) instead
        }
    }

    /// Debug mode: what the loop needs to recognise and name a task's step (step_describer).
    [[nodiscard]] static step_describer describer() noexcept {
        return step_describer{&step_entry,
                              [](void* p) noexcept { static_cast<task_core*>(p)->add_ref(); },
                              [](void* p) noexcept { static_cast<task_core*>(p)->release(); },
                              [](void* p) { return static_cast<task_core*>(p)->debug_repr(); }};
    }

    /// "<Task pending name='Task-2' created at f.cpp:12 in main>" (Python's repr, without the
    /// coroutine, which C++ cannot name).
    [[nodiscard]] std::string debug_repr() const {
        const char* state = !done() ? "pending" : cancelled() ? "cancelled" : "finished";
        std::string out = std::string("<Task ") + state + " name='" + name() + "'";
        if (std::string at = created_at(); !at.empty()) {
            out += " created at " + at;
        }
        return out + ">";
    }

protected:
    static bool cancel_entry(state_link* l, const std::string& msg) {
        return static_cast<task_core*>(l)->cancel(msg);
    }

    unique_frame frame_;
    /// The task's context (contextvars): null while it is an empty one nobody materialised.
    context_ref ctx_;

private:
    static void step_entry(void* p, bool run) {
        if (run) {
            static_cast<task_core*>(p)->step();
        }
    }

    // The frame and, one after the other, the frames of the await chain it owns.
    void destroy_frames() noexcept {
        std::vector<std::coroutine_handle<>> sink;
        loop_core& core = loop_->core();
        core.frame_sink = &sink;
        frame_.reset();
        while (!sink.empty()) {
            const std::coroutine_handle<> h = sink.back();
            sink.pop_back();
            h.destroy(); // its own chain frames land in `sink`
        }
        core.frame_sink = nullptr;
    }

    // Drains the loop's cancel_work depth first: the requests one application makes are applied
    // before the next older one, in the order they were made.
    static void walk(loop_core& core) {
        struct walking {
            loop_core& c;
            explicit walking(loop_core& lc) noexcept : c(lc) { c.cancel_walking = true; }
            walking(const walking&) = delete;
            walking& operator=(const walking&) = delete;
            ~walking() {
                c.cancel_walking = false;
                for (cancel_request& r : c.cancel_work) { // only after an exception
                    static_cast<future_state_base*>(r.state)->release();
                }
                c.cancel_work.clear();
            }
        } guard(core);
        std::vector<cancel_request>& work = core.cancel_work;
        while (!work.empty()) {
            cancel_request r = std::move(work.back());
            work.pop_back();
            auto* s = static_cast<future_state_base*>(r.state);
            struct releaser {
                future_state_base* s;
                ~releaser() { s->release(); }
            } hold{s};
            const auto mark = static_cast<std::ptrdiff_t>(work.size());
            if (s->is_task()) {
                static_cast<task_core*>(s)->apply_cancel(std::move(r.msg));
            } else if (!s->done()) {
                s->complete_cancelled(std::move(r.msg));
            }
            std::reverse(work.begin() + mark, work.end());
        }
    }

    [[noreturn]] ASYNCIO_NOINLINE void throw_cancel_delivered() {
        deliver_cancel_ = false;
        throw cancelled_error(cancel_message());
    }

    // The start of a step in its general form: a cancellation to deliver, a waiter's re-check,
    // or the first step. False when the step ends here (the waiter waits again, or the task was
    // cancelled before it started).
    ASYNCIO_NOINLINE bool begin_step_slow() noexcept {
        const cancel_hook hook = std::exchange(hook_, cancel_hook{});
        if (must_cancel_) {
            must_cancel_ = false;
            deliver_cancel_ = true;
        }
        if (const recheck_fn check = std::exchange(recheck_, nullptr); check != nullptr) {
            if (!deliver_cancel_ && !check(hook.ctx, *this)) {
                return false; // the awaiter waits again (and registered itself anew)
            }
        }
        if (!started_ && deliver_cancel_) {
            // Cancelled before its first step: the body never runs.
            deliver_cancel_ = false;
            frame_.reset();
            conclude(std::make_exception_ptr(cancelled_error(cancel_message())));
            return false;
        }
        started_ = true;
        return true;
    }

    // The task cancelled itself, then awaited: that await is cancelled at once (or, if what it
    // awaits refuses, at the next step). A failure here (out of memory) leaves the request for
    // the next step.
    ASYNCIO_NOINLINE void cancel_own_await() noexcept {
        must_cancel_ = false;
        try {
            request_cancel(*this, cancel_message());
        } catch (...) {
            must_cancel_ = true;
        }
    }

    void step() noexcept {
        scheduled_ = false;
        if (!must_cancel_ && recheck_ == nullptr && (started_ || !deliver_cancel_)) {
            // The common step: a woken task resumes, or a task starts.
            hook_ = cancel_hook{};
            started_ = true;
        } else if (!begin_step_slow()) {
            return;
        }
        loop_core& core = loop_->core();
        void* const outer = core.current_task;
        core.current_task = this;
        // The driver: awaiting a lazy task or finishing one stores the next frame in the loop's
        // trampoline slot and returns, so a chain of any depth runs on a flat stack whatever the
        // compiler does.
        std::coroutine_handle<>& next = core.trampoline;
        ASYNCIO_ASSERT(!next);
        next = resume_point_;
        {
            const context_scope in_context(ctx_.slot()); // the task's own context for this step
            while (next) {
                std::exchange(next, nullptr).resume();
            }
        }
        core.current_task = outer;
        if (frame_.done()) {
            ops->finish(this);
            return;
        }
        if (must_cancel_ && hook_.fn != nullptr) {
            cancel_own_await();
        }
    }

    std::coroutine_handle<> resume_point_;
    cancel_hook hook_;
    recheck_fn recheck_ = nullptr;
#if defined(ASYNCIO_CALL_GRAPH)
    task_promise_base* innermost_ = nullptr;
#endif
};

/// Registers task steps with the loop's debug mode once per program (static initialisation).
inline const bool task_steps_described = [] {
    task_step_describer() = task_core::describer();
    return true;
}();

} // namespace asyncio::detail
