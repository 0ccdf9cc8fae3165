// SPDX-License-Identifier: MIT
// The untyped part of gather: one slot per child on its done list, counting, cancel fan-out.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>

#include <asyncio/detail/future_state.hpp>
#include <asyncio/detail/ref_ptr.hpp>
#include <asyncio/detail/task_core.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

namespace asyncio::detail {

/// asyncio's _GatheringFuture without the typed results. Each child completion is handled one
/// iteration after the child finishes (a done callback scheduled with call_soon), and the
/// awaiting task resumes one iteration after that: the N+2 of asyncio-semantics.md 1.8.
class gather_core {
public:
    /// 48 bytes per child.
    struct slot : done_node {
        gather_core* owner = nullptr;
        ref_ptr<future_state_base> child; // held until the result is taken or the gather dies
        /// Bit 0: the child ended with a result, seen when it completed, so that counting it
        /// later need not touch the child again (with a million children, each touch is a cache
        /// miss). Above: its ready-queue position plus one while its completion is scheduled.
        std::uint64_t bits = 0;

        [[nodiscard]] bool succeeded() const noexcept { return (bits & 1U) != 0; }
        void set_succeeded(bool ok) noexcept { bits = (bits & ~std::uint64_t{1}) | (ok ? 1U : 0U); }
        [[nodiscard]] bool scheduled() const noexcept { return (bits >> 1U) != 0; }
        [[nodiscard]] std::uint64_t ready_pos() const noexcept { return (bits >> 1U) - 1; }
        void set_scheduled(std::uint64_t pos) noexcept { bits = ((pos + 1) << 1U) | (bits & 1U); }
        void clear_scheduled() noexcept { bits &= 1U; }
    };

    gather_core(const gather_core&) = delete;
    gather_core& operator=(const gather_core&) = delete;

    /// _GatheringFuture.cancel(msg): cancels every unfinished child; true if at least one
    /// accepted. The gather then ends with cancelled_error once its children are done, even with
    /// return_exceptions. False once the gather is done, or when every child is already done.
    bool cancel(const std::string& msg = {}) {
        if (outer_done_) {
            return false;
        }
        bool accepted = false;
        for (std::size_t i = 0; i < n_; ++i) {
            slot& s = slots_[i];
            if (!s.child->done() && s.child->ops->cancel(s.child.get(), msg)) {
                accepted = true;
            }
        }
        if (accepted) {
            cancel_requested_ = true;
        }
        return accepted;
    }
    /// Call graphs (graph.hpp): the task awaiting the gather that `n`, a node of a child's done
    /// list, belongs to; null when `n` is no gather slot or its gather is not awaited yet.
    [[nodiscard]] static task_core* waiting_task(const done_node& n) noexcept {
        return n.on_done == &slot_fired ? static_cast<const slot&>(n).owner->root_ : nullptr;
    }
    /// Future.done(): the gather has its results, or its exception.
    [[nodiscard]] bool done() const noexcept { return outer_done_; }
    /// Future.cancelled(): always false, as in CPython, whose gather future ends a cancelled
    /// gather with a CancelledError *exception* rather than in the cancelled state.
    [[nodiscard]] static constexpr bool cancelled() noexcept { return false; }

    [[nodiscard]] bool await_ready() const noexcept { return outer_done_; }

    template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) noexcept {
        root_ = root_of(h);
        root_->suspend(h, cancel_hook{&on_cancel, this});
    }

protected:
    explicit gather_core(bool return_exceptions) noexcept : return_exceptions_(return_exceptions) {}
    ~gather_core() { detach_impl(); }

    /// Links every slot to its child; children already done count at once (3.12+ behaviour),
    /// so gathering only finished children does not suspend.
    void attach(slot* slots, std::size_t n, event_loop& loop) noexcept {
        begin_attach(slots, n, loop);
        for (std::size_t i = 0; i < n; ++i) {
            attach_next();
        }
        end_attach();
    }

    /// The same one slot at a time, so that a range is read in a single pass: `slots` fills up
    /// in order, and each slot is attached as soon as its child is set. `total` is the number of
    /// children there will be: a finished child attached first must not look like the last one.
    void begin_attach(slot* slots, std::size_t total, event_loop& loop) noexcept {
        slots_ = slots;
        n_ = 0;
        total_ = total;
        loop_ = &loop.core();
    }
    void attach_next() noexcept {
        slot& s = slots_[n_++];
        s.owner = this;
        s.on_done = &slot_fired;
        if (s.child->done()) {
            s.set_succeeded(s.child->status() == future_status::result);
            child_done(s);
        } else {
            s.child->add_waiter(s);
        }
    }
    void end_attach() noexcept {
        if (n_ == 0) {
            outer_done_ = true;
        }
    }

    /// Once slot `i`'s result was taken: what detach would do for it, while its child is in
    /// cache, and the slot lets go of the child.
    void release_child(std::size_t i) noexcept { detach_slot(slots_[i]); }

    /// After resuming: cancellation delivered to the awaiting task, or the first failure.
    void rethrow_if_failed() {
        if (root_ != nullptr) {
            if (outer_cancelled_) {
                root_->keep_awaited_cancellation(); // the gather's own cancelled_error wins
            } else {
                root_->throw_if_cancel_delivered();
            }
        }
        if (outer_exc_) {
            std::rethrow_exception(outer_exc_);
        }
    }

    /// Before the results are handed out: they are moved out of the children, so only once.
    void take_results_once() {
        if (results_taken_) {
            throw std::runtime_error(
                "cannot reuse already awaited gather: its results were already taken");
        }
        results_taken_ = true;
    }

    [[nodiscard]] std::size_t child_count() const noexcept { return n_; }

    /// Unlinks every slot; derived classes call it before their slots (and references) go.
    void detach() noexcept { detach_impl(); }

    bool return_exceptions_;

private:
    static void slot_fired(done_node* d) noexcept {
        auto* s = static_cast<slot*>(d);
        s->set_succeeded(s->child->status() == future_status::result);
        s->set_scheduled(s->owner->loop_->schedule(&slot_run, s));
    }

    static void slot_run(void* p, bool run) {
        auto* s = static_cast<slot*>(p);
        s->clear_scheduled();
        if (run) {
            s->owner->child_done(*s);
        }
    }

    void child_done(slot& s) noexcept {
        ++finished_;
        if (s.succeeded()) {
            if (!outer_done_) {
                finish_if_last(nullptr);
            }
            return;
        }
        future_state_base& c = *s.child;
        if (outer_done_) {
            c.mark_retrieved();
            return;
        }
        if (!return_exceptions_) {
            if (c.cancelled()) {
                finish(std::make_exception_ptr(cancelled_error(c.take_cancel_message())), true);
                return;
            }
            if (c.status() == future_status::exception) {
                finish(c.exception());
                return;
            }
        } else if (c.status() == future_status::exception) {
            c.mark_retrieved();
        }
        finish_if_last(c.cancelled() ? &c : nullptr);
    }

    // The last child is in: the gather ends, cancelled if its task asked for it, with the message
    // of the last child when that one was cancelled too (which CPython hands out only then).
    void finish_if_last(future_state_base* cancelled_child) noexcept {
        if (finished_ != total_) {
            return;
        }
        if (!cancel_requested_) {
            finish(nullptr);
            return;
        }
        std::string msg =
            cancelled_child != nullptr ? cancelled_child->take_cancel_message() : std::string();
        finish(std::make_exception_ptr(cancelled_error(std::move(msg))), true);
    }

    void finish(std::exception_ptr e, bool cancelled = false) noexcept {
        outer_done_ = true;
        outer_cancelled_ = cancelled;
        outer_exc_ = std::move(e);
        if (root_ != nullptr) {
            root_->wake();
        }
    }

    // Cancelling the awaiting task cancels every unfinished child; the gather then ends with
    // cancelled_error once they finish, even with return_exceptions.
    static bool on_cancel(void* ctx, task_core& t) {
        return static_cast<gather_core*>(ctx)->cancel(t.cancel_message());
    }

    void detach_impl() noexcept {
        for (std::size_t i = 0; i < n_; ++i) {
            detach_slot(slots_[i]);
        }
        n_ = 0;
    }

    void detach_slot(slot& s) noexcept {
        s.unlink();
        if (s.scheduled()) {
            loop_->unschedule(s.ready_pos());
            s.clear_scheduled();
        }
        if (s.child) {
            // asyncio's gather marks every child exception retrieved, even late ones.
            if (!s.succeeded()) {
                s.child->mark_retrieved();
            }
            s.child.reset();
        }
    }

    slot* slots_ = nullptr;
    std::size_t n_ = 0;     // attached so far
    std::size_t total_ = 0; // attached once the gather is built
    std::size_t finished_ = 0;
    loop_core* loop_ = nullptr;
    task_core* root_ = nullptr;
    std::exception_ptr outer_exc_;
    bool outer_done_ = false;
    bool outer_cancelled_ = false; // outer_exc_ is the gather's own cancelled_error
    bool cancel_requested_ = false;
    bool results_taken_ = false;
};

} // namespace asyncio::detail
