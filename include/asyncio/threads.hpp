// SPDX-License-Identifier: MIT
// Threads: the executor concept, thread_pool, run_in_executor, to_thread, run_coroutine_threadsafe
// and shutdown_default_executor.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/future.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/task.hpp>

#include <asyncio/detail/loop_core.hpp>
#include <asyncio/detail/running_loop.hpp>
#include <asyncio/detail/value_slot.hpp>
#include <asyncio/detail/wakeup.hpp>

#if defined(__linux__)
#include <pthread.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace asyncio {

/// What `run_in_executor` can hand a job to (Python's concurrent.futures.Executor): `submit(job)`
/// runs `job()` once on some thread, or destroys it unrun (a job destroyed unrun cancels its
/// asyncio future); it throws to refuse the job (after shutdown). `shutdown(wait)` refuses new jobs
/// and, with `wait`, returns once every accepted job finished. Both are called from the loop's
/// thread; the executor runs jobs on its own threads.
template <class E>
concept executor = requires(E& e, std::function<void()> job, bool wait) {
    e.submit(std::move(job));
    e.shutdown(wait);
};

/// concurrent.futures.ThreadPoolExecutor: at most `max_workers` threads, started on demand (a job
/// submitted while no thread is idle starts one), each named `<prefix>_<n>` where the system
/// allows it. Jobs run in submission order. Thread-safe. The destructor is `shutdown(true)`.
class thread_pool {
public:
    /// CPython's default size: min(32, cpu_count + 4).
    [[nodiscard]] static std::size_t default_max_workers() noexcept {
        const std::size_t cpus = std::max(1U, std::thread::hardware_concurrency());
        return std::min<std::size_t>(32, cpus + 4);
    }

    /// Throws std::invalid_argument for `max_workers == 0` (Python's ValueError).
    explicit thread_pool(std::size_t max_workers = default_max_workers(),
                         std::string thread_name_prefix = "asyncio")
        : max_workers_(max_workers), prefix_(std::move(thread_name_prefix)) {
        if (max_workers_ == 0) {
            throw std::invalid_argument("max_workers must be greater than 0");
        }
    }
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;
    /// Waits for the jobs accepted so far, then joins the threads.
    ~thread_pool() { shutdown(true); }

    /// Executor.submit: queues `job`; starts a thread when none is idle and fewer than
    /// max_workers run. Throws std::runtime_error("cannot schedule new futures after shutdown").
    void submit(std::function<void()> job) {
        std::lock_guard<std::mutex> lock(m_);
        if (shutdown_) {
            throw std::runtime_error("cannot schedule new futures after shutdown");
        }
        jobs_.push_back(std::move(job));
        if (idle_ > 0) {
            --idle_; // this job claims an idle thread (CPython's idle semaphore)
            cv_.notify_one();
            return;
        }
        if (threads_.size() < max_workers_) {
            const std::size_t n = threads_.size();
            // Born with the loop's signals blocked, so the kernel delivers them to a loop's
            // thread and no job's blocking call is interrupted by them.
            const detail::signal_mask_guard blocked;
            threads_.emplace_back([this, n] { work(n); });
        }
    }

    /// Executor.shutdown(wait, cancel_futures): refuses new jobs; queued jobs still run unless
    /// `cancel_futures` (they are then destroyed unrun); with `wait`, returns once the threads
    /// have finished. Idempotent; callable from any thread (a job's own thread is not waited for).
    void shutdown(bool wait = true, bool cancel_futures = false) {
        std::vector<std::thread> to_join;
        std::deque<std::function<void()>> dropped;
        {
            std::lock_guard<std::mutex> lock(m_);
            shutdown_ = true;
            if (cancel_futures) {
                dropped.swap(jobs_);
            }
            cv_.notify_all();
            if (wait) {
                to_join.swap(threads_);
            }
        }
        dropped.clear(); // outside the lock: destroying a job may post to a loop
        for (std::thread& t : to_join) {
            if (t.get_id() == std::this_thread::get_id()) {
                t.detach();
            } else {
                t.join();
            }
        }
    }

    [[nodiscard]] std::size_t max_workers() const noexcept { return max_workers_; }
    /// Threads started so far (and not yet joined).
    [[nodiscard]] std::size_t thread_count() const {
        std::lock_guard<std::mutex> lock(m_);
        return threads_.size();
    }

private:
    void work(std::size_t n) {
#if defined(__linux__)
        const std::string name = (prefix_ + "_" + std::to_string(n)).substr(0, 15);
        ::pthread_setname_np(::pthread_self(), name.c_str());
#else
        static_cast<void>(n);
#endif
        std::unique_lock<std::mutex> lock(m_);
        for (;;) {
            if (!jobs_.empty()) {
                std::function<void()> job = std::move(jobs_.front());
                jobs_.pop_front();
                lock.unlock();
                job();
                job = nullptr; // destroyed outside the lock too
                lock.lock();
                ++idle_;
                continue;
            }
            if (shutdown_) {
                return;
            }
            cv_.wait(lock);
        }
    }

    mutable std::mutex m_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;
    std::size_t idle_ = 0;
    bool shutdown_ = false;
    std::size_t max_workers_;
    std::string prefix_;
};

namespace detail {

/// A job handed to an executor: shared by the loop's thread (which owns the asyncio future and
/// reads the outcome) and the thread that runs it (which owns the callable and writes the outcome).
/// The loop's reference is dropped on the loop's thread only; the worker's reference travels to
/// the loop with the completion, or is dropped on the worker if the loop is gone by then.
struct exec_job {
    enum phase : int { pending, running, cancelled };

    std::atomic<int> refs{2};
    std::atomic<int> phase_{pending};
    /// Where the completion goes.
    std::shared_ptr<remote_queue> remote;
    /// Loop thread only.
    loop_core* core = nullptr;
    /// Written by the worker before the completion is posted (the queue's mutex orders it).
    std::exception_ptr error;

    exec_job() = default;
    exec_job(const exec_job&) = delete;
    exec_job& operator=(const exec_job&) = delete;
    virtual ~exec_job() = default;

    /// Worker: runs the callable unless cancelled first, destroys it, posts the completion.
    virtual void run() noexcept = 0;
    /// Worker, or whoever destroys the job unrun: destroys the callable.
    virtual void drop_callable() noexcept = 0;
    /// Loop thread: completes the asyncio future from the outcome (unless it is done already).
    virtual void deliver() = 0;
    /// Loop thread: releases the asyncio future.
    virtual void drop_future() noexcept = 0;

    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }

    /// Any thread: hands the worker's reference to the loop, or drops it if the loop is gone.
    void post_completion() noexcept {
        bool posted = false;
        try {
            posted = remote->post(ready_entry{&exec_job::complete, this});
        } catch (...) {
            posted = false; // out of memory: the awaiter is never woken
        }
        if (!posted) {
            release();
        }
    }

    /// The completion, on the loop's thread (`run` false: the loop discards it).
    static void complete(void* arg, bool run);
};

/// What the loop keeps for threads: the default executor, the jobs in flight, and the coroutines
/// run_coroutine_threadsafe started. Destroyed by close() (on the loop's thread).
struct loop_threads {
    std::shared_ptr<thread_pool> default_executor;
    /// shutdown_default_executor() was called: the default executor is not created again.
    bool shutdown_called = false;
    /// The thread that joins the default executor (shutdown_default_executor).
    std::thread joiner;
    /// Each holds the loop's reference.
    std::unordered_set<exec_job*> in_flight;
    /// run_coroutine_threadsafe: the handle's state -> its task, while the task runs.
    std::unordered_map<const void*, task_ref> coroutines;

    loop_threads() = default;
    loop_threads(const loop_threads&) = delete;
    loop_threads& operator=(const loop_threads&) = delete;
    ~loop_threads() {
        for (exec_job* j : in_flight) {
            j->drop_future();
            j->release();
        }
        in_flight.clear();
        coroutines.clear();
        if (default_executor) {
            default_executor->shutdown(true);
        }
        if (joiner.joinable()) {
            joiner.join();
        }
    }
};

/// The loop's thread state, created on first use.
[[nodiscard]] inline loop_threads& threads_of(loop_core& core) {
    if (!core.threads_) {
        core.threads_ = std::make_shared<loop_threads>();
    }
    return *core.threads_;
}

inline void exec_job::complete(void* arg, bool run) {
    auto* j = static_cast<exec_job*>(arg);
    struct releaser {
        exec_job* j;
        ~releaser() { j->release(); }
    } guard{j};
    if (!run) {
        return; // the loop is being destroyed: its threads state drops the future
    }
    loop_core& core = *j->core;
    --core.external_jobs;
    loop_threads& lt = *core.threads_;
    if (lt.in_flight.erase(j) == 0) {
        return;
    }
    struct loop_ref {
        exec_job* j;
        ~loop_ref() {
            j->drop_future();
            j->release();
        }
    } loop_guard{j};
    j->deliver();
}

template <class R, class Fn> struct exec_job_of final : exec_job {
    explicit exec_job_of(Fn&& f) : fn(std::move(f)) {}

    void run() noexcept override {
        int expected = pending;
        if (fn.has_value() &&
            phase_.compare_exchange_strong(expected, running, std::memory_order_acq_rel)) {
            try {
                if constexpr (std::is_void_v<R>) {
                    (*fn)();
                    result.emplace();
                } else {
                    result.emplace((*fn)());
                }
            } catch (...) {
                error = std::current_exception();
            }
        }
        drop_callable();
        post_completion();
    }
    void drop_callable() noexcept override { fn.reset(); }

    void deliver() override {
        if (fut.done()) {
            return; // cancelled by its awaiter
        }
        if (phase_.load(std::memory_order_acquire) == cancelled) {
            fut.cancel();
        } else if (error) {
            fut.set_exception(error);
        } else if constexpr (std::is_void_v<R>) {
            fut.set_result();
        } else {
            fut.set_result(std::move(result.get()));
        }
    }
    void drop_future() noexcept override { fut = future<R>(); }

    std::optional<Fn> fn;
    value_slot<R> result;
    future<R> fut;
};

/// The copyable job an executor receives: runs the exec_job once; destroyed unrun (an executor
/// that drops it), it cancels the job so that the awaiter is not left waiting.
struct job_ticket {
    exec_job* job;
    explicit job_ticket(exec_job* j) noexcept : job(j) {}
    job_ticket(const job_ticket&) = delete;
    job_ticket& operator=(const job_ticket&) = delete;
    ~job_ticket() {
        if (job != nullptr) {
            int expected = exec_job::pending;
            job->phase_.compare_exchange_strong(expected, exec_job::cancelled,
                                                std::memory_order_acq_rel);
            job->drop_callable();
            job->post_completion();
        }
    }
    void operator()() noexcept {
        if (exec_job* j = std::exchange(job, nullptr)) {
            j->run();
        }
    }
};

/// Submits `fn` through `submit` (which takes a std::function<void()>) and returns the asyncio
/// future of its result, on `loop`'s thread.
template <class R, class Fn, class Submit>
future<R> start_job(event_loop& loop, Fn fn, Submit&& submit) {
    if (loop.is_closed()) {
        throw std::runtime_error("Event loop is closed");
    }
    loop_core& core = loop.core();
    loop_threads& lt = threads_of(core);
    auto* job = new exec_job_of<R, Fn>(std::move(fn));
    job->remote = core.remote_;
    job->core = &core;
    future<R> result;
    try {
        job->fut = loop.create_future<R>();
        result = job->fut;
        lt.in_flight.insert(job);
    } catch (...) {
        job->drop_future();
        delete job;
        throw;
    }
    ++core.external_jobs;
    auto ticket = std::make_shared<job_ticket>(job);
    try {
        submit(std::function<void()>([ticket] { (*ticket)(); }));
    } catch (...) {
        if (ticket->job != nullptr) { // refused: no completion will come
            ticket->job = nullptr;
            --core.external_jobs;
            lt.in_flight.erase(job);
            job->drop_future();
            job->release();
            job->release();
        }
        throw;
    }
    // Cancelling the asyncio future cancels a job that has not started (CPython's
    // _call_check_cancel, a done callback: one iteration later). The callback holds a reference
    // of its own: it may run after the completion was processed.
    struct job_ref {
        exec_job* j;
        explicit job_ref(exec_job* p) noexcept : j(p) {
            j->refs.fetch_add(1, std::memory_order_relaxed);
        }
        job_ref(job_ref&& o) noexcept : j(std::exchange(o.j, nullptr)) {}
        job_ref(const job_ref&) = delete;
        job_ref& operator=(const job_ref&) = delete;
        job_ref& operator=(job_ref&&) = delete;
        ~job_ref() {
            if (j != nullptr) {
                j->release();
            }
        }
    };
    (void)result.add_done_callback([r = job_ref(job)](future<R>& f) {
        if (f.cancelled()) {
            int expected = exec_job::pending;
            r.j->phase_.compare_exchange_strong(expected, exec_job::cancelled,
                                                std::memory_order_acq_rel);
        }
    });
    return result;
}

/// The job's result type: what `f(args...)` returns, stored by value.
template <class F, class... Args>
using job_result_t =
    std::remove_cvref_t<std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>...>>;

/// `f` with `args` moved into it: called once, on the executor's thread.
template <class F, class... Args> auto bind_job(F&& f, Args&&... args) {
    return [fn = std::decay_t<F>(std::forward<F>(f)),
            ... as = std::decay_t<Args>(std::forward<Args>(args))]() mutable -> decltype(auto) {
        return std::invoke(fn, std::move(as)...);
    };
}

/// The state a run_coroutine_threadsafe handle shares with the loop.
template <class T> struct coro_state {
    std::mutex m;
    std::condition_variable cv;
    enum status { pending, cancelled, finished } st = pending;
    value_slot<T> value;
    std::exception_ptr error;
    std::shared_ptr<remote_queue> remote;
    loop_core* core = nullptr; // used on the loop's thread only

    /// Marks the handle cancelled unless done; true if it was pending.
    bool cancel_if_pending() {
        {
            std::lock_guard<std::mutex> lock(m);
            if (st != pending) {
                return false;
            }
            st = cancelled;
        }
        cv.notify_all();
        return true;
    }
};

} // namespace detail

/// The handle `run_coroutine_threadsafe` returns (Python's concurrent.futures.Future): any thread
/// may wait for the coroutine's result. Copies share one state. Never call result() on the loop's
/// own thread while the coroutine runs: it would wait for itself.
template <class T> class concurrent_future {
public:
    concurrent_future() = default;

    /// Future.done(): finished, failed or cancelled.
    [[nodiscard]] bool done() const {
        std::lock_guard<std::mutex> lock(s_->m);
        return s_->st != state::pending;
    }
    /// Future.cancelled().
    [[nodiscard]] bool cancelled() const {
        std::lock_guard<std::mutex> lock(s_->m);
        return s_->st == state::cancelled;
    }

    /// Future.cancel(): false when already done. Otherwise the handle is cancelled at once and the
    /// task is cancelled in the loop (through call_soon_threadsafe; nothing if the loop closed).
    bool cancel() {
        if (!s_->cancel_if_pending()) {
            return false;
        }
        // The loop's next iteration cancels the task (it holds the loop; not this thread).
        auto* arg = new std::shared_ptr<state>(s_);
        bool posted = false;
        try {
            posted = s_->remote->post(detail::ready_entry{&cancel_in_loop, arg});
        } catch (...) {
            posted = false;
        }
        if (!posted) { // the loop is closed: nothing left to cancel
            delete arg;
        }
        return true;
    }

    /// Future.result(): waits for the coroutine, then returns its value (a reference into the
    /// shared state; void for void) or rethrows its exception; cancelled: cancelled_error.
    decltype(auto) result() {
        std::unique_lock<std::mutex> lock(s_->m);
        s_->cv.wait(lock, [&] { return s_->st != state::pending; });
        return get(lock);
    }
    /// The same, waiting at most `timeout`: timeout_error if the coroutine is still running.
    template <class Rep, class Period>
    decltype(auto) result(std::chrono::duration<Rep, Period> timeout) {
        std::unique_lock<std::mutex> lock(s_->m);
        wait_for(lock, timeout);
        return get(lock);
    }

    /// Future.exception(): waits, then the exception or null; cancelled: cancelled_error.
    [[nodiscard]] std::exception_ptr exception() {
        std::unique_lock<std::mutex> lock(s_->m);
        s_->cv.wait(lock, [&] { return s_->st != state::pending; });
        return error(lock);
    }
    /// The same, waiting at most `timeout`.
    template <class Rep, class Period>
    [[nodiscard]] std::exception_ptr exception(std::chrono::duration<Rep, Period> timeout) {
        std::unique_lock<std::mutex> lock(s_->m);
        wait_for(lock, timeout);
        return error(lock);
    }

private:
    using state = detail::coro_state<T>;
    template <class U> friend concurrent_future<U> run_coroutine_threadsafe(task<U>, event_loop&);

    explicit concurrent_future(std::shared_ptr<state> s) noexcept : s_(std::move(s)) {}

    /// The loop's thread: cancels the task of the handle whose state `arg` holds.
    static void cancel_in_loop(void* arg, bool run) {
        std::unique_ptr<std::shared_ptr<state>> s(static_cast<std::shared_ptr<state>*>(arg));
        if (!run || !(*s)->core->threads_) {
            return;
        }
        auto& map = (*s)->core->threads_->coroutines;
        if (auto it = map.find(s->get()); it != map.end()) {
            task_ref t = it->second;
            t.cancel();
        }
    }

    template <class Rep, class Period>
    void wait_for(std::unique_lock<std::mutex>& lock, std::chrono::duration<Rep, Period> timeout) {
        if (!s_->cv.wait_for(lock, timeout, [&] { return s_->st != state::pending; })) {
            throw timeout_error("the coroutine did not finish in time");
        }
    }

    decltype(auto) get(std::unique_lock<std::mutex>&) {
        if (s_->st == state::cancelled) {
            throw cancelled_error();
        }
        if (s_->error) {
            std::rethrow_exception(s_->error);
        }
        if constexpr (std::is_void_v<T>) {
            return;
        } else {
            return static_cast<T&>(s_->value.get());
        }
    }

    std::exception_ptr error(std::unique_lock<std::mutex>&) {
        if (s_->st == state::cancelled) {
            throw cancelled_error();
        }
        return s_->error;
    }

    std::shared_ptr<state> s_;
};

/// asyncio.run_coroutine_threadsafe(coro, loop): from any thread, runs `t` as a task of `loop`
/// (created in the loop's next iteration) and returns a handle that thread can wait on. Throws
/// std::runtime_error("Event loop is closed") for a closed loop. A loop that is not running yet
/// starts the task when it runs; a loop destroyed before the task finishes cancels the handle
/// (CPython's would be left pending forever). Called on a thread where another loop runs, it throws
/// std::invalid_argument: the coroutine's frame belongs to that loop's arena.
template <class T> concurrent_future<T> run_coroutine_threadsafe(task<T> t, event_loop& loop) {
    using state = detail::coro_state<T>;
    if (event_loop* here = detail::running_loop(); here != nullptr && here != &loop) {
        // The coroutine's frame came from that loop's arena, which only its thread may touch.
        throw std::invalid_argument("run_coroutine_threadsafe: the coroutine was created where "
                                    "another event loop runs; create it on a thread without one");
    }
    auto s = std::make_shared<state>();
    s->remote = loop.core().remote_;
    s->core = &loop.core();
    // Destroyed unrun (the loop closed first), the start callback cancels the handle.
    struct start_guard {
        std::shared_ptr<state> s;
        explicit start_guard(std::shared_ptr<state> p) noexcept : s(std::move(p)) {}
        start_guard(const start_guard&) = delete;
        start_guard(start_guard&&) noexcept = default;
        ~start_guard() {
            if (s) {
                s->cancel_if_pending();
            }
        }
    };
    // Lives in the task's done callback: if the task dies without finishing (its loop was
    // destroyed), the handle is cancelled.
    struct done_guard {
        std::shared_ptr<state> s;
        explicit done_guard(std::shared_ptr<state> p) noexcept : s(std::move(p)) {}
        done_guard(const done_guard&) = delete;
        done_guard(done_guard&&) noexcept = default;
        ~done_guard() {
            if (s) {
                s->cancel_if_pending();
            }
        }
    };
    loop.call_soon_threadsafe([g = start_guard{s}, t = std::move(t), &loop]() mutable {
        std::shared_ptr<state> st = std::move(g.s);
        {
            std::lock_guard<std::mutex> lock(st->m);
            if (st->st != state::pending) {
                return; // cancelled before the task existed: the coroutine never runs
            }
        }
        task_handle<T> h;
        try {
            h = loop.create_task(std::move(t));
        } catch (...) {
            {
                std::lock_guard<std::mutex> lock(st->m);
                if (st->st == state::pending) {
                    st->error = std::current_exception();
                    st->st = state::finished;
                }
            }
            st->cv.notify_all();
            return;
        }
        const void* key = st.get();
        detail::threads_of(loop.core()).coroutines.emplace(key, h);
        (void)h.add_done_callback([d = done_guard{st}, key, &loop](task_handle<T>& done) mutable {
            std::shared_ptr<state> st2 = std::move(d.s);
            if (loop.core().threads_) {
                loop.core().threads_->coroutines.erase(key);
            }
            {
                std::lock_guard<std::mutex> lock(st2->m);
                if (st2->st == state::pending) {
                    if (done.cancelled()) {
                        st2->st = state::cancelled;
                    } else {
                        if (std::exception_ptr e = done.exception()) {
                            st2->error = std::move(e);
                        } else if constexpr (std::is_void_v<T>) {
                            st2->value.emplace();
                        } else {
                            st2->value.emplace(std::move(done.result()));
                        }
                        st2->st = state::finished;
                    }
                }
            }
            st2->cv.notify_all();
        });
    });
    return concurrent_future<T>(std::move(s));
}

/// loop.run_in_executor(executor, f, *args): runs `f(args...)` (moved into the job) on
/// `executor`'s threads and returns an asyncio future of its result (stored by value), failed with
/// what `f` throws. Cancelling the future (or its awaiter) cancels the job if it has not started;
/// a running job is not stopped, and its result is dropped. Throws std::runtime_error("Event loop
/// is closed") on a closed loop, and what the executor's submit throws (a thread_pool after
/// shutdown: "cannot schedule new futures after shutdown").
template <class E, class F, class... Args>
auto event_loop::run_in_executor(E* ex, F&& f, Args&&... args) {
    static_assert(executor<E>, "run_in_executor needs an executor (submit(job), shutdown(wait))");
    using R = detail::job_result_t<F, Args...>;
    if (ex == nullptr) {
        throw std::invalid_argument("run_in_executor: null executor (pass nullptr itself for the "
                                    "default executor)");
    }
    return detail::start_job<R>(*this,
                                detail::bind_job(std::forward<F>(f), std::forward<Args>(args)...),
                                [ex](std::function<void()> job) { ex->submit(std::move(job)); });
}

/// loop.run_in_executor(None, f, *args): the same on the loop's default thread_pool, created on
/// first use (min(32, cores + 4) threads, named asyncio_<n>). Throws std::runtime_error("Executor
/// shutdown has been called") after shutdown_default_executor().
template <class F, class... Args>
auto event_loop::run_in_executor(std::nullptr_t, F&& f, Args&&... args) {
    using R = detail::job_result_t<F, Args...>;
    check_closed();
    detail::loop_threads& lt = detail::threads_of(core_);
    if (lt.shutdown_called) {
        throw std::runtime_error("Executor shutdown has been called");
    }
    if (!lt.default_executor) {
        lt.default_executor = std::make_shared<thread_pool>();
    }
    thread_pool* pool = lt.default_executor.get();
    return detail::start_job<R>(
        *this, detail::bind_job(std::forward<F>(f), std::forward<Args>(args)...),
        [pool](std::function<void()> job) { pool->submit(std::move(job)); });
}

/// loop.shutdown_default_executor(): refuses the default executor from then on, and waits for its
/// jobs and threads without blocking the loop (another thread joins them, then wakes the loop).
/// `asyncio::run` awaits it after shutdown_asyncgens. Unlike CPython's (3.12+), it takes no
/// timeout.
inline task<void> event_loop::shutdown_default_executor() {
    detail::loop_threads& lt = detail::threads_of(core_);
    lt.shutdown_called = true;
    if (!lt.default_executor) {
        co_return;
    }
    std::shared_ptr<thread_pool> pool = lt.default_executor;
    future<void> joined = detail::start_job<void>(
        *this, [pool] { pool->shutdown(true); },
        [&lt](std::function<void()> job) {
            if (lt.joiner.joinable()) {
                lt.joiner.join();
            }
            const detail::signal_mask_guard blocked;
            lt.joiner = std::thread(std::move(job));
        });
    co_await joined;
    if (core_.threads_ && core_.threads_->joiner.joinable()) {
        core_.threads_->joiner.join();
    }
}

/// asyncio.to_thread(f, *args): `co_await asyncio::to_thread(f, args...)` runs `f(args...)` (the
/// arguments moved into the job) on the running loop's default executor and gives its result.
template <class F, class... Args>
task<detail::job_result_t<F, Args...>> to_thread(F f, Args... args) {
    using R = detail::job_result_t<F, Args...>;
    future<R> fut = get_running_loop().run_in_executor(nullptr, std::move(f), std::move(args)...);
    if constexpr (std::is_void_v<R>) {
        co_await fut;
    } else {
        co_return co_await std::move(fut);
    }
}

} // namespace asyncio
