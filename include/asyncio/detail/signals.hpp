// SPDX-License-Identifier: MIT
// Signal handlers of event loops: the process-wide signal table, the C handler, each loop's table.
#pragma once

#include <asyncio/config.hpp>

#include <asyncio/detail/ready_queue.hpp>
#include <asyncio/detail/wakeup.hpp>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace asyncio::detail {

/// One past the largest signal number (POSIX's NSIG; 65 on Linux).
#if defined(NSIG)
inline constexpr int signal_limit = NSIG;
#else
inline constexpr int signal_limit = 65;
#endif

/// The process-wide signal state: the one piece of global mutable state beside the running-loop
/// pointer, and only because a signal disposition is itself process-wide. For each signal number:
/// the wake-up queue of the loop that owns it (null when no loop does), a flag the C handler sets,
/// and (under `mutex`, loop threads only) the owning loop and how to restore the disposition.
/// The C handler touches only the atomics: it sets the flag and pokes the owner's queue (an atomic
/// store and one write(): async-signal-safe). `in_handler` counts handlers running right now, so
/// that a loop taking its queue away waits for one that may still be using it.
struct signal_globals {
    struct slot {
        std::atomic<remote_queue*> target{nullptr};
        std::atomic<bool> pending{false};
        /// Restore SIG_DFL on the next delivery (asyncio::run's SIGINT handler).
        std::atomic<bool> one_shot{false};
        /// The signal_table that owns the signal (under `mutex`).
        const void* owner = nullptr;
    };
    std::mutex mutex;
    std::atomic<int> in_handler{0};
    slot slots[signal_limit];
};

/// The one instance (constant-initialised: there is no start-up order to worry about).
inline constinit signal_globals signal_globals_v{};

/// The C signal handler of every signal a loop handles: marks the signal received and wakes the
/// loop that owns it. Async-signal-safe; errno is preserved.
inline void on_signal(int signum) noexcept {
    const int saved = errno;
    signal_globals& g = signal_globals_v;
    g.in_handler.fetch_add(1);
    if (signum > 0 && signum < signal_limit) {
        signal_globals::slot& s = g.slots[signum];
        s.pending.store(true);
        if (s.one_shot.exchange(false)) {
            // SA_RESETHAND already did it, except under an interposer that keeps its own table
            // (ThreadSanitizer's sigaction): sigaction is async-signal-safe.
            struct sigaction dfl{};
            dfl.sa_handler = SIG_DFL;
            sigemptyset(&dfl.sa_mask);
            ::sigaction(signum, &dfl, nullptr);
        }
        if (remote_queue* q = s.target.load()) {
            q->poke();
        }
    }
    g.in_handler.fetch_sub(1);
    errno = saved;
}

/// Whether `signum` is a signal a handler may be given (CPython's signal.valid_signals(): the
/// numbers sigfillset includes, so glibc's internal 32 and 33 are refused).
[[nodiscard]] inline bool valid_signal(int signum) noexcept {
    if (signum < 1 || signum >= signal_limit) {
        return false;
    }
    sigset_t all;
    sigfillset(&all);
    return sigismember(&all, signum) == 1;
}

/// CPython's _check_signal: throws std::invalid_argument("invalid signal number N").
inline void check_signal(int signum) {
    if (!valid_signal(signum)) {
        throw std::invalid_argument("invalid signal number " + std::to_string(signum));
    }
}

/// Whether the calling thread is the process's main thread (asyncio::run installs its SIGINT
/// handler only there, as CPython's Runner does).
[[nodiscard]] inline bool is_main_thread() noexcept {
#if defined(__linux__)
    return ::getpid() == static_cast<pid_t>(::syscall(SYS_gettid));
#elif defined(__APPLE__)
    return ::pthread_main_np() != 0;
#else
    return false;
#endif
}

/// Whether `signum` has the default disposition (SIG_DFL) now.
[[nodiscard]] inline bool has_default_disposition(int signum) noexcept {
    struct sigaction cur{};
    if (::sigaction(signum, nullptr, &cur) != 0) {
        return false;
    }
    return (cur.sa_flags & SA_SIGINFO) == 0 && cur.sa_handler == SIG_DFL;
}

/// Blocks, in the calling thread, the asynchronous signals a loop may handle: SIGINT, SIGTERM,
/// SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD, SIGALRM, SIGWINCH, and every signal a loop handles
/// right now. Executor threads call it first thing (or their creator calls it around the thread's
/// creation and restores its own mask after, so that the new thread is born with them blocked):
/// the kernel then delivers those signals to a thread that does not block them, and a worker's
/// blocking calls are not interrupted by them. Faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT)
/// and SIGPIPE are left alone: they concern the thread that caused them. Returns the previous mask.
inline sigset_t block_loop_signals() noexcept {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD, SIGALRM, SIGWINCH}) {
        sigaddset(&set, s);
    }
    for (int s = 1; s < signal_limit; ++s) {
        if (signal_globals_v.slots[s].target.load() != nullptr) {
            sigaddset(&set, s);
        }
    }
    sigset_t old;
    sigemptyset(&old);
    ::pthread_sigmask(SIG_BLOCK, &set, &old);
    return old;
}

/// Blocks the loop signals (block_loop_signals) in the calling thread for its lifetime, then
/// restores the previous mask: a thread created meanwhile inherits the blocked set.
class signal_mask_guard {
public:
    signal_mask_guard() noexcept : old_(block_loop_signals()) {}
    signal_mask_guard(const signal_mask_guard&) = delete;
    signal_mask_guard& operator=(const signal_mask_guard&) = delete;
    ~signal_mask_guard() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

private:
    sigset_t old_;
};

/// A signal callback: the function given to add_signal_handler, shared (on the loop's thread) by
/// the loop's table and each ready-queue entry that will run it, so that a handler removed while
/// a run is queued still runs once (as CPython's Handle, already in the ready queue, does).
struct signal_callback {
    int refs = 1;
    void (*invoke)(signal_callback*) = nullptr;
    void (*destroy)(signal_callback*) noexcept = nullptr;

    void add_ref() noexcept { ++refs; }
    void release() noexcept {
        if (--refs == 0) {
            destroy(this);
        }
    }
    /// The ready-queue entry: run the callback (unless the loop discards it), then drop the ref.
    static void fire(void* p, bool run) {
        auto* c = static_cast<signal_callback*>(p);
        struct releaser {
            signal_callback* c;
            ~releaser() { c->release(); }
        } guard{c};
        if (run) {
            c->invoke(c);
        }
    }
};

template <class F> struct signal_callback_impl final : signal_callback {
    explicit signal_callback_impl(F&& fn) : f(std::move(fn)) {
        invoke = [](signal_callback* c) { static_cast<signal_callback_impl*>(c)->f(); };
        destroy = [](signal_callback* c) noexcept { delete static_cast<signal_callback_impl*>(c); };
    }
    F f;
};

template <class F> signal_callback* make_signal_callback(F&& f) {
    using fn_t = std::decay_t<F>;
    static_assert(std::is_invocable_v<fn_t&>, "signal handlers are called with no arguments");
    return new signal_callback_impl<fn_t>(fn_t(std::forward<F>(f)));
}

/// One loop's signal handlers (loop.add_signal_handler), a few entries searched linearly. Only the
/// loop's thread uses it; the process-wide slots it claims are guarded by signal_globals::mutex.
class signal_table {
public:
    signal_table() = default;
    signal_table(const signal_table&) = delete;
    signal_table& operator=(const signal_table&) = delete;
    ~signal_table() { clear(); }

    [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }

    /// The callback handling `signum`, or null.
    [[nodiscard]] signal_callback* find(int signum) const noexcept {
        for (const entry& e : entries_) {
            if (e.signum == signum) {
                return e.cb;
            }
        }
        return nullptr;
    }

    /// Makes `cb` (whose reference the table takes, even when it throws) the handler of `signum`
    /// (already checked), waking `q` when the signal arrives. The first handler of a signal
    /// installs the C handler (SA_RESTART; with `one_shot`, SA_RESETHAND too: the kernel restores
    /// SIG_DFL as it delivers the signal, so a second one gets the default action). Throws
    /// std::runtime_error("sig N cannot be caught") for SIGKILL and SIGSTOP (EINVAL), and
    /// std::runtime_error when another loop handles the signal.
    void add(int signum, signal_callback* cb, remote_queue& q, bool one_shot = false) {
        struct owner_ref {
            signal_callback* c;
            ~owner_ref() {
                if (c != nullptr) {
                    c->release();
                }
            }
        } guard{cb};
        entries_.reserve(entries_.size() + 1);
        for (entry& e : entries_) {
            if (e.signum == signum) {
                signal_globals_v.slots[signum].one_shot.store(one_shot);
                install(signum, one_shot);
                std::swap(e.cb, guard.c); // the old callback goes with the guard
                return;
            }
        }
        signal_globals& g = signal_globals_v;
        signal_globals::slot& s = g.slots[signum];
        {
            std::lock_guard<std::mutex> lock(g.mutex);
            if (s.owner != nullptr) {
                throw std::runtime_error("sig " + std::to_string(signum) +
                                         " is handled by another event loop");
            }
            s.pending.store(false); // a signal received before the handler existed is not news
            s.target.store(&q);
            s.one_shot.store(one_shot);
            try {
                install(signum, one_shot);
            } catch (...) {
                s.target.store(nullptr);
                s.one_shot.store(false);
                wait_for_handlers();
                throw;
            }
            s.owner = this;
        }
        entries_.push_back(entry{signum, guard.c});
        guard.c = nullptr;
    }

    /// Removes the handler of `signum` and restores the default disposition (SIG_DFL, also for
    /// SIGINT, where CPython restores its default_int_handler). False when there was none.
    bool remove(int signum) noexcept {
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            if (entries_[i].signum == signum) {
                signal_callback* cb = entries_[i].cb;
                entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(i));
                release_slot(signum);
                cb->release();
                return true;
            }
        }
        return false;
    }

    /// Removes every handler (loop.close()).
    void clear() noexcept {
        while (!entries_.empty()) {
            remove(entries_.back().signum);
        }
    }

    /// The loop thread, after a wake-up: queues one run of the callback of each signal received
    /// since the last call (several deliveries of one signal in between make one run).
    void dispatch(ready_queue& ready) {
        for (const entry& e : entries_) {
            if (signal_globals_v.slots[e.signum].pending.exchange(false)) {
                e.cb->add_ref();
                try {
                    static_cast<void>(ready.push(ready_entry{&signal_callback::fire, e.cb}));
                } catch (...) {
                    e.cb->release();
                    throw;
                }
            }
        }
    }

private:
    struct entry {
        int signum;
        signal_callback* cb;
    };

    static void install(int signum, bool one_shot) {
        struct sigaction sa{};
        sa.sa_handler = &on_signal;
        sigemptyset(&sa.sa_mask);
        auto flags = static_cast<unsigned>(SA_RESTART);
        if (one_shot) {
            flags |= static_cast<unsigned>(SA_RESETHAND);
        }
        sa.sa_flags = static_cast<int>(flags);
        if (::sigaction(signum, &sa, nullptr) != 0) {
            if (errno == EINVAL) {
                throw std::runtime_error("sig " + std::to_string(signum) + " cannot be caught");
            }
            throw std::system_error(errno, std::generic_category(), "sigaction");
        }
    }

    static void release_slot(int signum) noexcept {
        signal_globals& g = signal_globals_v;
        signal_globals::slot& s = g.slots[signum];
        std::lock_guard<std::mutex> lock(g.mutex);
        struct sigaction sa{};
        sa.sa_handler = SIG_DFL;
        sigemptyset(&sa.sa_mask);
        ::sigaction(signum, &sa, nullptr);
        s.target.store(nullptr);
        wait_for_handlers();
        s.one_shot.store(false);
        s.pending.store(false);
        s.owner = nullptr;
    }

    /// Waits until no C handler runs: one that loaded a queue before it was taken away is done
    /// with it afterwards (a handler is a few instructions and one write()).
    static void wait_for_handlers() noexcept {
        while (signal_globals_v.in_handler.load() != 0) {
        }
    }

    std::vector<entry> entries_;
};

} // namespace asyncio::detail
