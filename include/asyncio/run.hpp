// SPDX-License-Identifier: MIT
// run(): asyncio.run — a fresh loop, the main task, then an orderly shutdown of what is left.
#pragma once

#include <asyncio/awaitable.hpp>
#include <asyncio/config.hpp>
#include <asyncio/future.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/task.hpp>
#include <asyncio/threads.hpp>

#include <asyncio/detail/running_loop.hpp>
#include <asyncio/detail/signals.hpp>

#include <signal.h>

#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace asyncio {

/// Options of `asyncio::run` (Python's keyword arguments).
struct run_options {
    /// `clock_kind::virtual_time` runs every sleep instantly, with exact loop times.
    clock_kind clock = clock_kind::monotonic;
    /// The loop's I/O backend: epoll on Linux by default, or poll(2).
    selector_kind selector = selector_kind::automatic;
    /// Replaces the loop's default exception handler (which writes to stderr).
    exception_handler handler = {};
    /// asyncio.run(debug=...): debug mode on or off for this run (event_loop::set_debug); unset,
    /// the loop's default (the environment variable ASYNCIO_CPP_DEBUG).
    std::optional<bool> debug = std::nullopt;
};

namespace detail {

/// Runs the loop until every task in `tasks` is done, then reports to the exception handler, under
/// `message`, each task that ended with an exception other than cancellation.
inline void wait_all(event_loop& loop, std::vector<task_ref>& tasks, const char* message) {
    if (tasks.empty()) {
        return;
    }
    future<void> all_done = loop.create_future<void>();
    auto remaining = std::make_shared<std::size_t>(tasks.size());
    for (task_ref& t : tasks) {
        (void)t.add_done_callback([remaining, all_done]() mutable {
            if (--*remaining == 0) {
                all_done.set_result();
            }
        });
    }
    loop.run_until_complete(all_done);
    for (task_ref& t : tasks) {
        if (!t.cancelled()) {
            if (std::exception_ptr e = t.exception()) {
                loop.call_exception_handler({message, e, t.get_name()});
            }
        }
    }
}

/// asyncio's loop.shutdown_asyncgens(): closes every async generator that started and is still
/// suspended, each in its own task, so their cleanup runs before the loop closes.
inline void shutdown_asyncgens(event_loop& loop) {
    // Closing a generator may drop (orphan) nested ones: repeat until none is left to close.
    for (;;) {
        std::vector<asyncgen_link*> gens;
        loop.core().asyncgens.for_each([&](asyncgen_link& g) {
            if (g.needs_close(&g)) {
                gens.push_back(&g);
            }
        });
        if (gens.empty()) {
            return;
        }
        for (asyncgen_link* g : gens) {
            g->spawn_close(g);
        }
        std::vector<task_ref> closers = state_access::tasks_of(loop);
        wait_all(loop, closers, "an error occurred during closing of asynchronous generator");
    }
}

/// asyncio.runners._cancel_all_tasks: cancel the tasks pending now, run until they are done (tasks
/// they spawn meanwhile run too), report exceptions other than cancellation.
inline void cancel_all_tasks(event_loop& loop) {
    std::vector<task_ref> pending = state_access::tasks_of(loop);
    if (pending.empty()) {
        return;
    }
    for (task_ref& t : pending) {
        t.cancel();
    }
    wait_all(loop, pending, "unhandled exception during asyncio.run() shutdown");
}

/// What asyncio.run does after the main task: cancel the rest, close async generators, then shut
/// the default executor down. Where
/// CPython would then destroy tasks still pending (cleanup code may have spawned some), asyncio-cpp
/// cancels and runs them too, round after round, so that no frame is destroyed mid-flight.
inline void shutdown(event_loop& loop) {
    loop.core().shutting_down_ = true;
    cancel_all_tasks(loop);
    shutdown_asyncgens(loop);
    // Joins the default executor's threads (from another thread; the loop keeps running).
    loop.run_until_complete(loop.shutdown_default_executor());
    while (!loop.core().tasks.empty()) {
        cancel_all_tasks(loop);
    }
}

/// CPython's Runner._on_sigint, for the duration of one asyncio::run: installed only on the main
/// thread and only while SIGINT has its default disposition (as CPython installs it only over
/// default_int_handler), through the loop's own add_signal_handler. The first SIGINT cancels the
/// main task (one iteration later than CPython, whose handler runs between two bytecodes); when
/// the main task then ends cancelled and uncancel() brings it to 0, run throws
/// keyboard_interrupt. The kernel restores SIG_DFL as it delivers that first SIGINT
/// (SA_RESETHAND), so a second Ctrl-C kills the process at once, where CPython raises
/// KeyboardInterrupt from its handler (C++ cannot throw from a signal handler). A SIGINT that
/// arrives once the main task is done makes run throw keyboard_interrupt after the shutdown.
class sigint_handler {
public:
    sigint_handler(event_loop& loop, task_ref main) : loop_(loop), main_(std::move(main)) {
        if (!is_main_thread() || !has_default_disposition(SIGINT)) {
            return;
        }
        cb_ = make_signal_callback([this] { on_sigint(); });
        cb_->add_ref(); // ours, so that restore() can tell whether the loop still holds it
        try {
            loop_.core().signals_.add(SIGINT, cb_, *loop_.core().remote_, true);
        } catch (const std::exception&) {
            cb_->release(); // e.g. another loop handles SIGINT: CPython also carries on without
            cb_ = nullptr;
        }
    }
    sigint_handler(const sigint_handler&) = delete;
    sigint_handler& operator=(const sigint_handler&) = delete;
    ~sigint_handler() { restore(); }

    /// How many SIGINTs the loop handled so far.
    [[nodiscard]] int interrupts() const noexcept { return count_; }

    /// Removes the handler unless the program replaced it (loop.add_signal_handler(SIGINT, ...)),
    /// restoring SIG_DFL, the disposition it found (CPython's finally in Runner.run).
    void restore() noexcept {
        if (cb_ != nullptr) {
            if (loop_.core().signals_.find(SIGINT) == cb_) {
                loop_.core().signals_.remove(SIGINT);
            }
            cb_->release();
            cb_ = nullptr;
        }
    }

    /// Throws keyboard_interrupt if a SIGINT arrived once the main task was done.
    void raise_if_late() const {
        if (late_) {
            throw keyboard_interrupt();
        }
    }

private:
    void on_sigint() {
        ++count_;
        if (count_ == 1 && !main_.done()) {
            main_.cancel();
            return;
        }
        late_ = true;
    }

    event_loop& loop_;
    task_ref main_;
    signal_callback* cb_ = nullptr;
    int count_ = 0;
    bool late_ = false;
};

/// Runner.run: runs the main task; if it ends cancelled because of a SIGINT (and uncancel()
/// brings its count to 0), throws keyboard_interrupt instead of cancelled_error.
template <class T>
decltype(auto) run_main(event_loop& loop, task_handle<T>& main, sigint_handler& sigint) {
    struct restorer {
        sigint_handler& s;
        ~restorer() { s.restore(); }
    } guard{sigint};
    try {
        return loop.run_until_complete(main);
    } catch (const cancelled_error&) {
        if (sigint.interrupts() > 0 && main.uncancel() == 0) {
            throw keyboard_interrupt();
        }
        throw;
    }
}

} // namespace detail

/// asyncio.run(main): creates a loop, runs `main` as a task until it finishes, then cancels every
/// task still pending and runs them until they finish (their cleanup runs), and returns main's
/// value or rethrows its exception. As in CPython, a task that swallows every cancellation keeps
/// run from returning. Async generators still suspended are then closed (their cleanup runs).
/// Throws std::runtime_error when called while a loop is running.
/// Ctrl-C, as CPython's Runner: on the main thread, when SIGINT has its default disposition, run
/// handles it until the main task is done. The first SIGINT cancels the main task (its cleanup
/// runs); if main then ends cancelled, run shuts down as usual and throws keyboard_interrupt. A
/// second SIGINT meanwhile kills the process (SIG_DFL is back as soon as the first is delivered;
/// CPython raises KeyboardInterrupt at once). SIGINT's disposition is SIG_DFL again when the main
/// task is done, before the shutdown (as CPython restores it).
/// `site`: the caller's location, the main task's creation site in debug mode.
template <class T>
T run(task<T> main, run_options opts = {},
      const detail::source_site& site = {__builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                                         __builtin_FUNCTION()}) {
    if (detail::running_loop() != nullptr) {
        throw std::runtime_error("asyncio.run() cannot be called from a running event loop");
    }
    event_loop loop(opts.clock, opts.selector);
    if (opts.handler) {
        loop.set_exception_handler(std::move(opts.handler));
    }
    if (opts.debug) {
        loop.set_debug(*opts.debug);
    }
    task_handle<T> main_task = loop.create_task(std::move(main), site);
    detail::sigint_handler sigint(loop, main_task);
    bool shut_down = false;
    try {
        if constexpr (std::is_void_v<T>) {
            detail::run_main(loop, main_task, sigint);
            shut_down = true;
            detail::shutdown(loop);
            sigint.raise_if_late();
        } else {
            T result = detail::run_main(loop, main_task, sigint);
            shut_down = true;
            detail::shutdown(loop);
            sigint.raise_if_late();
            return result;
        }
    } catch (...) {
        if (!shut_down) {
            shut_down = true;
            detail::shutdown(loop);
            sigint.raise_if_late();
        }
        throw;
    }
}

/// asyncio.run for any other awaitable (`asyncio::run(asyncio::sleep(1s))`): it runs as the main
/// task.
template <class A>
    requires(!detail::is_future_like<std::remove_cvref_t<A>>) && awaitable<A> &&
            std::move_constructible<std::remove_cvref_t<A>>
auto run(A&& main, run_options opts = {}) {
    return run(detail::await_as_task(std::remove_cvref_t<A>(std::forward<A>(main))),
               std::move(opts));
}

} // namespace asyncio
