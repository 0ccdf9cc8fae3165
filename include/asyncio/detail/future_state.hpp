// SPDX-License-Identifier: MIT
// The shared state behind future<T> and task_handle<T>: status, exception, done-callback list.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/loop.hpp>

#include <asyncio/detail/context_core.hpp>
#include <asyncio/detail/intrusive_list.hpp>
#include <asyncio/detail/value_slot.hpp>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace asyncio {

/// Identifies a callback registered with `add_done_callback`, for `remove_done_callback`.
/// (Python compares the callables; C++ lambdas are not comparable, hence the id.)
using callback_id = std::uint64_t;

} // namespace asyncio

namespace asyncio::detail {

enum class future_status : unsigned char { pending, result, exception, cancelled };

struct done_tag;

/// An entry of a future's done list: a waiting task, a gather child slot or a user callback.
/// `on_done` runs synchronously when the future completes and may only schedule (rule 4: every
/// callback and wake-up goes through the ready queue, in registration order).
struct done_node : list_hook<done_tag> {
    void (*on_done)(done_node*) noexcept = nullptr;
};

class future_state_base;

/// A user done-callback: scheduled with call_soon when the future completes; holds a reference to
/// the state only while scheduled (so a never-completed future does not keep itself alive).
struct user_callback : done_node {
    future_state_base* state = nullptr;
    callback_id id = 0;
    /// The callback runs in a copy of the context current at add_done_callback (as Python's).
    context_ref ctx{nullptr};
    void (*invoke)(user_callback*) = nullptr;
    void (*destroy)(user_callback*) noexcept = nullptr;
};

/// Status, exception, refcount and done list, shared by futures and tasks; the name and the
/// cancel message live out of line (most states never need them). About 72 bytes.
class future_state_base : public state_link {
public:
    /// A future links itself into the loop's `states`; a task (`is_task`) is linked into `tasks`
    /// by task_core while it is pending, and into `states` once it finishes.
    future_state_base(event_loop& loop, const state_ops* table, bool is_task) noexcept
        : loop_(&loop) {
        ops = table;
        if (!is_task) {
            loop.core().states.push_back(*this);
        }
    }
    future_state_base(const future_state_base&) = delete;
    future_state_base& operator=(const future_state_base&) = delete;

    void add_ref() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0) {
            dispose();
        }
    }

    [[nodiscard]] bool done() const noexcept { return status_ != future_status::pending; }
    [[nodiscard]] bool cancelled() const noexcept { return status_ == future_status::cancelled; }
    [[nodiscard]] future_status status() const noexcept { return status_; }
    [[nodiscard]] bool is_task() const noexcept { return ops->finish != nullptr; }
    [[nodiscard]] const std::string& cancel_message() const noexcept {
        return extras_ ? extras_->cancel_msg : empty_string();
    }
    /// The message of the cancelled_error that a retrieval of this cancelled state raises. A
    /// task's message goes with the first retrieval (CPython keeps the CancelledError that ended
    /// the task, hands it out once, then builds new ones from a message a finished task no longer
    /// has); a future keeps its message for every retrieval.
    [[nodiscard]] std::string take_cancel_message() {
        if (!is_task() || !extras_) {
            return cancel_message();
        }
        return std::exchange(extras_->cancel_msg, std::string());
    }
    void set_cancel_message(std::string msg) {
        if (!msg.empty() || extras_) {
            extra().cancel_msg = std::move(msg);
        }
    }

    /// The name used in reports and by Task.get_name(): "Task-<n>" is only formatted when asked.
    [[nodiscard]] const std::string& name() const {
        extras& x = extra();
        if (!x.named) {
            x.named = true;
            const std::uint64_t n = number();
            x.name = n != 0 ? "Task-" + std::to_string(n) : std::string();
        }
        return x.name;
    }
    void set_name(std::string n) {
        extras& x = extra();
        x.name = std::move(n);
        x.named = true;
    }

    /// A task's cancelling() count, kept out of line (most tasks are never cancelled).
    [[nodiscard]] int cancelling_count() const noexcept {
        return extras_ ? extras_->cancelling : 0;
    }
    /// The count, for a change (allocates the out-of-line part).
    int& cancelling_count_ref() { return extra().cancelling; }

    /// Debug mode: records where the task was created (kept out of line, with the name).
    void set_created_at(const source_site& site) { extra().created_at = site; }
    /// "file:line in function" where the task was created, or empty (debug mode off then).
    [[nodiscard]] std::string created_at() const {
        return extras_ && extras_->created_at.file != nullptr ? format_site() : std::string();
    }
    /// A report's message: `msg`, then in debug mode a line "created at <site>".
    [[nodiscard]] std::string report_message(const char* msg) const {
        std::string at = created_at();
        return at.empty() ? std::string(msg) : std::string(msg) + "\ncreated at " + at;
    }

private:
    [[nodiscard]] std::string format_site() const {
        const source_site& s = extras_->created_at;
        std::string out = std::string(s.file) + ":" + std::to_string(s.line);
        if (s.function != nullptr && *s.function != '\0') {
            out += " in ";
            out += s.function;
        }
        return out;
    }

public:
    /// Whether the state was created on `l` (false once its loop was destroyed).
    [[nodiscard]] bool belongs_to(const event_loop& l) const noexcept { return loop_ == &l; }

    /// The loop, or std::runtime_error("Event loop is closed") once it was destroyed.
    [[nodiscard]] event_loop& loop() const {
        if (loop_ == nullptr) {
            throw std::runtime_error("Event loop is closed");
        }
        return *loop_;
    }

    /// Completion. The value (if any) is stored by the typed layer before complete_result().
    void complete_result() noexcept { complete(future_status::result); }
    void complete_exception(std::exception_ptr e) noexcept {
        exc_ = std::move(e);
        complete(future_status::exception);
    }
    void complete_cancelled(std::string msg) noexcept {
        set_cancel_message(std::move(msg));
        complete(future_status::cancelled);
    }

    /// A waiter (awaiting task or gather slot) on a pending future.
    void add_waiter(done_node& n) noexcept {
        ASYNCIO_ASSERT(!done());
        done_list_.push_back(n);
    }

    /// Calls `f(done_node&)` for each entry of the done list, in order (call graphs read who
    /// waits); `f` must not change the list.
    template <class F> void for_each_done_node(F&& f) { done_list_.for_each(std::forward<F>(f)); }

    /// add_done_callback: `f(future_state_base*)` is scheduled when the future completes, or at
    /// once (still through call_soon) when it is already done.
    template <class F> callback_id add_callback(F&& f) {
        struct node final : user_callback {
            explicit node(F&& fn) : f(std::move(fn)) {}
            std::decay_t<F> f;
        };
        if (done()) {
            (void)loop(); // scheduling needs the loop: "Event loop is closed" once it is gone
        }
        auto* n = new node(std::forward<F>(f));
        n->state = this;
        n->id = next_callback_id();
        n->on_done = &schedule_callback;
        n->invoke = [](user_callback* u) { static_cast<node*>(u)->f(u->state); };
        n->destroy = [](user_callback* u) noexcept { delete static_cast<node*>(u); };
        if (done()) {
            schedule_callback(n);
        } else {
            done_list_.push_back(*n);
        }
        return n->id;
    }

    /// remove_done_callback: removes the pending callback `id`; returns how many were removed.
    std::size_t remove_callback(callback_id id) noexcept {
        std::size_t removed = 0;
        done_list_.for_each([&](done_node& n) {
            if (n.on_done == &schedule_callback && static_cast<user_callback&>(n).id == id) {
                n.unlink();
                auto& u = static_cast<user_callback&>(n);
                u.destroy(&u);
                ++removed;
            }
        });
        return removed;
    }

    /// Throws what result() throws unless the future holds a result; marks exceptions retrieved.
    void check_result() {
        switch (status_) {
        case future_status::pending:
            throw invalid_state_error("Result is not set.");
        case future_status::cancelled:
            throw cancelled_error(take_cancel_message());
        case future_status::exception:
            retrieved_ = true;
            std::rethrow_exception(exc_);
        case future_status::result:
            break;
        }
    }

    /// exception(): the exception or null; raises like Python for pending or cancelled states.
    std::exception_ptr exception() {
        if (status_ == future_status::pending) {
            throw invalid_state_error("Exception is not set.");
        }
        if (status_ == future_status::cancelled) {
            throw cancelled_error(take_cancel_message());
        }
        retrieved_ = true;
        return exc_;
    }

    /// Marks the exception as retrieved without reading it (gather, cancel of a done task).
    void mark_retrieved() noexcept { retrieved_ = true; }

    static const std::string& empty_string() noexcept {
        static const std::string empty;
        return empty;
    }

protected:
    ~future_state_base() = default;

    /// The loop is going away: report an exception nobody retrieved, forget the loop.
    static void loop_closed(state_link* l) noexcept {
        auto* s = static_cast<future_state_base*>(l);
        s->report_unretrieved();
        s->loop_ = nullptr;
    }

    /// The default name's number (0: a plain future, or a task given a name). 48 bits: after
    /// 2^48 tasks on one loop the default names start again at "Task-0".
    [[nodiscard]] std::uint64_t number() const noexcept {
        return (std::uint64_t{number_hi_} << 32U) | number_lo_;
    }
    void set_number(std::uint64_t n) noexcept {
        number_lo_ = static_cast<std::uint32_t>(n);
        number_hi_ = static_cast<std::uint16_t>(n >> 32U);
    }

    event_loop* loop_;
    std::exception_ptr exc_;

private:
    struct extras {
        std::string name;
        std::string cancel_msg;
        source_site created_at;
        int cancelling = 0; // a task's cancelling() count
        bool named = false;
    };
    extras& extra() const {
        if (!extras_) {
            extras_ = std::make_unique<extras>();
        }
        return *extras_;
    }

    // Ids are counted per loop; a future whose loop is gone (its callbacks can never run) numbers
    // them after the largest one it holds.
    callback_id next_callback_id() noexcept {
        if (loop_ != nullptr) {
            return ++loop_->core().callback_ids;
        }
        callback_id last = 0;
        done_list_.for_each([&](done_node& n) {
            if (n.on_done == &schedule_callback) {
                last = std::max(last, static_cast<user_callback&>(n).id);
            }
        });
        return last + 1;
    }

    void complete(future_status s) noexcept {
        ASYNCIO_ASSERT(status_ == future_status::pending);
        status_ = s;
        while (!done_list_.empty()) {
            done_node& n = done_list_.pop_front();
            n.on_done(&n);
        }
    }

    static void schedule_callback(done_node* d) noexcept {
        auto* u = static_cast<user_callback*>(d);
        u->state->add_ref();
        u->state->loop_->core().schedule(&run_callback, u);
    }

    static void run_callback(void* p, bool run) {
        auto* u = static_cast<user_callback*>(p);
        struct cleanup {
            user_callback* u;
            ~cleanup() {
                future_state_base* s = u->state;
                u->destroy(u);
                s->release();
            }
        } guard{u};
        if (run) {
            const context_scope in_context(u->ctx.slot());
            u->invoke(u);
        }
    }

    void report_unretrieved() noexcept {
        if (status_ == future_status::exception && !retrieved_ && loop_ != nullptr) {
            report_unretrieved_now();
        }
    }
    ASYNCIO_NOINLINE void report_unretrieved_now() noexcept {
        retrieved_ = true;
        loop_->call_exception_handler(
            {report_message(is_task() ? "Task exception was never retrieved"
                                      : "Future exception was never retrieved"),
             exc_, name()});
    }

    void dispose() noexcept {
        report_unretrieved();
        static_cast<state_link*>(this)->unlink();
        while (!done_list_.empty()) {
            done_node& n = done_list_.pop_front();
            if (n.on_done == &schedule_callback) {
                auto& u = static_cast<user_callback&>(n);
                u.destroy(&u);
            }
        }
        ops->destroy(this);
    }

    // The last 16 bytes are packed (bench/README.md, "Memory per spawned task"): the reference
    // count, the name's number in two parts, the status, the retrieved flag, and in the 4 bytes
    // of tail padding task_core's flags.
    intrusive_list<done_node, done_tag> done_list_;
    mutable std::unique_ptr<extras> extras_;
    std::uint32_t refs_ = 0;
    std::uint32_t number_lo_ = 0;
    future_status status_ = future_status::pending;
    bool retrieved_ = false;
    std::uint16_t number_hi_ = 0;
};

/// result() of a finished state: `T&` into the state (void for void).
template <class T> decltype(auto) result_ref(future_state_base& s, value_slot<T>& slot) {
    s.check_result();
    if constexpr (std::is_void_v<T>) {
        return;
    } else {
        return static_cast<T&>(slot.get());
    }
}

/// What `co_await` on a finished future or task gives: a copy, or the value moved out.
template <bool Move, class T> T take_result(future_state_base& s, value_slot<T>& slot) {
    s.check_result();
    if constexpr (std::is_void_v<T> || std::is_reference_v<T>) {
        return slot.get();
    } else if constexpr (Move) {
        return std::move(slot.get());
    } else {
        static_assert(std::is_copy_constructible_v<T>,
                      "the result type is move-only: co_await std::move(handle) to take it");
        return slot.get();
    }
}

} // namespace asyncio::detail
