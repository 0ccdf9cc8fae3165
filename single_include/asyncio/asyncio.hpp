// SPDX-License-Identifier: MIT
// asyncio-cpp in one header: Python's asyncio for C++20. https://github.com/asyncio-cpp/asyncio-cpp
//
// GENERATED FILE, DO NOT EDIT. Made by tools/amalgamate.py from include/asyncio/asyncio.hpp;
// after changing a header under include/, regenerate it with: python3 tools/amalgamate.py
#pragma once

// ---- asyncio/asyncio.hpp -------------------------------------------------------------------------
// The umbrella header: every public asyncio-cpp header.


// ---- asyncio/async_generator.hpp -----------------------------------------------------------------
// async_generator<T>: Python's asynchronous generator (`async def` with `yield`, `async for`).


// ---- asyncio/config.hpp --------------------------------------------------------------------------
// Version numbers, the internal assertion macro and the C++20 coroutine feature check.

#if !defined(__cpp_impl_coroutine)
#error "asyncio-cpp needs C++20 coroutines: compile with -std=c++20 or newer"
#endif

#include <cstdio>
#include <cstdlib>

#define ASYNCIO_VERSION_MAJOR 0
#define ASYNCIO_VERSION_MINOR 1
#define ASYNCIO_VERSION_PATCH 0

/// Checks an internal invariant. A failure is a bug in asyncio-cpp, never a user error: user errors
/// raise the documented exceptions instead. Disabled with ASYNCIO_NO_ASSERT.
#if defined(ASYNCIO_NO_ASSERT)
#define ASYNCIO_ASSERT(cond) static_cast<void>(0)
#else
#define ASYNCIO_ASSERT(cond)                                                                       \
    ((cond) ? static_cast<void>(0) : ::asyncio::detail::assert_failed(#cond, __FILE__, __LINE__))
#endif

/// Keeps a rarely taken path out of line, so that the hot path it leaves saves fewer registers.
#if defined(__GNUC__) || defined(__clang__)
#define ASYNCIO_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define ASYNCIO_NOINLINE __declspec(noinline)
#else
#define ASYNCIO_NOINLINE
#endif

/// Defined when compiling with AddressSanitizer (GCC's __SANITIZE_ADDRESS__, Clang's feature).
#if defined(__SANITIZE_ADDRESS__)
#define ASYNCIO_HAS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASYNCIO_HAS_ASAN 1
#endif
#endif

/// Set to disable the per-loop arena of frame and task-state memory (detail/block_pool.hpp);
/// defined automatically under AddressSanitizer so that it sees every block freed, unless
/// ASYNCIO_POOL_UNDER_ASAN is defined.
///
/// ASYNCIO_POOL_UNDER_ASAN: define it (under AddressSanitizer) to keep the arena, so that the
/// memory the loop really uses is the memory checked. The arena poisons what it holds and has not
/// handed out (freed blocks, the uncarved rest of its chunks, the padding after each object), so a
/// use of a freed frame or state is reported until the block is reused; the arena has no
/// quarantine, so a use after the reuse is not, which the global heap's quarantine would catch.
/// asyncio-cpp's asan preset runs its tests both ways. No effect without AddressSanitizer.
#if !defined(ASYNCIO_NO_BLOCK_POOL) && defined(ASYNCIO_HAS_ASAN) &&                                \
    !defined(ASYNCIO_POOL_UNDER_ASAN)
#define ASYNCIO_NO_BLOCK_POOL 1
#endif

/// ASYNCIO_CALL_GRAPH: define it to record where each coroutine of an asyncio::task chain is
/// suspended (the function name, file and line of its current `co_await`, through an
/// `await_transform` on the task promise), so that capture_call_graph (graph.hpp) can list the
/// frames of every task. Off by default: then a co_await costs nothing extra and call graphs
/// still show every task and who awaits whom, but only the frame that asks for the current
/// task's graph. It changes the layout of task promises and task states, so it must be defined
/// the same way in every translation unit of a program (otherwise the program breaks the one
/// definition rule). Any definition turns it on, -DASYNCIO_CALL_GRAPH=0 included.

namespace asyncio::detail {

[[noreturn]] inline void assert_failed(const char* cond, const char* file, int line) noexcept {
    std::fprintf(stderr, "asyncio-cpp: internal assertion failed: %s (%s:%d)\n", cond, file, line);
    std::abort();
}

} // namespace asyncio::detail
// ---- (back in asyncio/async_generator.hpp)

// ---- asyncio/exceptions.hpp ----------------------------------------------------------------------
// The exception types that mirror asyncio's (CancelledError, InvalidStateError, QueueEmpty, ...).

#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace asyncio {

/// asyncio.CancelledError: thrown at a task's current `co_await` when the task is cancelled.
/// Deliberately derives from no standard exception class, as Python's CancelledError derives from
/// BaseException and not Exception: `catch (const std::exception&)` does not swallow it. Catch it
/// by name (or with `catch (...)`) and rethrow unless the task really means to carry on.
class cancelled_error {
public:
    /// `msg` is the text given to `cancel(msg)`; empty when none was given.
    explicit cancelled_error(std::string msg = {}) : message_(std::move(msg)) {}

    /// The message given to `cancel(msg)` (Python: `exc.args[0]`).
    [[nodiscard]] const std::string& message() const noexcept { return message_; }

    /// The message, or "cancelled" when it is empty, for logging.
    [[nodiscard]] const char* what() const noexcept {
        return message_.empty() ? "cancelled" : message_.c_str();
    }

private:
    std::string message_;
};

/// Python's KeyboardInterrupt, as asyncio::run throws it after Ctrl-C: on the main thread, the
/// first SIGINT cancels the main task, and when the main task then ends cancelled because of it,
/// run throws keyboard_interrupt once the shutdown is done. Like cancelled_error it derives from no
/// standard exception class (Python's KeyboardInterrupt is a BaseException), so `catch (const
/// std::exception&)` does not swallow it.
class keyboard_interrupt {
public:
    [[nodiscard]] const char* what() const noexcept { return "keyboard interrupt"; }
};

/// Python's GeneratorExit: thrown into an async_generator at its current `co_yield` by
/// `aclose()` (or when an unfinished generator is finalised), so that its cleanup runs. Like
/// cancelled_error it derives from no standard exception class; a generator may catch it to clean
/// up (even with co_await after the catch block) but must then rethrow or return, not yield.
class generator_exit {
public:
    [[nodiscard]] const char* what() const noexcept { return "generator exit"; }
};

/// Python's StopAsyncIteration where a C++ caller cannot be given std::nullopt instead: thrown by
/// `async_generator::aclose()` on a generator that an earlier aclose() already threw
/// generator_exit into and that yielded again (CPython's `ag_closed` flag: that aclose raised
/// "async generator ignored GeneratorExit"; every later one raises StopAsyncIteration without
/// entering the body). `next()` still signals the end of a generator with std::nullopt.
class stop_async_iteration : public std::runtime_error {
public:
    stop_async_iteration() : std::runtime_error("StopAsyncIteration") {}
};

/// asyncio.InvalidStateError: e.g. `result()` of a pending future, `set_result` twice.
class invalid_state_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

/// Python's LookupError as contextvars raises it: `context_var::get()` of a variable with no value
/// in the current context and no default. what() is the variable's repr, "<ContextVar
/// name='request_id'>" (CPython adds the object's address).
class lookup_error : public std::out_of_range {
public:
    using std::out_of_range::out_of_range;
};

/// asyncio.TimeoutError (Python's builtin TimeoutError since 3.11).
class timeout_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// asyncio.BrokenBarrierError: a barrier wait on a barrier that was reset or aborted.
class broken_barrier_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// asyncio.QueueEmpty: `get_nowait()` on an empty queue.
class queue_empty : public std::runtime_error {
public:
    queue_empty() : std::runtime_error("queue is empty") {}
};

/// asyncio.QueueFull: `put_nowait()` on a full queue.
class queue_full : public std::runtime_error {
public:
    queue_full() : std::runtime_error("queue is full") {}
};

/// asyncio.QueueShutDown (3.13): put after `shutdown()`, or get on a shut-down empty queue.
class queue_shut_down : public std::runtime_error {
public:
    queue_shut_down() : std::runtime_error("queue is shut down") {}
};

/// asyncio.IncompleteReadError (an EOFError in Python): the stream ended before a `readexactly(n)`
/// or a `readuntil(separator)` was satisfied. `partial()` holds the bytes read before the end
/// (they are no longer in the reader's buffer); `expected()` is `n`, or std::nullopt for
/// readuntil. what() is CPython's str(): "3 bytes read on a total of 5 expected bytes" ("...of
/// undefined expected bytes" for readuntil).
class incomplete_read_error : public std::runtime_error {
public:
    incomplete_read_error(std::string partial, std::optional<std::size_t> expected)
        : std::runtime_error(describe(partial.size(), expected)), partial_(std::move(partial)),
          expected_(expected) {}

    /// IncompleteReadError.partial: the bytes read before the end of the stream.
    [[nodiscard]] const std::string& partial() const noexcept { return partial_; }
    /// IncompleteReadError.expected: the byte count asked for (none for readuntil).
    [[nodiscard]] std::optional<std::size_t> expected() const noexcept { return expected_; }

private:
    static std::string describe(std::size_t got, std::optional<std::size_t> expected) {
        return std::to_string(got) + " bytes read on a total of " +
               (expected ? std::to_string(*expected) : std::string("undefined")) +
               " expected bytes";
    }

    std::string partial_;
    std::optional<std::size_t> expected_;
};

/// asyncio.LimitOverrunError: `readuntil` found no separator within the reader's limit, or found
/// it past the limit. The bytes stay in the reader's buffer; `consumed()` is how many of them may
/// be taken without meeting the separator (CPython's `consumed`).
class limit_overrun_error : public std::runtime_error {
public:
    limit_overrun_error(const std::string& message, std::size_t consumed)
        : std::runtime_error(message), consumed_(consumed) {}

    /// LimitOverrunError.consumed.
    [[nodiscard]] std::size_t consumed() const noexcept { return consumed_; }

private:
    std::size_t consumed_;
};

/// Python's ExceptionGroup, as a task_group raises it ("unhandled errors in a TaskGroup"): a
/// message and the exceptions it groups, in the order they happened; a nested task_group's group
/// appears as one of them. `what()` is Python's str(): "message (2 sub-exceptions)". `except*`
/// becomes `split<E>()`, which divides the group (recursively, keeping the nesting) into the part
/// whose leaves are an `E` and the rest: `auto [timeouts, rest] = eg.split<timeout_error>();
/// if (rest) throw *rest;`.
class exception_group : public std::runtime_error {
public:
    exception_group(std::string message, std::vector<std::exception_ptr> exceptions)
        : std::runtime_error(describe(message, exceptions.size())), message_(std::move(message)),
          exceptions_(std::move(exceptions)) {}

    /// ExceptionGroup.message.
    [[nodiscard]] const std::string& message() const noexcept { return message_; }
    /// ExceptionGroup.exceptions.
    [[nodiscard]] const std::vector<std::exception_ptr>& exceptions() const noexcept {
        return exceptions_;
    }

    /// ExceptionGroup.split(E): the leaves that are an `E`, and the others, each as a group with
    /// the same nesting (std::nullopt when empty).
    template <class E>
    [[nodiscard]] std::pair<std::optional<exception_group>, std::optional<exception_group>>
    split() const {
        std::vector<std::exception_ptr> match;
        std::vector<std::exception_ptr> rest;
        for (const std::exception_ptr& e : exceptions_) {
            try {
                std::rethrow_exception(e);
            } catch (const exception_group& g) {
                auto [m, r] = g.split<E>();
                if (m) {
                    match.push_back(std::make_exception_ptr(std::move(*m)));
                }
                if (r) {
                    rest.push_back(std::make_exception_ptr(std::move(*r)));
                }
            } catch (const E&) {
                match.push_back(e);
            } catch (...) {
                rest.push_back(e);
            }
        }
        return {make(std::move(match)), make(std::move(rest))};
    }
    /// ExceptionGroup.subgroup(E): the part of split<E>() that matches.
    template <class E> [[nodiscard]] std::optional<exception_group> subgroup() const {
        return split<E>().first;
    }
    /// Whether some leaf, at any depth, is an `E`.
    template <class E> [[nodiscard]] bool contains() const { return subgroup<E>().has_value(); }

private:
    static std::string describe(const std::string& message, std::size_t n) {
        return message + " (" + std::to_string(n) +
               (n == 1 ? " sub-exception)" : " sub-exceptions)");
    }
    [[nodiscard]] std::optional<exception_group> make(std::vector<std::exception_ptr> v) const {
        if (v.empty()) {
            return std::nullopt;
        }
        return exception_group(message_, std::move(v));
    }

    std::string message_;
    std::vector<std::exception_ptr> exceptions_;
};

} // namespace asyncio
// ---- (back in asyncio/async_generator.hpp)

// ---- asyncio/loop.hpp ----------------------------------------------------------------------------
// The event loop (asyncio's BaseEventLoop): ready queue, timer heap, clocks, handles, run control.


// ---- asyncio/contextvars.hpp ---------------------------------------------------------------------
// Context variables (Python's contextvars): context_var<T>, its tokens, and context objects.



// ---- asyncio/detail/context_core.hpp -------------------------------------------------------------
// The machinery behind contextvars: a context object holding an immutable, shared variable map,
// and the thread's current context (the library's second thread_local).


#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>

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
// ---- (back in asyncio/contextvars.hpp)

#include <type_traits>

namespace asyncio {

/// contextvars.Context: a mapping from context variables to values, entered with run(). Copies of
/// this handle refer to the same context object (as Python names do); copy_context() makes a new
/// context with the same values, in O(1): contexts share an immutable map, and a set() replaces
/// the map of the context it happens in, in O(number of variables set there).
///
/// Where the current context lives: each thread has one (a thread_local, as CPython's thread
/// state), so variables work in plain main() and on executor threads too. Each task runs in its
/// own context, a copy of its creator's taken at create_task (or the one passed to create_task);
/// callbacks scheduled with call_soon / call_later / call_at / add_reader run in a copy of the
/// context current when they were scheduled (or the one passed).
class context {
public:
    /// contextvars.Context(): a new, empty context.
    context() : data_(new detail::context_data()) {}
    context(const context& o) noexcept : data_(o.data_) { data_->add_ref(); }
    context& operator=(const context& o) noexcept {
        context tmp(o);
        std::swap(data_, tmp.data_);
        return *this;
    }
    ~context() {
        if (data_ != nullptr) {
            data_->release();
        }
    }

    /// Context.run(fn): calls `fn()` with this context as the current one and returns its result;
    /// what `fn` sets stays in this context. Throws std::runtime_error("cannot enter context:
    /// <Context> is already entered") when it is already entered (py: RuntimeError, same text
    /// with the object's repr).
    template <class F> decltype(auto) run(F&& fn) {
        if (data_->entered) {
            throw std::runtime_error("cannot enter context: <Context> is already entered");
        }
        struct entered {
            detail::context_data* d;
            detail::context_data* outer;
            explicit entered(detail::context_data* c) noexcept
                : d(c), outer(std::exchange(detail::current_context_ref(), c)) {
                d->entered = true;
            }
            entered(const entered&) = delete;
            entered& operator=(const entered&) = delete;
            ~entered() {
                d->entered = false;
                detail::current_context_ref() = outer;
            }
        } guard(data_);
        return std::forward<F>(fn)();
    }

    /// len(ctx): the number of variables that have a value in this context.
    [[nodiscard]] std::size_t size() const noexcept { return data_->map ? data_->map->size() : 0; }

    /// Internal: the context object (a reference the caller must add if it keeps it).
    [[nodiscard]] detail::context_data* data() const noexcept { return data_; }
    /// Internal: adopts a context object (taking over one reference).
    static context adopt(detail::context_data* d) noexcept { return context(d); }

    friend bool operator==(const context& a, const context& b) noexcept {
        return a.data_ == b.data_;
    }

private:
    explicit context(detail::context_data* d) noexcept : data_(d) {}
    detail::context_data* data_;
};

/// contextvars.copy_context(): a new context holding the current context's values (O(1)).
[[nodiscard]] inline context copy_context() {
    detail::context_data* c = detail::context_copy_current();
    return c != nullptr ? context::adopt(c) : context();
}

template <class T> class context_var;

/// contextvars.Token: what context_var::set returns, for reset(). Copies share the token's state
/// (one Python object), so a reset through any of them uses them all.
template <class T> class token {
public:
    /// Token.var: the variable that created the token.
    [[nodiscard]] const context_var<T>& var() const noexcept { return *s_->var; }
    /// Token.old_value: the value before set(), or std::nullopt where Python gives Token.MISSING.
    [[nodiscard]] const std::optional<T>& old_value() const noexcept { return s_->old; }

private:
    friend class context_var<T>;
    struct state {
        const context_var<T>* var;
        std::uint64_t var_id;
        std::optional<T> old;
        std::shared_ptr<const void> old_box;
        detail::context_data* ctx = nullptr; // held, as Python's Token holds its Context
        bool used = false;

        state() = default;
        state(const state&) = delete;
        state& operator=(const state&) = delete;
        ~state() { detail::context_release(ctx); }
    };
    explicit token(std::shared_ptr<state> s) noexcept : s_(std::move(s)) {}
    std::shared_ptr<state> s_;
};

/// contextvars.ContextVar: a variable whose value depends on the current context (each task has
/// its own copy of its creator's context, so a value set inside a task is invisible to its
/// creator and its siblings). `T` is copied in and out (share big values through a pointer).
/// Variables are neither copyable nor movable (tokens refer to them); each has a process-wide id.
template <class T> class context_var {
    static_assert(std::is_copy_constructible_v<T>, "context_var<T> needs a copyable T");

public:
    /// ContextVar(name): no default value.
    explicit context_var(std::string name)
        : name_(std::move(name)), id_(detail::new_context_var_id()) {}
    /// ContextVar(name, default=value).
    context_var(std::string name, T default_value)
        : name_(std::move(name)), default_(std::move(default_value)),
          id_(detail::new_context_var_id()) {}
    context_var(const context_var&) = delete;
    context_var& operator=(const context_var&) = delete;

    /// ContextVar.name.
    [[nodiscard]] const std::string& name() const noexcept { return name_; }

    /// ContextVar.get(): the value in the current context, else the variable's default, else
    /// throws lookup_error("<ContextVar name='...'>") (py: LookupError(<ContextVar name='var' at
    /// 0x...>)).
    [[nodiscard]] T get() const {
        if (const T* v = find()) {
            return *v;
        }
        if (default_) {
            return *default_;
        }
        throw lookup_error("<ContextVar name='" + name_ + "'>");
    }
    /// ContextVar.get(default): the value in the current context, else `fallback` (which wins over
    /// the variable's own default, as in Python).
    [[nodiscard]] T get(T fallback) const {
        if (const T* v = find()) {
            return *v;
        }
        return fallback;
    }

    /// ContextVar.set(value): sets the value in the current context; the token restores the
    /// previous value (or its absence) through reset().
    token<T> set(T value) {
        detail::context_data& ctx = detail::context_current_for_set();
        auto s = std::make_shared<typename token<T>::state>();
        s->var = this;
        s->var_id = id_;
        ctx.add_ref();
        s->ctx = &ctx;
        if (const detail::context_entry* e = ctx.find(id_)) {
            s->old_box = e->value;
            s->old = *static_cast<const T*>(e->value.get());
        }
        ctx.assign(id_, std::make_shared<const T>(std::move(value)));
        return token<T>(std::move(s));
    }

    /// ContextVar.reset(token): restores the value the variable had before the set() that made
    /// `t`. Throws, in CPython's order: std::runtime_error("<Token used var=<ContextVar
    /// name='...'>> has already been used once"), std::invalid_argument("<Token var=<ContextVar
    /// name='...'>> was created by a different ContextVar"), std::invalid_argument("... was created
    /// in a different Context") (py: RuntimeError, ValueError, ValueError; reprs without
    /// addresses).
    void reset(const token<T>& t) {
        auto& s = *t.s_;
        const std::string repr = "var=<ContextVar name='" + s.var->name() + "'>>";
        if (s.used) {
            throw std::runtime_error("<Token used " + repr + " has already been used once");
        }
        if (s.var_id != id_) {
            throw std::invalid_argument("<Token " + repr +
                                        " was created by a different ContextVar");
        }
        if (s.ctx != detail::current_context_ref()) {
            throw std::invalid_argument("<Token " + repr + " was created in a different Context");
        }
        s.used = true;
        detail::context_current_for_set().assign(id_, s.old_box);
    }

    /// The value in `ctx` (Context[var] / Context.get(var)), or std::nullopt.
    [[nodiscard]] std::optional<T> get_in(const context& ctx) const {
        if (const detail::context_entry* e = ctx.data()->find(id_)) {
            return *static_cast<const T*>(e->value.get());
        }
        return std::nullopt;
    }

private:
    [[nodiscard]] const T* find() const noexcept {
        const detail::context_data* cur = detail::current_context_ref();
        if (cur == nullptr) {
            return nullptr;
        }
        const detail::context_entry* e = cur->find(id_);
        return e != nullptr ? static_cast<const T*>(e->value.get()) : nullptr;
    }

    std::string name_;
    std::optional<T> default_;
    std::uint64_t id_;
};

} // namespace asyncio
// ---- (back in asyncio/loop.hpp)

// ---- asyncio/handle.hpp --------------------------------------------------------------------------
// The loop's clock and the handles of scheduled callbacks (asyncio.Handle, asyncio.TimerHandle).



// ---- asyncio/detail/loop_core.hpp ----------------------------------------------------------------
// The loop's internals: clock, ready queue, timer heap and the registries of live tasks and
// futures.



// ---- asyncio/detail/block_pool.hpp ---------------------------------------------------------------
// A per-loop arena of small memory blocks by size class, for coroutine frames and task states.


#include <array>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(ASYNCIO_HAS_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace asyncio::detail {

/// Memory for coroutine frames and task states. A spawned task costs two blocks (frame and state)
/// and a program may hold a million of them at once, so a loop's pool carves blocks of up to
/// `max_pooled` bytes out of large chunks with a bump pointer and keeps freed blocks in free lists
/// by 16-byte size class; the chunks go back to the global heap whole.
///
/// A block of an `n`-byte object is `block_size(n)` bytes: byte `n`, just past the object, is a
/// tag saying where the block came from, so `deallocate` (given the same `n`) needs no header:
/// a global-heap block goes back to `::operator delete`; an arena block goes back to the free list
/// of the pool that owns its chunk (the chunk is the block's address rounded down to
/// `chunk_bytes`), whichever loop runs at the time. Blocks may outlive their pool (a finished
/// task's state kept by a handle, a lazy task<T> returned out of asyncio::run): a pool destroyed
/// with live blocks frees its idle chunks and orphans the others, each of which the last
/// deallocation of its blocks frees.
///
/// Single-threaded: a block is freed on its pool's thread, or once that pool is gone, on one
/// thread at a time per orphaned chunk (the loop's rules for frames). The library bypasses the
/// pool under ASYNCIO_NO_BLOCK_POOL, which AddressSanitizer builds define unless
/// ASYNCIO_POOL_UNDER_ASAN is defined (config.hpp); the class itself works either way, and under
/// AddressSanitizer poisons the memory it does not hand out.
class block_pool {
public:
    static constexpr std::size_t granule = 16;
    /// The largest block the arena serves; bigger ones come from the global heap.
    static constexpr std::size_t max_pooled = 1024;
    /// Size and alignment of a chunk. A request that does not fit the rest of the current chunk
    /// starts a new one and the rest is left unused: under `max_pooled` bytes (3%) per chunk.
    /// Small enough that glibc serves a pool's first chunks from its heap, whose pages stay warm
    /// from one loop to the next (64 KiB chunks were mapped afresh: a loop running 1,000 tasks
    /// took 0.24 ms instead of 0.125 ms, most of it in page faults).
    static constexpr std::size_t chunk_bytes = std::size_t{32} * 1024;
    /// Once a pool holds `standalone_chunks` chunks, further chunks are cut from regions of
    /// `region_bytes` aligned to their size, so that the kernel can back them with transparent
    /// huge pages: system-wide when THP is `always`, or when ASYNCIO_HUGE_PAGES is defined (the
    /// pool then asks for them with madvise). A million tasks touch some 300 MB; with 4 KiB pages
    /// the page faults took a third of the run. Not the default: on the 2-core virtual machines
    /// we measure on, fresh huge pages were sometimes slow to zero (the host backs them lazily),
    /// which made whole runs 2-4x slower at random.
    static constexpr std::size_t standalone_chunks = 16;
    static constexpr std::size_t region_bytes = std::size_t{2} * 1024 * 1024;

    /// The size of the block that holds an `n`-byte object and its tag byte.
    [[nodiscard]] static constexpr std::size_t block_size(std::size_t n) noexcept {
        return (n + 1 + granule - 1) & ~(granule - 1);
    }

    block_pool() noexcept = default;
    block_pool(const block_pool&) = delete;
    block_pool& operator=(const block_pool&) = delete;

    /// Frees every chunk none of whose blocks is alive; orphans the others.
    ~block_pool() {
        if (region_next_ != nullptr) {
            // The chunks of the current region never carved count as freed.
            chunk_header* first = region_first_;
            first->region_left -=
                static_cast<std::size_t>(region_end_ - region_next_) / chunk_bytes;
            if (first->region_left == 0) {
                free_region(first);
            }
        }
        if (outstanding_ == 0) {
            // The usual case: nothing outlives the loop, every chunk goes.
            for (chunk_header* c = chunks_; c != nullptr; c = c->next) {
                c->live = 0;
            }
        } else {
            // Some blocks outlive the pool: a chunk's live blocks are those carved from it minus
            // those on the free lists.
            for (free_block* head : heads_) {
                for (free_block* b = head; b != nullptr;) {
                    unpoison(b, sizeof(free_block));
                    free_block* next = b->next;
                    poison(b, sizeof(free_block));
                    --chunk_of(b)->live;
                    b = next;
                }
            }
        }
        for (chunk_header* c = chunks_; c != nullptr;) {
            chunk_header* next = c->next;
            if (c->live == 0) {
                free_chunk(c);
            } else {
                c->owner = nullptr;
                c->next = nullptr;
            }
            c = next;
        }
    }

    /// Memory for an `n`-byte object: from the arena, or the global heap above `max_pooled`.
    /// Throws std::bad_alloc.
    [[nodiscard]] void* allocate(std::size_t n) {
        const std::size_t size = block_size(n);
        if (size > max_pooled) {
            return allocate_global(n);
        }
        auto* p = static_cast<std::byte*>(pop(size));
        if (p == nullptr) {
            p = carve(size);
        }
        ++outstanding_;
        unpoison(p, n + 1);
        p[n] = arena_tag;
        return p;
    }

    /// Memory for an `n`-byte object from the global heap, tagged so that `deallocate` returns it
    /// there. Throws std::bad_alloc.
    [[nodiscard]] static void* allocate_global(std::size_t n) {
        auto* p = static_cast<std::byte*>(::operator new(block_size(n)));
        p[n] = global_tag;
        return p;
    }

    /// Returns a block from `allocate` or `allocate_global` of any pool, given the same `n`.
    static void deallocate(void* p, std::size_t n) noexcept {
        const std::size_t size = block_size(n);
        if (static_cast<const std::byte*>(p)[n] == arena_tag) {
            chunk_header* c = chunk_of(p);
            if (c->owner != nullptr) {
                c->owner->push(p, size);
                return;
            }
        }
        release_elsewhere(p, n);
    }

    /// The blocks handed out by `allocate` from the arena and not yet returned (tests use it to
    /// prove that an awaiter allocates no coroutine frame).
    [[nodiscard]] std::size_t outstanding() const noexcept { return outstanding_; }

    /// The chunks this pool owns (they stay allocated until the pool is destroyed).
    [[nodiscard]] std::size_t chunk_count() const noexcept { return chunk_count_; }

private:
    static constexpr std::byte global_tag{0};
    static constexpr std::byte arena_tag{1};

    struct free_block {
        free_block* next;
    };

    /// The start of every chunk. While its pool lives, `live` counts the blocks carved from it;
    /// once orphaned, the blocks still handed out. The pool itself counts what it has handed out
    /// (`outstanding_`), so that a dying pool with nothing outstanding, the usual case, frees its
    /// chunks without walking its free lists (two million pointers chased through all of memory
    /// after a million tasks), and allocation from a free list never touches a chunk header.
    struct chunk_header {
        block_pool* owner; // null once the pool is gone (an orphan)
        chunk_header* next;
        std::size_t live;
        /// The first chunk of the region this chunk was cut from, or null for a chunk of its own.
        chunk_header* region;
        /// In a region's first chunk only: the region's chunks not yet freed.
        std::size_t region_left;
    };
    static constexpr std::size_t header_bytes =
        (sizeof(chunk_header) + granule - 1) & ~(granule - 1);
    static_assert((chunk_bytes & (chunk_bytes - 1)) == 0, "chunks are aligned to their size");
    static_assert(header_bytes + max_pooled <= chunk_bytes, "a chunk holds the largest block");
    static_assert(sizeof(free_block) <= granule && granule % alignof(std::max_align_t) == 0);

    /// The cold paths of `deallocate`, kept out of its inlined part: a global-heap block, or a
    /// block of an orphaned chunk.
    static void release_elsewhere(void* p, std::size_t n) noexcept {
        const std::size_t size = block_size(n);
        const std::byte tag = static_cast<const std::byte*>(p)[n];
        // Another value means `n` is not the size the block was allocated for.
        ASYNCIO_ASSERT(tag == arena_tag || tag == global_tag);
        if (tag == global_tag) {
#if defined(__cpp_sized_deallocation)
            ::operator delete(p, size);
#else
            ::operator delete(p);
#endif
            return;
        }
        // An orphaned chunk: its blocks are never reused, and the last one frees it.
        chunk_header* c = chunk_of(p);
        poison(p, size);
        if (--c->live == 0) {
            free_chunk(c);
        }
    }

    [[nodiscard]] static chunk_header* chunk_of(void* p) noexcept {
        const std::uintptr_t offset = reinterpret_cast<std::uintptr_t>(p) & (chunk_bytes - 1);
        return std::launder(reinterpret_cast<chunk_header*>(static_cast<std::byte*>(p) - offset));
    }

    [[nodiscard]] void* pop(std::size_t size) noexcept {
        free_block*& head = heads_[size / granule - 1];
        free_block* b = head;
        if (b != nullptr) {
            unpoison(b, sizeof(free_block));
            head = b->next;
            poison(b, size);
        }
        return b;
    }

    void push(void* p, std::size_t size) noexcept {
        free_block*& head = heads_[size / granule - 1];
        unpoison(p, sizeof(free_block));
        head = ::new (p) free_block{head};
        poison(p, size);
        --outstanding_;
    }

    [[nodiscard]] std::byte* carve(std::size_t size) {
        if (static_cast<std::size_t>(end_ - bump_) < size) {
            chunk_header* region = nullptr;
            std::size_t region_left = 0;
            std::byte* raw = nullptr;
            if (chunk_count_ < standalone_chunks) {
                raw = static_cast<std::byte*>(
                    ::operator new(chunk_bytes, std::align_val_t{chunk_bytes}));
            } else {
                if (region_next_ == region_end_) {
                    region_next_ = allocate_region();
                    region_end_ = region_next_ + region_bytes;
                    region_left = region_bytes / chunk_bytes; // this chunk is the region's first
                }
                raw = region_next_;
                region_next_ += chunk_bytes;
                region = region_left != 0 ? reinterpret_cast<chunk_header*>(raw) : region_first_;
            }
            chunks_ = ::new (raw) chunk_header{this, chunks_, 0, region, region_left};
            if (region_left != 0) {
                region_first_ = chunks_;
                region_first_->region = region_first_;
            }
            ++chunk_count_;
            bump_ = raw + header_bytes;
            end_ = raw + chunk_bytes;
            poison(bump_, chunk_bytes - header_bytes);
        }
        std::byte* p = bump_;
        bump_ += size;
        ++chunks_->live;
        return p;
    }

    static void free_chunk(chunk_header* c) noexcept {
        if (chunk_header* first = c->region) {
            // A region goes back whole, once every chunk cut from it is free.
            if (--first->region_left == 0) {
                free_region(first);
            }
            return;
        }
        unpoison(c, chunk_bytes);
#if defined(__cpp_sized_deallocation)
        ::operator delete(c, chunk_bytes, std::align_val_t{chunk_bytes});
#else
        ::operator delete(c, std::align_val_t{chunk_bytes});
#endif
    }

    /// `region_bytes` aligned to their size; on Linux mapped directly (and with ASYNCIO_HUGE_PAGES
    /// advised to use huge pages: a hint, ordinary memory where THP is off).
    [[nodiscard]] static std::byte* allocate_region() {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        void* m = ::mmap(nullptr, 2 * region_bytes, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            throw std::bad_alloc();
        }
        // Keep the aligned middle: unmap the head and the tail around it.
        auto* const start = static_cast<std::byte*>(m);
        const std::uintptr_t misalign =
            reinterpret_cast<std::uintptr_t>(start) & (region_bytes - 1);
        const std::size_t head = misalign == 0 ? 0 : region_bytes - misalign;
        if (head != 0) {
            ::munmap(start, head);
        }
        ::munmap(start + head + region_bytes, region_bytes - head);
        std::byte* const region = start + head;
#if defined(ASYNCIO_HUGE_PAGES)
        ::madvise(region, region_bytes, MADV_HUGEPAGE);
#endif
        return region;
#else
        return static_cast<std::byte*>(
            ::operator new(region_bytes, std::align_val_t{region_bytes}));
#endif
    }

    static void free_region(chunk_header* first) noexcept {
        unpoison(first, region_bytes);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        ::munmap(first, region_bytes);
#elif defined(__cpp_sized_deallocation)
        ::operator delete(first, region_bytes, std::align_val_t{region_bytes});
#else
        ::operator delete(first, std::align_val_t{region_bytes});
#endif
    }

    // Under AddressSanitizer, memory the pool holds but has not handed out is poisoned, so that a
    // use of a freed block (until its reuse) or of the uncarved rest of a chunk is reported.
    static void poison([[maybe_unused]] void* p, [[maybe_unused]] std::size_t n) noexcept {
#if defined(ASYNCIO_HAS_ASAN)
        ASAN_POISON_MEMORY_REGION(p, n);
#endif
    }
    static void unpoison([[maybe_unused]] void* p, [[maybe_unused]] std::size_t n) noexcept {
#if defined(ASYNCIO_HAS_ASAN)
        ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
    }

    std::array<free_block*, max_pooled / granule> heads_{};
    /// Every chunk this pool owns, the one being carved first.
    chunk_header* chunks_ = nullptr;
    std::byte* bump_ = nullptr;
    std::byte* end_ = nullptr;
    std::size_t chunk_count_ = 0;
    /// Blocks handed out and not yet returned.
    std::size_t outstanding_ = 0;
    /// The region chunks are being cut from: its first chunk, the next chunk, its end.
    chunk_header* region_first_ = nullptr;
    std::byte* region_next_ = nullptr;
    std::byte* region_end_ = nullptr;
};

} // namespace asyncio::detail
// ---- (back in asyncio/detail/loop_core.hpp)

// ---- asyncio/detail/fwd.hpp ----------------------------------------------------------------------
// Forward declarations (with the default template arguments) of the public class templates.

namespace asyncio {

class event_loop;
template <class T = void> class future;
template <class T = void> class task;
template <class T = void> class task_handle;
class task_ref;

namespace detail {
struct state_access;
} // namespace detail

} // namespace asyncio
// ---- (back in asyncio/detail/loop_core.hpp)

// ---- asyncio/detail/intrusive_list.hpp -----------------------------------------------------------
// A circular doubly linked intrusive list: O(1) push, pop and self-unlink, no allocation.



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
// ---- (back in asyncio/detail/loop_core.hpp)

// ---- asyncio/detail/io_registry.hpp --------------------------------------------------------------
// The loop's table of descriptors watched for reading and writing, and what waits on each.



// ---- asyncio/detail/ready_queue.hpp --------------------------------------------------------------
// The loop's FIFO ready queue: a growable ring buffer of (function, argument) entries.



namespace asyncio::detail {

/// One scheduled callback. `run` is false when the loop discards the entry unrun (loop
/// destruction), so entries that own something can release it.
struct ready_entry {
    void (*fn)(void* arg, bool run);
    void* arg;
};

/// FIFO ring buffer. Positions are absolute (they only grow), so an entry can be neutralised in
/// place by `cancel_at(pos)` while it waits: an awaiter that dies before its entry runs uses this
/// so that the loop never calls into freed memory.
class ready_queue {
public:
    ready_queue() = default;
    ready_queue(const ready_queue&) = delete;
    ready_queue& operator=(const ready_queue&) = delete;
    ~ready_queue() = default;

    [[nodiscard]] bool empty() const noexcept { return head_ == tail_; }
    [[nodiscard]] std::size_t size() const noexcept {
        return static_cast<std::size_t>(tail_ - head_);
    }

    /// Appends an entry and returns its absolute position.
    std::uint64_t push(ready_entry e) {
        if (tail_ - head_ == capacity_) {
            grow();
        }
        const std::uint64_t pos = tail_++;
        buf_[pos & mask_] = e;
        return pos;
    }

    /// Removes and returns the first entry; the queue must not be empty.
    ready_entry pop() noexcept {
        ASYNCIO_ASSERT(!empty());
        return buf_[head_++ & mask_];
    }

    /// Replaces the entry at `pos` by a no-op if it has not run yet.
    void cancel_at(std::uint64_t pos) noexcept {
        if (pos >= head_ && pos < tail_) {
            buf_[pos & mask_] = ready_entry{&noop, nullptr};
        }
    }

private:
    static void noop(void*, bool) noexcept {}

    // Out of line, so that push() inlines into every wake-up.
    ASYNCIO_NOINLINE void grow() {
        const std::uint64_t cap = capacity_ == 0 ? 64 : capacity_ * 2;
        auto next = std::make_unique<ready_entry[]>(static_cast<std::size_t>(cap));
        for (std::uint64_t i = head_; i != tail_; ++i) {
            next[i & (cap - 1)] = buf_[i & mask_];
        }
        buf_ = std::move(next);
        capacity_ = cap;
        mask_ = cap - 1;
    }

    std::unique_ptr<ready_entry[]> buf_;
    std::uint64_t capacity_ = 0;
    std::uint64_t mask_ = 0;
    std::uint64_t head_ = 0;
    std::uint64_t tail_ = 0;
};

} // namespace asyncio::detail
// ---- (back in asyncio/detail/io_registry.hpp)

// ---- asyncio/detail/selector.hpp -----------------------------------------------------------------
// The selector interface the loop polls for I/O readiness; one backend per header beside it.


#include <cerrno>
#include <system_error>

namespace asyncio {

/// Which system call the loop waits in (a loop option: `run_options{.selector = ...}`).
/// `automatic` is epoll on Linux and poll(2) elsewhere.
enum class selector_kind { automatic, epoll, poll };

} // namespace asyncio

namespace asyncio::detail {

/// Readiness bits, as Python's selectors.EVENT_READ / EVENT_WRITE.
inline constexpr std::uint32_t event_read = 1;
inline constexpr std::uint32_t event_write = 2;

/// One ready descriptor reported by `select`.
struct io_event {
    int fd;
    std::uint32_t events;
};

/// A readiness poller over descriptors registered for reading and/or writing (level-triggered,
/// as Python's selectors). An error or hang-up on a descriptor reports it ready for whatever it is
/// registered for, so that the operation waiting on it runs and meets the error.
class selector {
public:
    selector() = default;
    selector(const selector&) = delete;
    selector& operator=(const selector&) = delete;
    virtual ~selector() = default;

    /// Starts watching `fd` for `events` (non-zero); throws std::system_error (EBADF for a
    /// closed descriptor, EEXIST if already watched).
    virtual void add(int fd, std::uint32_t events) = 0;
    /// Changes the events of a watched descriptor (non-zero).
    virtual void modify(int fd, std::uint32_t events) = 0;
    /// Stops watching `fd`; a descriptor already closed is simply forgotten.
    virtual void remove(int fd) noexcept = 0;
    /// Waits until a descriptor is ready or `timeout_ns` has passed (negative: no limit, 0: a
    /// non-blocking check), replaces `out` by the ready descriptors. An interruption by a signal
    /// returns with nothing ready.
    virtual void select(std::int64_t timeout_ns, std::vector<io_event>& out) = 0;
    /// "epoll", "poll": the backend's name.
    [[nodiscard]] virtual const char* name() const noexcept = 0;
};

/// Converts a poll timeout to whole milliseconds, rounding up so that the loop never wakes just
/// before a deadline and spins (as CPython's selectors do); negative means no limit.
[[nodiscard]] inline int timeout_ms(std::int64_t timeout_ns) noexcept {
    if (timeout_ns < 0) {
        return -1;
    }
    constexpr std::int64_t max_ms = 86'400'000; // a day, the loop's own cap
    const std::int64_t ms = timeout_ns / 1'000'000 + (timeout_ns % 1'000'000 != 0 ? 1 : 0);
    return static_cast<int>(ms > max_ms ? max_ms : ms);
}

/// Throws std::system_error for the current errno.
[[noreturn]] inline void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

} // namespace asyncio::detail
// ---- (back in asyncio/detail/io_registry.hpp)


namespace asyncio::detail {

/// Something waiting for one descriptor to be readable (or writable): an add_reader callback or a
/// suspended socket operation. While the descriptor is ready, the watcher is queued once per
/// iteration on the ready queue (as CPython appends the reader's handle to `_ready`), and
/// `on_ready(w, true)` runs in that iteration; `on_ready(w, false)` when the loop closes with the
/// watcher still registered.
struct io_watcher {
    void (*on_ready)(io_watcher*, bool run) = nullptr;
    /// The registration was taken away before the watcher was done (remove_reader, the socket
    /// closed, the loop closing): a callback frees itself, an operation fails with `err`.
    void (*on_removed)(io_watcher*, int err) noexcept = nullptr;
    /// An add_reader/add_writer callback, which a later add_reader replaces (CPython); a pending
    /// socket operation is never replaced.
    bool is_callback = false;
    std::uint64_t ready_pos = 0;
    bool queued = false;
};

/// Descriptor-indexed slots (a reader and a writer per descriptor) over a selector.
///
/// The kernel's interest set may lag behind the watchers: when a socket operation completes or is
/// cancelled, its descriptor's interest is kept for a while (`lazy`), because the same task
/// usually waits on the same socket again at once (a request/response loop) and re-registering
/// would cost two system calls per wait. A lagging interest is brought in line when the selector
/// reports an event nobody waits for, when it has lagged for a whole iteration (`flush`), when
/// the socket is closed (`forget`), and when the loop stops running (`flush_all`), so a closed
/// and reused descriptor number never meets a stale interest. Callbacks of add_reader and
/// add_writer are always removed from the kernel at once (their descriptors are the user's).
class io_registry {
public:
    /// Registers `w` as the reader (`dir == event_read`) or writer of `fd`, returning the watcher
    /// it replaces (unqueued), or null. Throws std::system_error when the selector refuses `fd`.
    io_watcher* watch(selector& sel, ready_queue& ready, int fd, std::uint32_t dir, io_watcher* w) {
        if (fd < 0) {
            throw std::invalid_argument("Invalid file descriptor: " + std::to_string(fd));
        }
        const auto i = static_cast<std::size_t>(fd);
        if (i >= slots_.size()) {
            slots_.resize(i + 1);
        }
        slot& s = slots_[i];
        const std::uint32_t before = s.mask();
        const std::uint32_t after = before | dir;
        if (after != s.kernel) {
            apply(sel, fd, s, after);
        }
        if (before == 0) {
            ++count_;
        }
        io_watcher*& place = dir == event_read ? s.reader : s.writer;
        io_watcher* old = place;
        place = w;
        unqueue(ready, old);
        return old;
    }

    /// Unregisters the reader or writer of `fd`, returning it (unqueued), or null if none.
    /// `lazy`: the kernel may keep the interest for a while (see the class comment).
    io_watcher* unwatch(selector& sel, ready_queue& ready, int fd, std::uint32_t dir,
                        bool lazy = false) noexcept {
        const auto i = static_cast<std::size_t>(fd);
        if (fd < 0 || i >= slots_.size()) {
            return nullptr;
        }
        slot& s = slots_[i];
        io_watcher*& place = dir == event_read ? s.reader : s.writer;
        io_watcher* old = place;
        if (old == nullptr) {
            return nullptr;
        }
        place = nullptr;
        if (s.mask() == 0) {
            --count_;
        }
        if (lazy) {
            if (!s.listed) {
                try {
                    lagging_.push_back(lag{fd, iteration_});
                    s.listed = true;
                } catch (...) {
                    sync(sel, fd, s); // no room to remember it: bring it in line now
                }
            }
        } else {
            sync(sel, fd, s);
        }
        unqueue(ready, old);
        return old;
    }

    /// Unregisters `w` if it is still the `dir` watcher of `fd` (the descriptor may have been
    /// forgotten and reused meanwhile); true if it was.
    bool unwatch_if(selector& sel, ready_queue& ready, int fd, std::uint32_t dir,
                    const io_watcher* w, bool lazy = false) noexcept {
        if (find(fd, dir) != w) {
            return false;
        }
        return unwatch(sel, ready, fd, dir, lazy) != nullptr;
    }

    /// Unregisters both watchers of `fd` (it is being closed) and its kernel interest, telling
    /// each watcher with `err`.
    void forget(selector& sel, ready_queue& ready, int fd, int err) noexcept {
        for (const std::uint32_t dir : {event_read, event_write}) {
            if (io_watcher* w = unwatch(sel, ready, fd, dir)) {
                w->on_removed(w, err);
            }
        }
        const auto i = static_cast<std::size_t>(fd);
        if (fd >= 0 && i < slots_.size()) {
            sync(sel, fd, slots_[i]);
        }
    }

    /// The watcher registered for `dir` on `fd`, or null.
    [[nodiscard]] io_watcher* find(int fd, std::uint32_t dir) const noexcept {
        const auto i = static_cast<std::size_t>(fd);
        if (fd < 0 || i >= slots_.size()) {
            return nullptr;
        }
        return dir == event_read ? slots_[i].reader : slots_[i].writer;
    }

    /// Queues the watchers of the descriptors the selector reported (reader first, then writer,
    /// as CPython's _process_events). An event nobody waits for brings the descriptor's kernel
    /// interest in line.
    void dispatch(selector& sel, ready_queue& ready, const io_event& ev) {
        const auto i = static_cast<std::size_t>(ev.fd);
        if (ev.fd < 0 || i >= slots_.size()) {
            return;
        }
        slot& s = slots_[i];
        if ((ev.events & event_read) != 0) {
            enqueue(ready, s.reader);
        }
        if ((ev.events & event_write) != 0) {
            enqueue(ready, s.writer);
        }
        if ((ev.events & s.kernel & ~s.mask()) != 0) {
            sync(sel, ev.fd, s);
        }
    }

    /// Start of an iteration's poll: brings in line the interests that lagged for a whole
    /// iteration.
    void flush(selector& sel) noexcept {
        ++iteration_;
        if (lagging_.empty()) {
            return;
        }
        std::size_t kept = 0;
        for (const lag& l : lagging_) {
            slot& s = slots_[static_cast<std::size_t>(l.fd)];
            if (!s.listed) {
                continue;
            }
            if (l.since + 1 < iteration_ || s.kernel == s.mask()) {
                sync(sel, l.fd, s);
            } else {
                lagging_[kept++] = l;
            }
        }
        lagging_.resize(kept);
    }

    /// Brings every lagging interest in line (the loop stops running).
    void flush_all(selector& sel) noexcept {
        for (const lag& l : lagging_) {
            sync(sel, l.fd, slots_[static_cast<std::size_t>(l.fd)]);
        }
        lagging_.clear();
    }

    /// Descriptors with a watcher (the loop's own wake-up descriptor is not counted).
    [[nodiscard]] std::size_t size() const noexcept { return count_; }

    /// Empties the table, handing each watcher (unqueued) to `f` (loop closing).
    template <class F> void clear(selector& sel, ready_queue& ready, F&& f) {
        lagging_.clear();
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            slot s = slots_[i];
            slots_[i] = slot{};
            if (s.kernel != 0) {
                sel.remove(static_cast<int>(i));
            }
            if (s.reader != nullptr) {
                unqueue(ready, s.reader);
                f(s.reader);
            }
            if (s.writer != nullptr) {
                unqueue(ready, s.writer);
                f(s.writer);
            }
        }
        count_ = 0;
    }

private:
    struct slot {
        io_watcher* reader = nullptr;
        io_watcher* writer = nullptr;
        /// The interest the kernel holds for the descriptor.
        std::uint32_t kernel = 0;
        /// In `lagging_`.
        bool listed = false;
        [[nodiscard]] std::uint32_t mask() const noexcept {
            return (reader != nullptr ? event_read : 0U) | (writer != nullptr ? event_write : 0U);
        }
    };
    struct lag {
        int fd;
        std::uint64_t since;
    };

    /// Sets the kernel's interest to `want` (non-zero). Throws what the selector throws.
    static void apply(selector& sel, int fd, slot& s, std::uint32_t want) {
        if (s.kernel == 0) {
            sel.add(fd, want);
        } else {
            try {
                sel.modify(fd, want);
            } catch (const std::system_error&) {
                // The kernel forgot a descriptor closed behind our back: register it anew.
                sel.remove(fd);
                s.kernel = 0;
                sel.add(fd, want);
            }
        }
        s.kernel = want;
    }

    /// Makes the kernel's interest what the watchers want now.
    static void sync(selector& sel, int fd, slot& s) noexcept {
        s.listed = false;
        const std::uint32_t want = s.mask();
        if (want == s.kernel) {
            return;
        }
        if (want == 0) {
            sel.remove(fd);
            s.kernel = 0;
            return;
        }
        try {
            apply(sel, fd, s, want);
        } catch (...) {
            sel.remove(fd); // closed meanwhile: the kernel forgot it already
            s.kernel = 0;
        }
    }

    static void run_watcher(void* p, bool run) {
        auto* w = static_cast<io_watcher*>(p);
        w->queued = false;
        w->on_ready(w, run);
    }
    static void enqueue(ready_queue& ready, io_watcher* w) {
        if (w != nullptr && !w->queued) {
            w->ready_pos = ready.push(ready_entry{&run_watcher, w});
            w->queued = true;
        }
    }
    static void unqueue(ready_queue& ready, io_watcher* w) noexcept {
        if (w != nullptr && w->queued) {
            ready.cancel_at(w->ready_pos);
            w->queued = false;
        }
    }

    std::vector<slot> slots_;
    std::vector<lag> lagging_;
    std::size_t count_ = 0;
    std::uint64_t iteration_ = 0;
};

} // namespace asyncio::detail
// ---- (back in asyncio/detail/loop_core.hpp)

// ---- asyncio/detail/selector_epoll.hpp -----------------------------------------------------------
// The epoll(7) selector backend (Linux).



#if defined(__linux__)
#define ASYNCIO_HAS_EPOLL 1

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <vector>

namespace asyncio::detail {

/// epoll, level-triggered: one epoll_ctl per registration change, one epoll_wait per poll.
class epoll_selector final : public selector {
public:
    epoll_selector() : epfd_(::epoll_create1(EPOLL_CLOEXEC)) {
        if (epfd_ < 0) {
            throw_errno("epoll_create1");
        }
    }
    ~epoll_selector() override { ::close(epfd_); }

    void add(int fd, std::uint32_t events) override { ctl(EPOLL_CTL_ADD, fd, events); }
    void modify(int fd, std::uint32_t events) override { ctl(EPOLL_CTL_MOD, fd, events); }
    void remove(int fd) noexcept override {
        epoll_event ev{};
        ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &ev); // ENOENT/EBADF: closed meanwhile
        if (count_ > 0) {
            --count_;
        }
    }

    void select(std::int64_t timeout_ns, std::vector<io_event>& out) override {
        out.clear();
        const std::size_t cap = count_ < 1 ? 1 : (count_ > 1024 ? 1024 : count_);
        buf_.resize(cap);
        const int n =
            ::epoll_wait(epfd_, buf_.data(), static_cast<int>(cap), timeout_ms(timeout_ns));
        if (n < 0) {
            if (errno == EINTR) {
                return;
            }
            throw_errno("epoll_wait");
        }
        for (int i = 0; i < n; ++i) {
            const std::uint32_t e = buf_[static_cast<std::size_t>(i)].events;
            std::uint32_t ready = 0;
            // As Python's EpollSelector: anything but "readable" (error, hang-up) wakes a writer,
            // anything but "writable" wakes a reader.
            if ((e & ~static_cast<std::uint32_t>(EPOLLIN)) != 0) {
                ready |= event_write;
            }
            if ((e & ~static_cast<std::uint32_t>(EPOLLOUT)) != 0) {
                ready |= event_read;
            }
            out.push_back(io_event{buf_[static_cast<std::size_t>(i)].data.fd, ready});
        }
    }

    [[nodiscard]] const char* name() const noexcept override { return "epoll"; }

private:
    void ctl(int op, int fd, std::uint32_t events) {
        epoll_event ev{};
        ev.events = ((events & event_read) != 0 ? static_cast<std::uint32_t>(EPOLLIN) : 0U) |
                    ((events & event_write) != 0 ? static_cast<std::uint32_t>(EPOLLOUT) : 0U);
        ev.data.fd = fd;
        if (::epoll_ctl(epfd_, op, fd, &ev) != 0) {
            throw_errno("epoll_ctl");
        }
        if (op == EPOLL_CTL_ADD) {
            ++count_;
        }
    }

    int epfd_;
    std::size_t count_ = 0;
    std::vector<epoll_event> buf_;
};

} // namespace asyncio::detail

#endif
// ---- (back in asyncio/detail/loop_core.hpp)

// ---- asyncio/detail/selector_poll.hpp ------------------------------------------------------------
// The poll(2) selector backend (any POSIX system).



#include <fcntl.h>
#include <poll.h>


namespace asyncio::detail {

/// poll(2): the registered set lives in a dense array handed to the kernel on every poll, with a
/// descriptor-indexed table of positions, so that add, modify and remove are O(1).
class poll_selector final : public selector {
public:
    void add(int fd, std::uint32_t events) override {
        if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) {
            errno = EBADF; // poll would only report POLLNVAL later: fail now, as epoll does
            throw_errno("poll add");
        }
        const auto i = static_cast<std::size_t>(fd);
        if (i >= pos_.size()) {
            pos_.resize(i + 1, npos);
        }
        if (pos_[i] != npos) {
            errno = EEXIST;
            throw_errno("poll add");
        }
        pos_[i] = fds_.size();
        fds_.push_back(pollfd{fd, mask(events), 0});
    }
    void modify(int fd, std::uint32_t events) override {
        const auto i = static_cast<std::size_t>(fd);
        if (fd < 0 || i >= pos_.size() || pos_[i] == npos) {
            errno = ENOENT;
            throw_errno("poll modify");
        }
        fds_[pos_[i]].events = mask(events);
    }
    void remove(int fd) noexcept override {
        const auto i = static_cast<std::size_t>(fd);
        if (fd < 0 || i >= pos_.size() || pos_[i] == npos) {
            return;
        }
        const std::size_t at = pos_[i];
        fds_[at] = fds_.back();
        pos_[static_cast<std::size_t>(fds_[at].fd)] = at;
        fds_.pop_back();
        pos_[i] = npos;
    }

    void select(std::int64_t timeout_ns, std::vector<io_event>& out) override {
        out.clear();
        const int n = ::poll(fds_.data(), static_cast<nfds_t>(fds_.size()), timeout_ms(timeout_ns));
        if (n < 0) {
            if (errno == EINTR) {
                return;
            }
            throw_errno("poll");
        }
        for (std::size_t k = 0; k < fds_.size() && out.size() < static_cast<std::size_t>(n); ++k) {
            const auto e = static_cast<unsigned>(fds_[k].revents);
            if (e == 0) {
                continue;
            }
            std::uint32_t ready = 0;
            // As Python's PollSelector: anything but "readable" wakes a writer, anything but
            // "writable" wakes a reader (errors, hang-ups and POLLNVAL reach both).
            if ((e & ~static_cast<unsigned>(POLLIN)) != 0) {
                ready |= event_write;
            }
            if ((e & ~static_cast<unsigned>(POLLOUT)) != 0) {
                ready |= event_read;
            }
            out.push_back(io_event{fds_[k].fd, ready});
        }
    }

    [[nodiscard]] const char* name() const noexcept override { return "poll"; }

private:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    static short mask(std::uint32_t events) noexcept {
        return static_cast<short>(((events & event_read) != 0 ? POLLIN : 0) |
                                  ((events & event_write) != 0 ? POLLOUT : 0));
    }

    std::vector<pollfd> fds_;
    std::vector<std::size_t> pos_;
};

} // namespace asyncio::detail
// ---- (back in asyncio/detail/loop_core.hpp)

// ---- asyncio/detail/signals.hpp ------------------------------------------------------------------
// Signal handlers of event loops: the process-wide signal table, the C handler, each loop's table.



// ---- asyncio/detail/wakeup.hpp -------------------------------------------------------------------
// The loop's self-wake descriptor and the queue other threads hand callbacks through.



#if defined(__linux__)
#include <sys/eventfd.h>
#endif
#include <unistd.h>

#include <mutex>

namespace asyncio::detail {

/// A descriptor that becomes readable when `notify()` is called, from any thread or from a
/// signal handler: an eventfd on Linux with the epoll backend, else a non-blocking pipe.
class wakeup {
public:
    explicit wakeup(bool use_pipe) {
#if defined(__linux__)
        if (!use_pipe) {
            read_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
            if (read_fd_ < 0) {
                throw_errno("eventfd");
            }
            write_fd_ = read_fd_;
            return;
        }
#else
        static_cast<void>(use_pipe);
#endif
        int p[2];
        if (::pipe(p) != 0) {
            throw_errno("pipe");
        }
        for (int fd : p) {
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        read_fd_ = p[0];
        write_fd_ = p[1];
    }
    wakeup(const wakeup&) = delete;
    wakeup& operator=(const wakeup&) = delete;
    ~wakeup() {
        ::close(read_fd_);
        if (write_fd_ != read_fd_) {
            ::close(write_fd_);
        }
    }

    [[nodiscard]] int read_fd() const noexcept { return read_fd_; }

    /// Makes read_fd() readable. Async-signal-safe (one write); a full pipe or counter means a
    /// wake-up is already pending, which is all that is needed.
    void notify() const noexcept {
        if (write_fd_ == read_fd_) {
            const std::uint64_t one = 1;
            [[maybe_unused]] const auto r = ::write(write_fd_, &one, sizeof one);
        } else {
            const char b = 0;
            [[maybe_unused]] const auto r = ::write(write_fd_, &b, 1);
        }
    }

    /// Empties the descriptor (the loop thread, once it was reported readable).
    void drain() const noexcept {
        char buf[64];
        while (::read(read_fd_, buf, write_fd_ == read_fd_ ? 8 : sizeof buf) > 0) {
        }
    }

private:
    int read_fd_ = -1;
    int write_fd_ = -1;
};

/// The entries other threads schedule on a loop (call_soon_threadsafe): a short mutex around a
/// vector the loop swaps out once per iteration, and an atomic flag the loop reads without the
/// mutex. Only the post that finds the queue empty writes to the wake-up descriptor. Shared
/// (std::shared_ptr) by the loop and whatever may post after the loop is gone (a worker thread
/// whose job outlives it): posting to a closed queue returns false.
class remote_queue {
public:
    explicit remote_queue(bool use_pipe) : wake_(use_pipe) {}

    /// Any thread: queues `e` and wakes the loop. False (and `e` untouched) once closed.
    bool post(ready_entry e) {
        bool was_empty = false;
        {
            std::lock_guard<std::mutex> lock(m_);
            if (closed_) {
                return false;
            }
            was_empty = items_.empty();
            items_.push_back(e);
            pending_.store(true, std::memory_order_release);
        }
        if (was_empty) {
            wake_.notify();
        }
        return true;
    }

    /// Whether something was posted since the last `take` (a hint read without the mutex).
    [[nodiscard]] bool pending() const noexcept { return pending_.load(std::memory_order_acquire); }

    /// Marks the queue pending and wakes the loop: async-signal-safe (signal handlers use it).
    void poke() noexcept {
        pending_.store(true, std::memory_order_release);
        wake_.notify();
    }

    /// The loop thread: moves everything posted so far into `out` (cleared first).
    void take(std::vector<ready_entry>& out) {
        out.clear();
        pending_.store(false, std::memory_order_relaxed);
        std::lock_guard<std::mutex> lock(m_);
        out.swap(items_);
    }

    /// Refuses further posts; returns what is still queued (for the loop to discard).
    std::vector<ready_entry> close() {
        std::lock_guard<std::mutex> lock(m_);
        closed_ = true;
        return std::move(items_);
    }

    [[nodiscard]] bool closed() {
        std::lock_guard<std::mutex> lock(m_);
        return closed_;
    }

    [[nodiscard]] const detail::wakeup& wake() const noexcept { return wake_; }

private:
    std::mutex m_;
    std::vector<ready_entry> items_;
    std::atomic<bool> pending_{false};
    bool closed_ = false;
    detail::wakeup wake_;
};

} // namespace asyncio::detail
// ---- (back in asyncio/detail/signals.hpp)

#include <pthread.h>
#include <signal.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif


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
// ---- (back in asyncio/detail/loop_core.hpp)

// ---- asyncio/detail/timer_heap.hpp ---------------------------------------------------------------
// The loop's timer heap: a 4-ary min-heap ordered by (deadline, sequence) with indexed removal.



namespace asyncio::detail {

/// Where a timer is; `timer_entry` is embedded in callback nodes and in sleep awaiters.
enum class timer_state : unsigned char { idle, in_heap, in_ready, fired };

/// Which part of the loop's timer_wheel holds a pending timer (timer_wheel.hpp).
enum class timer_place : unsigned char { late, bucket, coarse, run, far };

/// The intrusive part of a timer. `run` is what the ready queue calls once the timer expired.
struct timer_entry {
    std::int64_t when = 0;
    union {
        /// While in the ready queue: its position there.
        std::uint64_t ready_pos = 0;
        /// While in a timer_wheel bucket or run: its push order (the heaps keep theirs apart).
        std::uint64_t seq;
    };
    /// While in a heap: the ticket through which the heap finds it for removal; in a wheel bucket
    /// or the wheel's sorted run: its index there.
    std::uint32_t ticket = 0;
    timer_state state = timer_state::idle;
    timer_place place = timer_place::late;
    void (*run)(void* self, bool run) = nullptr;
};

/// Min-heap of timers. Equal deadlines come out in registration order (the sequence number), a
/// deliberate improvement on CPython, where equal deadlines fire in an undefined order. A
/// cancelled timer is removed at once (indexed removal), so cancelled timers never pile up.
///
/// Laid out for the cache: a heap slot is 16 bytes (the deadline and a ticket), so four siblings
/// share a cache line or two; the entry and its sequence number sit in a table by ticket, read
/// once per pop and on equal deadlines; a second table maps tickets to heap positions. The heap
/// never writes into the entries while it reorders: they live in coroutine frames scattered over
/// memory, where updating a position per level moved cost a cache miss each.
class timer_heap {
public:
    [[nodiscard]] bool empty() const noexcept { return slots_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return slots_.size(); }
    [[nodiscard]] std::int64_t top_when() const noexcept { return slots_.front().when; }

    /// The sequence number of the earliest timer (what breaks a tie with it).
    [[nodiscard]] std::uint64_t top_seq() const noexcept {
        return info_[slots_.front().ticket].seq;
    }

    /// Adds `e` with the next sequence number of this heap.
    void push(timer_entry& e, std::int64_t when) { push(e, when, next_seq_++); }

    /// Adds `e` with sequence number `seq` (the caller numbers timers across several heaps).
    void push(timer_entry& e, std::int64_t when, std::uint64_t seq) {
        const std::uint32_t t = take_ticket();
        try {
            slots_.push_back(slot{when, t});
        } catch (...) {
            free_tickets_.push_back(t); // cannot throw: capacity was reserved by take_ticket
            throw;
        }
        info_[t] = ticket_info{&e, seq};
        e.when = when;
        e.ticket = t;
        e.state = timer_state::in_heap;
        sift_up(slots_.size() - 1);
    }

    /// Removes and returns the earliest timer.
    timer_entry& pop() noexcept {
        timer_entry& e = *info_[slots_.front().ticket].entry;
        remove_at(0);
        return e;
    }

    /// Removes `e`, which must be in this heap.
    void remove(timer_entry& e) noexcept {
        ASYNCIO_ASSERT(e.state == timer_state::in_heap);
        ASYNCIO_ASSERT(info_[e.ticket].entry == &e);
        remove_at(positions_[e.ticket]);
    }

private:
    struct slot {
        std::int64_t when;
        std::uint32_t ticket;
    };
    struct ticket_info {
        timer_entry* entry;
        std::uint64_t seq;
    };
    static constexpr std::size_t arity = 4;

    // Deadlines come in any order, so `a.when < b.when` is unpredictable: it is computed, not
    // branched on; only the rare tie branches (to the sequence numbers).
    [[nodiscard]] bool less(const slot& a, const slot& b) const noexcept {
        if (a.when != b.when) [[likely]] {
            return a.when < b.when;
        }
        return info_[a.ticket].seq < info_[b.ticket].seq;
    }

    std::uint32_t take_ticket() {
        if (free_tickets_.empty()) {
            const auto t = static_cast<std::uint32_t>(positions_.size());
            positions_.push_back(0);
            info_.emplace_back();
            // Every ticket can come back: room for all of them, so freeing never allocates (and
            // grown geometrically, with the table).
            if (free_tickets_.capacity() < positions_.size()) {
                free_tickets_.reserve(positions_.capacity());
            }
            return t;
        }
        const std::uint32_t t = free_tickets_.back();
        free_tickets_.pop_back();
        return t;
    }

    void place(std::size_t i, const slot& s) noexcept {
        slots_[i] = s;
        positions_[s.ticket] = static_cast<std::uint32_t>(i);
    }

    void remove_at(std::size_t i) noexcept {
        const std::uint32_t t = slots_[i].ticket;
        info_[t].entry->state = timer_state::idle;
        free_tickets_.push_back(t);
        const slot last = slots_.back();
        slots_.pop_back();
        if (i == slots_.size()) {
            return;
        }
        place(i, last);
        if (i > 0 && less(last, slots_[(i - 1) / arity])) {
            sift_up(i);
        } else {
            sift_down(i);
        }
    }

    void sift_up(std::size_t i) noexcept {
        const slot s = slots_[i];
        while (i > 0) {
            const std::size_t parent = (i - 1) / arity;
            if (!less(s, slots_[parent])) {
                break;
            }
            place(i, slots_[parent]);
            i = parent;
        }
        place(i, s);
    }

    void sift_down(std::size_t i) noexcept {
        const slot s = slots_[i];
        const std::size_t n = slots_.size();
        for (;;) {
            const std::size_t first = i * arity + 1;
            if (first >= n) {
                break;
            }
            std::size_t best = first;
            const std::size_t end = first + arity < n ? first + arity : n;
            for (std::size_t c = first + 1; c < end; ++c) {
                best = less(slots_[c], slots_[best]) ? c : best;
            }
            if (!less(slots_[best], s)) {
                break;
            }
            place(i, slots_[best]);
            i = best;
        }
        place(i, s);
    }

    std::vector<slot> slots_;
    std::vector<std::uint32_t> positions_; // ticket -> index in slots_
    std::vector<ticket_info> info_;        // ticket -> entry and sequence number
    std::vector<std::uint32_t> free_tickets_;
    std::uint64_t next_seq_ = 0;
};

} // namespace asyncio::detail
// ---- (back in asyncio/detail/loop_core.hpp)

// ---- asyncio/detail/timer_wheel.hpp --------------------------------------------------------------
// The loop's timers: a two-level timer wheel (65.5 µs and 67 ms buckets, 68 s ahead) whose
// buckets are sorted only when they come due, with 4-ary heaps for the rest; exact deadlines.



#include <bit>
#include <limits>

namespace asyncio::detail {

/// The loop's timer structure: what timer_heap offers (push, pop of the earliest, removal of any
/// timer, the earliest deadline) in the same order: by deadline at full nanosecond resolution,
/// equal deadlines in push order (one sequence number across all its parts). Cancelled timers
/// leave at once: size() counts only pending ones.
///
/// Deadlines fall into fine slots of 2^16 ns and coarse slots of 1,024 fine ones (67 ms). The
/// cursor is the first fine slot not opened yet. A timer whose fine slot is one of the 1,024 from
/// the cursor on is appended to that slot's fine bucket, a plain vector: no ordering work at
/// push. Later ones, up to 1,023 coarse slots ahead, go to coarse buckets, each emptied into fine
/// buckets when it holds the earliest timers (the cursor moves to its start); later still, to the
/// `far` heap. A fine bucket is opened when it holds the earliest timer: its items are sorted
/// once, by (deadline, sequence), into the run, which is consumed from its end. Timers for fine
/// slots already opened (a short delay after the cursor moved) go to the `late` heap. The earliest
/// timer is the least of the run's end and the two heaps' tops. Removal from a bucket or the run
/// leaves a hole (the item's entry cleared) found through the index the entry keeps; holes are
/// skipped, and a bucket with more holes than timers is compacted. Bucket vectors keep their
/// capacity (they swap with the run), so a loop that once held many timers keeps that memory.
class timer_wheel {
public:
    /// log2 of a fine slot's width in nanoseconds.
    static constexpr int slot_shift = 16;
    /// log2 of the number of buckets per level (and of fine slots per coarse slot).
    static constexpr int level_bits = 10;
    /// Buckets per level.
    static constexpr std::size_t slot_count = std::size_t{1} << level_bits;

    [[nodiscard]] bool empty() const noexcept { return size() == 0; }
    [[nodiscard]] std::size_t size() const noexcept {
        return fine_.live + coarse_.live + run_live_ + late_.size() + far_.size();
    }

    /// The earliest deadline; not empty(). May move timers between buckets (hence not const);
    /// throws std::bad_alloc if a bucket cannot grow.
    [[nodiscard]] std::int64_t top_when() {
        switch (earliest()) {
        case timer_place::run:
            return run_.back().when;
        case timer_place::late:
            return late_.top_when();
        default:
            return far_.top_when();
        }
    }

    /// Adds `e` (idle) with deadline `when`.
    void push(timer_entry& e, std::int64_t when) {
        const std::int64_t s = slot_of(when);
        if (s < cursor_) {
            late_.push(e, when, next_seq_);
            e.place = timer_place::late;
        } else if (static_cast<std::uint64_t>(s - cursor_) < slot_count) {
            e.seq = next_seq_;
            fine_.add(static_cast<std::size_t>(s) & mask, item{when, &e});
            e.place = timer_place::bucket;
        } else if (static_cast<std::uint64_t>((s >> level_bits) - (cursor_ >> level_bits)) <
                   slot_count) {
            e.seq = next_seq_;
            coarse_.add(static_cast<std::size_t>(s >> level_bits) & mask, item{when, &e});
            e.place = timer_place::coarse;
        } else {
            far_.push(e, when, next_seq_);
            e.place = timer_place::far;
        }
        ++next_seq_;
    }

    /// Removes and returns the earliest timer; not empty(). Throws as top_when() does.
    timer_entry& pop() { return take(earliest()); }

    /// Removes and returns the earliest timer if its deadline is at most `end`, else null.
    timer_entry* pop_if_due(std::int64_t end) {
        if (empty()) {
            return nullptr;
        }
        const timer_place p = earliest();
        const std::int64_t when = p == timer_place::run    ? run_.back().when
                                  : p == timer_place::late ? late_.top_when()
                                                           : far_.top_when();
        return when <= end ? &take(p) : nullptr;
    }

    /// Removes and returns any timer, in no particular order (the loop's teardown); not empty().
    timer_entry& pop_any() noexcept {
        if (run_live_ != 0 || !late_.empty() || (fine_.live == 0 && coarse_.live == 0)) {
            return pop_from_heaps_or_run();
        }
        level& l = fine_.live != 0 ? fine_ : coarse_;
        for (bucket& b : l.buckets) {
            while (!b.items.empty()) {
                timer_entry* e = b.items.back().entry;
                if (e != nullptr) {
                    remove(*e);
                    return *e;
                }
                b.items.pop_back();
            }
        }
        ASYNCIO_ASSERT(false);
        return pop_from_heaps_or_run();
    }

    /// Removes `e`, which must be pending here.
    void remove(timer_entry& e) noexcept {
        ASYNCIO_ASSERT(e.state == timer_state::in_heap);
        switch (e.place) {
        case timer_place::late:
            late_.remove(e);
            return;
        case timer_place::far:
            far_.remove(e);
            return;
        case timer_place::run:
            ASYNCIO_ASSERT(run_[e.ticket].entry == &e);
            run_[e.ticket].entry = nullptr;
            if (--run_live_ == 0) {
                run_.clear();
            }
            break;
        case timer_place::bucket:
            fine_.remove(static_cast<std::size_t>(slot_of(e.when)) & mask, e);
            break;
        case timer_place::coarse:
            coarse_.remove(static_cast<std::size_t>(slot_of(e.when) >> level_bits) & mask, e);
            break;
        }
        e.state = timer_state::idle;
    }

    /// The loop's clock reads `now` (called after the due timers were popped, but safe at any
    /// time): when no fine bucket, run or late timer remains, the cursor moves up towards now's
    /// slot (not past a pending coarse slot), so that short delays go to fine buckets again.
    void advance(std::int64_t now) {
        if (fine_.live != 0 || run_live_ != 0 || !late_.empty()) {
            return;
        }
        run_.clear();
        std::int64_t target = slot_of(now);
        if (coarse_.live != 0) {
            target = std::min(target, (next_coarse_slot() << level_bits) - 1);
        }
        cursor_ = std::max(cursor_, target);
    }

private:
    // 16 bytes: the sequence number is in the entry, read only to break a tie.
    struct item {
        std::int64_t when;
        timer_entry* entry; // null once removed
    };
    struct bucket {
        std::vector<item> items;
        std::size_t live = 0;
    };
    static constexpr std::size_t mask = slot_count - 1;
    static constexpr std::size_t words = slot_count / 64;

    /// One level of buckets, with a bit per non-empty bucket.
    struct level {
        std::vector<bucket> buckets; // slot_count of them, from the first add on
        std::array<std::uint64_t, words> occupied{};
        std::size_t live = 0;

        void add(std::size_t b, const item& i) {
            if (buckets.empty()) {
                buckets.resize(slot_count);
            }
            std::vector<item>& items = buckets[b].items;
            items.push_back(i); // first: if it throws, the entry keeps its index elsewhere
            i.entry->ticket = static_cast<std::uint32_t>(items.size() - 1);
            i.entry->when = i.when;
            i.entry->state = timer_state::in_heap;
            ++buckets[b].live;
            ++live;
            occupied[b / 64] |= std::uint64_t{1} << (b % 64);
        }

        void remove(std::size_t b, timer_entry& e) noexcept {
            bucket& bk = buckets[b];
            ASYNCIO_ASSERT(bk.items[e.ticket].entry == &e);
            bk.items[e.ticket].entry = nullptr;
            --live;
            if (--bk.live == 0) {
                empty_bucket(b);
            } else if (bk.items.size() >= 2 * bk.live + 32) {
                // More holes than timers: compact, keeping the push order.
                std::erase_if(bk.items, [](const item& i) { return i.entry == nullptr; });
                for (std::size_t i = 0; i < bk.items.size(); ++i) {
                    bk.items[i].entry->ticket = static_cast<std::uint32_t>(i);
                }
            }
        }

        void empty_bucket(std::size_t b) noexcept {
            buckets[b].items.clear();
            buckets[b].live = 0;
            occupied[b / 64] &= ~(std::uint64_t{1} << (b % 64));
        }

        // The first non-empty bucket at or cyclically after `start`, as a distance from it; live.
        [[nodiscard]] std::size_t distance_from(std::size_t start) const noexcept {
            std::size_t w = start / 64;
            std::uint64_t bits = occupied[w] & (~std::uint64_t{0} << (start % 64));
            for (std::size_t k = 0; k <= words; ++k) {
                if (bits != 0) {
                    const std::size_t b = w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
                    return (b - start) & mask;
                }
                w = (w + 1) % words;
                bits = occupied[w];
            }
            ASYNCIO_ASSERT(false);
            return 0;
        }
    };

    [[nodiscard]] static std::int64_t slot_of(std::int64_t when) noexcept {
        return when >> slot_shift; // arithmetic: floor, also for negative deadlines
    }

    [[nodiscard]] std::int64_t next_fine_slot() const noexcept {
        return cursor_ + static_cast<std::int64_t>(
                             fine_.distance_from(static_cast<std::size_t>(cursor_) & mask));
    }
    // Coarse buckets hold coarse slots from the cursor's own (emptied into fine buckets only when
    // it holds the earliest timers) to 1,023 after it.
    [[nodiscard]] std::int64_t next_coarse_slot() const noexcept {
        const std::int64_t first = cursor_ >> level_bits;
        return first + static_cast<std::int64_t>(
                           coarse_.distance_from(static_cast<std::size_t>(first) & mask));
    }

    // Where the earliest timer is; not empty(). When neither the run nor the late heap holds a
    // timer (everything in them precedes every bucket), opens the next fine bucket, first moving
    // the cursor to a coarse slot that comes before it and emptying that into fine buckets.
    timer_place earliest() {
        while (!run_.empty() && run_.back().entry == nullptr) {
            run_.pop_back();
        }
        if (run_.empty() && late_.empty() && (fine_.live != 0 || coarse_.live != 0)) {
            const std::int64_t far_slot =
                far_.empty() ? std::numeric_limits<std::int64_t>::max() : slot_of(far_.top_when());
            if (coarse_.live != 0) {
                const std::int64_t c = next_coarse_slot() << level_bits;
                if ((fine_.live == 0 || c <= next_fine_slot()) && c <= far_slot) {
                    cursor_ = std::max(cursor_, c);
                    cascade_due();
                }
            }
            if (fine_.live != 0) {
                const std::int64_t b = next_fine_slot();
                if (b <= far_slot) {
                    open(b);
                }
            }
        }
        timer_place best = timer_place::far;
        std::int64_t when = 0;
        if (!run_.empty()) {
            best = timer_place::run;
            when = run_.back().when;
        }
        if (!late_.empty() && (best == timer_place::far || before(late_, best, when))) {
            best = timer_place::late;
            when = late_.top_when();
        }
        if (best != timer_place::far && !far_.empty() && before(far_, best, when)) {
            best = timer_place::far;
        }
        return best;
    }

    // Whether the top of `h` (not empty) comes before the run's end or the late heap's top
    // (`best`), whose deadline is `when`.
    [[nodiscard]] bool before(const timer_heap& h, timer_place best,
                              std::int64_t when) const noexcept {
        const std::int64_t w = h.top_when();
        if (w != when) [[likely]] {
            return w < when;
        }
        return h.top_seq() < (best == timer_place::run ? run_.back().entry->seq : late_.top_seq());
    }

    // The cursor moved to the coarse slot of a pending coarse bucket: its timers go to fine
    // buckets (their fine slots are within the cursor's 1,024). Each item moves out of the coarse
    // bucket only once it is in a fine one, so a failed allocation loses nothing.
    void cascade_due() {
        const std::int64_t c = cursor_ >> level_bits;
        const std::size_t cb = static_cast<std::size_t>(c) & mask;
        if (coarse_.live == 0 || (coarse_.occupied[cb / 64] >> (cb % 64) & 1U) == 0) {
            return;
        }
        bucket& from = coarse_.buckets[cb];
        for (std::size_t i = 0; i < from.items.size(); ++i) {
            const item it = from.items[i];
            if (it.entry == nullptr) {
                continue;
            }
            ASYNCIO_ASSERT((slot_of(it.when) >> level_bits) == c);
            if (slot_of(it.when) >= cursor_) [[likely]] {
                fine_.add(static_cast<std::size_t>(slot_of(it.when)) & mask, it);
                it.entry->place = timer_place::bucket;
            } else { // left by an emptying that failed to allocate, and the cursor moved on
                late_.push(*it.entry, it.when, it.entry->seq);
                it.entry->place = timer_place::late;
            }
            from.items[i].entry = nullptr;
            --from.live;
            --coarse_.live;
        }
        coarse_.empty_bucket(cb);
    }

    // Makes fine slot `s`'s bucket the run (the run is empty): its timers sorted latest first,
    // each told its index; the cursor moves past `s`. The vectors swap: nothing is allocated.
    void open(std::int64_t s) {
        const std::size_t b = static_cast<std::size_t>(s) & mask;
        bucket& bk = fine_.buckets[b];
        run_.clear();
        run_.swap(bk.items);
        run_live_ = bk.live;
        fine_.live -= bk.live;
        fine_.empty_bucket(b);
        if (run_.size() != run_live_) {
            std::erase_if(run_, [](const item& i) { return i.entry == nullptr; });
        }
        std::ranges::sort(run_, [](const item& a, const item& c) {
            return a.when != c.when ? a.when > c.when : a.entry->seq > c.entry->seq;
        });
        for (std::size_t i = 0; i < run_.size(); ++i) {
            run_[i].entry->ticket = static_cast<std::uint32_t>(i);
            run_[i].entry->place = timer_place::run;
        }
        cursor_ = s + 1;
    }

    // Removes the earliest timer, found by earliest() at `p`.
    timer_entry& take(timer_place p) noexcept {
        if (p == timer_place::late) {
            return late_.pop();
        }
        if (p != timer_place::run) {
            return far_.pop();
        }
        timer_entry& e = *run_.back().entry;
        run_.pop_back();
        if (--run_live_ == 0) {
            run_.clear();
        }
        e.state = timer_state::idle;
        return e;
    }

    timer_entry& pop_from_heaps_or_run() noexcept {
        if (run_live_ != 0) {
            while (run_.back().entry == nullptr) {
                run_.pop_back();
            }
            timer_entry& e = *run_.back().entry;
            remove(e);
            return e;
        }
        return !late_.empty() ? late_.pop() : far_.pop();
    }

    level fine_;
    level coarse_;
    std::vector<item> run_; // the opened fine bucket, latest first
    timer_heap late_;       // fine slots before the cursor
    timer_heap far_;        // beyond the coarse level when pushed
    std::int64_t cursor_ = 0;
    std::size_t run_live_ = 0;
    std::uint64_t next_seq_ = 0;
};

} // namespace asyncio::detail
// ---- (back in asyncio/detail/loop_core.hpp)

#include <chrono>
#include <coroutine>
#include <thread>

namespace asyncio {

/// Which clock a loop runs on. `monotonic` is the real steady clock (Python's
/// `time.monotonic()`); `virtual_time` starts at 0 and, whenever nothing is ready, jumps straight
/// to the next timer deadline without waiting, so tests of timed code are instant and exact.
enum class clock_kind { monotonic, virtual_time };

} // namespace asyncio

namespace asyncio::detail {

struct state_tag;
struct state_link;
struct loop_threads;

/// What the loop and the combinators call on a future or task state without knowing its type:
/// one static table per state type, so a state carries one pointer instead of four.
struct state_ops {
    /// The loop is destroyed while the state is linked in its registry.
    void (*loop_closed)(state_link*) noexcept;
    /// Tasks only: the loop is destroyed while the task is pending (null for futures).
    void (*abandon)(state_link*) noexcept;
    /// The last reference went: destroy the state and free its memory.
    void (*destroy)(state_link*) noexcept;
    /// Tasks only: the coroutine returned; move the result out and complete (null for futures).
    void (*finish)(state_link*) noexcept;
    /// Future.cancel / Task.cancel with a message (gather cancels its children through it).
    bool (*cancel)(state_link*, const std::string&);
};

/// Every future or task state links itself into its loop while it lives: a pending task into
/// `tasks` (all_tasks(), shutdown, destruction of frames still pending when the loop dies), a
/// future or finished task into `states`, so that a loop that is destroyed first can detach it
/// (and report an exception nobody retrieved).
struct state_link : list_hook<state_tag> {
    const state_ops* ops = nullptr;
};

struct asyncgen_tag;

/// Every async generator that started and has not finished links itself into its loop, so that
/// `asyncio::run` can close those still suspended (asyncio's shutdown_asyncgens) and so that an
/// unfinished generator destroyed while the loop runs is closed by a task (asyncio's finalizer).
struct asyncgen_link : list_hook<asyncgen_tag> {
    /// Spawns a task that runs aclose() on the generator (shutdown_asyncgens; once per generator).
    void (*spawn_close)(asyncgen_link*) = nullptr;
    /// Whether shutdown_asyncgens still has to close it.
    bool (*needs_close)(const asyncgen_link*) noexcept = nullptr;
    /// The loop is going away: forget it (and destroy the frame if the loop owned it).
    void (*on_loop_closed)(asyncgen_link*) noexcept = nullptr;
};

/// A cancellation waiting to be applied to a future or task (see task_core::request_cancel).
struct cancel_request {
    state_link* state;
    std::string msg;
};

/// The backend a loop option names (`automatic`: epoll where there is one, else poll).
[[nodiscard]] inline selector_kind resolve_selector(selector_kind k) noexcept {
#if defined(ASYNCIO_HAS_EPOLL)
    return k == selector_kind::automatic ? selector_kind::epoll : k;
#else
    return selector_kind::poll;
#endif
}

/// Creates the selector backend for `k` (already resolved). A new backend is one header and one
/// line here.
[[nodiscard]] inline std::unique_ptr<selector> make_selector(selector_kind k) {
#if defined(ASYNCIO_HAS_EPOLL)
    if (k == selector_kind::epoll) {
        return std::make_unique<epoll_selector>();
    }
#endif
    static_cast<void>(k);
    return std::make_unique<poll_selector>();
}

/// Where a task was created (create_task's call site), kept in debug mode only. clang 14 with
/// libstdc++ 12 has no std::source_location: the callers' default arguments use the builtins.
struct source_site {
    const char* file = nullptr;
    unsigned line = 0;
    const char* function = nullptr;
};

/// Debug mode: how the loop recognises a task's step among its ready entries and names the task
/// in a slow-step warning. task_core.hpp fills it in, so that the loop need not know tasks.
struct step_describer {
    void (*step)(void*, bool) = nullptr;
    void (*hold)(void*) noexcept = nullptr;
    void (*drop)(void*) noexcept = nullptr;
    std::string (*describe)(void*) = nullptr;
};
inline step_describer& task_step_describer() noexcept {
    static step_describer d;
    return d;
}

/// PYTHONASYNCIODEBUG's twin: debug mode is on when ASYNCIO_CPP_DEBUG is set and not empty (as in
/// Python, even "0" turns it on).
[[nodiscard]] inline bool debug_from_environment() noexcept {
    const char* v = std::getenv("ASYNCIO_CPP_DEBUG"); // NOLINT(concurrency-mt-unsafe): read once
    return v != nullptr && *v != '\0';
}

/// The loop's state, used by the library's awaiters; users go through `event_loop`.
class loop_core {
public:
    /// Creates the selector and the wake-up descriptor (three descriptors with epoll: the epoll
    /// instance and an eventfd; with poll, a pipe); throws std::system_error if the system
    /// refuses them.
    explicit loop_core(clock_kind clock, selector_kind sel = selector_kind::automatic)
        : clock_(clock), selector_kind_(resolve_selector(sel)),
          selector_(make_selector(selector_kind_)),
          remote_(std::make_shared<remote_queue>(selector_kind_ == selector_kind::poll)) {
        selector_->add(remote_->wake().read_fd(), event_read);
    }

    /// The loop's clock in nanoseconds, read afresh on every call (as CPython does).
    [[nodiscard]] std::int64_t now() const noexcept {
        if (clock_ == clock_kind::virtual_time) {
            return virtual_now_;
        }
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }

    /// Appends `fn(arg, true)` to the ready queue; returns its position for `unschedule`.
    std::uint64_t schedule(void (*fn)(void*, bool), void* arg) {
        return ready_.push(ready_entry{fn, arg});
    }

    /// Neutralises a scheduled entry that has not run yet.
    void unschedule(std::uint64_t pos) noexcept { ready_.cancel_at(pos); }

    void add_timer(timer_entry& t, std::int64_t when) { timers_.push(t, when); }

    /// Takes a timer out of the timers, or neutralises it if it already expired into the ready
    /// queue. Returns false when it had already run (or was never armed).
    bool cancel_timer(timer_entry& t) noexcept {
        if (t.state == timer_state::in_heap) {
            timers_.remove(t);
            return true;
        }
        if (t.state == timer_state::in_ready) {
            ready_.cancel_at(t.ready_pos);
            t.state = timer_state::idle;
            return true;
        }
        return false;
    }

    /// Moves every timer whose deadline has passed to the tail of the ready queue.
    void collect_expired(std::int64_t end) {
        while (timer_entry* t = timers_.pop_if_due(end)) {
            t->state = timer_state::in_ready;
            t->ready_pos = ready_.push(ready_entry{t->run, t});
        }
        timers_.advance(end);
    }

    /// The receive buffer shared by every stream connection of this loop (uvloop's shared read
    /// buffer), allocated on first use and grown to `size`: a connection receives into it, then
    /// appends only the bytes received to its reader, so an idle connection holds no receive
    /// memory.
    [[nodiscard]] char* recv_scratch(std::size_t size) {
        if (recv_scratch_size_ < size) {
            recv_scratch_.reset(new char[size]);
            recv_scratch_size_ = size;
        }
        return recv_scratch_.get();
    }

    /// Memory for frames and task states; declared first so that it is destroyed last.
    block_pool pool;
    /// The current task (a task_core), or null while a plain callback runs.
    void* current_task = nullptr;
    /// The trampoline slot of the running task's driver (task_core::step): the next coroutine of
    /// its await chain to resume. One per loop rather than per task (8 bytes less in every task):
    /// it is null whenever a step starts or ends, so an eager task's first step, run inside
    /// another task's step, finds it null and leaves it null.
    std::coroutine_handle<> trampoline;
    /// Counter behind the default names "Task-1", "Task-2", ... (per loop).
    std::uint64_t task_counter = 0;
    /// Tasks created while the loop runs start eagerly (set_task_factory(eager_task_factory)).
    bool eager_tasks = false;
    /// Counter behind callback ids (add_done_callback), unique per loop.
    std::uint64_t callback_ids = 0;
    intrusive_list<state_link, state_tag> states;
    intrusive_list<state_link, state_tag> tasks;
    intrusive_list<asyncgen_link, asyncgen_tag> asyncgens;
    /// Cancellations still to apply while one propagates down a chain of awaits (depth first).
    std::vector<cancel_request> cancel_work;
    /// Set while cancel_work is being drained: a new cancellation is queued, not applied inline.
    bool cancel_walking = false;
    /// While the loop destroys a pending task's frames: frames of its await chain go here, to be
    /// destroyed one after the other instead of recursively.
    std::vector<std::coroutine_handle<>>* frame_sink = nullptr;
    /// Set while the loop is being destroyed: nothing new may be scheduled for later.
    bool closing_ = false;
    /// Set by asyncio::run once the main task is done (its shutdown sequence).
    bool shutting_down_ = false;

    /// Set by event_loop::close(): the loop refuses new work ("Event loop is closed").
    bool closed_ = false;
    /// Debug mode (loop.set_debug): slow-step warnings, creation sites, the thread check.
    bool debug_ = debug_from_environment();
    /// loop.slow_callback_duration, in nanoseconds (debug mode).
    std::int64_t slow_callback_ns_ = 100'000'000;
    /// The thread in run_forever (none otherwise): debug mode's thread check compares with it.
    std::thread::id thread_id_;
    /// Jobs running outside the loop (executor threads) whose completion will be posted back:
    /// while there are any, a virtual-time loop with nothing else to do waits instead of
    /// reporting a deadlock.
    std::size_t external_jobs = 0;
    /// The default executor and the executor jobs in flight (<asyncio/threads.hpp>), created on
    /// first use; close() drops it (on the loop's thread).
    std::shared_ptr<loop_threads> threads_;

    clock_kind clock_;
    selector_kind selector_kind_;
    std::unique_ptr<selector> selector_;
    /// What other threads post (call_soon_threadsafe); shared with them.
    std::shared_ptr<remote_queue> remote_;
    /// The signals this loop handles (loop.add_signal_handler); received ones wake `remote_`.
    signal_table signals_;
    io_registry io_;
    std::vector<io_event> events_;
    std::vector<ready_entry> remote_items_;
    std::int64_t virtual_now_ = 0;
    ready_queue ready_;
    timer_wheel timers_;
    bool stopping_ = false;
    bool running_ = false;
    std::unique_ptr<char[]> recv_scratch_;
    std::size_t recv_scratch_size_ = 0;
};

} // namespace asyncio::detail
// ---- (back in asyncio/handle.hpp)

#include <ratio>

namespace asyncio {

/// The clock of the running loop: integer nanosecond ticks from an arbitrary origin (0 for the
/// virtual clock), so virtual-time tests compare times exactly.
struct loop_clock {
    using rep = std::int64_t;
    using period = std::nano;
    using duration = std::chrono::nanoseconds;
    using time_point = std::chrono::time_point<loop_clock>;
    static constexpr bool is_steady = true;
    /// `get_running_loop().time()`; throws std::runtime_error when no loop is running.
    static time_point now();
};

namespace detail {

/// A callback scheduled by call_soon / call_later / call_at. The loop holds one reference while it
/// is scheduled, each handle one more.
struct callback_node : timer_entry {
    int refs = 1;
    bool cancelled = false;
    loop_core* loop = nullptr;
    /// The context the callback runs in (contextvars): a copy of the one current when it was
    /// scheduled, or the one given; null for an empty one.
    context_data* ctx = nullptr;
    void (*invoke)(callback_node*) = nullptr;
    void (*destroy)(callback_node*) noexcept = nullptr;

    void add_ref() noexcept { ++refs; }
    void release() noexcept {
        if (--refs == 0) {
            context_release(ctx);
            destroy(this);
        }
    }
    /// Calls the callback in its context.
    void run_in_context() {
        const context_scope in_context(ctx);
        invoke(this);
    }
    /// The ready-queue entry: run unless cancelled, then drop the loop's reference.
    static void ready_fn(void* p, bool run) {
        auto* n = static_cast<callback_node*>(static_cast<timer_entry*>(p));
        n->state = timer_state::fired;
        struct releaser {
            callback_node* n;
            ~releaser() { n->release(); }
        } guard{n};
        if (run && !n->cancelled) {
            n->run_in_context();
        }
    }
};

template <class F> struct callback_impl final : callback_node {
    explicit callback_impl(F&& fn) : f(std::move(fn)) {
        run = &callback_node::ready_fn;
        invoke = [](callback_node* n) { static_cast<callback_impl*>(n)->f(); };
        destroy = [](callback_node* n) noexcept { delete static_cast<callback_impl*>(n); };
    }
    F f;
};

/// A callback node for `f`, to run in `ctx` (a reference is taken) or, when null, in a copy of the
/// current context (Python's Handle with context=None).
template <class F>
callback_node* make_callback(loop_core& loop, F&& f, context_data* ctx = nullptr) {
    using fn_t = std::decay_t<F>;
    static_assert(std::is_invocable_v<fn_t&>, "callbacks are called with no arguments");
    if (ctx != nullptr) {
        ctx->add_ref();
    } else {
        ctx = context_copy_current();
    }
    callback_node* n = nullptr;
    try {
        n = new callback_impl<fn_t>(fn_t(std::forward<F>(f)));
    } catch (...) {
        context_release(ctx);
        throw;
    }
    n->loop = &loop;
    n->ctx = ctx;
    return n;
}

} // namespace detail

/// asyncio.Handle: returned by `call_soon`; `cancel()` keeps the callback from running.
class handle {
public:
    handle() noexcept = default;
    explicit handle(detail::callback_node* n) noexcept : node_(n) {
        if (node_ != nullptr) {
            node_->add_ref();
        }
    }
    handle(const handle& o) noexcept : handle(o.node_) {}
    handle(handle&& o) noexcept : node_(std::exchange(o.node_, nullptr)) {}
    handle& operator=(handle o) noexcept {
        std::swap(node_, o.node_);
        return *this;
    }
    ~handle() {
        if (node_ != nullptr) {
            node_->release();
        }
    }

    /// Cancels the callback if it has not run yet. A pending timer leaves the timers at once (its
    /// callback is released), so a million cancelled timers are not kept until their deadlines.
    void cancel() noexcept {
        if (node_ == nullptr || node_->cancelled) {
            return;
        }
        node_->cancelled = true;
        if (node_->state == detail::timer_state::in_heap) {
            node_->loop->cancel_timer(*node_);
            node_->release(); // the heap's reference
        }
    }
    [[nodiscard]] bool cancelled() const noexcept { return node_ != nullptr && node_->cancelled; }
    explicit operator bool() const noexcept { return node_ != nullptr; }

protected:
    detail::callback_node* node_ = nullptr;
};

/// asyncio.TimerHandle: returned by `call_later` / `call_at`.
class timer_handle : public handle {
public:
    using handle::handle;
    /// The deadline on the loop's clock.
    [[nodiscard]] loop_clock::time_point when() const noexcept {
        return loop_clock::time_point(std::chrono::nanoseconds(node_ != nullptr ? node_->when : 0));
    }
};

} // namespace asyncio
// ---- (back in asyncio/loop.hpp)


// ---- asyncio/detail/running_loop.hpp -------------------------------------------------------------
// The running-loop pointer: a thread_local set while a loop runs (the library's other one is the
// current context of contextvars, detail/context_core.hpp).


namespace asyncio::detail {

/// The loop running on this thread, or null.
inline event_loop*& running_loop_ref() noexcept {
    thread_local event_loop* loop = nullptr;
    return loop;
}

[[nodiscard]] inline event_loop* running_loop() noexcept {
    return running_loop_ref();
}

} // namespace asyncio::detail
// ---- (back in asyncio/loop.hpp)

// ---- asyncio/detail/time.hpp ---------------------------------------------------------------------
// Conversion of any std::chrono duration to the loop's integer nanoseconds, with saturation.

#include <cmath>
#include <numeric>

namespace asyncio::detail {

inline constexpr std::int64_t max_ns = std::numeric_limits<std::int64_t>::max();
inline constexpr std::int64_t min_ns = std::numeric_limits<std::int64_t>::min();

/// `a + b` clamped to the int64 range, so "sleep for hours::max()" means "never" and not overflow.
[[nodiscard]] constexpr std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept {
    if (b > 0 && a > max_ns - b) {
        return max_ns;
    }
    if (b < 0 && a < min_ns - b) {
        return min_ns;
    }
    return a + b;
}

/// A 128-bit unsigned value, `hi * 2^64 + lo`: the exact products of `to_nanoseconds`, written
/// out so that it needs no compiler extension (`__int128`).
struct wide_uint {
    std::uint64_t hi;
    std::uint64_t lo;
};

/// The exact product `a * b`.
[[nodiscard]] constexpr wide_uint wide_multiply(std::uint64_t a, std::uint64_t b) noexcept {
    constexpr std::uint64_t low_half = 0xffff'ffff;
    const std::uint64_t a_lo = a & low_half;
    const std::uint64_t a_hi = a >> 32;
    const std::uint64_t b_lo = b & low_half;
    const std::uint64_t b_hi = b >> 32;
    const std::uint64_t ll = a_lo * b_lo;
    const std::uint64_t lh = a_lo * b_hi;
    const std::uint64_t hl = a_hi * b_lo;
    const std::uint64_t mid = (ll >> 32) + (lh & low_half) + (hl & low_half); // < 3 * 2^32
    return {a_hi * b_hi + (lh >> 32) + (hl >> 32) + (mid >> 32), (mid << 32) | (ll & low_half)};
}

/// `x / d` and `x % d` for `x.hi < d`, where the quotient fits 64 bits (binary long division).
struct wide_quotient {
    std::uint64_t quotient;
    std::uint64_t remainder;
};
[[nodiscard]] constexpr wide_quotient wide_divide(wide_uint x, std::uint64_t d) noexcept {
    std::uint64_t q = 0;
    std::uint64_t r = x.hi; // < d throughout
    for (int bit = 63; bit >= 0; --bit) {
        // r < d, so 2r + 1 < 2d: one subtraction brings it back below d (the carry is 2^64).
        const bool carry = (r >> 63) != 0;
        r = (r << 1) | ((x.lo >> bit) & 1U);
        if (carry || r >= d) {
            r -= d;
            q |= std::uint64_t{1} << bit;
        }
    }
    return {q, r};
}

inline constexpr std::uint64_t wide_saturated = std::numeric_limits<std::uint64_t>::max();

/// `floor(m * Period / 1ns)`, the nanoseconds in `m` units of `Period`, exact, or
/// `wide_saturated` (2^64 - 1) for any result that does not fit 64 bits. With `Period` = N/D
/// and G = gcd(10^9, D), that is `floor(m * N * A / B)` for A = 10^9 / G and B = D / G.
template <class Period>
[[nodiscard]] constexpr std::uint64_t scale_to_nanoseconds(std::uint64_t m) {
    constexpr auto n = static_cast<std::uint64_t>(Period::num);
    constexpr auto d = static_cast<std::uint64_t>(Period::den);
    constexpr std::uint64_t giga = 1'000'000'000;
    constexpr std::uint64_t g = std::gcd(giga, d);
    constexpr std::uint64_t a = giga / g;
    constexpr std::uint64_t b = d / g;
    constexpr bool product_fits = n <= wide_saturated / a; // N * A fits 64 bits
    constexpr std::uint64_t na = product_fits ? n * a : 0;
    if constexpr (product_fits && b == 1) {
        // Whole nanoseconds per unit: seconds, milliseconds, minutes, nanoseconds, ...
        return m > wide_saturated / na ? wide_saturated : m * na;
    } else if constexpr (product_fits && na <= wide_saturated / b) {
        // m = qB + r, so m * NA / B = q * NA + r * NA / B, and r * NA < B * NA fits.
        const std::uint64_t q = m / b;
        const std::uint64_t r = m % b;
        if (na != 0 && q > wide_saturated / na) {
            return wide_saturated;
        }
        const std::uint64_t whole = q * na;
        const std::uint64_t part = r * na / b;
        return whole > wide_saturated - part ? wide_saturated : whole + part;
    } else {
        // Huge ratios (and exotic ones): the same split, with m * N and r * A in 128 bits.
        const wide_uint mn = wide_multiply(m, n);
        if (mn.hi >= b) {
            return wide_saturated; // m * N / B >= 2^64, and A >= 1
        }
        const wide_quotient qr = wide_divide(mn, b);
        if (qr.quotient > wide_saturated / a) {
            return wide_saturated;
        }
        const std::uint64_t whole = qr.quotient * a;
        // r < B, so r * A < B * 2^64: its quotient by B fits (and is below A).
        const std::uint64_t part = wide_divide(wide_multiply(qr.remainder, a), b).quotient;
        return whole > wide_saturated - part ? wide_saturated : whole + part;
    }
}

/// The nanoseconds in one unit of `Period` as the fraction N * A / B of `scale_to_nanoseconds`,
/// in long double (N * A rounded when it exceeds 64 bits: a ratio of thousands of years).
template <class Period>
inline constexpr std::pair<long double, long double> nanoseconds_per_unit{
    static_cast<long double>(Period::num) *
        static_cast<long double>(1'000'000'000 /
                                 std::gcd(std::intmax_t{1'000'000'000}, Period::den)),
    static_cast<long double>(Period::den / std::gcd(std::intmax_t{1'000'000'000}, Period::den))};

/// Any duration as nanoseconds, truncated toward zero as `duration_cast` does, saturating at the
/// int64 limits: exact for every integer representation (signed or unsigned, 8 to 64 bits) and
/// any ratio, from `std::atto` to ratios of many years, where `duration_cast` itself would wrap
/// or overflow; floating-point representations are computed in long double, +/-infinity
/// saturating. A NaN throws std::invalid_argument, as `asyncio.sleep(nan)` raises ValueError in
/// Python 3.13. A class-type representation goes through `static_cast<long double>`.
template <class Rep, class Period>
[[nodiscard]] std::int64_t to_nanoseconds(std::chrono::duration<Rep, Period> d) {
    if constexpr (std::is_integral_v<Rep>) {
        static_assert(sizeof(Rep) <= sizeof(std::uint64_t), "integer durations of up to 64 bits");
        const Rep v = d.count();
        constexpr auto min_magnitude = std::uint64_t{1} << 63; // |min_ns|
        if constexpr (std::is_signed_v<Rep>) {
            if (v < 0) {
                // 0 - v in unsigned arithmetic: exact even for the most negative value.
                const std::uint64_t m =
                    scale_to_nanoseconds<Period>(std::uint64_t{0} - static_cast<std::uint64_t>(v));
                return m >= min_magnitude ? min_ns : -static_cast<std::int64_t>(m);
            }
        }
        const std::uint64_t m = scale_to_nanoseconds<Period>(static_cast<std::uint64_t>(v));
        return m >= min_magnitude ? max_ns : static_cast<std::int64_t>(m);
    } else if constexpr (std::is_floating_point_v<Rep>) {
        const auto v = static_cast<long double>(d.count());
        if (std::isnan(v)) {
            throw std::invalid_argument("Invalid delay: NaN (not a number)");
        }
        // v * N * A / B (see scale_to_nanoseconds), the product first: milliseconds scale by
        // 10^6 as duration_cast does, and a whole number of units of 1/3 s comes out whole.
        const long double ns =
            v * nanoseconds_per_unit<Period>.first / nanoseconds_per_unit<Period>.second;
        constexpr long double two_to_63 = 0x1p63L; // exact in every floating-point type
        if (ns >= two_to_63) {
            return max_ns;
        }
        if (ns <= -two_to_63) {
            return min_ns;
        }
        return static_cast<std::int64_t>(ns);
    } else {
        return to_nanoseconds(
            std::chrono::duration<long double, Period>(static_cast<long double>(d.count())));
    }
}

} // namespace asyncio::detail
// ---- (back in asyncio/loop.hpp)

#include <functional>

namespace asyncio {

/// Selects eager tasks: `loop.set_task_factory(asyncio::eager_task_factory)`.
struct eager_task_factory_t {
    explicit constexpr eager_task_factory_t() = default;
};
/// asyncio.eager_task_factory.
inline constexpr eager_task_factory_t eager_task_factory{};

/// Selects an eager start for one task: `asyncio::create_task(t, asyncio::eager_start)`.
struct eager_start_t {
    explicit constexpr eager_start_t() = default;
};
/// Python 3.14's `eager_start=True`.
inline constexpr eager_start_t eager_start{};

/// What the exception handler receives (Python's context dict).
struct exception_context {
    /// e.g. "Task exception was never retrieved", "Exception in callback".
    std::string message;
    /// The exception, when there is one.
    std::exception_ptr exception;
    /// The task concerned, when there is one. In debug mode, a report about a task ends its
    /// message with a line "created at file:line in function" (Python's source_traceback, reduced
    /// to the create_task call).
    std::string task_name;
};

class event_loop;
/// Signature of a replaceable exception handler (`loop.set_exception_handler`).
using exception_handler = std::function<void(event_loop&, const exception_context&)>;

/// asyncio's event loop: one thread, a FIFO ready queue of which each iteration runs only what was
/// ready when it began, and a timer heap whose expired timers join the tail of the ready queue.
/// Each iteration is CPython's `_run_once`: compute the poll timeout from the first timer (zero
/// when something is ready), poll the selector, queue the callbacks of ready descriptors and what
/// other threads posted, queue the due timers, then run exactly what is queued.
/// Not copyable or movable. Destroying a loop destroys the frames of tasks still pending (each is
/// reported as "Task was destroyed but it is pending!"); `asyncio::run` never leaves any.
class event_loop {
public:
    /// A loop on `clock`, waiting for I/O with the `selector` backend (epoll on Linux by default,
    /// or poll(2)). Throws std::system_error when the system refuses the selector's descriptors.
    explicit event_loop(clock_kind clock = clock_kind::monotonic,
                        selector_kind selector = selector_kind::automatic)
        : core_(clock, selector) {}
    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;
    /// Closes the loop if close() was not called.
    ~event_loop();

    /// loop.call_soon: runs `f()` in a later iteration, after everything already queued. Throws
    /// std::runtime_error("Event loop is closed") after close(). Not thread-safe: other threads
    /// use call_soon_threadsafe. The callback runs in a copy of the context current now
    /// (contextvars).
    template <class F> handle call_soon(F&& f) { return soon(std::forward<F>(f), nullptr); }
    /// loop.call_soon(f, context=ctx): the callback runs in `ctx` itself.
    template <class F> handle call_soon(F&& f, const context& ctx) {
        return soon(std::forward<F>(f), ctx.data());
    }

    /// loop.call_later: runs `f()` once `delay` has passed (zero or negative: already expired, but
    /// still through the heap). A NaN delay throws std::invalid_argument. The callback runs in a
    /// copy of the context current now, as with call_soon.
    template <class Rep, class Period, class F>
    timer_handle call_later(std::chrono::duration<Rep, Period> delay, F&& f) {
        const auto d = detail::to_nanoseconds(delay);
        return arm(detail::saturating_add(core_.now(), d), std::forward<F>(f), nullptr);
    }
    /// loop.call_later(delay, f, context=ctx).
    template <class Rep, class Period, class F>
    timer_handle call_later(std::chrono::duration<Rep, Period> delay, F&& f, const context& ctx) {
        const auto d = detail::to_nanoseconds(delay);
        return arm(detail::saturating_add(core_.now(), d), std::forward<F>(f), ctx.data());
    }

    /// loop.call_at: runs `f()` at `when` on the loop's clock (in a copy of the current context).
    template <class F> timer_handle call_at(loop_clock::time_point when, F&& f) {
        return arm(when.time_since_epoch().count(), std::forward<F>(f), nullptr);
    }
    /// loop.call_at(when, f, context=ctx).
    template <class F>
    timer_handle call_at(loop_clock::time_point when, F&& f, const context& ctx) {
        return arm(when.time_since_epoch().count(), std::forward<F>(f), ctx.data());
    }

    /// loop.call_soon_threadsafe: the one method any thread may call (also from inside the loop).
    /// Queues `f()` to run in the loop's next iteration and wakes the loop if it is waiting in
    /// its selector. The callback is built on the calling thread and destroyed on the loop's.
    /// Throws std::runtime_error("Event loop is closed") once the loop is closed. Returns nothing,
    /// unlike CPython's Handle: a handle's count is not shared across threads.
    template <class F> void call_soon_threadsafe(F&& f) {
        auto* n = detail::make_callback(core_, std::forward<F>(f));
        n->state = detail::timer_state::in_ready;
        bool posted = false;
        try {
            posted = core_.remote_->post(detail::ready_entry{&detail::callback_node::ready_fn,
                                                             static_cast<detail::timer_entry*>(n)});
        } catch (...) {
            n->release();
            throw;
        }
        if (!posted) {
            n->release();
            throw std::runtime_error("Event loop is closed");
        }
    }

    /// loop.add_reader: calls `f()` in every iteration in which `fd` is readable, until
    /// remove_reader(fd). A second add_reader on the same descriptor replaces the callback (as in
    /// CPython). Throws std::system_error for a descriptor the selector refuses (EBADF for one
    /// that is not open), std::runtime_error when a socket operation of this loop is waiting for
    /// `fd` to be readable, or when the loop is closed.
    template <class F> void add_reader(int fd, F&& f) {
        add_watch(fd, detail::event_read, std::forward<F>(f));
    }
    /// loop.add_writer: the same for `fd` becoming writable.
    template <class F> void add_writer(int fd, F&& f) {
        add_watch(fd, detail::event_write, std::forward<F>(f));
    }
    /// loop.remove_reader: stops watching `fd` for reading; true if it was watched. A socket
    /// operation waiting on it fails with std::system_error(ECANCELED).
    bool remove_reader(int fd) noexcept { return remove_watch(fd, detail::event_read); }
    /// loop.remove_writer: the same for writing.
    bool remove_writer(int fd) noexcept { return remove_watch(fd, detail::event_write); }

    /// loop.add_signal_handler: from now on, each time the process receives `signum`, `f()` runs
    /// in the loop's next iteration (a C handler marks the signal and wakes the loop through its
    /// wake-up descriptor; several deliveries before the loop looks make one run, where CPython
    /// runs the handler once per delivery). CPython runs it one iteration later still: its
    /// self-pipe reader is itself a callback. A second call for the same signal replaces `f`. If
    /// `f` throws, the exception handler gets "Exception in callback". Throws
    /// std::invalid_argument("invalid signal number N") for a number outside signal.valid_signals()
    /// (checked first, as CPython does), std::runtime_error("Event loop is closed") on a closed
    /// loop, std::runtime_error("sig N cannot be caught") for SIGKILL and SIGSTOP, and
    /// std::runtime_error when another loop handles `signum` (a signal belongs to one loop at a
    /// time). Unlike CPython, which allows it only on the main thread (set_wakeup_fd), any thread's
    /// loop may handle a signal: the C handler does nothing a signal handler may not, on whichever
    /// thread the kernel picks (executor threads block the signals: detail::block_loop_signals).
    /// A virtual-time loop does not count handlers as something that can wake it (deadlock rule).
    template <class F> void add_signal_handler(int signum, F&& f) {
        detail::check_signal(signum);
        check_closed();
        core_.signals_.add(signum, detail::make_signal_callback(std::forward<F>(f)),
                           *core_.remote_);
    }
    /// loop.remove_signal_handler: stops handling `signum` and restores its default disposition
    /// (SIG_DFL, also for SIGINT, where CPython restores Python's default_int_handler). True if a
    /// handler was removed; false when there was none, and on a closed loop (close() removed them).
    /// A run already queued still happens, as in CPython. Throws std::invalid_argument for an
    /// invalid signal number.
    bool remove_signal_handler(int signum) {
        detail::check_signal(signum);
        return core_.signals_.remove(signum);
    }

    /// The selector backend this loop polls (epoll or poll, never automatic).
    [[nodiscard]] selector_kind selector() const noexcept { return core_.selector_kind_; }

    /// loop.close: removes the signal handlers (restoring SIG_DFL), destroys what is left (pending
    /// tasks' frames, queued callbacks, descriptor registrations; the descriptors themselves stay
    /// open), then refuses new work: call_soon,
    /// call_later, create_task, add_reader, run_* and call_soon_threadsafe throw
    /// std::runtime_error("Event loop is closed"). Idempotent. Throws std::runtime_error("Cannot
    /// close a running event loop") while it runs.
    void close();
    /// loop.is_closed.
    [[nodiscard]] bool is_closed() const noexcept { return core_.closed_; }

    /// loop.time(): the loop's clock, read afresh on each call.
    [[nodiscard]] loop_clock::time_point time() const noexcept {
        return loop_clock::time_point(std::chrono::nanoseconds(core_.now()));
    }
    [[nodiscard]] clock_kind clock() const noexcept { return core_.clock_; }

    /// loop.run_until_complete: runs the loop until `aw` is done, then returns its result or
    /// rethrows its exception. `aw` is a task_handle<T> or a future<T>, or any other awaitable
    /// (a task<T>, a sleep, ...), which runs as a task (with <asyncio/awaitable.hpp>, or the
    /// umbrella header, for other awaitables than task<T>). Throws std::runtime_error when the loop
    /// is already running, or when stop() ended the run first ("Event loop stopped before Future
    /// completed.").
    template <class Awaitable> decltype(auto) run_until_complete(Awaitable&& aw) {
        check_can_run(); // before a task is created for `aw`, which would then never run
        auto fut = ensure_future(std::forward<Awaitable>(aw), *this);
        const auto id = fut.add_done_callback([this](auto&) { stop(); });
        struct remover {
            decltype(fut)& f;
            decltype(id) i;
            ~remover() { f.remove_done_callback(i); }
        } guard{fut, id};
        run_forever();
        if (!fut.done()) {
            throw std::runtime_error("Event loop stopped before Future completed.");
        }
        using value_type = typename decltype(fut)::value_type;
        if constexpr (std::is_void_v<value_type>) {
            fut.result();
        } else if constexpr (std::is_reference_v<value_type>) {
            return static_cast<value_type>(fut.result());
        } else {
            return value_type(std::move(fut.result()));
        }
    }

    /// loop.run_forever: runs iterations until stop() is called. With nothing ready, the loop
    /// waits in its selector until the next timer, a ready descriptor or a call from another
    /// thread (with nothing at all to wait for, a real-clock loop waits as CPython's does). A
    /// virtual-time loop never waits for a timer: it polls its descriptors without blocking, then
    /// jumps to the next deadline; with no timer it waits only while a descriptor is registered
    /// or an executor job runs, and otherwise throws std::runtime_error (a "deadlock": nothing
    /// could ever wake it) instead of hanging.
    void run_forever();

    /// loop.stop: the current iteration finishes, then run_forever returns. Called before
    /// run_forever, exactly one iteration runs.
    void stop() noexcept { core_.stopping_ = true; }
    [[nodiscard]] bool is_running() const noexcept { return core_.running_; }

    /// loop.set_debug: debug mode (off unless the environment variable ASYNCIO_CPP_DEBUG is set
    /// and not empty, as Python's PYTHONASYNCIODEBUG; `run_options::debug` sets it for a run).
    /// Reports go through the exception handler: a ready callback or task step that took
    /// slow_callback_duration() or more ("Executing <Task pending name='Task-2' created at
    /// f.cpp:12> took 0.150 seconds"); each task remembers where create_task was called and
    /// reports show it (exception_context::created_at: an exception never retrieved, a task still
    /// pending when the loop is destroyed); call_soon, call_later and call_at throw
    /// std::runtime_error("Non-thread-safe operation invoked on an event loop other than the
    /// current one") from another thread than the one running the loop. Time is the loop's
    /// clock (a virtual-time loop measures virtual time). Off, it costs one predictable branch
    /// per ready entry, task creation and call_soon.
    void set_debug(bool on) noexcept { core_.debug_ = on; }
    /// loop.get_debug.
    [[nodiscard]] bool get_debug() const noexcept { return core_.debug_; }
    /// loop.slow_callback_duration (0.1 s by default).
    [[nodiscard]] std::chrono::nanoseconds slow_callback_duration() const noexcept {
        return std::chrono::nanoseconds(core_.slow_callback_ns_);
    }
    /// Sets loop.slow_callback_duration.
    template <class Rep, class Period>
    void set_slow_callback_duration(std::chrono::duration<Rep, Period> d) {
        core_.slow_callback_ns_ = detail::to_nanoseconds(d);
    }

    /// loop.set_exception_handler: an empty function restores the default handler.
    void set_exception_handler(exception_handler h) { handler_ = std::move(h); }
    [[nodiscard]] const exception_handler& get_exception_handler() const noexcept {
        return handler_;
    }
    /// loop.call_exception_handler: the custom handler if set, else the default one.
    void call_exception_handler(const exception_context& ctx) noexcept;
    /// Writes the message, task and exception to stderr.
    void default_exception_handler(const exception_context& ctx) noexcept;

    /// loop.create_future (defined in <asyncio/future.hpp>).
    template <class T = void> future<T> create_future();
    /// loop.create_task (defined in <asyncio/task.hpp>): the body starts in the next iteration.
    /// `site` (every overload) is the caller's location, kept in debug mode (set_debug).
    template <class T>
    task_handle<T> create_task(task<T> t,
                               const detail::source_site& site = {
                                   __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                                   __builtin_FUNCTION()});
    /// The same, named (an empty name gives the default "Task-<n>").
    template <class T>
    task_handle<T> create_task(task<T> t, std::string name,
                               const detail::source_site& site = {
                                   __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                                   __builtin_FUNCTION()});

    /// The same, running in `ctx` (3.11's `context=`) instead of a copy of the current context.
    template <class T>
    task_handle<T> create_task(task<T> t, const context& ctx,
                               const detail::source_site& site = {
                                   __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                                   __builtin_FUNCTION()});
    template <class T>
    task_handle<T> create_task(task<T> t, std::string name, const context& ctx,
                               const detail::source_site& site = {
                                   __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                                   __builtin_FUNCTION()});

    /// The same, started eagerly (see asyncio::create_task with eager_start).
    template <class T>
    task_handle<T> create_task(task<T> t, eager_start_t,
                               const detail::source_site& site = {
                                   __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                                   __builtin_FUNCTION()});
    template <class T>
    task_handle<T> create_task(task<T> t, std::string name, eager_start_t,
                               const detail::source_site& site = {
                                   __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                                   __builtin_FUNCTION()});

    /// loop.set_task_factory(asyncio.eager_task_factory) (3.12): from then on, every task created
    /// while the loop runs (create_task, gather's children, ...) runs its first step at once,
    /// inside the call that creates it, until it first suspends.
    void set_task_factory(eager_task_factory_t) noexcept { core_.eager_tasks = true; }
    /// loop.set_task_factory(None): tasks start in the next iteration again (the default).
    void set_task_factory(std::nullptr_t) noexcept { core_.eager_tasks = false; }

    /// loop.run_in_executor(executor, f, *args) (defined in <asyncio/threads.hpp>): runs
    /// `f(args...)` on `executor` and returns an asyncio future of its result.
    template <class E, class F, class... Args>
    auto run_in_executor(E* executor, F&& f, Args&&... args);
    /// loop.run_in_executor(None, f, *args): the same on the loop's default thread pool.
    template <class F, class... Args> auto run_in_executor(std::nullptr_t, F&& f, Args&&... args);
    /// loop.shutdown_default_executor() (defined in <asyncio/threads.hpp>).
    task<void> shutdown_default_executor();

    /// Timers waiting in the loop's timer wheel (cancelled ones leave it at once).
    [[nodiscard]] std::size_t pending_timers() const noexcept { return core_.timers_.size(); }
    /// Entries in the ready queue.
    [[nodiscard]] std::size_t ready_size() const noexcept { return core_.ready_.size(); }

    /// Internal: the state the library's awaiters work on.
    [[nodiscard]] detail::loop_core& core() noexcept { return core_; }

private:
    template <class F> handle soon(F&& f, detail::context_data* ctx) {
        check_closed();
        if (core_.debug_) [[unlikely]] {
            check_thread();
        }
        auto* n = detail::make_callback(core_, std::forward<F>(f), ctx);
        handle h(n);
        n->state = detail::timer_state::in_ready;
        n->ready_pos =
            core_.schedule(&detail::callback_node::ready_fn, static_cast<detail::timer_entry*>(n));
        return h;
    }

    template <class F> timer_handle arm(std::int64_t when, F&& f, detail::context_data* ctx) {
        check_closed();
        if (core_.debug_) [[unlikely]] {
            check_thread();
        }
        auto* n = detail::make_callback(core_, std::forward<F>(f), ctx);
        timer_handle h(n);
        core_.add_timer(*n, when);
        return h;
    }

    /// An add_reader/add_writer registration: the callback's node, run while `fd` is ready.
    struct io_callback final : detail::io_watcher {
        detail::callback_node* node = nullptr;
        static void ready(detail::io_watcher* w, bool run) {
            detail::callback_node* n = static_cast<io_callback*>(w)->node;
            if (!run || n->cancelled) {
                return;
            }
            // The callback may remove (free) its own registration: keep the node alive.
            n->add_ref();
            struct releaser {
                detail::callback_node* n;
                ~releaser() { n->release(); }
            } guard{n};
            n->run_in_context();
        }
        static void removed(detail::io_watcher* w, int) noexcept {
            auto* c = static_cast<io_callback*>(w);
            c->node->release();
            delete c;
        }
    };

    template <class F> void add_watch(int fd, std::uint32_t dir, F&& f) {
        check_closed();
        detail::io_watcher* cur = core_.io_.find(fd, dir);
        if (cur != nullptr && !cur->is_callback) {
            throw std::runtime_error("file descriptor " + std::to_string(fd) +
                                     " is in use by a socket operation of this loop");
        }
        auto* c = new io_callback();
        c->node = detail::make_callback(core_, std::forward<F>(f));
        c->on_ready = &io_callback::ready;
        c->on_removed = &io_callback::removed;
        c->is_callback = true;
        detail::io_watcher* old = nullptr;
        try {
            old = core_.io_.watch(*core_.selector_, core_.ready_, fd, dir, c);
        } catch (...) {
            io_callback::removed(c, 0);
            throw;
        }
        if (old != nullptr) {
            old->on_removed(old, ECANCELED);
        }
    }

    bool remove_watch(int fd, std::uint32_t dir) noexcept {
        if (core_.closed_) {
            return false;
        }
        detail::io_watcher* old = core_.io_.unwatch(*core_.selector_, core_.ready_, fd, dir);
        if (old == nullptr) {
            return false;
        }
        old->on_removed(old, ECANCELED);
        return true;
    }

    void check_closed() const {
        if (core_.closed_) {
            throw std::runtime_error("Event loop is closed");
        }
    }
    /// Debug mode: std::runtime_error when called from another thread than the one running the
    /// loop (Python's _check_thread).
    ASYNCIO_NOINLINE void check_thread() const {
        if (core_.thread_id_ != std::thread::id() &&
            core_.thread_id_ != std::this_thread::get_id()) {
            throw std::runtime_error("Non-thread-safe operation invoked on an event loop other "
                                     "than the current one");
        }
    }
    /// Debug mode: runs what is ready (as run_once does), each entry through run_timed.
    void run_ready_timed();
    /// Debug mode: runs a ready entry and reports it if it took slow_callback_duration or more.
    void run_timed(const detail::ready_entry& e);
    /// Throws unless run_forever may start: not closed, not running, and no other loop running
    /// here.
    void check_can_run() const;
    void run_once();
    /// The one place the loop waits: polls the selector for at most `timeout_ns` (negative: no
    /// limit) and queues what became ready (descriptors, then what other threads posted).
    void poll_events(std::int64_t timeout_ns);
    /// Destroys what the loop still holds (close() and the destructor).
    void release_all() noexcept;

    detail::loop_core core_;
    exception_handler handler_;
};

/// asyncio.get_running_loop(): throws std::runtime_error("no running event loop") outside one.
[[nodiscard]] inline event_loop& get_running_loop() {
    event_loop* l = detail::running_loop();
    if (l == nullptr) {
        throw std::runtime_error("no running event loop");
    }
    return *l;
}

inline loop_clock::time_point loop_clock::now() {
    return get_running_loop().time();
}

namespace detail {

/// Memory for coroutine frames and task states: the running loop's arena, else the global heap.
[[nodiscard]] inline void* allocate_block(std::size_t n) {
#if !defined(ASYNCIO_NO_BLOCK_POOL)
    if (event_loop* l = running_loop()) {
        return l->core().pool.allocate(n);
    }
#endif
    return block_pool::allocate_global(n);
}

/// Returns a block from `allocate_block(n)`, on any loop or none: the block itself says where it
/// came from (an arena block goes back to its own loop's pool, even when another loop runs).
inline void deallocate_block(void* p, std::size_t n) noexcept {
    block_pool::deallocate(p, n);
}

/// Gives a class (a promise or a state) the pooled allocation. The sized operator delete must get
/// the size that operator new got (the block's tag byte sits just past it): delete through the
/// most-derived type, as coroutine frames and the library's states do.
struct pooled {
    static void* operator new(std::size_t n) { return allocate_block(n); }
    static void operator delete(void* p, std::size_t n) noexcept { deallocate_block(p, n); }
};

} // namespace detail

inline void event_loop::check_can_run() const {
    check_closed();
    if (core_.running_) {
        throw std::runtime_error("This event loop is already running");
    }
    if (detail::running_loop() != nullptr) {
        throw std::runtime_error("Cannot run the event loop while another loop is running");
    }
}

inline void event_loop::run_forever() {
    check_can_run();
    struct running_guard {
        event_loop* self;
        explicit running_guard(event_loop* s) noexcept : self(s) {
            self->core_.running_ = true;
            self->core_.thread_id_ = std::this_thread::get_id();
            detail::running_loop_ref() = self;
        }
        running_guard(const running_guard&) = delete;
        running_guard& operator=(const running_guard&) = delete;
        ~running_guard() {
            self->core_.io_.flush_all(*self->core_.selector_);
            self->core_.running_ = false;
            self->core_.stopping_ = false;
            self->core_.thread_id_ = std::thread::id();
            detail::running_loop_ref() = nullptr;
        }
    } guard(this);
    for (;;) {
        run_once();
        if (core_.stopping_) {
            break;
        }
    }
}

inline void event_loop::run_once() {
    constexpr std::int64_t max_wait = std::int64_t{86400} * 1'000'000'000;
    const bool is_virtual = core_.clock_ == clock_kind::virtual_time;
    std::int64_t timeout = 0;
    bool jump = false; // virtual time: go to the first deadline if polling finds nothing
    if (core_.ready_.empty() && !core_.stopping_ && !core_.remote_->pending()) {
        if (core_.timers_.empty()) {
            if (is_virtual && core_.io_.size() == 0 && core_.external_jobs == 0) {
                throw std::runtime_error(
                    "event loop deadlock: nothing is ready, no timer is pending and nothing else "
                    "can wake the loop (every task waits for something that cannot happen)");
            }
            timeout = -1;
        } else {
            timeout = core_.timers_.top_when() - core_.now();
            if (timeout < 0) {
                timeout = 0;
            }
            if (is_virtual) {
                jump = timeout > 0;
                timeout = 0;
            } else if (timeout > max_wait) {
                timeout = max_wait;
            }
        }
    }
    poll_events(timeout);
    if (jump && core_.ready_.empty()) {
        core_.virtual_now_ = core_.timers_.top_when();
    }
    core_.collect_expired(core_.now());
    if (core_.debug_) [[unlikely]] {
        run_ready_timed();
        return;
    }
    for (std::size_t n = core_.ready_.size(); n > 0; --n) {
        const detail::ready_entry e = core_.ready_.pop();
        try {
            e.fn(e.arg, true);
        } catch (...) {
            call_exception_handler({"Exception in callback", std::current_exception(), {}});
        }
    }
}

ASYNCIO_NOINLINE inline void event_loop::run_ready_timed() {
    for (std::size_t n = core_.ready_.size(); n > 0; --n) {
        const detail::ready_entry e = core_.ready_.pop();
        try {
            run_timed(e);
        } catch (...) {
            call_exception_handler({"Exception in callback", std::current_exception(), {}});
        }
    }
}

inline void event_loop::run_timed(const detail::ready_entry& e) {
    const detail::step_describer& d = detail::task_step_describer();
    const bool is_step = d.step != nullptr && e.fn == d.step;
    struct holder {
        const detail::step_describer& d;
        void* task;
        holder(const detail::step_describer& sd, void* t) noexcept : d(sd), task(t) {
            if (task != nullptr) {
                d.hold(task); // the step may end the task and drop the last reference
            }
        }
        holder(const holder&) = delete;
        holder& operator=(const holder&) = delete;
        ~holder() {
            if (task != nullptr) {
                d.drop(task);
            }
        }
    } hold(d, is_step ? e.arg : nullptr);
    const std::int64_t t0 = core_.now();
    e.fn(e.arg, true);
    const std::int64_t dt = core_.now() - t0;
    if (dt >= core_.slow_callback_ns_) {
        std::array<char, 32> secs{};
        std::snprintf(secs.data(), secs.size(), "%.3f", static_cast<double>(dt) / 1e9);
        const std::string what = is_step ? d.describe(e.arg) : std::string("<Handle>");
        call_exception_handler(
            {"Executing " + what + " took " + secs.data() + " seconds", nullptr, {}});
    }
}

inline void event_loop::poll_events(std::int64_t timeout_ns) {
    // With no descriptor registered, a non-blocking poll could only report the wake-up
    // descriptor, whose news the remote queue's flag already carries: skip the system call.
    core_.io_.flush(*core_.selector_);
    if (timeout_ns != 0 || core_.io_.size() != 0) {
        core_.selector_->select(timeout_ns, core_.events_);
        const int wake_fd = core_.remote_->wake().read_fd();
        for (const detail::io_event& ev : core_.events_) {
            if (ev.fd == wake_fd) {
                core_.remote_->wake().drain();
            } else {
                core_.io_.dispatch(*core_.selector_, core_.ready_, ev);
            }
        }
    }
    if (core_.remote_->pending()) {
        core_.remote_->take(core_.remote_items_);
        for (const detail::ready_entry& e : core_.remote_items_) {
            static_cast<void>(core_.ready_.push(e));
        }
        core_.remote_items_.clear();
        if (!core_.signals_.empty()) {
            core_.signals_.dispatch(core_.ready_);
        }
    }
}

inline void event_loop::call_exception_handler(const exception_context& ctx) noexcept {
    if (handler_) {
        try {
            handler_(*this, ctx);
            return;
        } catch (...) {
            default_exception_handler(
                {"Unhandled error in exception handler", std::current_exception(), {}});
        }
    }
    default_exception_handler(ctx);
}

inline void event_loop::default_exception_handler(const exception_context& ctx) noexcept {
    std::string what;
    if (ctx.exception) {
        try {
            std::rethrow_exception(ctx.exception);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (const cancelled_error& e) {
            what = std::string("cancelled_error: ") + e.what();
        } catch (...) {
            what = "unknown exception";
        }
    }
    std::fprintf(stderr, "%s%s%s%s%s\n", ctx.message.c_str(),
                 ctx.task_name.empty() ? "" : " task: ", ctx.task_name.c_str(),
                 what.empty() ? "" : "\n  exception: ", what.c_str());
}

inline void event_loop::close() {
    if (core_.running_) {
        throw std::runtime_error("Cannot close a running event loop");
    }
    if (core_.closed_) {
        return;
    }
    release_all();
    core_.closed_ = true;
}

inline event_loop::~event_loop() {
    release_all();
}

inline void event_loop::release_all() noexcept {
    core_.closing_ = true;
    core_.signals_.clear(); // CPython's close() removes the signal handlers
    // Pending tasks first, while the ready queue and heap their awaiters unlink from still exist.
    while (!core_.tasks.empty()) {
        detail::state_link& t = core_.tasks.pop_front();
        t.ops->abandon(&t);
    }
    // Then descriptor registrations (those of socket operations went with their tasks' frames).
    core_.io_.clear(*core_.selector_, core_.ready_,
                    [](detail::io_watcher* w) { w->on_removed(w, ECANCELED); });
    for (const detail::ready_entry& e : core_.remote_->close()) {
        e.fn(e.arg, false);
    }
    // The default executor (joined) and the executor jobs in flight (see <asyncio/threads.hpp>).
    core_.threads_.reset();
    while (!core_.ready_.empty()) {
        const detail::ready_entry e = core_.ready_.pop();
        e.fn(e.arg, false);
    }
    while (!core_.timers_.empty()) {
        detail::timer_entry& t = core_.timers_.pop_any();
        t.run(&t, false);
    }
    while (!core_.states.empty()) {
        detail::state_link& s = core_.states.pop_front();
        s.ops->loop_closed(&s);
    }
    while (!core_.asyncgens.empty()) {
        detail::asyncgen_link& g = core_.asyncgens.pop_front();
        g.on_loop_closed(&g);
    }
}

} // namespace asyncio
// ---- (back in asyncio/async_generator.hpp)

// ---- asyncio/task.hpp ----------------------------------------------------------------------------
// task<T> (a coroutine, `async def`), task_handle<T> (asyncio.Task) and create_task.


// ---- asyncio/future.hpp --------------------------------------------------------------------------
// future<T> (asyncio.Future): a result slot completed by callback-based code and awaited by tasks.



// ---- asyncio/detail/future_state.hpp -------------------------------------------------------------
// The shared state behind future<T> and task_handle<T>: status, exception, done-callback list.



// ---- asyncio/detail/value_slot.hpp ---------------------------------------------------------------
// Storage for a coroutine's or future's result: a value, a reference (as a pointer) or nothing.



namespace asyncio {

/// The value of a `void` child in a gather result (Python's `None`).
struct none {
    friend bool operator==(none, none) noexcept { return true; }
};

} // namespace asyncio

namespace asyncio::detail {

/// The result of a coroutine, a future or a task: engaged once set. Every reader knows from its
/// owner's status that a value was set, so a trivially copyable and destructible `T` (an integer,
/// a pointer, a plain struct) is stored without an engaged flag (8 bytes less for an int64 in every
/// task's frame and state); other types keep one, to know whether to destroy.
template <class T,
          bool Plain = std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>>
class value_slot {
public:
    template <class... Args> void emplace(Args&&... args) {
        v_.emplace(std::forward<Args>(args)...);
    }
    [[nodiscard]] bool has_value() const noexcept { return v_.has_value(); }
    T& get() noexcept {
        ASYNCIO_ASSERT(v_.has_value());
        return *v_;
    }
    void reset() noexcept { v_.reset(); }

private:
    std::optional<T> v_;
};

template <class T> class value_slot<T, true> {
public:
    value_slot() noexcept {}
    template <class... Args> void emplace(Args&&... args) {
        ::new (static_cast<void*>(std::addressof(v_))) T(std::forward<Args>(args)...);
    }
    T& get() noexcept { return v_; }
    void reset() noexcept {}

private:
    union {
        T v_;
    };
};

template <class T> class value_slot<T&, false> {
public:
    void emplace(T& r) noexcept { p_ = std::addressof(r); }
    [[nodiscard]] bool has_value() const noexcept { return p_ != nullptr; }
    T& get() noexcept {
        ASYNCIO_ASSERT(p_ != nullptr);
        return *p_;
    }
    void reset() noexcept { p_ = nullptr; }

private:
    T* p_ = nullptr;
};

template <> class value_slot<void, false> {
public:
    void emplace() noexcept { set_ = true; }
    [[nodiscard]] bool has_value() const noexcept { return set_; }
    void get() noexcept {}
    void reset() noexcept { set_ = false; }

private:
    bool set_ = false;
};

/// `T` for values and references, `none` for void: the element type of gather results.
template <class T> using result_or_none_t = std::conditional_t<std::is_void_v<T>, none, T>;

} // namespace asyncio::detail
// ---- (back in asyncio/detail/future_state.hpp)


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
// ---- (back in asyncio/future.hpp)

// ---- asyncio/detail/ref_ptr.hpp ------------------------------------------------------------------
// An intrusive reference-counting pointer for the shared states of futures and tasks.


namespace asyncio::detail {

/// Holds one reference to `S` (which has add_ref() and release()).
template <class S> class ref_ptr {
public:
    ref_ptr() noexcept = default;
    /// Adopts a reference the caller already holds.
    static ref_ptr adopt(S* s) noexcept {
        ref_ptr r;
        r.p_ = s;
        return r;
    }
    /// Takes a new reference.
    explicit ref_ptr(S* s) noexcept : p_(s) {
        if (p_ != nullptr) {
            p_->add_ref();
        }
    }
    ref_ptr(const ref_ptr& o) noexcept : ref_ptr(o.p_) {}
    ref_ptr(ref_ptr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    /// From a reference to a derived state (a task or future state to its base).
    template <class U>
        requires(!std::is_same_v<U, S> && std::is_convertible_v<U*, S*>)
    ref_ptr(ref_ptr<U>&& o) noexcept : p_(o.release()) {}
    ref_ptr& operator=(ref_ptr o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~ref_ptr() { reset(); }

    void reset() noexcept {
        if (S* p = std::exchange(p_, nullptr)) {
            p->release();
        }
    }
    /// Gives up the reference without releasing it.
    [[nodiscard]] S* release() noexcept { return std::exchange(p_, nullptr); }
    [[nodiscard]] S* get() const noexcept { return p_; }
    S* operator->() const noexcept { return p_; }
    S& operator*() const noexcept { return *p_; }
    explicit operator bool() const noexcept { return p_ != nullptr; }
    friend bool operator==(const ref_ptr& a, const ref_ptr& b) noexcept { return a.p_ == b.p_; }

private:
    S* p_ = nullptr;
};

} // namespace asyncio::detail
// ---- (back in asyncio/future.hpp)

// ---- asyncio/detail/state_awaiter.hpp ------------------------------------------------------------
// The awaiter for futures and task handles: suspends on the done list, resumes one hop later.



// ---- asyncio/detail/task_core.hpp ----------------------------------------------------------------
// The untyped core of a spawned task: the step driver (trampoline), cancellation, scheduling.



// ---- asyncio/detail/frame.hpp --------------------------------------------------------------------
// unique_frame: the one RAII owner that destroys coroutine frames.


namespace asyncio::detail {

/// Owns a coroutine frame; the only code in the library that calls `destroy()`.
class unique_frame {
public:
    unique_frame() noexcept = default;
    explicit unique_frame(std::coroutine_handle<> h) noexcept : h_(h) {}
    unique_frame(unique_frame&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    unique_frame& operator=(unique_frame&& o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    unique_frame(const unique_frame&) = delete;
    unique_frame& operator=(const unique_frame&) = delete;
    ~unique_frame() { reset(); }

    void reset() noexcept {
        if (auto h = std::exchange(h_, nullptr)) {
            h.destroy();
        }
    }
    /// Gives up ownership without destroying.
    [[nodiscard]] std::coroutine_handle<> release() noexcept { return std::exchange(h_, nullptr); }

    [[nodiscard]] std::coroutine_handle<> get() const noexcept { return h_; }
    [[nodiscard]] bool done() const noexcept { return h_.done(); }
    explicit operator bool() const noexcept { return static_cast<bool>(h_); }

    template <class Promise> [[nodiscard]] Promise& promise() const noexcept {
        return std::coroutine_handle<Promise>::from_address(h_.address()).promise();
    }

private:
    std::coroutine_handle<> h_;
};

} // namespace asyncio::detail
// ---- (back in asyncio/detail/task_core.hpp)


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
// ---- (back in asyncio/detail/state_awaiter.hpp)


namespace asyncio::detail {

/// The done-list entry of a task awaiting a future or task: wakes the task. Not a template, so
/// that call graphs (graph.hpp) can tell these entries from others by their `on_done`.
struct task_waiter : done_node {
    /// The awaiting task (null until it suspends).
    task_core* root_ = nullptr;

    /// The task waiting through `n`, a node of a done list, or null when `n` is no task_waiter.
    [[nodiscard]] static task_core* waiting_task(const done_node& n) noexcept {
        return n.on_done == &fire ? static_cast<const task_waiter&>(n).root_ : nullptr;
    }

protected:
    static void fire(done_node* n) noexcept { static_cast<task_waiter*>(n)->root_->wake(); }
};

/// `co_await` on a future or task state. Does not suspend when the state is already done. Lives
/// in the awaiting frame and unlinks itself if that frame is destroyed first. `Move` takes the
/// value out (co_await std::move(h)); otherwise the awaiter gets a copy.
template <class State, bool Move> class state_awaiter : public task_waiter {
public:
    explicit state_awaiter(State* s) noexcept : s_(s) {}
    state_awaiter(const state_awaiter&) = delete;
    state_awaiter& operator=(const state_awaiter&) = delete;
    ~state_awaiter() { unlink(); }

    [[nodiscard]] bool await_ready() const noexcept { return s_->done(); }

    template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
        task_core* root = root_of(h);
        if (static_cast<future_state_base*>(s_) == static_cast<future_state_base*>(root)) {
            throw std::runtime_error("Task cannot await on itself");
        }
        if (!s_->belongs_to(root->loop())) {
            // CPython raises this at the await one iteration later; here it is raised at once.
            throw std::runtime_error("Task got Future attached to a different loop");
        }
        root_ = root;
        on_done = &fire;
        s_->add_waiter(*this);
        root_->suspend(h, cancel_hook{&on_cancel, this});
    }

    /// The result type is spelled out (not deduced) so that asking what an await gives, as the
    /// awaitable concept does, never instantiates the body.
    auto await_resume()
        -> decltype(take_result<Move>(std::declval<State&>(), std::declval<State&>().slot())) {
        unlink();
        if (root_ != nullptr) {
            if (s_->cancelled()) {
                root_->keep_awaited_cancellation(); // its cancelled_error, with its message
            } else {
                root_->throw_if_cancel_delivered();
            }
        }
        return take_result<Move>(*s_, s_->slot());
    }

private:
    // Cancelling the awaiting task cancels what it awaits (a future, or a task and its chain).
    static bool on_cancel(void* ctx, task_core& self) {
        return static_cast<state_awaiter*>(ctx)->s_->cancel(self.cancel_message());
    }

    State* s_;
};

} // namespace asyncio::detail
// ---- (back in asyncio/future.hpp)


namespace asyncio {

namespace detail {

template <class T> class future_state final : public future_state_base, public pooled {
public:
    explicit future_state(event_loop& loop) noexcept : future_state_base(loop, &ops_table, false) {}
    future_state(const future_state&) = delete;
    future_state& operator=(const future_state&) = delete;

    value_slot<T>& slot() noexcept { return slot_; }

    /// Future.cancel(msg): false when already done.
    bool cancel(const std::string& msg) {
        mark_retrieved();
        if (done()) {
            return false;
        }
        if (loop().core().cancel_walking) {
            // Part of a cancellation walking down a chain: applied in the walk's order.
            task_core::request_cancel(*this, msg);
        } else {
            complete_cancelled(msg);
        }
        return true;
    }

private:
    ~future_state() = default;

    static future_state* self(state_link* l) noexcept {
        return static_cast<future_state*>(static_cast<future_state_base*>(l));
    }
    static void destroy(state_link* l) noexcept { delete self(l); }
    static bool cancel_entry(state_link* l, const std::string& msg) { return self(l)->cancel(msg); }

    static constexpr state_ops ops_table{&future_state::loop_closed, nullptr,
                                         &future_state::destroy, nullptr,
                                         &future_state::cancel_entry};

    value_slot<T> slot_;
};

/// Calls a done callback with the handle if it takes one, else with no argument.
template <class Handle, class F> void invoke_done_callback(F& f, Handle& h) {
    if constexpr (std::is_invocable_v<F&, Handle&>) {
        f(h);
    } else {
        static_assert(std::is_invocable_v<F&>,
                      "a done callback takes the future or task handle, or nothing");
        f();
    }
}

} // namespace detail

/// asyncio.Future: completed by `set_result` / `set_exception` / `cancel`, typically from callback
/// code, and awaited by any number of tasks. Copies share one state. Create with
/// `loop.create_future<T>()`. Awaiters resume in the iteration after completion; awaiting a done
/// future does not suspend. A default-constructed (or moved-from) future is empty: every operation
/// on it throws invalid_state_error.
template <class T> class future {
public:
    using value_type = T;

    future() noexcept = default;
    explicit future(event_loop& loop) : s_(new detail::future_state<T>(loop)) {}

    [[nodiscard]] bool done() const { return state().done(); }
    [[nodiscard]] bool cancelled() const { return state().cancelled(); }
    explicit operator bool() const noexcept { return static_cast<bool>(s_); }

    /// Future.set_result: invalid_state_error when already done.
    template <class... Args> void set_result(Args&&... args) {
        check_settable();
        s_->slot().emplace(std::forward<Args>(args)...);
        s_->complete_result();
    }
    /// Future.set_exception: invalid_state_error when already done.
    void set_exception(std::exception_ptr e) {
        if (!e) {
            throw std::invalid_argument("set_exception needs an exception");
        }
        check_settable();
        s_->complete_exception(std::move(e));
    }
    /// Future.cancel(msg): true if the future was pending and is now cancelled.
    bool cancel(const std::string& msg = {}) { return state().cancel(msg); }

    /// Future.result(): the value (a reference into the shared state; void for void). Pending:
    /// invalid_state_error("Result is not set."); cancelled: cancelled_error; failed: rethrows.
    decltype(auto) result() { return detail::result_ref(state(), state().slot()); }
    /// Future.exception(): the exception or null. Pending: invalid_state_error; cancelled:
    /// cancelled_error.
    [[nodiscard]] std::exception_ptr exception() { return state().exception(); }

    /// Future.add_done_callback: `f(future<T>&)` (or `f()`) runs through call_soon after
    /// completion, in registration order. Returns the id `remove_done_callback` takes.
    template <class F> callback_id add_done_callback(F f) {
        return state().add_callback([fn = std::move(f)](detail::future_state_base* b) mutable {
            future h(static_cast<detail::future_state<T>*>(b));
            detail::invoke_done_callback(fn, h);
        });
    }
    /// Future.remove_done_callback: the number of callbacks removed (0 or 1).
    std::size_t remove_done_callback(callback_id id) { return state().remove_callback(id); }

    /// `co_await fut` gives a copy of the result; `co_await std::move(fut)` moves it out. Awaiting
    /// a pending future of another loop throws std::runtime_error; an empty one,
    /// invalid_state_error.
    auto operator co_await() & { return detail::state_awaiter<state_type, false>(&state()); }
    auto operator co_await() && { return detail::state_awaiter<state_type, true>(&state()); }

    friend bool operator==(const future& a, const future& b) noexcept { return a.s_ == b.s_; }

private:
    using state_type = detail::future_state<T>;
    friend struct detail::state_access;
    explicit future(state_type* s) noexcept : s_(s) {}

    /// The state, or invalid_state_error for an empty future.
    [[nodiscard]] state_type& state() const {
        if (!s_) {
            throw invalid_state_error(
                "empty future (default-constructed or moved-from): it refers to no future");
        }
        return *s_;
    }

    void check_settable() const {
        if (state().done()) {
            throw invalid_state_error("invalid state: the future is already done");
        }
        (void)s_->loop();
    }

    detail::ref_ptr<state_type> s_;
};

template <class T> future<T> event_loop::create_future() {
    return future<T>(*this);
}

/// asyncio.ensure_future for a future: the future itself.
template <class T> future<T> ensure_future(future<T> f, event_loop&) noexcept {
    return f;
}

} // namespace asyncio
// ---- (back in asyncio/task.hpp)


// ---- asyncio/detail/task_promise.hpp -------------------------------------------------------------
// The promise of task<T>: lazy start, result storage, and a final suspend that hands back to the
// task's driver (the trampoline in task_core::step).



// ---- asyncio/detail/await_location.hpp -----------------------------------------------------------
// What the task promise's await_transform returns when ASYNCIO_CALL_GRAPH records co_await
// locations: the operand's awaiter, referred to rather than copied.



namespace asyncio::detail {

template <class A>
concept has_member_co_await = requires(A&& a) { static_cast<A&&>(a).operator co_await(); };
template <class A>
concept has_free_co_await = requires(A&& a) { operator co_await(static_cast<A&&>(a)); };

/// Stands for the awaiter of a co_await operand once await_transform has seen it, and forwards
/// the three calls to it. `Awaiter` is a reference to the operand itself, or the value its
/// `operator co_await` returned (built in place). Why not hand the operand back as a reference:
/// g++ 12 copies (or moves) the object a reference-returning co_await operand refers to into the
/// frame, which would copy every awaiter and reject the non-copyable ones; a prvalue is not copied.
template <class Awaiter> class forwarding_awaiter {
public:
    template <class Make> forwarding_awaiter(std::in_place_t, Make&& make) : aw_(make()) {}
    forwarding_awaiter(const forwarding_awaiter&) = delete;
    forwarding_awaiter& operator=(const forwarding_awaiter&) = delete;
    ~forwarding_awaiter() = default;

    // The language calls the three on an lvalue awaiter; so does this (aw_ names an lvalue).
    decltype(auto) await_ready() noexcept(noexcept(std::declval<Awaiter&>().await_ready())) {
        return aw_.await_ready();
    }
    template <class Promise>
    decltype(auto) await_suspend(std::coroutine_handle<Promise> h) noexcept(
        noexcept(std::declval<Awaiter&>().await_suspend(h))) {
        return aw_.await_suspend(h);
    }
    decltype(auto) await_resume() noexcept(noexcept(std::declval<Awaiter&>().await_resume())) {
        return aw_.await_resume();
    }

private:
    Awaiter aw_;
};

/// The awaiter `co_await a` would use (its operator co_await applied, member first), wrapped.
template <class A> auto forward_awaiter(A&& a) {
    if constexpr (has_member_co_await<A>) {
        using R = decltype(static_cast<A&&>(a).operator co_await());
        return forwarding_awaiter<R>(
            std::in_place, [&]() -> R { return static_cast<A&&>(a).operator co_await(); });
    } else if constexpr (has_free_co_await<A>) {
        using R = decltype(operator co_await(static_cast<A&&>(a)));
        return forwarding_awaiter<R>(std::in_place,
                                     [&]() -> R { return operator co_await(static_cast<A&&>(a)); });
    } else {
        return forwarding_awaiter<A&&>(std::in_place, [&]() -> A&& { return static_cast<A&&>(a); });
    }
}

} // namespace asyncio::detail
// ---- (back in asyncio/detail/task_promise.hpp)


namespace asyncio::detail {

/// Common part of task<T> promises.
struct task_promise_base : promise_base, pooled {
    std::exception_ptr exception_;

#if defined(ASYNCIO_CALL_GRAPH)
    /// Call graphs (graph.hpp, config.hpp's ASYNCIO_CALL_GRAPH): the coroutine awaiting this one
    /// inline (null for a task's outermost coroutine), the task's innermost coroutine again once
    /// this one finishes; and where this one last awaited.
    task_promise_base* caller_ = nullptr;
    const char* await_function_ = nullptr;
    const char* await_file_ = nullptr;
    int await_line_ = 0;

    /// Records the location of each `co_await` in the coroutine (the default arguments are
    /// evaluated there) and returns what awaits the operand as the language would, its operator
    /// co_await applied, with no copy or move of the operand or of its awaiter.
    template <class Awaitable>
    auto await_transform(Awaitable&& a, const char* function = __builtin_FUNCTION(),
                         const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
        await_function_ = function;
        await_file_ = file;
        await_line_ = line;
        return forward_awaiter(static_cast<Awaitable&&>(a));
    }
#endif

    std::suspend_always initial_suspend() noexcept { return {}; }

    struct final_awaiter {
        bool await_ready() noexcept { return false; }
        // Never resumes anything itself: it names the continuation (null for a task's outermost
        // coroutine) and returns to the driver, so the stack stays flat at any depth.
        template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) noexcept {
            promise_base& p = h.promise();
#if defined(ASYNCIO_CALL_GRAPH)
            p.root_->set_innermost(h.promise().caller_);
#endif
            p.root_->set_next(p.continuation_);
        }
        void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }

    void unhandled_exception() noexcept { exception_ = std::current_exception(); }
};

template <class T> struct task_promise : task_promise_base {
    value_slot<T> value_;

    task<T> get_return_object() noexcept;

    template <class U = T>
        requires std::is_convertible_v<U&&, T>
    void return_value(U&& v) {
        value_.emplace(std::forward<U>(v));
    }
};

template <class T> struct task_promise<T&> : task_promise_base {
    value_slot<T&> value_;

    task<T&> get_return_object() noexcept;

    void return_value(T& v) noexcept { value_.emplace(v); }
};

template <> struct task_promise<void> : task_promise_base {
    value_slot<void> value_;

    task<void> get_return_object() noexcept;

    void return_void() noexcept { value_.emplace(); }
};

} // namespace asyncio::detail
// ---- (back in asyncio/task.hpp)


namespace asyncio {

/// A coroutine returning `T` (Python's `async def f() -> T`): lazy, move-only. `co_await f()` runs
/// it inline, like `await f()`: no loop round trip and no other task in between; a chain of any
/// depth keeps the stack flat. `T` may be void, a value, a reference or a move-only type. Awaiting
/// a task twice, or a moved-from task, throws std::runtime_error("cannot reuse already awaited
/// coroutine"). `create_task` turns it into a concurrently running task_handle<T>. A task may only
/// be awaited from another asyncio-cpp coroutine.
template <class T> class [[nodiscard]] task {
public:
    using promise_type = detail::task_promise<T>;
    using value_type = T;

    task() noexcept = default;
    task(task&&) noexcept = default;
    task& operator=(task&&) noexcept = default;
    ~task() {
        // Inside an await chain whose task is being destroyed with its loop, the frame is handed
        // to that task, which destroys the chain level by level instead of recursively.
        if (frame_) {
            if (detail::task_core* root = promise().root_;
                root != nullptr && root->defer_frame_destruction(frame_.get())) {
                (void)frame_.release();
            }
        }
    }

    /// True until the task is awaited, spawned or moved from.
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(frame_); }

    auto operator co_await() & noexcept { return awaiter{this}; }
    auto operator co_await() && noexcept { return awaiter{this}; }

private:
    friend promise_type;
    friend class event_loop;
    friend struct detail::state_access;

    explicit task(std::coroutine_handle<promise_type> h) noexcept : frame_(h) {}

    promise_type& promise() const noexcept { return frame_.promise<promise_type>(); }

    struct awaiter {
        task* self;

        bool await_ready() const {
            if (!self->frame_) {
                throw std::runtime_error("cannot reuse already awaited coroutine");
            }
            return false;
        }
        template <class Promise>
        void await_suspend(std::coroutine_handle<Promise> parent) noexcept {
            promise_type& child = self->promise();
            child.continuation_ = parent;
            child.root_ = detail::root_of(parent);
#if defined(ASYNCIO_CALL_GRAPH)
            // The innermost coroutine so far is the parent (or, inside an async generator, the
            // task coroutine awaiting the generator, whose frames are not recorded).
            child.caller_ = child.root_->innermost();
            child.root_->set_innermost(&child);
#endif
            child.root_->set_next(self->frame_.get()); // the driver starts the child
        }
        T await_resume() {
            struct destroy_after {
                task* t;
                ~destroy_after() { t->frame_.reset(); }
            } guard{self};
            promise_type& p = self->promise();
            if (p.exception_) {
                std::rethrow_exception(p.exception_);
            }
            if constexpr (std::is_void_v<T> || std::is_reference_v<T>) {
                return p.value_.get();
            } else {
                return std::move(p.value_.get());
            }
        }
    };

    detail::unique_frame frame_;
};

namespace detail {

template <class T> task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>(std::coroutine_handle<task_promise>::from_promise(*this));
}
template <class T> task<T&> task_promise<T&>::get_return_object() noexcept {
    return task<T&>(std::coroutine_handle<task_promise>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>(std::coroutine_handle<task_promise>::from_promise(*this));
}

/// The state of a spawned task: the core plus the typed result, moved out of the frame when the
/// coroutine finishes (the frame is destroyed right then; the state lives while handles do).
/// Allocated from the loop's arena right after the frame was, it usually sits next to it.
template <class T> class task_state final : public task_core, public pooled {
public:
    task_state(event_loop& loop, unique_frame frame, bool numbered, bool eager, context_data* ctx)
        : task_core(loop, std::move(frame), &ops_table, numbered, eager, ctx) {
        frame_.promise<task_promise<T>>().root_ = this;
#if defined(ASYNCIO_CALL_GRAPH)
        set_innermost(&frame_.promise<task_promise<T>>());
#endif
    }
    task_state(const task_state&) = delete;
    task_state& operator=(const task_state&) = delete;

    value_slot<T>& slot() noexcept { return slot_; }

    /// Builds the state of a spawned task (the loop holds the only reference). `ctx`: the
    /// context it runs in (the task adds a reference), or null for a copy of the current one.
    static task_state* spawn(event_loop& loop, unique_frame frame, bool numbered, bool eager,
                             context_data* ctx = nullptr) {
        return new task_state(loop, std::move(frame), numbered, eager, ctx);
    }

private:
    ~task_state() = default;

    static void finish(state_link* l) noexcept {
        auto* self = static_cast<task_state*>(static_cast<future_state_base*>(l));
        auto& p = self->frame_.template promise<task_promise<T>>();
        std::exception_ptr ex = p.exception_;
        if (!ex && !self->must_cancel_) {
            try {
                if constexpr (std::is_void_v<T>) {
                    self->slot_.emplace();
                } else if constexpr (std::is_reference_v<T>) {
                    self->slot_.emplace(p.value_.get());
                } else {
                    self->slot_.emplace(std::move(p.value_.get()));
                }
            } catch (...) {
                ex = std::current_exception();
            }
        }
        self->frame_.reset();
        self->conclude(std::move(ex));
    }

    static void destroy(state_link* l) noexcept {
        delete static_cast<task_state*>(static_cast<future_state_base*>(l));
    }

    static constexpr state_ops ops_table{&task_state::loop_closed, &task_state::abandon_pending,
                                         &task_state::destroy, &task_state::finish,
                                         &task_state::cancel_entry};

    value_slot<T> slot_;
};

} // namespace detail

/// A type-erased, copyable reference to a spawned task (what current_task() and all_tasks()
/// return). Empty when default-constructed or moved from: every operation on an empty reference
/// (or task_handle) throws invalid_state_error. A task whose loop was destroyed while it was
/// pending reads as done and cancelled ("Event loop is closed"); cancel() then returns false.
class task_ref {
public:
    task_ref() noexcept = default;

    explicit operator bool() const noexcept { return static_cast<bool>(core_); }
    /// Task.done(): finished with a result, an exception, or cancelled.
    [[nodiscard]] bool done() const { return core().done(); }
    /// Task.cancelled(): true only once the task has actually ended cancelled.
    [[nodiscard]] bool cancelled() const { return core().cancelled(); }
    /// Task.cancel(msg): requests cancellation, delivered as cancelled_error at the task's current
    /// co_await one iteration later (or at its next step). False when the task is already done.
    bool cancel(std::string msg = {}) { return core().cancel(std::move(msg)); }
    /// Task.cancelling(): the number of pending cancel requests.
    [[nodiscard]] int cancelling() const { return core().cancelling(); }
    /// Task.uncancel(): decrements cancelling() (3.13: at 0 withdraws an undelivered request).
    int uncancel() { return core().uncancel(); }
    /// Task.get_name(): "Task-<n>" (counted per loop) unless a name was given.
    [[nodiscard]] const std::string& get_name() const { return core().name(); }
    void set_name(std::string name) { core().set_name(std::move(name)); }
    /// Task.exception(): the exception or null. Pending: invalid_state_error; cancelled:
    /// cancelled_error.
    [[nodiscard]] std::exception_ptr exception() { return core().exception(); }

    /// Task.add_done_callback on the untyped reference: `f(task_ref&)` (or `f()`).
    template <class F> callback_id add_done_callback(F f) {
        return core().add_callback([fn = std::move(f)](detail::future_state_base* b) mutable {
            task_ref r(static_cast<detail::task_core*>(b));
            detail::invoke_done_callback(fn, r);
        });
    }
    /// Task.remove_done_callback: the number of callbacks removed (0 or 1).
    std::size_t remove_done_callback(callback_id id) { return core().remove_callback(id); }

    friend bool operator==(const task_ref& a, const task_ref& b) noexcept {
        return a.core_ == b.core_;
    }

protected:
    explicit task_ref(detail::task_core* c) noexcept : core_(c) {}
    /// The task, or invalid_state_error for an empty reference.
    [[nodiscard]] detail::task_core& core() const {
        if (!core_) {
            throw invalid_state_error(
                "empty task handle (default-constructed or moved-from): it refers to no task");
        }
        return *core_;
    }
    detail::ref_ptr<detail::task_core> core_;

    friend task_ref current_task();
    friend struct detail::state_access;
};

/// asyncio.Task for a coroutine returning `T`: copyable, awaitable by any number of tasks (each
/// resumes the iteration after the task finishes; a finished task does not suspend them).
/// Cancelling a task that awaits this one cancels this one too.
template <class T> class task_handle : public task_ref {
public:
    using value_type = T;

    task_handle() noexcept = default;

    /// Task.result(): a reference into the shared state (void for void). Pending:
    /// invalid_state_error("Result is not set."); cancelled: cancelled_error; failed: rethrows.
    decltype(auto) result() { return detail::result_ref(*state(), state()->slot()); }

    /// Task.add_done_callback: `f(task_handle<T>&)` (or `f()`) runs through call_soon once the
    /// task is done, in registration order. Returns the id remove_done_callback takes.
    template <class F> callback_id add_done_callback(F f) {
        return state()->add_callback([fn = std::move(f)](detail::future_state_base* b) mutable {
            task_handle h(static_cast<state_type*>(b));
            detail::invoke_done_callback(fn, h);
        });
    }
    /// Task.remove_done_callback: the number of callbacks removed (0 or 1).
    std::size_t remove_done_callback(callback_id id) { return state()->remove_callback(id); }

    /// `co_await h` gives a copy of the result; `co_await std::move(h)` moves it out. Awaiting a
    /// pending task of another loop throws std::runtime_error; an empty handle,
    /// invalid_state_error.
    auto operator co_await() & { return detail::state_awaiter<state_type, false>(state()); }
    auto operator co_await() && { return detail::state_awaiter<state_type, true>(state()); }

private:
    using state_type = detail::task_state<T>;
    friend class event_loop;
    friend struct detail::state_access;

    explicit task_handle(state_type* s) noexcept : task_ref(s) {}
    [[nodiscard]] state_type* state() const { return static_cast<state_type*>(&core()); }
};

namespace detail {

/// Gives the library's combinators the shared state behind a handle or future.
struct state_access {
    /// Spawns `t` on `loop` and returns a reference to its state. `name` empty: "Task-<n>".
    /// `eager` (and the loop running): the first step runs here, before spawn returns; as in
    /// CPython 3.13 with a task factory, the task then has its default name during that step and
    /// is named afterwards.
    /// `ctx`: the context the task runs in (null: a copy of the current one). `site`: the
    /// create_task call, recorded in debug mode.
    template <class T>
    static ref_ptr<task_state<T>> spawn(event_loop& loop, task<T>& t, std::string name, bool eager,
                                        const context* ctx = nullptr,
                                        const source_site& site = {}) {
        if (!t.frame_) {
            throw std::runtime_error("cannot reuse already awaited coroutine");
        }
        if (loop.is_closed()) {
            throw std::runtime_error("Event loop is closed");
        }
        eager = eager && loop.is_running();
        ref_ptr<task_state<T>> s(task_state<T>::spawn(loop, std::move(t.frame_),
                                                      eager || name.empty(), eager,
                                                      ctx != nullptr ? ctx->data() : nullptr));
        if (loop.get_debug()) [[unlikely]] {
            record_site(*s, site);
        }
        if (eager) {
            s->run_first_step();
        }
        if (!name.empty()) {
            s->set_name(std::move(name));
        }
        return s;
    }
    ASYNCIO_NOINLINE static void record_site(task_core& t, const source_site& site) {
        t.set_created_at(site);
    }
    template <class T> static task_handle<T> handle_of(const ref_ptr<task_state<T>>& s) noexcept {
        return task_handle<T>(s.get());
    }
    /// The state behind `h` (null for an empty handle).
    template <class T> static ref_ptr<task_state<T>> get(const task_handle<T>& h) noexcept {
        return ref_ptr<task_state<T>>(static_cast<task_state<T>*>(h.core_.get()));
    }
    template <class T> static ref_ptr<future_state<T>> get(const future<T>& f) noexcept {
        return f.s_;
    }
    /// The task behind `r` (null for an empty reference).
    static task_core* core_of(const task_ref& r) noexcept { return r.core_.get(); }
    /// A reference to `c` (empty for null).
    static task_ref ref_of(task_core* c) noexcept { return task_ref(c); }
    /// The pending tasks of `loop`, as references.
    static std::vector<task_ref> tasks_of(event_loop& loop) {
        std::vector<task_ref> out;
        loop.core().tasks.for_each(
            [&](state_link& l) { out.push_back(task_ref(static_cast<task_core*>(&l))); });
        return out;
    }
};

} // namespace detail

template <class T>
task_handle<T> event_loop::create_task(task<T> t, const detail::source_site& site) {
    return detail::state_access::handle_of(
        detail::state_access::spawn(*this, t, {}, core_.eager_tasks, nullptr, site));
}
template <class T>
task_handle<T> event_loop::create_task(task<T> t, std::string name,
                                       const detail::source_site& site) {
    return detail::state_access::handle_of(
        detail::state_access::spawn(*this, t, std::move(name), core_.eager_tasks, nullptr, site));
}
template <class T>
task_handle<T> event_loop::create_task(task<T> t, const context& ctx,
                                       const detail::source_site& site) {
    return detail::state_access::handle_of(
        detail::state_access::spawn(*this, t, {}, core_.eager_tasks, &ctx, site));
}
template <class T>
task_handle<T> event_loop::create_task(task<T> t, std::string name, const context& ctx,
                                       const detail::source_site& site) {
    return detail::state_access::handle_of(
        detail::state_access::spawn(*this, t, std::move(name), core_.eager_tasks, &ctx, site));
}
template <class T>
task_handle<T> event_loop::create_task(task<T> t, eager_start_t, const detail::source_site& site) {
    return detail::state_access::handle_of(
        detail::state_access::spawn(*this, t, {}, true, nullptr, site));
}
template <class T>
task_handle<T> event_loop::create_task(task<T> t, std::string name, eager_start_t,
                                       const detail::source_site& site) {
    return detail::state_access::handle_of(
        detail::state_access::spawn(*this, t, std::move(name), true, nullptr, site));
}

/// asyncio.create_task: spawns `t` on the running loop. Its body starts in the next iteration,
/// never inside create_task. The loop keeps the task alive until it finishes, whether or not a
/// handle is kept (CPython keeps tasks only weakly). Throws std::runtime_error outside a loop.
template <class T>
task_handle<T> create_task(task<T> t, const detail::source_site& site = {
                                          __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                                          __builtin_FUNCTION()}) {
    return get_running_loop().create_task(std::move(t), site);
}
/// asyncio.create_task(coro, name=name): the same, named (an empty name gives "Task-<n>").
template <class T>
task_handle<T> create_task(task<T> t, std::string name,
                           const detail::source_site& site = {
                               __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                               __builtin_FUNCTION()}) {
    return get_running_loop().create_task(std::move(t), std::move(name), site);
}
/// asyncio.create_task(coro, context=ctx) (3.11): the task runs in `ctx` itself (what it sets is
/// visible there afterwards) instead of a copy of the current context.
template <class T>
task_handle<T> create_task(task<T> t, const context& ctx,
                           const detail::source_site& site = {
                               __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                               __builtin_FUNCTION()}) {
    return get_running_loop().create_task(std::move(t), ctx, site);
}
template <class T>
task_handle<T> create_task(task<T> t, std::string name, const context& ctx,
                           const detail::source_site& site = {
                               __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                               __builtin_FUNCTION()}) {
    return get_running_loop().create_task(std::move(t), std::move(name), ctx, site);
}
/// asyncio.create_task(coro, eager_start=True) (3.14's per-call form of 3.12's eager tasks): the
/// body runs at once, inside create_task, until it first suspends; a body that never suspends
/// returns a task that is already done. Ordering as CPython 3.13's eager_task_factory.
template <class T>
task_handle<T> create_task(task<T> t, eager_start_t e,
                           const detail::source_site& site = {
                               __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                               __builtin_FUNCTION()}) {
    return get_running_loop().create_task(std::move(t), e, site);
}
template <class T>
task_handle<T> create_task(task<T> t, std::string name, eager_start_t e,
                           const detail::source_site& site = {
                               __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                               __builtin_FUNCTION()}) {
    return get_running_loop().create_task(std::move(t), std::move(name), e, site);
}

/// asyncio.ensure_future: a task<T> becomes a task on `loop`; a handle stays itself.
template <class T> task_handle<T> ensure_future(task<T> t, event_loop& loop) {
    return loop.create_task(std::move(t));
}
template <class T> task_handle<T> ensure_future(task_handle<T> h, event_loop&) noexcept {
    return h;
}

/// asyncio.current_task(): the running task, or an empty task_ref inside a plain callback.
/// Throws std::runtime_error when no loop is running.
[[nodiscard]] inline task_ref current_task() {
    void* t = get_running_loop().core().current_task;
    return task_ref(static_cast<detail::task_core*>(t));
}

/// asyncio.all_tasks(): the running loop's tasks that are not done yet.
[[nodiscard]] inline std::vector<task_ref> all_tasks() {
    return detail::state_access::tasks_of(get_running_loop());
}

} // namespace asyncio
// ---- (back in asyncio/async_generator.hpp)



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
// ---- (back in asyncio/asyncio.hpp)

// ---- asyncio/awaitable.hpp -----------------------------------------------------------------------
// The awaitable concepts, the result type of an await, and ensure_future and create_task for
// any awaitable.


#include <concepts>

namespace asyncio {

/// An awaiter: what `co_await` works on once operator co_await, if any, was applied. Only
/// await_ready and await_resume are checked: await_suspend takes the awaiting coroutine's handle,
/// whose promise type the concept cannot know.
template <class A>
concept awaiter = requires(A& a) {
    { a.await_ready() } -> std::convertible_to<bool>;
    a.await_resume();
};

namespace detail {

/// The awaiter `co_await aw` would use (member or free operator co_await, or `aw` itself).
template <class Aw> decltype(auto) get_awaiter(Aw&& aw) {
    if constexpr (requires { std::forward<Aw>(aw).operator co_await(); }) {
        return std::forward<Aw>(aw).operator co_await();
    } else if constexpr (requires { operator co_await(std::forward<Aw>(aw)); }) {
        return operator co_await(std::forward<Aw>(aw));
    } else {
        return std::forward<Aw>(aw);
    }
}

} // namespace detail

/// Something an asyncio-cpp coroutine can `co_await` (Python's awaitable): a task<T>, a
/// task_handle<T>, a future<T>, sleep(...), gather(...), a queue operation, or any type with
/// await_ready/await_suspend/await_resume or an operator co_await giving such an awaiter.
/// `A` is the type as it is awaited: `awaitable<task<int>&>` is about `co_await t` for an lvalue.
template <class A>
concept awaitable = requires(A&& a) {
    { detail::get_awaiter(std::forward<A>(a)) } -> awaiter;
};

/// What `co_await a` gives for an `A`.
template <awaitable A>
using await_result_t = decltype(detail::get_awaiter(std::declval<A>()).await_resume());

namespace detail {

/// Runs any other awaitable as a task, so combinators can treat every child alike.
template <class Aw> task<await_result_t<Aw>> await_as_task(Aw aw) {
    co_return co_await std::move(aw);
}

template <class A> inline constexpr bool is_future_like = false;
template <class T> inline constexpr bool is_future_like<task<T>> = true;
template <class T> inline constexpr bool is_future_like<task_handle<T>> = true;
template <class T> inline constexpr bool is_future_like<future<T>> = true;

} // namespace detail

/// asyncio.ensure_future for any other awaitable (a sleep, a gather, a queue operation, a type of
/// your own): moved into a task created on `loop`, as CPython wraps a coroutine. (Tasks, handles
/// and futures have their own overloads: a task<T> is spawned, a handle or future is returned.)
template <class A>
    requires(!detail::is_future_like<std::remove_cvref_t<A>>) && awaitable<A> &&
            std::move_constructible<std::remove_cvref_t<A>>
[[nodiscard]] task_handle<await_result_t<std::remove_cvref_t<A>>> ensure_future(A&& aw,
                                                                                event_loop& loop) {
    return loop.create_task(detail::await_as_task(std::remove_cvref_t<A>(std::forward<A>(aw))));
}

/// asyncio.create_task(b.wait()) for an awaitable that is not a task<T> (a barrier's or event's
/// wait, a lock's acquire, a sleep, a queue operation, a type of your own): it runs inside a task
/// made here, as CPython runs the coroutine those methods are. That wrapper is the frame the
/// awaitable itself does not allocate. Starts in the next iteration, like a task<T>.
template <class A>
    requires(!detail::is_future_like<std::remove_cvref_t<A>>) && awaitable<A> &&
            std::move_constructible<std::remove_cvref_t<A>>
task_handle<await_result_t<std::remove_cvref_t<A>>> create_task(A&& aw) {
    return get_running_loop().create_task(
        detail::await_as_task(std::remove_cvref_t<A>(std::forward<A>(aw))));
}
/// The same, named (an empty name gives the default "Task-<n>").
template <class A>
    requires(!detail::is_future_like<std::remove_cvref_t<A>>) && awaitable<A> &&
            std::move_constructible<std::remove_cvref_t<A>>
task_handle<await_result_t<std::remove_cvref_t<A>>> create_task(A&& aw, std::string name) {
    return get_running_loop().create_task(
        detail::await_as_task(std::remove_cvref_t<A>(std::forward<A>(aw))), std::move(name));
}

} // namespace asyncio
// ---- (back in asyncio/asyncio.hpp)

// ---- asyncio/datagram.hpp ------------------------------------------------------------------------
// Datagram endpoints (UDP, Unix datagram sockets): loop.create_datagram_endpoint with a protocol.


// ---- asyncio/datagram_protocol.hpp ---------------------------------------------------------------
// asyncio.DatagramProtocol: what a datagram endpoint calls (see <asyncio/datagram.hpp>).


// ---- asyncio/socket_address.hpp ------------------------------------------------------------------
// Socket addresses, getaddrinfo on the calling thread and its error category (socket.gaierror).


#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <string_view>

namespace asyncio {

namespace detail {

class gai_error_category final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "getaddrinfo"; }
    [[nodiscard]] std::string message(int code) const override { return ::gai_strerror(code); }
};

} // namespace detail

/// The error category of getaddrinfo's EAI_* codes, which are not errno values (Python's
/// socket.gaierror): `std::system_error(EAI_NONAME, asyncio::gai_category())`, whose message is
/// gai_strerror's.
[[nodiscard]] inline const std::error_category& gai_category() noexcept {
    static const detail::gai_error_category category;
    return category;
}

/// A socket address: IPv4 or IPv6 (host and port) or a Unix-domain path. Python passes tuples
/// `(host, port)`; here `socket_address("127.0.0.1", 8080)`.
class socket_address {
public:
    /// An empty address (family AF_UNSPEC).
    socket_address() noexcept = default;

    /// A numeric IPv4 or IPv6 host ("127.0.0.1", "::1") and a port. Throws std::overflow_error
    /// ("port must be 0-65535") for a port out of range (Python's OverflowError), and
    /// std::system_error(EAI_NONAME, gai_category()) for a host that is not a numeric address
    /// (resolve names with getaddrinfo).
    socket_address(std::string_view host, int port) {
        if (port < 0 || port > 65535) {
            throw std::overflow_error("port must be 0-65535");
        }
        const std::string h(host);
        auto* v4 = reinterpret_cast<sockaddr_in*>(&storage_);
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage_);
        if (::inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            v4->sin_port = htons(static_cast<std::uint16_t>(port));
            size_ = sizeof(sockaddr_in);
        } else if (::inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons(static_cast<std::uint16_t>(port));
            size_ = sizeof(sockaddr_in6);
        } else {
            storage_ = {};
            throw std::system_error(EAI_NONAME, gai_category(), h);
        }
    }

    /// A Unix-domain socket path. Throws std::invalid_argument when it does not fit sun_path.
    [[nodiscard]] static socket_address unix_path(std::string_view path) {
        socket_address a;
        auto* un = reinterpret_cast<sockaddr_un*>(&a.storage_);
        if (path.size() >= sizeof un->sun_path) {
            throw std::invalid_argument("AF_UNIX path too long");
        }
        un->sun_family = AF_UNIX;
        std::memcpy(un->sun_path, path.data(), path.size());
        a.size_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
        return a;
    }

    /// Copies a system address of `len` bytes.
    socket_address(const sockaddr* sa, socklen_t len) noexcept {
        if (len > static_cast<socklen_t>(sizeof storage_)) {
            len = sizeof storage_;
        }
        std::memcpy(&storage_, sa, static_cast<std::size_t>(len));
        size_ = len;
    }

    /// AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC when empty.
    [[nodiscard]] int family() const noexcept { return storage_.ss_family; }
    /// The numeric host ("127.0.0.1", "::1"), or the path of a Unix address.
    [[nodiscard]] std::string host() const {
        char buf[INET6_ADDRSTRLEN] = {};
        if (family() == AF_INET) {
            ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf,
                        sizeof buf);
            return buf;
        }
        if (family() == AF_INET6) {
            ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
                        sizeof buf);
            return buf;
        }
        if (family() == AF_UNIX) {
            const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
            const auto max = static_cast<std::size_t>(size_) - offsetof(sockaddr_un, sun_path);
            return {un->sun_path, ::strnlen(un->sun_path, max)};
        }
        return {};
    }
    /// The port (0 for a Unix address).
    [[nodiscard]] int port() const noexcept {
        if (family() == AF_INET) {
            return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
        }
        if (family() == AF_INET6) {
            return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
        }
        return 0;
    }
    /// "127.0.0.1:8080", "[::1]:8080", or the path.
    [[nodiscard]] std::string to_string() const {
        if (family() == AF_INET6) {
            return "[" + host() + "]:" + std::to_string(port());
        }
        if (family() == AF_INET) {
            return host() + ":" + std::to_string(port());
        }
        return host();
    }

    [[nodiscard]] const sockaddr* data() const noexcept {
        return reinterpret_cast<const sockaddr*>(&storage_);
    }
    [[nodiscard]] socklen_t size() const noexcept { return size_; }

    friend bool operator==(const socket_address& a, const socket_address& b) noexcept {
        return a.size_ == b.size_ &&
               std::memcmp(&a.storage_, &b.storage_, static_cast<std::size_t>(a.size_)) == 0;
    }

private:
    sockaddr_storage storage_{};
    socklen_t size_ = 0;
};

/// One result of getaddrinfo_blocking (Python's 5-tuple without the canonical name).
struct address_info {
    int family = 0;
    int type = 0;
    int protocol = 0;
    socket_address address;
};

/// socket.getaddrinfo, run on the calling thread (it may block on DNS: in a coroutine, resolve
/// names in an executor thread). `flags` are AI_* (AI_NUMERICHOST refuses names without any
/// lookup). Throws std::system_error with gai_category() (EAI_NONAME, ...) when it fails.
[[nodiscard]] inline std::vector<address_info>
getaddrinfo_blocking(const std::string& host, int port, int family = AF_UNSPEC, int type = 0,
                     int protocol = 0, int flags = 0) {
    if (port < 0 || port > 65535) {
        throw std::overflow_error("port must be 0-65535");
    }
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = type;
    hints.ai_protocol = protocol;
    hints.ai_flags = flags | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const std::string service = std::to_string(port);
    const int rc =
        ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0) {
        if (rc == EAI_SYSTEM) {
            throw std::system_error(errno, std::generic_category(), "getaddrinfo");
        }
        throw std::system_error(rc, gai_category(), host);
    }
    std::vector<address_info> out;
    try {
        for (const addrinfo* p = res; p != nullptr; p = p->ai_next) {
            out.push_back(address_info{p->ai_family, p->ai_socktype, p->ai_protocol,
                                       socket_address(p->ai_addr, p->ai_addrlen)});
        }
    } catch (...) {
        ::freeaddrinfo(res);
        throw;
    }
    ::freeaddrinfo(res);
    return out;
}

} // namespace asyncio
// ---- (back in asyncio/datagram_protocol.hpp)


namespace asyncio {

class datagram_transport;

/// asyncio.DatagramProtocol: derive from it and override what you need (every method does
/// nothing by default). The loop calls these from its thread: connection_made once, then
/// datagram_received for each datagram and error_received for each failed send or receive (an
/// ICMP "port unreachable" reported on a connected socket, for instance, as
/// errc::connection_refused), pause_writing/resume_writing as the write buffer crosses its marks,
/// and connection_lost once at the end. An exception thrown by one of them goes to the loop's
/// exception handler; the transport carries on.
class datagram_protocol {
public:
    virtual ~datagram_protocol() = default;

    /// The transport is ready; keep a copy of it to send.
    virtual void connection_made(datagram_transport& /*transport*/) {}
    /// One datagram (possibly empty) and its sender; the bytes are the override's to keep.
    // NOLINTNEXTLINE(performance-unnecessary-value-param): overrides take ownership
    virtual void datagram_received(std::string /*data*/, const socket_address& /*addr*/) {}
    /// A send or receive failed with an OS error; the transport stays open.
    virtual void error_received(const std::system_error& /*exc*/) {}
    /// The transport is closed: null after close() or abort(), else what ended it.
    // NOLINTNEXTLINE(performance-unnecessary-value-param): overrides may keep it
    virtual void connection_lost(std::exception_ptr /*exc*/) {}
    /// The write buffer went above its high-water mark (64 KiB by default).
    virtual void pause_writing() {}
    /// The write buffer came back to its low-water mark (16 KiB by default).
    virtual void resume_writing() {}

protected:
    datagram_protocol() = default;
    datagram_protocol(const datagram_protocol&) = default;
    datagram_protocol(datagram_protocol&&) = default;
    datagram_protocol& operator=(const datagram_protocol&) = default;
    datagram_protocol& operator=(datagram_protocol&&) = default;
};

} // namespace asyncio
// ---- (back in asyncio/datagram.hpp)

// ---- asyncio/socket.hpp --------------------------------------------------------------------------
// Sockets for the loop: an RAII non-blocking socket, name resolution in the executor, and the
// sock_* awaitables of asyncio's selector loop (sock_recv, sock_sendall, sock_connect, ...).


// ---- asyncio/threads.hpp -------------------------------------------------------------------------
// Threads: the executor concept, thread_pool, run_in_executor, to_thread, run_coroutine_threadsafe
// and shutdown_default_executor.



#if defined(__linux__)
#include <pthread.h>
#endif

#include <condition_variable>
#include <deque>
#include <unordered_map>
#include <unordered_set>

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
// ---- (back in asyncio/socket.hpp)


// ---- asyncio/detail/sock_awaiter.hpp -------------------------------------------------------------
// The sock_* awaiters (recv, recv_into, sendall, connect, sendto, recvfrom) and their shared base.




#include <span>

namespace asyncio::detail {

[[noreturn]] inline void throw_socket_error(int err, const std::string& what) {
    throw std::system_error(err, std::generic_category(), what);
}

/// Whether an errno means "not ready yet, wait for the selector".
[[nodiscard]] inline bool would_block(int err) noexcept {
    return err == EAGAIN || err == EWOULDBLOCK || err == EINTR || err == EINPROGRESS;
}

/// The shared machinery of the sock_* awaiters, each a plain awaiter living in the awaiting frame
/// (no allocation): it tries the operation at once (as CPython does, so a ready socket does not
/// suspend); otherwise it registers as the reader or writer of the descriptor, retries in each
/// iteration in which the descriptor is ready (the selector's callback runs in iteration N) and
/// wakes the task for N+1 once the operation is done, as CPython's future does. A cancel removes
/// the registration (nothing was transferred by a pending receive). `Op` provides
/// `bool attempt()` (true when finished, with `err_` set on failure) and `result()`.
template <class Op> class sock_awaiter : private io_watcher {
    friend Op;
    sock_awaiter(int fd, std::uint32_t dir) noexcept : fd_(fd), dir_(dir) {
        on_ready = &ready_fn;
        on_removed = &removed_fn;
    }
    sock_awaiter(const sock_awaiter& o) noexcept : sock_awaiter(o.fd_, o.dir_) {}

public:
    sock_awaiter& operator=(const sock_awaiter&) = delete;
    ~sock_awaiter() { unregister(); }

    [[nodiscard]] bool await_ready() {
        if (fd_ < 0) {
            err_ = EBADF;
            return true;
        }
        return self().attempt();
    }

    template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
        task_core* root = root_of(h);
        loop_core& core = root->loop().core();
        if (core.io_.find(fd_, dir_) != nullptr) {
            throw std::runtime_error(
                "file descriptor " + std::to_string(fd_) + " is already waited on for " +
                (dir_ == event_read ? "reading" : "writing") + " by another operation or callback");
        }
        core.io_.watch(*core.selector_, core.ready_, fd_, dir_, this);
        loop_ = &core;
        root_ = root;
        root->suspend(h, cancel_hook{&on_cancel, this});
    }

    /// For Op::await_resume: throws cancelled_error or the operation's error. A cancellation that
    /// arrives after the operation completed (its result already taken from the socket) is
    /// delivered at the task's next suspension, so that no byte is lost (CPython drops them).
    void finish() {
        if (root_ != nullptr) {
            if (err_ == 0 && done_) {
                root_->postpone_cancel_delivery();
            } else {
                root_->throw_if_cancel_delivered();
            }
        }
        if (err_ != 0) {
            throw_socket_error(err_, self().what());
        }
    }

protected:
    Op& self() noexcept { return static_cast<Op&>(*this); }

    int fd_;
    std::uint32_t dir_;
    int err_ = 0;
    bool done_ = false;

private:
    /// `lazy`: the operation completed or was cancelled while the loop runs, and the socket is
    /// likely waited on again soon: the kernel may keep its interest for a while.
    void unregister(bool lazy = false) noexcept {
        if (loop_ != nullptr) {
            loop_->io_.unwatch_if(*loop_->selector_, loop_->ready_, fd_, dir_, this, lazy);
            loop_ = nullptr;
        }
    }

    static void ready_fn(io_watcher* w, bool run) {
        auto* self = static_cast<sock_awaiter*>(w);
        if (!run || !self->self().attempt()) {
            return; // not ready after all: stay registered
        }
        self->unregister(true);
        self->root_->wake();
    }

    static void removed_fn(io_watcher* w, int err) noexcept {
        auto* self = static_cast<sock_awaiter*>(w);
        self->loop_ = nullptr; // already unregistered
        self->err_ = err;
        self->root_->wake();
    }

    static bool on_cancel(void* ctx, task_core& t) {
        auto* self = static_cast<sock_awaiter*>(ctx);
        self->unregister(true);
        t.deliver_cancel();
        t.wake();
        return true;
    }

    loop_core* loop_ = nullptr;
    task_core* root_ = nullptr;
};

class recv_awaiter final : public sock_awaiter<recv_awaiter> {
public:
    recv_awaiter(int fd, std::size_t n) : sock_awaiter(fd, event_read), n_(n) {}
    bool attempt() {
        buf_.resize(n_);
        const auto r = ::recv(fd_, buf_.data(), n_, 0);
        if (r >= 0) {
            buf_.resize(static_cast<std::size_t>(r));
            return done_ = true;
        }
        if (would_block(errno)) {
            return false;
        }
        err_ = errno;
        return true;
    }
    std::string await_resume() {
        finish();
        return std::move(buf_);
    }
    [[nodiscard]] static const char* what() noexcept { return "recv"; }

private:
    std::size_t n_;
    std::string buf_;
};

class recv_into_awaiter final : public sock_awaiter<recv_into_awaiter> {
public:
    recv_into_awaiter(int fd, std::span<std::byte> buf) noexcept
        : sock_awaiter(fd, event_read), buf_(buf) {}
    bool attempt() {
        const auto r = ::recv(fd_, buf_.data(), buf_.size(), 0);
        if (r >= 0) {
            n_ = static_cast<std::size_t>(r);
            return done_ = true;
        }
        if (would_block(errno)) {
            return false;
        }
        err_ = errno;
        return true;
    }
    std::size_t await_resume() {
        finish();
        return n_;
    }
    [[nodiscard]] static const char* what() noexcept { return "recv_into"; }

private:
    std::span<std::byte> buf_;
    std::size_t n_ = 0;
};

class sendall_awaiter final : public sock_awaiter<sendall_awaiter> {
public:
    sendall_awaiter(int fd, std::span<const std::byte> data) noexcept
        : sock_awaiter(fd, event_write), data_(data) {}
    bool attempt() {
        while (sent_ < data_.size()) {
            const auto r = ::send(fd_, data_.data() + sent_, data_.size() - sent_, MSG_NOSIGNAL);
            if (r < 0) {
                if (would_block(errno)) {
                    return false;
                }
                err_ = errno;
                return true;
            }
            sent_ += static_cast<std::size_t>(r);
        }
        return done_ = true;
    }
    void await_resume() { finish(); }
    [[nodiscard]] static const char* what() noexcept { return "send"; }

private:
    std::span<const std::byte> data_;
    std::size_t sent_ = 0;
};

class connect_awaiter final : public sock_awaiter<connect_awaiter> {
public:
    connect_awaiter(int fd, socket_address a) noexcept
        : sock_awaiter(fd, event_write), address_(a) {}
    bool attempt() {
        if (!started_) {
            started_ = true;
            if (::connect(fd_, address_.data(), address_.size()) == 0) {
                return done_ = true;
            }
            if (would_block(errno)) {
                return false;
            }
            err_ = errno;
            return true;
        }
        int e = 0;
        socklen_t len = sizeof e;
        if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &e, &len) != 0) {
            e = errno;
        }
        if (e == 0) {
            return done_ = true;
        }
        if (would_block(e)) {
            return false;
        }
        err_ = e;
        return true;
    }
    void await_resume() { finish(); }
    [[nodiscard]] std::string what() const { return "Connect call failed " + address_.to_string(); }

private:
    socket_address address_;
    bool started_ = false;
};

class sendto_awaiter final : public sock_awaiter<sendto_awaiter> {
public:
    sendto_awaiter(int fd, std::span<const std::byte> data, socket_address to) noexcept
        : sock_awaiter(fd, event_write), data_(data), to_(to) {}
    bool attempt() {
        const auto r =
            ::sendto(fd_, data_.data(), data_.size(), MSG_NOSIGNAL, to_.data(), to_.size());
        if (r >= 0) {
            n_ = static_cast<std::size_t>(r);
            return done_ = true;
        }
        if (would_block(errno)) {
            return false;
        }
        err_ = errno;
        return true;
    }
    std::size_t await_resume() {
        finish();
        return n_;
    }
    [[nodiscard]] std::string what() const { return "sendto " + to_.to_string(); }

private:
    std::span<const std::byte> data_;
    socket_address to_;
    std::size_t n_ = 0;
};

class recvfrom_awaiter final : public sock_awaiter<recvfrom_awaiter> {
public:
    recvfrom_awaiter(int fd, std::size_t n) : sock_awaiter(fd, event_read), n_(n) {}
    bool attempt() {
        buf_.resize(n_);
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        const auto r = ::recvfrom(fd_, buf_.data(), n_, 0, reinterpret_cast<sockaddr*>(&ss), &len);
        if (r >= 0) {
            buf_.resize(static_cast<std::size_t>(r));
            from_ = socket_address(reinterpret_cast<sockaddr*>(&ss), len);
            return done_ = true;
        }
        if (would_block(errno)) {
            return false;
        }
        err_ = errno;
        return true;
    }
    std::pair<std::string, socket_address> await_resume() {
        finish();
        return {std::move(buf_), from_};
    }
    [[nodiscard]] static const char* what() noexcept { return "recvfrom"; }

private:
    std::size_t n_;
    std::string buf_;
    socket_address from_;
};

[[nodiscard]] inline std::span<const std::byte> as_bytes(std::string_view s) noexcept {
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

} // namespace asyncio::detail
// ---- (back in asyncio/socket.hpp)



namespace asyncio {

class socket;

namespace detail {

/// The running loop forgets `fd` before it is closed: its pending socket operations fail with
/// EBADF and its add_reader/add_writer callbacks go.
inline void forget_fd(int fd) noexcept {
    if (event_loop* l = running_loop()) {
        loop_core& c = l->core();
        c.io_.forget(*c.selector_, c.ready_, fd, EBADF);
    }
}

} // namespace detail

/// A socket (Python's socket.socket): non-blocking and close-on-exec from birth, closed exactly
/// once by its destructor or close(). Move-only. Errors raise std::system_error with the errno
/// (compare with std::errc: connection_refused, connection_reset, broken_pipe, ...).
class socket {
public:
    /// No socket (fileno() == -1).
    socket() noexcept = default;
    /// socket.socket(family, type, proto): AF_INET/AF_INET6/AF_UNIX, SOCK_STREAM/SOCK_DGRAM.
    explicit socket(int family, int type = SOCK_STREAM, int protocol = 0)
        : fd_(::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol)) {
        if (fd_ < 0) {
            detail::throw_socket_error(errno, "socket");
        }
    }
    /// Takes ownership of an open descriptor and makes it non-blocking and close-on-exec.
    [[nodiscard]] static socket adopt(int fd) {
        if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) {
            detail::throw_socket_error(EBADF, "adopt");
        }
        socket s;
        s.fd_ = fd;
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        return s;
    }
    /// socket.socketpair(): two connected sockets (AF_UNIX by default).
    [[nodiscard]] static std::pair<socket, socket> pair(int family = AF_UNIX,
                                                        int type = SOCK_STREAM) {
        int fds[2];
        if (::socketpair(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
            detail::throw_socket_error(errno, "socketpair");
        }
        socket a;
        socket b;
        a.fd_ = fds[0];
        b.fd_ = fds[1];
        return {std::move(a), std::move(b)};
    }

    socket(socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    socket& operator=(socket&& o) noexcept {
        if (this != &o) {
            close();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    socket(const socket&) = delete;
    socket& operator=(const socket&) = delete;
    ~socket() { close(); }

    /// The descriptor, or -1 once closed.
    [[nodiscard]] int fileno() const noexcept { return fd_; }
    [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }

    /// Closes the descriptor (once; later calls do nothing). A socket operation of the running
    /// loop still waiting on it fails with std::system_error(EBADF) instead of hanging.
    void close() noexcept {
        if (fd_ >= 0) {
            const int fd = std::exchange(fd_, -1);
            detail::forget_fd(fd);
            ::close(fd);
        }
    }
    /// Gives up ownership: returns the descriptor, which the caller must close. The running loop
    /// forgets the descriptor first (an operation still waiting on it fails with EBADF), so that
    /// it may be closed or handed to other code at once.
    [[nodiscard]] int detach() noexcept {
        if (fd_ >= 0) {
            detail::forget_fd(fd_);
        }
        return std::exchange(fd_, -1);
    }

    void bind(const socket_address& a) {
        if (::bind(checked(), a.data(), a.size()) != 0) {
            detail::throw_socket_error(errno, "bind " + a.to_string());
        }
    }
    /// listen(backlog): CPython's default backlog for servers is 100.
    void listen(int backlog = 100) {
        if (::listen(checked(), backlog) != 0) {
            detail::throw_socket_error(errno, "listen");
        }
    }
    [[nodiscard]] socket_address getsockname() const {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (::getsockname(checked(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
            detail::throw_socket_error(errno, "getsockname");
        }
        return {reinterpret_cast<sockaddr*>(&ss), len};
    }
    /// Throws std::system_error(ENOTCONN) when not connected.
    [[nodiscard]] socket_address getpeername() const {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (::getpeername(checked(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
            detail::throw_socket_error(errno, "getpeername");
        }
        return {reinterpret_cast<sockaddr*>(&ss), len};
    }
    void setsockopt(int level, int option, int value) {
        if (::setsockopt(checked(), level, option, &value, sizeof value) != 0) {
            detail::throw_socket_error(errno, "setsockopt");
        }
    }
    [[nodiscard]] int getsockopt(int level, int option) const {
        int value = 0;
        socklen_t len = sizeof value;
        if (::getsockopt(checked(), level, option, &value, &len) != 0) {
            detail::throw_socket_error(errno, "getsockopt");
        }
        return value;
    }
    /// shutdown(SHUT_RD | SHUT_WR | SHUT_RDWR).
    void shutdown(int how) {
        if (::shutdown(checked(), how) != 0) {
            detail::throw_socket_error(errno, "shutdown");
        }
    }
    [[nodiscard]] int family() const { return getsockopt(SOL_SOCKET, SO_DOMAIN); }
    [[nodiscard]] int type() const { return getsockopt(SOL_SOCKET, SO_TYPE); }

    /// The descriptor, or std::system_error(EBADF) once closed.
    [[nodiscard]] int checked() const {
        if (fd_ < 0) {
            detail::throw_socket_error(EBADF, "socket is closed");
        }
        return fd_;
    }

private:
    int fd_ = -1;
};

namespace detail {

class accept_awaiter final : public sock_awaiter<accept_awaiter> {
public:
    explicit accept_awaiter(int fd) noexcept : sock_awaiter(fd, event_read) {}
    bool attempt() {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        const int c =
            ::accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c >= 0) {
            conn_ = socket::adopt(c);
            peer_ = socket_address(reinterpret_cast<sockaddr*>(&ss), len);
            return done_ = true;
        }
        // A connection reset before it was accepted is not this socket's error: wait for the
        // next one (as the kernel's ECONNABORTED tells).
        if (would_block(errno) || errno == ECONNABORTED) {
            return false;
        }
        err_ = errno;
        return true;
    }
    std::pair<socket, socket_address> await_resume() {
        finish();
        return {std::move(conn_), peer_};
    }
    [[nodiscard]] static const char* what() noexcept { return "accept"; }

private:
    socket conn_;
    socket_address peer_;
};

} // namespace detail

/// loop.sock_recv(sock, n): up to `n` bytes, at least one unless the peer closed (then ""). Does
/// not suspend when data is already there; otherwise resumes one iteration after the socket
/// became readable, as in CPython. Errors: std::system_error (errc::connection_reset, ...);
/// std::runtime_error when another operation already waits to read this socket (CPython would
/// silently strand the first). A cancel removes the registration: no byte is read.
[[nodiscard("co_await the receive")]] inline detail::recv_awaiter sock_recv(const socket& s,
                                                                            std::size_t n) {
    return {s.fileno(), n};
}

/// loop.sock_recv_into(sock, buf): receives into `buf`, returns the byte count (0: closed).
[[nodiscard("co_await the receive")]] inline detail::recv_into_awaiter
sock_recv_into(const socket& s, std::span<std::byte> buf) noexcept {
    return {s.fileno(), buf};
}

/// loop.sock_sendall(sock, data): sends every byte, waiting for the socket to be writable as
/// often as needed. `data` must stay alive until the await completes (a temporary in the same
/// expression does). Errors: std::system_error (errc::broken_pipe once the peer is gone; no
/// SIGPIPE is raised). After an error or a cancel, how much was sent is unknown (as in CPython).
[[nodiscard("co_await the send")]] inline detail::sendall_awaiter
sock_sendall(const socket& s, std::span<const std::byte> data) noexcept {
    return {s.fileno(), data};
}
/// The same for text.
[[nodiscard("co_await the send")]] inline detail::sendall_awaiter
sock_sendall(const socket& s, std::string_view data) noexcept {
    return {s.fileno(), detail::as_bytes(data)};
}

/// loop.sock_connect(sock, address) with a resolved address: resumes once connected (a
/// connection that completes at once, like a Unix socket's, does not suspend). Errors:
/// std::system_error whose what() is "Connect call failed <address>: <reason>" (errc::
/// connection_refused, ...).
[[nodiscard("co_await the connect")]] inline detail::connect_awaiter
sock_connect(const socket& s, socket_address address) noexcept {
    return {s.fileno(), address};
}

/// loop.sock_accept(sock): the next connection of a listening socket, as a non-blocking socket,
/// and the peer's address.
[[nodiscard("co_await the accept")]] inline detail::accept_awaiter
sock_accept(const socket& s) noexcept {
    return detail::accept_awaiter(s.fileno());
}

/// loop.sock_sendto(sock, data, address): one datagram; returns the bytes sent.
[[nodiscard("co_await the send")]] inline detail::sendto_awaiter
sock_sendto(const socket& s, std::span<const std::byte> data, socket_address to) noexcept {
    return {s.fileno(), data, to};
}
/// The same for text.
[[nodiscard("co_await the send")]] inline detail::sendto_awaiter
sock_sendto(const socket& s, std::string_view data, socket_address to) noexcept {
    return {s.fileno(), detail::as_bytes(data), to};
}

/// loop.sock_recvfrom(sock, bufsize): one datagram (truncated to `n` bytes) and its sender.
[[nodiscard("co_await the receive")]] inline detail::recvfrom_awaiter sock_recvfrom(const socket& s,
                                                                                    std::size_t n) {
    return {s.fileno(), n};
}

/// loop.getaddrinfo(host, port, family=, type=, proto=, flags=): a numeric host is converted at
/// once, as CPython's shortcut does; a name is resolved by getaddrinfo_blocking in the default
/// executor (a thread of the loop's pool), so DNS never blocks the loop. Errors as
/// getaddrinfo_blocking's (gai_category()).
[[nodiscard("co_await the resolution")]] inline task<std::vector<address_info>>
getaddrinfo(std::string host, int port, int family = AF_UNSPEC, int type = 0, int protocol = 0,
            int flags = 0) {
    in6_addr probe{};
    const bool numeric = host.empty() || ::inet_pton(AF_INET, host.c_str(), &probe) == 1 ||
                         ::inet_pton(AF_INET6, host.c_str(), &probe) == 1;
    if (numeric || (flags & AI_NUMERICHOST) != 0) {
        co_return getaddrinfo_blocking(host, port, family, type, protocol, flags);
    }
    co_return co_await to_thread([](const std::string& h, int p, int f, int t, int pr,
                                    int fl) { return getaddrinfo_blocking(h, p, f, t, pr, fl); },
                                 std::move(host), port, family, type, protocol, flags);
}

namespace detail {

// By value (the descriptor, family and type), so that the coroutine holds no reference.
inline task<> connect_by_name(int fd, int family, int type, std::string host, int port) {
    const std::vector<address_info> found =
        co_await getaddrinfo(std::move(host), port, family, type);
    if (found.empty()) {
        throw std::system_error(EAI_NONAME, gai_category());
    }
    co_await connect_awaiter(fd, found.front().address);
}

} // namespace detail

/// loop.sock_connect(sock, (host, port)): resolves `host` for the socket's family and type
/// (getaddrinfo above: in the default executor unless numeric), then connects to the first
/// address. Errors: getaddrinfo's, then sock_connect's.
[[nodiscard("co_await the connect")]] inline task<> sock_connect(const socket& s, std::string host,
                                                                 int port) {
    return detail::connect_by_name(s.checked(), s.family(), s.type(), std::move(host), port);
}

} // namespace asyncio
// ---- (back in asyncio/datagram.hpp)


// ---- asyncio/detail/datagram_state.hpp -----------------------------------------------------------
// The shared state of one datagram endpoint (CPython's _SelectorDatagramTransport).





namespace asyncio::detail {

/// CPython's _SelectorDatagramTransport: the socket, the protocol and the write buffer of one
/// endpoint, shared by every datagram_transport handle.
///
/// References: each handle, a registered reader or writer watcher and each queued callback hold
/// one. The protocol is held until connection_lost has been called (the protocol usually holds a
/// handle, so this breaks the cycle, as CPython's _call_connection_lost does by forgetting it).
/// When the loop closes with the endpoint still open, its registrations are taken away: the
/// socket is closed and the protocol dropped without a call (no code runs once the loop closes).
class datagram_state {
public:
    datagram_state(event_loop& loop, asyncio::socket sock, std::shared_ptr<datagram_protocol> p,
                   std::optional<socket_address> remote)
        : loop_(&loop), sock_(std::move(sock)), protocol_(std::move(p)), address_(remote) {
        rw_.self = this;
        rw_.on_ready = &read_ready;
        rw_.on_removed = &read_removed;
        ww_.self = this;
        ww_.on_ready = &write_ready;
        ww_.on_removed = &write_removed;
        try {
            local_ = sock_.getsockname();
        } catch (const std::system_error&) { // NOLINT(bugprone-empty-catch): CPython leaves None
        }
        try {
            peer_ = sock_.getpeername();
            connected_ = true;
        } catch (const std::system_error&) { // NOLINT(bugprone-empty-catch): not connected
        }
    }

    datagram_state(const datagram_state&) = delete;
    datagram_state& operator=(const datagram_state&) = delete;
    datagram_state(datagram_state&&) = delete;
    datagram_state& operator=(datagram_state&&) = delete;
    ~datagram_state() {
        remove_reader();
        remove_writer();
        sock_.close();
    }

    void add_ref() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0) {
            delete this;
        }
    }
    void add_handle() noexcept {
        ++handles_;
        ++refs_;
    }
    /// The last handle going while the endpoint is open closes it (CPython's transport __del__
    /// closes the socket of an unclosed transport).
    void drop_handle() noexcept {
        if (--handles_ == 0 && !closing_) {
            abort_now();
        }
        release();
    }

    /// The three callbacks CPython's transport __init__ queues, in one: connection_made, then
    /// the reader registered, then `waiter` completed (unless cancelled meanwhile).
    void start(future<void> waiter) {
        (void)loop_->call_soon(
            [s = ref_ptr<datagram_state>(this), w = std::move(waiter)]() mutable {
                s->connection_made();
                if (!s->closing_) {
                    s->add_reader();
                }
                if (!w.done()) {
                    w.set_result();
                }
            });
    }

    /// DatagramTransport.sendto.
    void sendto(std::span<const std::byte> data, const std::optional<socket_address>& addr) {
        if (address_) {
            if (addr && *addr != *address_) {
                throw std::invalid_argument("Invalid address: must be None or " +
                                            address_->to_string());
            }
        } else if (!addr && !connected_) {
            throw std::invalid_argument("sendto() needs an address: the transport is not "
                                        "connected (no remote_addr)");
        }
        const socket_address& to = address_ ? *address_ : addr ? *addr : peer_;
        if (conn_lost_ != 0) {
            ++conn_lost_; // dropped, as CPython drops sends once the connection is lost
            return;
        }
        if (buffer_.empty()) {
            const int err = send_one(data, to);
            if (err == 0) {
                return;
            }
            if (!would_block(err)) {
                report_error(err, "sendto");
                return;
            }
            add_writer();
        }
        buffer_.emplace_back(std::string(reinterpret_cast<const char*>(data.data()), data.size()),
                             to);
        buffer_size_ += data.size() + header_size;
        maybe_pause_protocol();
    }

    /// BaseTransport.close: no more datagrams are received; connection_lost(null) follows in a
    /// later iteration, once what is buffered has been sent.
    void close() {
        if (closing_) {
            return;
        }
        closing_ = true;
        remove_reader();
        if (buffer_.empty()) {
            ++conn_lost_;
            remove_writer();
            schedule_connection_lost(nullptr);
        }
    }

    /// Transport.abort: the buffer is dropped; connection_lost(null) follows.
    void abort() { force_close(nullptr); }

    void set_write_buffer_limits(std::size_t high, std::size_t low) {
        if (low > high) {
            throw std::invalid_argument("high (" + std::to_string(high) + ") must be >= low (" +
                                        std::to_string(low) + ") must be >= 0");
        }
        high_ = high;
        low_ = low;
        maybe_pause_protocol();
    }

    event_loop* loop_;
    asyncio::socket sock_;
    std::shared_ptr<datagram_protocol> protocol_;
    std::optional<socket_address> address_;
    socket_address local_;
    socket_address peer_;
    bool connected_ = false;
    bool closing_ = false;
    std::size_t buffer_size_ = 0;
    std::size_t high_ = std::size_t{64} * 1024;
    std::size_t low_ = std::size_t{16} * 1024;

private:
    /// What CPython adds to the buffer's size for each datagram besides its bytes.
    static constexpr std::size_t header_size = 8;
    /// The largest datagram received whole (CPython's max_size).
    static constexpr std::size_t recv_size = std::size_t{256} * 1024;

    struct watch final : io_watcher {
        datagram_state* self = nullptr;
    };

    /// One send: 0, or the errno.
    int send_one(std::span<const std::byte> data, const socket_address& to) const noexcept {
        const auto r = connected_ ? ::send(sock_.fileno(), data.data(), data.size(), MSG_NOSIGNAL)
                                  : ::sendto(sock_.fileno(), data.data(), data.size(), MSG_NOSIGNAL,
                                             to.data(), to.size());
        return r < 0 ? errno : 0;
    }

    /// Runs one protocol method; what it throws goes to the loop's exception handler.
    template <class F> void call_protocol(F&& f) noexcept {
        if (!protocol_) {
            return;
        }
        std::shared_ptr<datagram_protocol> p = protocol_; // it may close the transport
        try {
            std::forward<F>(f)(*p);
        } catch (...) {
            loop_->call_exception_handler(
                {"Exception in a datagram protocol callback", std::current_exception(), {}});
        }
    }

    void connection_made();

    void report_error(int err, const char* what) noexcept {
        const std::system_error e(err, std::generic_category(), what);
        call_protocol([&](datagram_protocol& p) { p.error_received(e); });
    }

    void add_reader() {
        if (!reading_ && sock_.is_open()) {
            loop_core& c = loop_->core();
            c.io_.watch(*c.selector_, c.ready_, sock_.fileno(), event_read, &rw_);
            reading_ = true;
            ++refs_;
        }
    }
    void remove_reader() noexcept {
        if (reading_) {
            reading_ = false;
            loop_core& c = loop_->core();
            c.io_.unwatch_if(*c.selector_, c.ready_, sock_.fileno(), event_read, &rw_);
            --refs_; // never the last: the caller holds another
        }
    }
    void add_writer() {
        if (!writing_) {
            loop_core& c = loop_->core();
            c.io_.watch(*c.selector_, c.ready_, sock_.fileno(), event_write, &ww_);
            writing_ = true;
            ++refs_;
        }
    }
    void remove_writer() noexcept {
        if (writing_) {
            writing_ = false;
            loop_core& c = loop_->core();
            c.io_.unwatch_if(*c.selector_, c.ready_, sock_.fileno(), event_write, &ww_, true);
            --refs_;
        }
    }

    void maybe_pause_protocol() noexcept {
        if (buffer_size_ > high_ && !protocol_paused_) {
            protocol_paused_ = true;
            call_protocol([](datagram_protocol& p) { p.pause_writing(); });
        }
    }
    void maybe_resume_protocol() noexcept {
        if (protocol_paused_ && buffer_size_ <= low_) {
            protocol_paused_ = false;
            call_protocol([](datagram_protocol& p) { p.resume_writing(); });
        }
    }

    /// Transport._force_close.
    void force_close(std::exception_ptr exc) noexcept {
        if (conn_lost_ != 0) {
            return;
        }
        buffer_.clear();
        buffer_size_ = 0;
        remove_writer();
        if (!closing_) {
            closing_ = true;
            remove_reader();
        }
        ++conn_lost_;
        schedule_connection_lost(std::move(exc));
    }

    void schedule_connection_lost(std::exception_ptr exc) noexcept {
        if (running_loop() != loop_ || loop_->core().closing_) {
            call_connection_lost(exc);
            return;
        }
        try {
            (void)loop_->call_soon([s = ref_ptr<datagram_state>(this), e = std::move(exc)]() {
                s->call_connection_lost(e);
            });
        } catch (...) {
            call_connection_lost(nullptr);
        }
    }

    /// Transport._call_connection_lost: the protocol learns, then the socket closes and the
    /// protocol is forgotten.
    void call_connection_lost(const std::exception_ptr& exc) noexcept {
        if (lost_called_) {
            return;
        }
        lost_called_ = true;
        ref_ptr<datagram_state> keep(this);
        call_protocol([&](datagram_protocol& p) { p.connection_lost(exc); });
        sock_.close();
        protocol_.reset();
    }

    /// Closes at once, with no protocol call (the last handle went, or the loop is closing).
    void abort_now() noexcept {
        ref_ptr<datagram_state> keep(this);
        closing_ = true;
        ++conn_lost_;
        lost_called_ = true;
        buffer_.clear();
        buffer_size_ = 0;
        remove_reader();
        remove_writer();
        sock_.close();
        protocol_.reset();
    }

    static void read_ready(io_watcher* w, bool run) {
        datagram_state* s = static_cast<watch*>(w)->self;
        if (!run || s->conn_lost_ != 0) {
            return;
        }
        ref_ptr<datagram_state> keep(s);
        char* scratch = s->loop_->core().recv_scratch(recv_size);
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        const auto r = ::recvfrom(s->sock_.fileno(), scratch, recv_size, 0,
                                  reinterpret_cast<sockaddr*>(&from), &len);
        if (r < 0) {
            if (!would_block(errno)) {
                s->report_error(errno, "recvfrom");
            }
            return;
        }
        std::string data(scratch, static_cast<std::size_t>(r));
        const socket_address addr(reinterpret_cast<const sockaddr*>(&from), len);
        s->call_protocol([&](datagram_protocol& p) { p.datagram_received(std::move(data), addr); });
    }

    static void read_removed(io_watcher* w, int) noexcept {
        datagram_state* s = static_cast<watch*>(w)->self;
        if (s->reading_) { // the loop closes, or the socket was closed behind our back
            s->reading_ = false;
            ref_ptr<datagram_state> keep(s);
            --s->refs_;
            s->abort_now();
        }
    }

    static void write_ready(io_watcher* w, bool run) {
        datagram_state* s = static_cast<watch*>(w)->self;
        if (!run) {
            return;
        }
        ref_ptr<datagram_state> keep(s);
        while (!s->buffer_.empty()) {
            auto& [data, to] = s->buffer_.front();
            const int err = s->send_one(std::as_bytes(std::span(data)), to);
            if (would_block(err)) {
                break; // try again when writable
            }
            s->buffer_size_ -= data.size() + header_size;
            s->buffer_.pop_front();
            if (err != 0) {
                s->report_error(err, "sendto");
                return;
            }
        }
        s->maybe_resume_protocol();
        if (s->buffer_.empty()) {
            s->remove_writer();
            if (s->closing_) {
                s->call_connection_lost(nullptr);
            }
        }
    }

    static void write_removed(io_watcher* w, int) noexcept {
        datagram_state* s = static_cast<watch*>(w)->self;
        if (s->writing_) {
            s->writing_ = false;
            ref_ptr<datagram_state> keep(s);
            --s->refs_;
            s->abort_now();
        }
    }

    std::deque<std::pair<std::string, socket_address>> buffer_;
    watch rw_;
    watch ww_;
    int refs_ = 0;
    int handles_ = 0;
    int conn_lost_ = 0;
    bool reading_ = false;
    bool writing_ = false;
    bool protocol_paused_ = false;
    bool lost_called_ = false;
};

} // namespace asyncio::detail
// ---- (back in asyncio/datagram.hpp)


#include <any>

namespace asyncio {

/// asyncio.DatagramTransport: a handle to one datagram endpoint (copies share it). The endpoint
/// closes when close() or abort() is called, or when the last handle goes (the socket is then
/// closed at once, without connection_lost). Methods are called on the loop's thread; an empty
/// (default-constructed or moved-from) handle throws std::runtime_error.
class datagram_transport {
public:
    datagram_transport() noexcept = default;
    datagram_transport(const datagram_transport& o) noexcept : s_(o.s_) {
        if (s_ != nullptr) {
            s_->add_handle();
        }
    }
    datagram_transport(datagram_transport&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    datagram_transport& operator=(datagram_transport o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    ~datagram_transport() {
        if (s_ != nullptr) {
            s_->drop_handle();
        }
    }

    /// DatagramTransport.sendto(data, addr): sends one datagram at once when nothing is
    /// buffered, else buffers a copy (sent when the socket is writable). `addr` may be omitted on
    /// a connected endpoint (remote_addr), and must then be that address (std::invalid_argument
    /// otherwise); it is required on an unconnected one. An OS error goes to the protocol's
    /// error_received. After close() or abort(), datagrams are dropped.
    void sendto(std::span<const std::byte> data, std::optional<socket_address> addr = {}) {
        s().sendto(data, addr);
    }
    /// sendto with text bytes.
    void sendto(std::string_view data, std::optional<socket_address> addr = {}) {
        s().sendto(std::as_bytes(std::span(data)), addr);
    }

    /// BaseTransport.close: stops receiving; connection_lost(null) follows once the buffer is
    /// sent. Idempotent.
    void close() { s().close(); }
    /// Transport.abort: drops the buffer; connection_lost(null) follows.
    void abort() { s().abort(); }
    /// BaseTransport.is_closing.
    [[nodiscard]] bool is_closing() const { return s().closing_; }

    /// get_extra_info: "peername" and "sockname" give a socket_address (empty when not
    /// connected), "socket" an `asyncio::socket*` (owned by the transport); else `fallback`.
    [[nodiscard]] std::any get_extra_info(std::string_view name, std::any fallback = {}) const {
        if (name == "peername") {
            return s().connected_ ? std::any(s().peer_) : std::move(fallback);
        }
        if (name == "sockname") {
            return s().local_;
        }
        if (name == "socket") {
            return &s().sock_;
        }
        return fallback;
    }
    /// get_extra_info("sockname"), typed.
    [[nodiscard]] const socket_address& sockname() const { return s().local_; }
    /// get_extra_info("peername"), typed: the remote address, or an empty one.
    [[nodiscard]] const socket_address& peername() const { return s().peer_; }

    /// Transport.get_write_buffer_size: buffered bytes plus 8 per buffered datagram.
    [[nodiscard]] std::size_t get_write_buffer_size() const { return s().buffer_size_; }
    /// Transport.get_write_buffer_limits: (low, high).
    [[nodiscard]] std::pair<std::size_t, std::size_t> get_write_buffer_limits() const {
        return {s().low_, s().high_};
    }
    /// Transport.set_write_buffer_limits(high, low): low defaults to high / 4.
    void set_write_buffer_limits(std::size_t high, std::optional<std::size_t> low = {}) {
        s().set_write_buffer_limits(high, low.value_or(high / 4));
    }
    /// BaseTransport.get_protocol (null once connection_lost has run).
    [[nodiscard]] std::shared_ptr<datagram_protocol> get_protocol() const { return s().protocol_; }

private:
    friend class detail::datagram_state;
    friend struct datagram_access;
    explicit datagram_transport(detail::datagram_state* s) noexcept : s_(s) { s_->add_handle(); }

    [[nodiscard]] detail::datagram_state& s() const {
        if (s_ == nullptr) {
            throw std::runtime_error(
                "empty datagram_transport (default-constructed or moved-from)");
        }
        return *s_;
    }

    detail::datagram_state* s_ = nullptr;
};

inline void detail::datagram_state::connection_made() {
    datagram_transport t(this);
    call_protocol([&](datagram_protocol& p) { p.connection_made(t); });
}

/// Internal: builds an endpoint.
struct datagram_access {
    static datagram_transport make(detail::datagram_state* s) noexcept {
        return datagram_transport(s);
    }
};

/// A host and port, as Python's `(host, port)` tuples; the host may be a name (resolved by
/// getaddrinfo on the default executor) or numeric.
struct host_port {
    // A constructor rather than an aggregate: g++ 12 copies a braced aggregate holding a
    // std::string bitwise when it is an argument in a co_await expression (a bad free later).
    host_port(std::string h, int p) : host(std::move(h)), port(p) {}
    std::string host;
    int port = 0;
};

/// The keyword-only arguments of loop.create_datagram_endpoint (scalars only: g++ 12 mishandles
/// braced aggregates holding strings in co_await expressions, so the addresses are parameters).
struct datagram_options {
    /// AF_INET, AF_INET6, or 0 (any, or as the addresses resolve).
    int family = 0;
    int proto = 0;
    /// getaddrinfo flags.
    int flags = 0;
    /// SO_REUSEPORT.
    bool reuse_port = false;
    /// SO_BROADCAST (and remote_addr is not connected to).
    bool allow_broadcast = false;
};

namespace detail {

template <class F> using datagram_protocol_of = typename std::invoke_result_t<F&>::element_type;

template <class F>
concept datagram_protocol_factory = requires(F& f) {
    { f() } -> std::convertible_to<std::shared_ptr<datagram_protocol>>;
    typename datagram_protocol_of<F>;
};

template <class P>
task<std::pair<datagram_transport, std::shared_ptr<P>>>
finish_datagram_endpoint(asyncio::socket sock, std::shared_ptr<P> protocol,
                         std::optional<socket_address> remote) {
    event_loop& loop = get_running_loop();
    ref_ptr<datagram_state> s(new datagram_state(loop, std::move(sock), protocol, remote));
    datagram_transport t = datagram_access::make(s.get());
    future<void> waiter = loop.create_future<void>();
    s->start(waiter);
    try {
        co_await waiter;
    } catch (...) {
        t.close();
        throw;
    }
    co_return std::pair<datagram_transport, std::shared_ptr<P>>(std::move(t), std::move(protocol));
}

} // namespace detail

namespace detail {

template <class F>
task<std::pair<datagram_transport, std::shared_ptr<datagram_protocol_of<F>>>>
create_datagram_endpoint_impl(F factory, std::optional<host_port> local_addr,
                              std::optional<host_port> remote_addr, datagram_options options) {
    if (!local_addr && !remote_addr && options.family == 0) {
        throw std::invalid_argument("unexpected address family");
    }
    // (family, proto) -> (local, remote), in the order getaddrinfo gives them.
    struct pair_info {
        int family;
        int proto;
        std::optional<socket_address> local;
        std::optional<socket_address> remote;
    };
    std::vector<pair_info> pairs;
    if (!local_addr && !remote_addr) {
        pairs.push_back({options.family, options.proto, {}, {}});
    }
    for (int idx = 0; idx < 2; ++idx) {
        const std::optional<host_port>& a = idx == 0 ? local_addr : remote_addr;
        if (!a) {
            continue;
        }
        const std::vector<address_info> infos = co_await getaddrinfo(
            a->host, a->port, options.family, SOCK_DGRAM, options.proto, options.flags);
        if (infos.empty()) {
            throw std::system_error(EAI_NONAME, gai_category(),
                                    "getaddrinfo() returned empty list");
        }
        for (const address_info& ai : infos) {
            auto it = std::find_if(pairs.begin(), pairs.end(), [&](const pair_info& p) {
                return p.family == ai.family && p.proto == ai.protocol;
            });
            if (it == pairs.end()) {
                pairs.push_back({ai.family, ai.protocol, {}, {}});
                it = pairs.end() - 1;
            }
            (idx == 0 ? it->local : it->remote) = ai.address;
        }
    }
    std::erase_if(pairs, [&](const pair_info& p) {
        return (local_addr && !p.local) || (remote_addr && !p.remote);
    });
    if (pairs.empty()) {
        throw std::invalid_argument("can not get address information");
    }
    std::vector<std::system_error> errors;
    for (const pair_info& p : pairs) {
        std::optional<asyncio::socket> sock;
        try {
            sock.emplace(p.family, SOCK_DGRAM, p.proto);
            if (options.reuse_port) {
                sock->setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
            }
            if (options.allow_broadcast) {
                sock->setsockopt(SOL_SOCKET, SO_BROADCAST, 1);
            }
            if (p.local) {
                sock->bind(*p.local);
            }
            if (p.remote && !options.allow_broadcast) {
                co_await sock_connect(*sock, *p.remote);
            }
        } catch (const std::system_error& e) {
            errors.push_back(e);
            continue;
        }
        co_return co_await detail::finish_datagram_endpoint(std::move(*sock), factory(), p.remote);
    }
    throw errors.front();
}

} // namespace detail

/// loop.create_datagram_endpoint(protocol_factory, local_addr, remote_addr, *, family, proto,
/// flags, reuse_port, allow_broadcast): a UDP endpoint bound to `local_addr` (port 0 picks a free
/// port) and/or connected to `remote_addr` (with allow_broadcast, only its default destination),
/// its protocol made by `factory` (a
/// callable returning `std::shared_ptr<P>`, P derived from datagram_protocol). Returns the
/// transport and the protocol once connection_made has run. Errors: std::invalid_argument
/// ("unexpected address family" without any address and family; "can not get address
/// information" when the two addresses share no family), std::overflow_error for a port out of
/// 0-65535, getaddrinfo's std::system_error (gai_category()), and the first OS error of
/// bind/connect (std::system_error) when every resolved address fails. For Unix datagram
/// sockets, pass a socket you bound yourself.
template <detail::datagram_protocol_factory F>
[[nodiscard("co_await the endpoint")]] task<
    std::pair<datagram_transport, std::shared_ptr<detail::datagram_protocol_of<F>>>>
create_datagram_endpoint(F factory, std::optional<host_port> local_addr = std::nullopt,
                         std::optional<host_port> remote_addr = std::nullopt,
                         datagram_options options = {}) {
    return detail::create_datagram_endpoint_impl(std::move(factory), std::move(local_addr),
                                                 std::move(remote_addr), options);
}

/// loop.create_datagram_endpoint(protocol_factory, sock=sock): an endpoint over a datagram
/// socket made by the caller (bound and/or connected, any family, Unix included), which the
/// transport now owns. Throws std::invalid_argument for a stream socket.
template <detail::datagram_protocol_factory F>
[[nodiscard("co_await the endpoint")]] task<
    std::pair<datagram_transport, std::shared_ptr<detail::datagram_protocol_of<F>>>>
create_datagram_endpoint(F factory, asyncio::socket sock) {
    if (sock.type() == SOCK_STREAM) {
        throw std::invalid_argument("A datagram socket was expected, got a stream socket (fd=" +
                                    std::to_string(sock.fileno()) + ")");
    }
    std::optional<socket_address> remote;
    co_return co_await detail::finish_datagram_endpoint(std::move(sock), factory(), remote);
}

} // namespace asyncio
// ---- (back in asyncio/asyncio.hpp)

// ---- asyncio/gather.hpp --------------------------------------------------------------------------
// gather (asyncio.gather): run awaitables concurrently and collect their results in order.



// ---- asyncio/detail/gather_core.hpp --------------------------------------------------------------
// The untyped part of gather: one slot per child on its done list, counting, cancel fan-out.




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
// ---- (back in asyncio/gather.hpp)

#include <iterator>
#include <ranges>
#include <tuple>

namespace asyncio {

/// Tag selecting asyncio's `return_exceptions=True`: `gather(asyncio::return_exceptions, ...)`.
struct return_exceptions_t {
    explicit constexpr return_exceptions_t() = default;
};
inline constexpr return_exceptions_t return_exceptions{};

/// One child's outcome under `return_exceptions`: its value or its exception (a cancelled child
/// holds a cancelled_error).
template <class T> class outcome {
public:
    explicit outcome(std::exception_ptr e) noexcept : e_(std::move(e)) {}
    template <class... Args> explicit outcome(std::in_place_t, Args&&... args) {
        v_.emplace(std::forward<Args>(args)...);
    }

    [[nodiscard]] bool has_value() const noexcept { return !e_; }
    explicit operator bool() const noexcept { return has_value(); }
    /// The value; rethrows the exception when the child failed.
    T& value() {
        if (e_) {
            std::rethrow_exception(e_);
        }
        return v_.get();
    }
    /// The exception, or null when the child succeeded.
    [[nodiscard]] std::exception_ptr exception() const noexcept { return e_; }

private:
    detail::value_slot<T> v_;
    std::exception_ptr e_;
};

namespace detail {

/// How gather holds one argument: the state it watches and whether it owns the result (a lazy
/// task or a wrapped awaitable: the result is moved out; a user's handle or future: copied).
template <class A> struct gather_child {
    using value_type = await_result_t<A>;
    using state_type = task_state<value_type>;
    static constexpr bool owned = true;
    static ref_ptr<state_type> make(A&& a, event_loop& loop) {
        task<value_type> t = await_as_task(std::move(a));
        return state_access::spawn(loop, t, {}, loop.core().eager_tasks);
    }
};
template <class T> struct gather_child<task<T>> {
    using value_type = T;
    using state_type = task_state<T>;
    static constexpr bool owned = true;
    static ref_ptr<state_type> make(task<T>&& t, event_loop& loop) {
        return state_access::spawn(loop, t, {}, loop.core().eager_tasks);
    }
};
/// A handle or future given to gather must be set and belong to the gather's loop (CPython raises
/// ValueError for a future of another loop, even a finished one).
template <class State> ref_ptr<State> checked_child(ref_ptr<State> s, const event_loop& loop) {
    if (!s) {
        throw invalid_state_error(
            "gather: an empty task_handle or future (default-constructed or moved-from)");
    }
    if (!s->belongs_to(loop)) {
        throw std::invalid_argument(
            "The future belongs to a different loop than the one specified as the loop argument");
    }
    return s;
}
template <class T> struct gather_child<task_handle<T>> {
    using value_type = T;
    using state_type = task_state<T>;
    static constexpr bool owned = false;
    static ref_ptr<state_type> make(const task_handle<T>& h, event_loop& loop) {
        return checked_child(state_access::get(h), loop);
    }
};
template <class T> struct gather_child<future<T>> {
    using value_type = T;
    using state_type = future_state<T>;
    static constexpr bool owned = false;
    static ref_ptr<state_type> make(const future<T>& f, event_loop& loop) {
        return checked_child(state_access::get(f), loop);
    }
};

/// One child's contribution to the result: its value (none for void) or, with
/// return_exceptions, an outcome.
template <class Child, bool ReturnExceptions>
decltype(auto) extract(typename Child::state_type& s) {
    using T = typename Child::value_type;
    using R = result_or_none_t<T>;
    auto value = [&]() -> R {
        if constexpr (std::is_void_v<T>) {
            s.check_result();
            return none{};
        } else {
            return take_result<Child::owned>(s, s.slot());
        }
    };
    if constexpr (ReturnExceptions) {
        if (s.cancelled()) {
            // CPython rebuilds the error from the child's stored message, which a finished task
            // no longer has (a future keeps it).
            return outcome<R>(std::make_exception_ptr(
                cancelled_error(s.is_task() ? std::string() : s.cancel_message())));
        }
        if (s.status() == future_status::exception) {
            return outcome<R>(s.exception());
        }
        return outcome<R>(std::in_place, value());
    } else {
        return value();
    }
}

/// What `co_await g` uses for a gather `g`, lvalue or rvalue: a pointer to it. (g++ 12 copies an
/// xvalue operand that is its own awaiter, GCC bug 99575, and a gather cannot be copied; going
/// through operator co_await makes `co_await std::move(g)` compile everywhere.)
template <class G> struct gather_awaiter {
    G* g;
    [[nodiscard]] bool await_ready() const noexcept { return g->await_ready(); }
    template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) noexcept {
        g->await_suspend(h);
    }
    decltype(auto) await_resume() { return g->await_resume(); }
};

template <bool ReturnExceptions, class... Children>
class gather_awaitable final : public gather_core {
public:
    template <class... Args>
    explicit gather_awaitable(event_loop& loop, Args&&... args) : gather_core(ReturnExceptions) {
        spawn(loop, std::index_sequence_for<Children...>{}, std::forward<Args>(args)...);
        attach(slots_.data(), sizeof...(Children), loop);
    }

    gather_awaitable(const gather_awaitable&) = delete;
    gather_awaitable& operator=(const gather_awaitable&) = delete;
    // Unlink from the children before the slots drop the references.
    ~gather_awaitable() { detach(); }

    auto operator co_await() & noexcept { return gather_awaiter<gather_awaitable>{this}; }
    auto operator co_await() && noexcept { return gather_awaiter<gather_awaitable>{this}; }

    auto await_resume() {
        rethrow_if_failed();
        take_results_once();
        return collect(std::index_sequence_for<Children...>{});
    }

private:
    template <std::size_t... I, class... Args>
    void spawn(event_loop& loop, std::index_sequence<I...>, Args&&... args) {
        // A comma fold runs left to right: the children become tasks in argument order.
        ((slots_[I].child = Children::make(std::forward<Args>(args), loop)), ...);
    }

    template <std::size_t... I> auto collect(std::index_sequence<I...>) {
        return std::tuple<decltype(extract<Children, ReturnExceptions>(
            std::declval<typename Children::state_type&>()))...>{
            extract<Children, ReturnExceptions>(
                static_cast<typename Children::state_type&>(*slots_[I].child))...};
    }

    std::array<slot, sizeof...(Children)> slots_{};
};

template <bool ReturnExceptions, class Child>
class gather_range_awaitable final : public gather_core {
    using state_type = typename Child::state_type;

public:
    template <class Range>
        requires(!std::is_same_v<std::remove_cvref_t<Range>, gather_range_awaitable>)
    explicit gather_range_awaitable(Range&& r) : gather_core(ReturnExceptions) {
        event_loop& loop = get_running_loop();
        try {
            if constexpr (std::ranges::sized_range<Range>) {
                // One pass: each child is spawned and attached into its slot in turn.
                const auto n = static_cast<std::size_t>(std::ranges::size(r));
                storage_.reserve(n);
                begin_attach(storage_.data(), n, loop);
                for (auto&& a : r) {
                    storage_.emplace_back().child = make(a, loop);
                    attach_next();
                }
            } else {
                std::vector<ref_ptr<state_type>> children;
                for (auto&& a : r) {
                    children.push_back(make(a, loop));
                }
                storage_.reserve(children.size());
                begin_attach(storage_.data(), children.size(), loop);
                for (ref_ptr<state_type>& c : children) {
                    storage_.emplace_back().child = std::move(c);
                    attach_next();
                }
            }
        } catch (...) {
            detach(); // the children spawned so far run on, unwatched (as in CPython)
            throw;
        }
        end_attach();
    }
    gather_range_awaitable(const gather_range_awaitable&) = delete;
    gather_range_awaitable& operator=(const gather_range_awaitable&) = delete;
    ~gather_range_awaitable() { detach(); }

    auto operator co_await() & noexcept { return gather_awaiter<gather_range_awaitable>{this}; }
    auto operator co_await() && noexcept { return gather_awaiter<gather_range_awaitable>{this}; }

    auto await_resume() {
        rethrow_if_failed();
        take_results_once();
        using E = decltype(extract<Child, ReturnExceptions>(std::declval<state_type&>()));
        std::vector<E> out;
        out.reserve(child_count());
        for (std::size_t i = 0; i < child_count(); ++i) {
            out.push_back(
                extract<Child, ReturnExceptions>(static_cast<state_type&>(*storage_[i].child)));
            release_child(i);
        }
        return out;
    }

private:
    // `a` is an element of the range: a lazy task is moved from, a handle or future shared.
    template <class A> static ref_ptr<state_type> make(A& a, event_loop& loop) {
        if constexpr (Child::owned) {
            return Child::make(std::move(a), loop);
        } else {
            return Child::make(a, loop);
        }
    }

    /// Slots are linked into their children's done lists, so they never move: room for all of
    /// them up front, each built in place when its child is known (no zeroing pass first).
    class slot_array {
    public:
        slot_array() noexcept = default;
        slot_array(const slot_array&) = delete;
        slot_array& operator=(const slot_array&) = delete;
        ~slot_array() {
            for (std::size_t i = 0; i < size_; ++i) {
                slots_[i].~slot();
            }
            std::allocator<slot>().deallocate(slots_, capacity_);
        }
        void reserve(std::size_t n) {
            slots_ = std::allocator<slot>().allocate(n);
            capacity_ = n;
        }
        slot& emplace_back() {
            ASYNCIO_ASSERT(size_ < capacity_);
            return *::new (static_cast<void*>(slots_ + size_++)) slot();
        }
        slot* data() noexcept { return slots_; }
        slot& operator[](std::size_t i) noexcept { return slots_[i]; }

    private:
        slot* slots_ = nullptr;
        std::size_t capacity_ = 0;
        std::size_t size_ = 0;
    };
    slot_array storage_;
};

template <class A> using gather_child_t = gather_child<std::remove_cvref_t<A>>;

/// A range (gather's range form) as opposed to a single awaitable.
template <class R>
concept gather_range = std::ranges::input_range<R>;

template <class A> inline constexpr bool is_task = false;
template <class T> inline constexpr bool is_task<task<T>> = true;

/// What gather takes as one argument: an awaitable, with a lazy task<T> passed as an rvalue
/// (gather spawns it; `gather(std::move(t))` for a named one).
template <class A>
concept gather_argument =
    awaitable<A> && !(std::is_lvalue_reference_v<A> && is_task<std::remove_cvref_t<A>>);

/// A range whose elements gather can take (lazy tasks in it are moved from).
template <class R>
concept gather_awaitable_range = gather_range<R> && awaitable<std::ranges::range_reference_t<R>>;

template <class... Aws>
inline constexpr bool is_single_range = sizeof...(Aws) == 1 && (gather_range<Aws> && ...);

} // namespace detail

/// asyncio.gather(*aws): `co_await gather(a, b, ...)` gives a std::tuple of the results in
/// argument order (asyncio::none for void children). Arguments may be lazy tasks (spawned as
/// tasks right here, in argument order), task handles, futures or any other awaitable (run as a
/// task). The first failure propagates at once while the other children keep running. Cancelling
/// the awaiting task cancels every child. The awaiter resumes two iterations after the last child
/// finishes; gathering nothing, or only finished children, does not suspend.
template <class... Aws>
    requires(!detail::is_single_range<Aws...>) && (detail::gather_argument<Aws> && ...)
[[nodiscard("co_await the gather")]] detail::gather_awaitable<
    false, detail::gather_child_t<Aws>...> gather(Aws&&... aws) {
    return detail::gather_awaitable<false, detail::gather_child_t<Aws>...>(
        get_running_loop(), std::forward<Aws>(aws)...);
}

/// asyncio.gather(*aws, return_exceptions=True): each slot is an asyncio::outcome<T> holding the
/// child's value or exception; completes only when every child is done.
template <class... Aws>
    requires(!detail::is_single_range<Aws...>) && (detail::gather_argument<Aws> && ...)
[[nodiscard("co_await the gather")]] detail::gather_awaitable<
    true, detail::gather_child_t<Aws>...> gather(return_exceptions_t, Aws&&... aws) {
    return detail::gather_awaitable<true, detail::gather_child_t<Aws>...>(
        get_running_loop(), std::forward<Aws>(aws)...);
}

/// asyncio.gather(*range): a std::vector of results in range order. Lazy tasks in the range are
/// moved from (and spawned in order); handles and futures are shared.
template <detail::gather_awaitable_range Range>
[[nodiscard("co_await the gather")]] auto gather(Range&& range) {
    return detail::gather_range_awaitable<
        false, detail::gather_child_t<std::ranges::range_reference_t<Range>>>(
        std::forward<Range>(range));
}

/// asyncio.gather(*range, return_exceptions=True): a std::vector of asyncio::outcome<T>.
template <detail::gather_awaitable_range Range>
[[nodiscard("co_await the gather")]] auto gather(return_exceptions_t, Range&& range) {
    return detail::gather_range_awaitable<
        true, detail::gather_child_t<std::ranges::range_reference_t<Range>>>(
        std::forward<Range>(range));
}

} // namespace asyncio
// ---- (back in asyncio/asyncio.hpp)

// ---- asyncio/generator.hpp -----------------------------------------------------------------------
// generator<T> (a Python generator function, `def f(): yield ...`), elements_of (`yield from`) and
// next (Python's builtin next(g) and next(g, default)).



// ---- asyncio/detail/generator_promise.hpp --------------------------------------------------------
// The machinery under generator<T>: the promise base, the driver that resumes the innermost active
// generator, the awaiters behind co_yield and co_yield elements_of, and the leaf-first teardown.




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
// ---- (back in asyncio/generator.hpp)


namespace asyncio {

/// `co_yield asyncio::elements_of(r)` yields every element of the range `r` in turn: Python's
/// `yield from r` (C++23's std::ranges::elements_of). For a generator passed as an rvalue
/// (`elements_of(walk(node->left))` or `elements_of(std::move(g))`) the nested generator is
/// resumed directly by the consumer, so a recursion N generators deep costs O(1) per element, not
/// O(N), and the stack stays flat at any depth. A started generator continues where it stands
/// (its unread element comes first). Any other input range (a container, a view, a generator
/// lvalue) is iterated element by element; lvalue elements of a generator<T> with a value `T` are
/// copied, never moved from. The range lives until the co_yield finishes, so a temporary is fine,
/// except that g++ 11 and 12 reject a braced list inside any co_yield or co_await expression
/// ("array used as initializer", a GCC bug): name `std::vector<int>{1, 2}` before the co_yield.
template <class R> struct elements_of {
    R range;

    explicit constexpr elements_of(R&& r) noexcept(std::is_nothrow_constructible_v<R, R&&>)
        : range(std::forward<R>(r)) {}
};
template <class R> elements_of(R&&) -> elements_of<R&&>;

template <class T> class generator;

namespace detail {

template <class G> inline constexpr bool is_generator_v = false;
template <class T> inline constexpr bool is_generator_v<generator<T>> = true;

/// `elements_of(R)` takes the O(1) nesting path: R is a non-const generator rvalue (or a
/// generator held by value) with the same yielded reference type.
template <class R, class Yielded>
concept nestable_generator =
    is_generator_v<std::remove_reference_t<R>> && !std::is_lvalue_reference_v<R> &&
    std::same_as<typename std::remove_reference_t<R>::yielded, Yielded>;

/// `co_yield *it` compiles in a generator yielding `Yielded`: directly or through a copy.
template <class Ref, class Yielded>
concept yieldable_as = std::convertible_to<Ref, Yielded> ||
                       (std::is_rvalue_reference_v<Yielded> &&
                        std::convertible_to<Ref, const std::remove_reference_t<Yielded>&>);

template <class Yielded, class It, class Sent> generator<Yielded> each_element(It first, Sent last);

/// Reaches into a generator for its frame (nesting) and its promise (next).
struct generator_access {
    template <class Yielded, class G> static nest_awaiter<Yielded> nest(G& g) noexcept {
        generator_promise_base<Yielded>* cp = g.frame_ ? &g.promise() : nullptr;
        return nest_awaiter<Yielded>(std::move(g.frame_), cp);
    }

    template <class T>
    static std::optional<typename generator<T>::value_type> next(generator<T>& g) {
        auto& p = g.promise();
        if (p.read() && !g.frame_.done()) {
            p.resume();
        }
        if (g.frame_.done()) {
            return std::nullopt;
        }
        using reference = typename generator<T>::reference;
        return std::optional<typename generator<T>::value_type>(std::in_place,
                                                                static_cast<reference>(*p.take()));
    }
};

} // namespace detail

/// A generator function (Python's `def odds(a, b): yield ...`): `co_yield` hands out values one at
/// a time, lazily; the body runs only inside begin(), `++it` and next(), up to its next co_yield.
/// A C++20 input range and view: range-for, std::ranges algorithms (`std::ranges::copy(g,
/// std::back_inserter(v))` is Python's `list(g)`) and views (`g | std::views::take(3)`) all work.
/// Move-only; `co_await` is not allowed inside (use async_generator for that).
///
/// `T` is what the consumer sees, as in C++23's std::generator: for a value type `*it` is `T&&`
/// (so a move-only `T` can be moved out: `auto p = *it;`), for a reference type `*it` is that
/// reference (`generator<int&>` lets the consumer modify the yielded objects). `co_yield lvalue`
/// in a generator of values copies the lvalue; `co_yield std::move(x)` or a temporary does not.
///
/// An exception thrown by the body propagates to the consumer out of the begin(), `++it` or
/// next() that resumed it; the generator is then finished. Destroying a generator that has not
/// finished destroys its frame (and those of its nested generators, innermost first, without
/// recursion) and runs the body's destructors, as Python's close() does; Python's send() and
/// throw() have no counterpart.
///
/// Iteration continues where the generator stands, as with Python's `iter(g) is g`: an element
/// counts as consumed once it is read (`*it` or next()), and begin() on a started generator
/// resumes it only past a consumed element. So a range-for after `next(g)`, or after a `break`,
/// continues with the following element, as in Python; an element produced but never read (the
/// one `std::views::take(n)` steps onto after its n-th) is the next one begin() or next() gives.
template <class T> class [[nodiscard]] generator : public std::ranges::view_base {
    static_assert(!std::is_void_v<T>, "generator<void>: yield a value (or use asyncio::none)");

public:
    /// What the consumer may keep: `std::remove_cvref_t<T>`; next() returns it.
    using value_type = std::remove_cvref_t<T>;
    /// The type of `*it`: `T` for a reference, `T&&` for a value.
    using reference = std::conditional_t<std::is_reference_v<T>, T, T&&>;
    /// What `co_yield` binds to. Generators with the same yielded type nest in O(1).
    using yielded = reference;

    class promise_type;
    class iterator;

    generator(generator&& o) noexcept = default;
    generator& operator=(generator&& o) noexcept {
        if (this != &o) {
            destroy();
            frame_ = std::move(o.frame_);
        }
        return *this;
    }
    generator(const generator&) = delete;
    generator& operator=(const generator&) = delete;
    ~generator() { destroy(); }

    /// Starts the body (on the first call) and runs it to its first co_yield; on a started
    /// generator, resumes it only if its current element was read (see the class comment).
    /// Rethrows what the body throws. Precondition: the generator was not moved from.
    [[nodiscard]] iterator begin() {
        if (promise().read() && !frame_.done()) {
            promise().resume();
        }
        return iterator(frame_.get());
    }
    /// The end of the range: an iterator equals it once the body has returned (or thrown).
    [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }

private:
    friend struct detail::generator_access;

    using base_promise = detail::generator_promise_base<yielded>;

    explicit generator(std::coroutine_handle<promise_type> h) noexcept : frame_(h) {}

    promise_type& promise() const noexcept { return frame_.promise<promise_type>(); }

    void destroy() noexcept {
        if (frame_ && !frame_.done()) {
            promise().destroy_nested();
        }
        frame_.reset();
    }

    detail::unique_frame frame_;
};

template <class T>
class generator<T>::promise_type : public detail::generator_promise_base<yielded> {
public:
    generator get_return_object() noexcept {
        auto h = std::coroutine_handle<promise_type>::from_promise(*this);
        this->set_self(h);
        return generator(h);
    }

    using base_promise::yield_value;

    /// `co_yield elements_of(std::move(g))`: g's frame moves into the awaiter, in this frame.
    template <class R>
        requires detail::nestable_generator<R, yielded>
    detail::nest_awaiter<yielded> yield_value(elements_of<R> e) noexcept {
        auto& g = static_cast<std::remove_reference_t<R>&>(e.range);
        return detail::generator_access::nest<yielded>(g);
    }

    /// `co_yield elements_of(range)` for any other input range: a nested generator walks it.
    template <class R>
        requires(!detail::nestable_generator<R, yielded>) && std::ranges::input_range<R> &&
                detail::yieldable_as<std::ranges::range_reference_t<R>, yielded>
    detail::nest_awaiter<yielded> yield_value(elements_of<R> e) {
        auto& r = e.range;
        auto walker = detail::each_element<yielded>(std::ranges::begin(r), std::ranges::end(r));
        return detail::generator_access::nest<yielded>(walker);
    }
};

/// The iterator of a generator: move-only, single pass (std::input_iterator). `*it` reads the
/// current element (no copy, any number of times); `++it` resumes the body up to its next
/// co_yield and rethrows what the body throws. Valid while its generator lives, moves included.
template <class T> class generator<T>::iterator {
public:
    using value_type = generator::value_type;
    using difference_type = std::ptrdiff_t;

    iterator(iterator&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    iterator& operator=(iterator&& o) noexcept {
        h_ = std::exchange(o.h_, nullptr);
        return *this;
    }
    iterator(const iterator&) = delete;
    iterator& operator=(const iterator&) = delete;
    ~iterator() = default;

    [[nodiscard]] reference operator*() const noexcept {
        return static_cast<reference>(*h_.promise().take());
    }
    iterator& operator++() {
        h_.promise().resume();
        return *this;
    }
    void operator++(int) { ++*this; }

    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
        return it.h_.done();
    }

private:
    friend class generator;
    explicit iterator(std::coroutine_handle<> h) noexcept
        : h_(std::coroutine_handle<promise_type>::from_address(h.address())) {}

    std::coroutine_handle<promise_type> h_;
};

namespace detail {

template <class Yielded, class It, class Sent>
generator<Yielded> each_element(It first, Sent last) {
    for (; first != last; ++first) {
        co_yield *first;
    }
}

} // namespace detail

/// Python's `next(g)`: resumes the generator up to its next co_yield and returns that element,
/// copied or moved into the optional (from a `generator<int&>` too: iterate to get references).
/// Returns std::nullopt once the generator has finished, every time after: the C++ twin of
/// StopIteration, since `while (auto x = asyncio::next(g))` reads better than a try block. An
/// element produced but not read yet (see generator's class comment) is returned without resuming.
/// Rethrows what the body throws. Found by ADL too: `next(g)`.
template <class T> std::optional<typename generator<T>::value_type> next(generator<T>& g) {
    return detail::generator_access::next(g);
}

/// Python's `next(g, default)`: the next element, or `default_value` converted to the value type
/// once the generator has finished.
template <class T, class U>
    requires std::convertible_to<U&&, typename generator<T>::value_type>
typename generator<T>::value_type next(generator<T>& g, U&& default_value) {
    if (auto v = detail::generator_access::next(g)) {
        return std::move(*v);
    }
    return static_cast<typename generator<T>::value_type>(std::forward<U>(default_value));
}

} // namespace asyncio
// ---- (back in asyncio/asyncio.hpp)

// ---- asyncio/graph.hpp ---------------------------------------------------------------------------
// Call graphs (asyncio.capture_call_graph, format_call_graph, print_call_graph of CPython 3.14):
// where each task is suspended and which tasks await it, and a dump of every task on a signal.



// ---- asyncio/detail/awaited_by.hpp ---------------------------------------------------------------
// A passive done-list entry that names a task waiting for a future or task without awaiting it.



namespace asyncio::detail {

class task_core;

/// CPython 3.14's future_add_to_awaited_by(fut, waiter) for waits that are no co_await: a task
/// group links one into each child's done list, naming the group's host task, so that the child's
/// call graph (graph.hpp) shows the host under "Awaited by". Completion only unlinks it (it
/// schedules nothing); it unlinks itself if it dies first. Its owner keeps it at a fixed address
/// while it is linked. 32 bytes.
class awaited_by_node : public done_node {
public:
    awaited_by_node() noexcept { on_done = &passed; }
    awaited_by_node(const awaited_by_node&) = delete;
    awaited_by_node& operator=(const awaited_by_node&) = delete;
    ~awaited_by_node() { unlink(); }

    /// Links the node into `s`'s done list (s pending), naming `waiter`.
    void attach(future_state_base& s, task_core* waiter) noexcept {
        waiter_ = waiter;
        s.add_waiter(*this);
    }

    /// The task named by `n`, a node of a done list, or null when `n` is no awaited_by_node.
    [[nodiscard]] static task_core* waiting_task(const done_node& n) noexcept {
        return n.on_done == &passed ? static_cast<const awaited_by_node&>(n).waiter_ : nullptr;
    }

private:
    static void passed(done_node*) noexcept {}

    task_core* waiter_ = nullptr;
};

} // namespace asyncio::detail
// ---- (back in asyncio/graph.hpp)

// ---- asyncio/detail/repr_value.hpp ---------------------------------------------------------------
// How the debug strings of repr.hpp print values, strings, floats and exceptions, as Python's repr.



#include <charconv>
#include <ostream>
#include <sstream>
#include <typeinfo>

#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#endif

namespace asyncio::detail::repr {

/// The demangled name of `t` (as the compiler spells it), or `fallback` without RTTI.
inline std::string type_name(const std::type_info& t) {
#if __has_include(<cxxabi.h>)
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> demangled(
        abi::__cxa_demangle(t.name(), nullptr, nullptr, &status), &std::free);
    if (status == 0 && demangled) {
        return demangled.get();
    }
#endif
    return t.name();
}

template <class T> std::string type_name_of(std::string_view fallback) {
#if defined(__cpp_rtti) || defined(__GXX_RTTI)
    (void)fallback;
    return type_name(typeid(T));
#else
    return std::string(fallback);
#endif
}

/// Writes `s` as Python's repr of a str: single quotes unless the text holds a single quote and
/// no double quote; backslash escapes for the quote, `\`, tab, newline, return and other control
/// characters. Bytes from 0x80 up are copied (UTF-8 text prints as itself, as in Python).
inline void write_string(std::ostream& os, std::string_view s) {
    const bool has_single = s.find('\'') != std::string_view::npos;
    const bool has_double = s.find('"') != std::string_view::npos;
    const char quote = has_single && !has_double ? '"' : '\'';
    static constexpr char hex[] = "0123456789abcdef";
    os << quote;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == quote || c == '\\') {
            os << '\\' << c;
        } else if (c == '\t') {
            os << "\\t";
        } else if (c == '\n') {
            os << "\\n";
        } else if (c == '\r') {
            os << "\\r";
        } else if (u < 0x20 || u == 0x7f) {
            os << "\\x" << hex[u >> 4U] << hex[u & 0xfU];
        } else {
            os << c;
        }
    }
    os << quote;
}

/// reprlib.repr of a str: Python's repr, cut in the middle to 30 characters when longer.
inline void write_short_string(std::ostream& os, std::string_view s) {
    std::ostringstream full;
    write_string(full, s);
    const std::string r = full.str();
    constexpr std::size_t max = 30;
    if (r.size() <= max) {
        os << r;
        return;
    }
    constexpr std::size_t head = (max - 3) / 2;
    constexpr std::size_t tail = max - 3 - head;
    os << std::string_view(r).substr(0, head) << "..."
       << std::string_view(r).substr(r.size() - tail);
}

/// Python's repr of a float: the shortest digits that read back, fixed notation for exponents
/// from -4 to 15 (always with a fractional part), else scientific with a two-digit exponent.
inline void write_float(std::ostream& os, double v) {
    if (std::isnan(v)) {
        os << "nan";
        return;
    }
    if (std::isinf(v)) {
        os << (v < 0 ? "-inf" : "inf");
        return;
    }
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string_view text(buf, static_cast<std::size_t>(r.ptr - buf));
    std::string out;
    if (!text.empty() && text.front() == '-') {
        out += '-';
        text.remove_prefix(1);
    }
    const std::size_t e = text.find('e');
    std::string digits;
    for (const char c : text.substr(0, e)) {
        if (c != '.') {
            digits += c;
        }
    }
    const int exp = std::atoi(std::string(text.substr(e + 1)).c_str());
    if (exp >= -4 && exp < 16) {
        if (exp < 0) {
            out += "0.";
            out.append(static_cast<std::size_t>(-exp - 1), '0');
            out += digits;
        } else {
            const auto int_len = static_cast<std::size_t>(exp) + 1;
            if (digits.size() <= int_len) {
                out += digits;
                out.append(int_len - digits.size(), '0');
                out += ".0";
            } else {
                out += digits.substr(0, int_len);
                out += '.';
                out += digits.substr(int_len);
            }
        }
    } else {
        out += digits.substr(0, 1);
        if (digits.size() > 1) {
            out += '.';
            out += digits.substr(1);
        }
        out += exp < 0 ? "e-" : "e+";
        const int a = exp < 0 ? -exp : exp;
        if (a < 10) {
            out += '0';
        }
        out += std::to_string(a);
    }
    os << out;
}

template <class T>
concept streamable = requires(std::ostream& os, const T& v) { os << v; };

/// Writes a value as the repr of its Python counterpart (see the notes at the top of the file).
/// `shorten`: reprlib's 30-character limit for strings (future and task results).
template <class T> void write_value(std::ostream& os, const T& v, bool shorten = false) {
    using U = std::remove_cvref_t<T>;
    if constexpr (std::is_same_v<U, bool>) {
        os << (v ? "True" : "False");
    } else if constexpr (std::is_same_v<U, none> || std::is_same_v<U, std::nullptr_t>) {
        os << "None";
    } else if constexpr (std::is_same_v<U, char>) {
        write_string(os, std::string_view(&v, 1));
    } else if constexpr (std::is_convertible_v<const U&, std::string_view>) {
        if (shorten) {
            write_short_string(os, std::string_view(v));
        } else {
            write_string(os, std::string_view(v));
        }
    } else if constexpr (std::is_integral_v<U> && sizeof(U) == 1) {
        os << static_cast<int>(v); // signed/unsigned char are numbers here, not characters
    } else if constexpr (std::is_floating_point_v<U>) {
        write_float(os, static_cast<double>(v));
    } else if constexpr (streamable<U>) {
        os << v;
    } else {
        os << '<' << type_name_of<U>("object") << '>';
    }
}

/// Writes an exception as `TypeName('what')` (see the notes at the top of the file).
inline void write_exception(std::ostream& os, const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const cancelled_error& c) {
        os << "asyncio::cancelled_error(";
        write_string(os, c.message());
        os << ')';
    } catch (const std::exception& x) {
#if defined(__cpp_rtti) || defined(__GXX_RTTI)
        os << type_name(typeid(x)) << '(';
#else
        os << "exception(";
#endif
        write_string(os, x.what());
        os << ')';
    } catch (...) {
#if (defined(__cpp_rtti) || defined(__GXX_RTTI)) && __has_include(<cxxabi.h>)
        const std::type_info* t = abi::__cxa_current_exception_type();
        os << (t != nullptr ? type_name(*t) : std::string("exception")) << "()";
#else
        os << "exception()";
#endif
    }
}

} // namespace asyncio::detail::repr
// ---- (back in asyncio/graph.hpp)

#include <csignal>

namespace asyncio {

/// asyncio.FrameCallGraphEntry: one coroutine of a task's await chain, where it is suspended.
/// `function` is the name the compiler gives the function holding the `co_await`
/// (`__builtin_FUNCTION()`: unqualified, "operator()" for a lambda), `file` and `line` that
/// co_await's location. Python stores the frame object; C++ has none to keep.
struct frame_call_graph_entry {
    std::string function;
    std::string file;
    int line = 0;
};

/// asyncio.FutureCallGraph: a task (or future), its call stack innermost first, and the graphs of
/// the tasks awaiting it: a task awaiting it with co_await, the task awaiting a gather it is a
/// child of (as CPython 3.14, which names gather's caller rather than the gathering future), the
/// host task of its task group. A value: it keeps the task's state alive (`task`), not its frames.
struct future_call_graph {
    /// A task (false for a future<T>).
    bool is_task = false;
    /// Task.get_name() (empty for a future).
    std::string name;
    /// The address of the task or future state, what Python's id() prints.
    std::uintptr_t id = 0;
    /// The task (empty for a future).
    task_ref task;
    std::vector<frame_call_graph_entry> call_stack;
    std::vector<future_call_graph> awaited_by;
};

/// The keyword arguments of asyncio.capture_call_graph: `capture_call_graph(t, {.limit = 2})`.
/// `depth` (current task only, at least 1): how many frames to skip from the innermost, 1 keeping
/// the frame that calls capture_call_graph. `limit`: each call stack in the graph keeps at most
/// |limit| entries, the outermost ones when positive, the innermost ones when negative (CPython's
/// code, which keeps the entries nearest the task's own coroutine for a positive limit); 0 keeps
/// none, so only "Awaited by" remains; empty keeps all.
struct call_graph_options {
    int depth = 1;
    std::optional<int> limit;
};

namespace detail::graph {

// The location of the co_await each coroutine of `t`'s chain is suspended at, innermost first.
// Without ASYNCIO_CALL_GRAPH nothing is recorded: none. A coroutine that has not awaited yet (a
// task not started) is left out, as are the frames of async generators (their co_awaits are not
// recorded: a task awaited inside one is shown as awaited by the coroutine awaiting the generator).
// `running`: `t` is the current task, whose innermost coroutine is the one running (its last
// await is over), so the walk starts at the coroutine awaiting it.
inline std::vector<frame_call_graph_entry> suspended_frames(task_core& t, bool running = false) {
    std::vector<frame_call_graph_entry> out;
#if defined(ASYNCIO_CALL_GRAPH)
    const task_promise_base* p = t.done() ? nullptr : t.innermost();
    if (running && p != nullptr) {
        p = p->caller_;
    }
    for (; p != nullptr; p = p->caller_) {
        if (p->await_file_ != nullptr) {
            out.push_back({p->await_function_, p->await_file_, p->await_line_});
        }
    }
#else
    static_cast<void>(t);
    static_cast<void>(running);
#endif
    return out;
}

// What waits for `s`, in the order of its done list, each task once (CPython keeps a set).
inline std::vector<task_core*> waiters_of(future_state_base& s) {
    std::vector<task_core*> out;
    s.for_each_done_node([&](const done_node& n) {
        task_core* t = task_waiter::waiting_task(n);
        if (t == nullptr) {
            t = gather_core::waiting_task(n);
        }
        if (t == nullptr) {
            t = awaited_by_node::waiting_task(n);
        }
        if (t != nullptr && std::ranges::find(out, t) == out.end()) {
            out.push_back(t);
        }
    });
    return out;
}

// graph.py's limit: a positive limit keeps the outermost entries, a negative one the innermost.
inline void apply_limit(std::vector<frame_call_graph_entry>& st, std::optional<int> limit) {
    if (!limit) {
        return;
    }
    const auto keep = static_cast<std::size_t>(*limit < 0 ? -static_cast<long>(*limit)
                                                          : static_cast<long>(*limit));
    if (keep >= st.size()) {
        return;
    }
    if (*limit > 0) {
        st.erase(st.begin(), st.end() - static_cast<std::ptrdiff_t>(keep));
    } else {
        st.erase(st.begin() + static_cast<std::ptrdiff_t>(keep), st.end());
    }
}

inline future_call_graph node_for(future_state_base& s) {
    future_call_graph g;
    g.is_task = s.is_task();
    g.id = reinterpret_cast<std::uintptr_t>(&s);
    if (g.is_task) {
        g.name = s.name();
        g.task = state_access::ref_of(static_cast<task_core*>(&s));
    }
    return g;
}

// _build_graph_for_future: the awaiters' graphs recursively. `path` holds the tasks being
// expanded: a task met again (tasks awaiting each other in a cycle) is listed, not expanded.
inline void add_awaited_by(future_call_graph& g, future_state_base& s, std::optional<int> limit,
                           std::vector<const future_state_base*>& path) {
    path.push_back(&s);
    for (task_core* w : waiters_of(s)) {
        future_call_graph parent = node_for(*w);
        if (std::ranges::find(path, w) == path.end()) {
            if (limit != 0) {
                parent.call_stack = suspended_frames(*w);
                apply_limit(parent.call_stack, limit);
            }
            add_awaited_by(parent, *w, limit, path);
        }
        g.awaited_by.push_back(std::move(parent));
    }
    path.pop_back();
}

inline future_call_graph build(future_state_base& s, std::optional<int> limit) {
    future_call_graph g = node_for(s);
    if (g.is_task && limit != 0) {
        g.call_stack = suspended_frames(static_cast<task_core&>(s));
        apply_limit(g.call_stack, limit);
    }
    std::vector<const future_state_base*> path;
    add_awaited_by(g, s, limit, path);
    return g;
}

// The current task's graph: the innermost entry is where capture_call_graph was called (passed
// down from the public function's default arguments), then the coroutines awaiting that one.
inline future_call_graph build_current(task_core& t, const call_graph_options& o,
                                       frame_call_graph_entry here) {
    if (o.depth < 1) {
        throw std::invalid_argument("depth must be at least 1");
    }
    future_call_graph g = node_for(t);
    std::vector<frame_call_graph_entry> st;
    st.push_back(std::move(here));
    const std::vector<frame_call_graph_entry> rest = suspended_frames(t, true);
    st.insert(st.end(), rest.begin(), rest.end());
    const auto skip = static_cast<std::size_t>(o.depth - 1);
    if (skip > st.size()) {
        throw std::invalid_argument("call stack is not deep enough");
    }
    st.erase(st.begin(), st.begin() + static_cast<std::ptrdiff_t>(skip));
    if (o.limit == 0) {
        st.clear();
    }
    apply_limit(st, o.limit);
    g.call_stack = std::move(st);
    std::vector<const future_state_base*> path;
    add_awaited_by(g, t, o.limit, path);
    return g;
}

inline task_core* current_of_running_loop() noexcept {
    event_loop* l = running_loop();
    return l == nullptr ? nullptr : static_cast<task_core*>(l->core().current_task);
}

inline void render(const future_call_graph& g, std::ostringstream& out, std::size_t level,
                   bool& first) {
    const std::string indent(level * 4, ' ');
    auto line = [&]() -> std::ostringstream& {
        if (!first) {
            out << '\n';
        }
        first = false;
        out << indent;
        return out;
    };
    if (g.is_task) {
        line() << "* Task(name=";
        repr::write_string(out, g.name);
        out << ", id=0x" << std::hex << g.id << std::dec << ')';
    } else {
        line() << "* Future(id=0x" << std::hex << g.id << std::dec << ')';
    }
    if (!g.call_stack.empty()) {
        line() << "  + Call stack:";
        for (const frame_call_graph_entry& e : g.call_stack) {
            line() << "  |   File ";
            repr::write_string(out, e.file);
            out << ", line " << e.line << ", in async " << e.function << "()";
        }
    }
    if (!g.awaited_by.empty()) {
        line() << "  + Awaited by:";
        for (const future_call_graph& a : g.awaited_by) {
            render(a, out, level + 1, first);
        }
    }
}

} // namespace detail::graph

/// asyncio.capture_call_graph() for the current task: its graph, or nullopt when called from a
/// plain callback (no current task). The innermost entry is where this function is called (call
/// it from the coroutine itself: a plain function in between is shown in its place); the
/// coroutines awaiting that one follow when ASYNCIO_CALL_GRAPH is defined (config.hpp), else
/// that entry is the only one. Throws std::runtime_error outside a running loop,
/// std::invalid_argument for a depth below 1 (CPython would show its own introspection frames)
/// or deeper than the known frames ("call stack is not deep enough", CPython's ValueError).
[[nodiscard]] inline std::optional<future_call_graph>
capture_call_graph(call_graph_options options = {}, const char* function = __builtin_FUNCTION(),
                   const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    if (detail::running_loop() == nullptr) {
        throw std::runtime_error("capture_call_graph() is called outside of a running event loop "
                                 "and no *future* to introspect was provided");
    }
    detail::task_core* t = detail::graph::current_of_running_loop();
    if (t == nullptr) {
        return std::nullopt;
    }
    return detail::graph::build_current(*t, options, {function, file, line});
}

/// asyncio.capture_call_graph(task): the graph of `task` (the current task's, as above, when
/// `task` is the task running now). A task that is done has no call stack. Throws
/// invalid_state_error for an empty reference, and std::invalid_argument for a bad depth as above.
/// Costs a walk of the task's chain and of the done lists of it and of its awaiters.
[[nodiscard]] inline future_call_graph
capture_call_graph(const task_ref& task, call_graph_options options = {},
                   const char* function = __builtin_FUNCTION(), const char* file = __builtin_FILE(),
                   int line = __builtin_LINE()) {
    detail::task_core* t = detail::state_access::core_of(task);
    if (t == nullptr) {
        throw invalid_state_error(
            "empty task handle (default-constructed or moved-from): it refers to no task");
    }
    if (t == detail::graph::current_of_running_loop()) {
        return detail::graph::build_current(*t, options, {function, file, line});
    }
    return detail::graph::build(*t, options.limit);
}

/// asyncio.capture_call_graph(future): "Future(id=...)" and the tasks awaiting it.
template <class T>
[[nodiscard]] future_call_graph capture_call_graph(const future<T>& f,
                                                   call_graph_options options = {}) {
    auto s = detail::state_access::get(f);
    if (!s) {
        throw invalid_state_error("empty future (default-constructed or moved-from)");
    }
    return detail::graph::build(*s, options.limit);
}

/// The text of a graph in CPython 3.14's layout (format_call_graph's render_level): lines joined
/// by '\n', no newline at the end.
[[nodiscard]] inline std::string format_call_graph(const future_call_graph& graph) {
    std::ostringstream out;
    bool first = true;
    detail::graph::render(graph, out, 0, first);
    return out.str();
}

/// asyncio.format_call_graph(): the current task's graph as text; "" without a current task.
[[nodiscard]] inline std::string format_call_graph(call_graph_options options = {},
                                                   const char* function = __builtin_FUNCTION(),
                                                   const char* file = __builtin_FILE(),
                                                   int line = __builtin_LINE()) {
    std::optional<future_call_graph> g = capture_call_graph(options, function, file, line);
    return g ? format_call_graph(*g) : std::string();
}

/// asyncio.format_call_graph(task).
[[nodiscard]] inline std::string format_call_graph(const task_ref& task,
                                                   call_graph_options options = {},
                                                   const char* function = __builtin_FUNCTION(),
                                                   const char* file = __builtin_FILE(),
                                                   int line = __builtin_LINE()) {
    return format_call_graph(capture_call_graph(task, options, function, file, line));
}

/// asyncio.format_call_graph(future).
template <class T>
[[nodiscard]] std::string format_call_graph(const future<T>& f, call_graph_options options = {}) {
    return format_call_graph(capture_call_graph(f, options));
}

/// asyncio.print_call_graph(file=...): format_call_graph() and a newline written to `out`
/// (stdout by default; an empty line without a current task, as Python's print("")).
inline void print_call_graph(std::FILE* out = stdout, call_graph_options options = {},
                             const char* function = __builtin_FUNCTION(),
                             const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    const std::string text = format_call_graph(options, function, file, line) + "\n";
    std::fputs(text.c_str(), out);
}

/// asyncio.print_call_graph(task, file=...).
inline void print_call_graph(const task_ref& task, std::FILE* out = stdout,
                             call_graph_options options = {},
                             const char* function = __builtin_FUNCTION(),
                             const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    const std::string text = format_call_graph(task, options, function, file, line) + "\n";
    std::fputs(text.c_str(), out);
}

/// The graphs of all_tasks() (the running loop's pending tasks, oldest first), each followed by
/// a blank line: what `python -m asyncio pstree PID` shows of a live process, from inside it.
/// Throws std::runtime_error outside a running loop.
[[nodiscard]] inline std::string format_all_call_graphs(call_graph_options options = {},
                                                        const char* function = __builtin_FUNCTION(),
                                                        const char* file = __builtin_FILE(),
                                                        int line = __builtin_LINE()) {
    std::string out;
    for (const task_ref& t : all_tasks()) {
        out += format_call_graph(t, options, function, file, line);
        out += "\n\n";
    }
    return out;
}

/// format_all_call_graphs() written to `out` (stderr by default) and flushed.
inline void print_all_call_graphs(std::FILE* out = stderr, call_graph_options options = {},
                                  const char* function = __builtin_FUNCTION(),
                                  const char* file = __builtin_FILE(),
                                  int line = __builtin_LINE()) {
    const std::string text = format_all_call_graphs(options, function, file, line);
    std::fputs(text.c_str(), out);
    std::fflush(out);
}

#if defined(SIGUSR1)
/// The task dump on demand, as `python -m asyncio ps PID` for a live server: from now on, each
/// time the process receives `signum` (SIGUSR1 by default), the loop's next iteration writes a
/// header line and every pending task's call graph to `out` (stderr by default). One line at the
/// start of main's coroutine: `asyncio::dump_call_graphs_on_signal();`, then `kill -USR1 <pid>`.
/// Through loop.add_signal_handler, whose errors it throws (std::runtime_error outside a loop).
inline void dump_call_graphs_on_signal(int signum = SIGUSR1, std::FILE* out = stderr) {
    get_running_loop().add_signal_handler(signum, [signum, out] {
        const std::string head = "asyncio-cpp: signal " + std::to_string(signum) +
                                 ": call graphs of the " + std::to_string(all_tasks().size()) +
                                 " pending tasks\n\n";
        std::fputs(head.c_str(), out);
        print_all_call_graphs(out);
    });
}
#endif

} // namespace asyncio
// ---- (back in asyncio/asyncio.hpp)

// ---- asyncio/locks.hpp ---------------------------------------------------------------------------
// event, lock, semaphore, bounded_semaphore, condition and barrier: asyncio's locks.py.



// ---- asyncio/detail/barrier_core.hpp -------------------------------------------------------------
// Barrier's state and its wait, reset and abort as plain awaiters over a condition's machinery.



// ---- asyncio/detail/condition_wait.hpp -----------------------------------------------------------
// Condition.wait and wait_for as plain awaiters: the machinery of condition and barrier.



// ---- asyncio/detail/lock_core.hpp ----------------------------------------------------------------
// Lock's algorithm (asyncio.Lock without the guard), shared by lock, condition and barrier.


// ---- asyncio/detail/sync_waiter.hpp --------------------------------------------------------------
// The waiters of asyncio-cpp's locks: one per blocked acquire or wait, in the awaiting frame.



namespace asyncio::detail {

struct sync_tag;

/// One waiter of a lock, semaphore, event or condition: the future CPython appends to the
/// primitive's deque, living in the awaiting frame. Like that future, it stays in the list
/// until its task runs (woken or cancelled), so "the first waiter" and "all waiters cancelled"
/// read exactly as in locks.py.
struct sync_waiter : list_hook<sync_tag> {
    enum class state : unsigned char { waiting, woken, cancelled };

    task_core* root = nullptr;
    std::coroutine_handle<> handle;
    state st = state::waiting;
    /// The primitive was destroyed while this waiter referred to it.
    bool gone = false;
    /// Set by a condition's waiter: after a wake-up, a cancel is still routed to this hook and
    /// the step runs `recheck` (the waiter re-acquires the lock without resuming the coroutine).
    bool (*after_wake)(void*, task_core&) = nullptr;
    recheck_fn recheck = nullptr;

    [[nodiscard]] bool done() const noexcept { return st != state::waiting; }

    /// fut.set_result(): the task runs in the next iteration.
    void wake() {
        st = state::woken;
        root->wake();
        if (recheck != nullptr) {
            root->suspend(handle, cancel_hook{after_wake, this}, recheck);
        }
    }

    /// Suspends `h` at the back of `list`.
    template <class Promise>
    void park(intrusive_list<sync_waiter, sync_tag>& list, std::coroutine_handle<Promise> h) {
        root = root_of(h);
        handle = h;
        st = state::waiting;
        list.push_back(*this);
        root->suspend(h, cancel_hook{&cancel_waiting, this});
    }

    /// After resuming: unlinks, and reports a primitive that died under the waiter.
    void resume_checks() {
        unlink();
        if (gone) {
            root->throw_if_cancel_delivered();
            throw std::runtime_error("the synchronisation primitive was destroyed while a task "
                                     "was waiting on it");
        }
    }

    // task.cancel() while waiting: fut.cancel(); the await raises in the next iteration. The
    // waiter stays linked (as a cancelled future in the deque) until its task runs.
    static bool cancel_waiting(void* ctx, task_core& t) {
        auto* w = static_cast<sync_waiter*>(ctx);
        w->st = state::cancelled;
        t.deliver_cancel();
        t.wake();
        return true;
    }

    sync_waiter() noexcept = default;
    /// A copy (of an awaiter not yet awaited, moved into a task) is unlinked and keeps only the
    /// configuration: what runs after a wake-up.
    sync_waiter(const sync_waiter& o) noexcept
        : list_hook<sync_tag>(), after_wake(o.after_wake), recheck(o.recheck) {}
    sync_waiter& operator=(const sync_waiter&) = delete;
    ~sync_waiter() { unlink(); }
};

/// The deque of waiters; on destruction every waiter learns the primitive is gone.
class sync_list : public intrusive_list<sync_waiter, sync_tag> {
public:
    sync_list() = default;
    sync_list(const sync_list&) = delete;
    sync_list& operator=(const sync_list&) = delete;
    ~sync_list() {
        while (!empty()) {
            sync_waiter& w = pop_front();
            w.gone = true;
            if (!w.done()) {
                w.st = sync_waiter::state::woken;
                w.root->wake();
            }
        }
    }

    [[nodiscard]] bool all_cancelled() {
        bool all = true;
        for_each([&](sync_waiter& w) { all = all && w.st == sync_waiter::state::cancelled; });
        return all;
    }
    [[nodiscard]] std::size_t size() {
        std::size_t n = 0;
        for_each([&](sync_waiter&) { ++n; });
        return n;
    }
};

} // namespace asyncio::detail
// ---- (back in asyncio/detail/lock_core.hpp)


namespace asyncio::detail {

class condition_wait_base;
class barrier_core;
namespace repr {
struct peek;
}

/// asyncio.Lock: not reentrant, FIFO, no barging (a newcomer queues behind a woken waiter).
/// `lock` adds the guard; a condition's and a barrier's awaiters reach into it as locks.py's
/// Condition and Barrier do with their Lock.
class lock_core {
public:
    lock_core() = default;
    lock_core(const lock_core&) = delete;
    lock_core& operator=(const lock_core&) = delete;

    /// Lock.locked(). Reads false between a release and the woken waiter's step, yet an acquire
    /// then still waits (the woken waiter is first).
    [[nodiscard]] bool locked() const noexcept { return locked_; }

    /// Lock.release(): std::runtime_error("Lock is not acquired.") when unlocked.
    void release() {
        if (!locked_) {
            throw std::runtime_error("Lock is not acquired.");
        }
        locked_ = false;
        wake_up_first();
    }

    /// `co_await l.acquire()`: no suspension if unlocked and no waiter is left that is not
    /// cancelled; otherwise waits in FIFO order.
    class acquire_awaiter : private sync_waiter {
    public:
        explicit acquire_awaiter(lock_core* l) noexcept : l_(l) {}
        [[nodiscard]] bool await_ready() noexcept {
            if (l_->can_take()) {
                l_->locked_ = true;
                return true;
            }
            return false;
        }
        template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
            park(l_->waiters_, h);
        }
        void await_resume() {
            if (root == nullptr) {
                return;
            }
            resume_checks();
            if (root->cancel_delivery_pending()) {
                if (!l_->locked_) {
                    l_->wake_up_first(); // woken, then cancelled: pass the wake-up on
                }
                root->throw_if_cancel_delivered();
            }
            l_->locked_ = true;
        }

    private:
        lock_core* l_;
    };

protected:
    ~lock_core() = default;

private:
    friend class condition_wait_base;
    friend struct repr::peek; // the debug strings (repr.hpp) read the waiters
    friend class barrier_core;

    [[nodiscard]] bool can_take() { return !locked_ && waiters_.all_cancelled(); }

    // Lock._wake_up_first: only the first waiter, and only if it is not done.
    void wake_up_first() {
        if (!waiters_.empty()) {
            sync_waiter& w = waiters_.front();
            if (!w.done()) {
                w.wake();
            }
        }
    }

    sync_list waiters_;
    bool locked_ = false;
};

} // namespace asyncio::detail
// ---- (back in asyncio/detail/condition_wait.hpp)


namespace asyncio::detail {

template <class P> struct pred_result {
    using type = std::decay_t<std::invoke_result_t<P&>>;
};
template <> struct pred_result<void> {
    using type = void;
};

/// Condition._notify(n): wakes up to `n` waiters that are not done, in FIFO order.
inline void notify_waiters(sync_list& waiters, std::size_t n) {
    std::size_t idx = 0;
    waiters.for_each([&](sync_waiter& w) {
        if (idx < n && !w.done()) {
            ++idx;
            w.wake();
        }
    });
}

/// The part of condition's wait awaiters that does not depend on the predicate.
class condition_wait_base : protected sync_waiter {
public:
    condition_wait_base(lock_core* l, sync_list* waiters) noexcept : l_(l), waiters_(waiters) {}

protected:
    // Condition.wait up to `await fut`: release the lock, join the waiters.
    void check_locked() const {
        if (!l_->locked()) {
            throw std::runtime_error("cannot wait on un-acquired lock");
        }
    }
    template <class Promise> void begin(std::coroutine_handle<Promise> h) {
        root = root_of(h);
        handle = h;
        wait_again();
    }
    // The same once `root` and `handle` are known.
    void wait_again() {
        after_wake = &on_cancel;
        l_->release();
        wait_notify();
    }

    // Lock.acquire, for the barrier's `async with cond`: its fast path; its wait, from which a
    // cancel raises (before or after the wake-up) without the lock; its end; and, when it raises,
    // the wake-up passed on.
    [[nodiscard]] bool try_take_lock() {
        if (l_->can_take()) {
            l_->locked_ = true;
            return true;
        }
        return false;
    }
    template <class Promise> void park_on_lock(std::coroutine_handle<Promise> h) {
        after_wake = nullptr;
        park(l_->waiters_, h);
    }
    void take_lock() noexcept { l_->locked_ = true; }
    void pass_lock_on() {
        if (!l_->locked_) {
            l_->wake_up_first();
        }
    }
    void wait_notify() {
        in_lock_phase_ = false;
        st = state::waiting;
        waiters_->push_back(*this);
        root->suspend(handle, cancel_hook{&on_cancel, static_cast<sync_waiter*>(this)}, recheck);
    }

    // At the step after a wake-up: the `finally` of Condition.wait (re-acquire, retrying after
    // each cancellation) or, in the lock phase, the end of one Lock.acquire. Returns true when
    // the coroutine may resume (the lock is held, or the primitive died).
    bool advance() {
        if (gone) {
            return true;
        }
        unlink();
        if (in_lock_phase_ && !round_cancelled_) {
            l_->locked_ = true;
            return true;
        }
        if (in_lock_phase_) {
            round_cancelled_ = false;
            if (!l_->locked_) {
                l_->wake_up_first();
            }
        }
        in_lock_phase_ = true;
        if (l_->can_take()) {
            l_->locked_ = true;
            return true;
        }
        st = state::waiting;
        l_->waiters_.push_back(*this);
        root->suspend(handle, cancel_hook{&on_cancel, static_cast<sync_waiter*>(this)}, recheck);
        return false;
    }

    // After the lock is held again: Condition.wait's `except BaseException: _notify(1); raise`.
    void finish_wait() {
        unlink();
        if (gone) {
            root->throw_if_cancel_delivered();
            throw std::runtime_error("the synchronisation primitive was destroyed while a task "
                                     "was waiting on it");
        }
        root->throw_if_cancel_delivered();
        if (raise_cancel_) {
            raise_cancel_ = false;
            notify_one();
            throw cancelled_error(root->cancel_message());
        }
    }
    void notify_one() { notify_waiters(*waiters_, 1); }

    // task.cancel() during the wait: the cancellation is caught by the wait itself (which first
    // re-acquires the lock), so the hook accepts it and the step runs advance().
    static bool on_cancel(void* ctx, task_core& t) {
        auto* self = static_cast<condition_wait_base*>(static_cast<sync_waiter*>(ctx));
        self->raise_cancel_ = true;
        if (self->in_lock_phase_) {
            self->round_cancelled_ = true;
        }
        if (self->st == state::waiting) {
            self->st = state::cancelled;
            t.wake();
            t.suspend(self->handle, cancel_hook{&on_cancel, static_cast<sync_waiter*>(self)},
                      self->recheck);
        }
        return true;
    }

    lock_core* l_;
    sync_list* waiters_;
    bool in_lock_phase_ = false;
    bool round_cancelled_ = false;
    bool raise_cancel_ = false;
};

/// condition::wait_awaiter<Pred>, the awaiter of Condition.wait() (Pred = void) and
/// wait_for(pred): a state machine that waits to be notified, then re-acquires the lock (again and
/// again if cancelled meanwhile), and for wait_for waits again while the predicate is false, all
/// without resuming the coroutine.
template <class Pred> class condition_wait : private condition_wait_base {
    static constexpr bool plain = std::is_void_v<Pred>;
    struct no_pred {};
    using pred_t = std::conditional_t<plain, no_pred, Pred>;
    struct no_result {};
    using slot_t = std::conditional_t<plain, no_result, typename pred_result<Pred>::type>;

public:
    condition_wait(lock_core* l, sync_list* waiters, pred_t pred)
        : condition_wait_base(l, waiters), pred_(std::move(pred)) {
        recheck = &step;
    }

    [[nodiscard]] bool await_ready() {
        if constexpr (!plain) {
            result_.emplace(pred_());
            if (static_cast<bool>(*result_)) {
                return true;
            }
        }
        check_locked();
        return false;
    }
    template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) { begin(h); }

    decltype(auto) await_resume() {
        if constexpr (plain) {
            if (root != nullptr) {
                finish_wait();
            }
        } else {
            if (root != nullptr) {
                finish_wait();
                if (error_) {
                    std::rethrow_exception(error_);
                }
            }
            if (!result_.has_value()) { // cannot happen: the wait ended with the predicate true
                throw std::logic_error("condition.wait_for: no predicate value");
            }
            return std::move(*result_);
        }
    }

private:
    static bool step(void* ctx, task_core&) {
        auto* self = static_cast<condition_wait*>(static_cast<sync_waiter*>(ctx));
        if (!self->advance()) {
            return false;
        }
        if constexpr (!plain) {
            // wait_for's loop: with the lock held, re-evaluate and wait again while false.
            if (!self->gone && !self->raise_cancel_) {
                try {
                    self->result_.emplace(self->pred_());
                    if (!static_cast<bool>(*self->result_)) {
                        self->l_->release();
                        self->wait_notify();
                        return false;
                    }
                } catch (...) {
                    self->error_ = std::current_exception();
                }
            }
        }
        return true;
    }

    [[no_unique_address]] pred_t pred_;
    [[no_unique_address]] std::conditional_t<plain, no_result, std::optional<slot_t>> result_;
    std::exception_ptr error_;
};

} // namespace asyncio::detail
// ---- (back in asyncio/detail/barrier_core.hpp)


namespace asyncio::detail {

/// asyncio.Barrier's state: a condition (its lock and waiters), the parties, the count and the
/// state (filling, draining, resetting, broken). `barrier` adds wait(), reset() and abort().
class barrier_core {
public:
    barrier_core(const barrier_core&) = delete;
    barrier_core& operator=(const barrier_core&) = delete;

    class wait_awaiter;
    class change_awaiter;

    /// Barrier.parties.
    [[nodiscard]] std::ptrdiff_t parties() const noexcept { return parties_; }
    /// Barrier.n_waiting: the tasks waiting in the filling state, else 0.
    [[nodiscard]] std::ptrdiff_t n_waiting() const noexcept {
        return state_ == barrier_state::filling ? count_ : 0;
    }
    /// Barrier.broken.
    [[nodiscard]] bool broken() const noexcept { return state_ == barrier_state::broken; }

protected:
    /// std::invalid_argument("parties must be > 0") when `parties < 1`.
    explicit barrier_core(std::ptrdiff_t parties) : parties_(parties) {
        if (parties < 1) {
            throw std::invalid_argument("parties must be > 0");
        }
    }
    ~barrier_core() = default;

private:
    friend struct repr::peek; // the debug strings (repr.hpp) read the state

    enum class barrier_state : unsigned char { filling, draining, resetting, broken };
    struct cond_lock final : lock_core {};

    // Barrier._exit: the last task to leave ends the draining or resetting.
    void exit() {
        if (count_ == 0) {
            if (state_ == barrier_state::resetting || state_ == barrier_state::draining) {
                state_ = barrier_state::filling;
            }
            notify_all();
        }
    }
    // self._cond.notify_all(), always with the lock held.
    void notify_all() { notify_waiters(cond_waiters_, cond_waiters_.size()); }

    cond_lock lock_;
    sync_list cond_waiters_;
    std::ptrdiff_t parties_;
    barrier_state state_ = barrier_state::filling;
    std::ptrdiff_t count_ = 0;
};

/// barrier::wait_awaiter, the awaiter of barrier::wait(): Barrier.wait as a state machine. `async
/// with cond` (a Lock.acquire), `_block` (cond.wait_for while draining or resetting), the count,
/// then `_release` or `_wait` (cond.wait_for while filling), the `finally` (count, `_exit`) and the
/// lock's release. Between two waits it runs at the start of the task's step without resuming the
/// coroutine; the coroutine resumes once, when the wait returns or raises.
class barrier_core::wait_awaiter : private condition_wait_base {
public:
    explicit wait_awaiter(barrier_core* b) noexcept
        : condition_wait_base(&b->lock_, &b->cond_waiters_), b_(b) {
        recheck = &step;
    }

    [[nodiscard]] bool await_ready() {
        if (!try_take_lock()) {
            return false;
        }
        held_ = true;
        phase_ = phase::blocking;
        return run();
    }
    template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
        if (phase_ == phase::acquiring) {
            park_on_lock(h);
        } else {
            root = root_of(h);
            handle = h;
            wait_for_notify();
        }
    }

    std::ptrdiff_t await_resume() {
        if (root != nullptr && phase_ == phase::acquiring) {
            // Lock.acquire raised (cancelled while waiting, or woken then cancelled).
            resume_checks();
            pass_lock_on();
            root->throw_if_cancel_delivered();
        }
        if (root != nullptr && phase_ != phase::finished) {
            // A condition wait ended with a cancellation (the lock is held again) or the
            // barrier died.
            unlink();
            if (gone) {
                root->throw_if_cancel_delivered();
                throw std::runtime_error("the synchronisation primitive was destroyed while a "
                                         "task was waiting on it");
            }
            const bool counted = phase_ == phase::filling;
            if (root->cancel_delivery_pending()) {
                leave(counted);
                root->throw_if_cancel_delivered();
            }
            raise_cancel_ = false;
            notify_one(); // Condition.wait's `except BaseException: self._notify(1)`
            leave(counted);
            throw cancelled_error(root->cancel_message());
        }
        switch (outcome_) {
        case outcome::aborted:
            throw broken_barrier_error("Barrier aborted");
        case outcome::reset:
            throw broken_barrier_error("Abort or reset of barrier");
        case outcome::index:
            break;
        }
        return index_;
    }

private:
    enum class phase : unsigned char { acquiring, blocking, filling, finished };
    enum class outcome : unsigned char { index, aborted, reset };

    // At the start of the step after a wake-up: the end of Lock.acquire, or of a Condition.wait
    // (re-acquiring the lock first); then Barrier.wait goes on. False: waits again.
    static bool step(void* ctx, task_core&) {
        auto* self = static_cast<wait_awaiter*>(static_cast<sync_waiter*>(ctx));
        if (self->phase_ == phase::acquiring) {
            self->unlink();
            if (self->gone) {
                return true;
            }
            self->take_lock();
            self->phase_ = phase::blocking;
        } else {
            if (!self->advance()) {
                return false;
            }
            if (self->gone || self->raise_cancel_) {
                self->held_ = !self->gone;
                return true;
            }
        }
        self->held_ = true;
        return self->run();
    }

    // Barrier.wait from where it stands, with the lock held: true when it returned or raised
    // (the lock released), false when it waits for a notify (the lock released too).
    bool run() {
        barrier_core& b = *b_;
        if (phase_ == phase::blocking) {
            if (b.state_ == barrier_state::draining || b.state_ == barrier_state::resetting) {
                wait_for_notify();
                return false;
            }
            if (b.state_ == barrier_state::broken) {
                finish(outcome::aborted, false);
                return true;
            }
            index_ = b.count_++;
            if (index_ + 1 == b.parties_) {
                b.state_ = barrier_state::draining;
                b.notify_all();
                finish(outcome::index, true);
                return true;
            }
            phase_ = phase::filling;
        }
        if (b.state_ == barrier_state::filling) {
            wait_for_notify();
            return false;
        }
        const bool broke =
            b.state_ == barrier_state::broken || b.state_ == barrier_state::resetting;
        finish(broke ? outcome::reset : outcome::index, true);
        return true;
    }

    // Condition.wait: releases the lock and joins the condition's waiters. Before the first
    // suspension (from await_ready) the task is not known yet: await_suspend does it.
    void wait_for_notify() {
        if (root != nullptr) {
            held_ = false;
            wait_again();
        }
    }

    void finish(outcome o, bool counted) {
        outcome_ = o;
        phase_ = phase::finished;
        leave(counted);
    }

    // The `finally` of Barrier.wait (when the count was taken), then `async with`'s release.
    void leave(bool counted) {
        if (counted) {
            --b_->count_;
            b_->exit();
        }
        if (held_) {
            held_ = false;
            b_->lock_.release();
        }
    }

    barrier_core* b_;
    std::ptrdiff_t index_ = 0;
    phase phase_ = phase::acquiring;
    outcome outcome_ = outcome::index;
    bool held_ = false;
};

/// barrier::change_awaiter, the awaiter of barrier::reset() and abort(): `async with cond:` around
/// a state change and a notify_all, so it suspends only to acquire the lock.
class barrier_core::change_awaiter : public lock_core::acquire_awaiter {
public:
    change_awaiter(barrier_core* b, bool abort) noexcept
        : lock_core::acquire_awaiter(&b->lock_), b_(b), abort_(abort) {}

    void await_resume() {
        lock_core::acquire_awaiter::await_resume();
        if (abort_) {
            b_->state_ = barrier_state::broken;
        } else if (b_->count_ > 0) {
            b_->state_ = barrier_state::resetting;
        } else {
            b_->state_ = barrier_state::filling;
        }
        b_->notify_all();
        b_->lock_.release();
    }

private:
    barrier_core* b_;
    bool abort_;
};

} // namespace asyncio::detail
// ---- (back in asyncio/locks.hpp)

// ---- asyncio/detail/semaphore_core.hpp -----------------------------------------------------------
// Semaphore's algorithm (asyncio.Semaphore without release()), shared by semaphore and
// bounded_semaphore.



namespace asyncio::detail {

namespace repr {
struct peek;
}

/// Semaphore's algorithm; `semaphore` and `bounded_semaphore` differ in release().
class semaphore_base {
public:
    semaphore_base(const semaphore_base&) = delete;
    semaphore_base& operator=(const semaphore_base&) = delete;

    /// Semaphore.locked(): the value is 0 or some waiter is not cancelled.
    [[nodiscard]] bool locked() {
        if (value_ == 0) {
            return true;
        }
        bool any = false;
        waiters_.for_each(
            [&](sync_waiter& w) { any = any || w.st != sync_waiter::state::cancelled; });
        return any;
    }

    /// The counter (Python's `_value`).
    [[nodiscard]] std::ptrdiff_t value() const noexcept { return value_; }

    class acquire_awaiter : private sync_waiter {
    public:
        explicit acquire_awaiter(semaphore_base* s) noexcept : s_(s) {}
        [[nodiscard]] bool await_ready() {
            if (!s_->locked()) {
                --s_->value_;
                return true;
            }
            return false;
        }
        template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
            park(s_->waiters_, h);
        }
        void await_resume() {
            if (root == nullptr) {
                return;
            }
            resume_checks();
            const bool cancelled = root->cancel_delivery_pending();
            if (cancelled && st == state::woken) {
                ++s_->value_; // woken, then cancelled: give the unit back
            }
            while (s_->value_ > 0 && s_->wake_up_next()) {
            }
            if (cancelled) {
                root->throw_if_cancel_delivered();
            }
        }

    private:
        semaphore_base* s_;
    };

protected:
    explicit semaphore_base(std::ptrdiff_t value) : value_(value) {
        if (value < 0) {
            throw std::invalid_argument("Semaphore initial value must be >= 0");
        }
    }
    ~semaphore_base() = default;

    void release_one() {
        ++value_;
        (void)wake_up_next();
    }

private:
    friend struct repr::peek; // the debug strings (repr.hpp) read the waiters
    // Semaphore._wake_up_next: the first waiter that is not done takes a unit.
    bool wake_up_next() {
        bool woke = false;
        waiters_.for_each([&](sync_waiter& w) {
            if (!woke && !w.done()) {
                --value_;
                w.wake();
                woke = true;
            }
        });
        return woke;
    }

    sync_list waiters_;
    std::ptrdiff_t value_;
};

} // namespace asyncio::detail
// ---- (back in asyncio/locks.hpp)


namespace asyncio {

namespace detail::repr {
struct peek;
}

/// What `co_await x.acquire_guard()` returns (Python's `async with x:`): releases the lock or
/// semaphore when it goes out of scope, or earlier with `release()`. Move-only. If the primitive
/// was released behind the guard's back, the destructor does nothing (it cannot throw).
template <class L> class guard {
public:
    explicit guard(L& l) noexcept : l_(&l) {}
    guard(guard&& o) noexcept : l_(std::exchange(o.l_, nullptr)) {}
    guard& operator=(guard&& o) noexcept {
        if (this != &o) {
            reset();
            l_ = std::exchange(o.l_, nullptr);
        }
        return *this;
    }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    ~guard() { reset(); }

    /// Releases now (may throw what the primitive's `release()` throws).
    void release() { std::exchange(l_, nullptr)->release(); }
    /// True until released.
    [[nodiscard]] bool owns() const noexcept { return l_ != nullptr; }

private:
    void reset() noexcept {
        if (l_ != nullptr) {
            try {
                std::exchange(l_, nullptr)->release();
                // NOLINTNEXTLINE(bugprone-empty-catch): released behind the guard's back (a
            } catch (...) { // destructor cannot throw, and there is nothing left to undo)
            }
        }
    }
    L* l_;
};

/// Wraps an acquire awaiter so that the await gives a `guard<L>`.
template <class L, class Acquire> class guard_awaiter : public Acquire {
public:
    guard_awaiter(L& l, Acquire a) noexcept : Acquire(std::move(a)), l_(&l) {}
    guard<L> await_resume() {
        Acquire::await_resume();
        return guard<L>(*l_);
    }

private:
    L* l_;
};

/// asyncio.Event: a flag that tasks wait for. `set()` wakes every waiter, in wait order.
class event {
public:
    event() = default;
    event(const event&) = delete;
    event& operator=(const event&) = delete;

    /// Event.is_set().
    [[nodiscard]] bool is_set() const noexcept { return value_; }

    /// Event.set(): if unset, sets the flag and wakes every waiter (each resumes next iteration).
    void set() {
        if (!value_) {
            value_ = true;
            waiters_.for_each([](detail::sync_waiter& w) {
                if (!w.done()) {
                    w.wake();
                }
            });
        }
    }

    /// Event.clear(): wake-ups already delivered stand.
    void clear() noexcept { value_ = false; }

    /// `co_await e.wait()`: returns at once when set, else when `set()` is called.
    class wait_awaiter : private detail::sync_waiter {
    public:
        explicit wait_awaiter(event* e) noexcept : e_(e) {}
        [[nodiscard]] bool await_ready() const noexcept { return e_->value_; }
        template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
            park(e_->waiters_, h);
        }
        void await_resume() {
            if (root != nullptr) {
                resume_checks();
                root->throw_if_cancel_delivered();
            }
        }

    private:
        event* e_;
    };

    /// Event.wait(); a plain awaiter.
    [[nodiscard("co_await the wait")]] wait_awaiter wait() noexcept { return wait_awaiter(this); }

private:
    friend struct detail::repr::peek; // the debug strings (repr.hpp) read the waiters

    detail::sync_list waiters_;
    bool value_ = false;
};

/// asyncio.Lock: not reentrant, FIFO, no barging (a newcomer queues behind a woken waiter).
/// locked() and release() (std::runtime_error "Lock is not acquired." when unlocked) are
/// detail::lock_core's.
class lock : public detail::lock_core {
public:
    lock() = default;

    /// Lock.acquire(); a plain awaiter: no suspension if unlocked and no waiter is left that is
    /// not cancelled; otherwise waits in FIFO order.
    [[nodiscard("co_await the acquire")]] acquire_awaiter acquire() noexcept {
        return acquire_awaiter(this);
    }

    /// `async with lock:`: `auto g = co_await l.acquire_guard();` releases at scope exit.
    [[nodiscard("keep the guard")]] guard_awaiter<lock, acquire_awaiter> acquire_guard() noexcept {
        return {*this, acquire_awaiter(this)};
    }
};

/// asyncio.Semaphore(value=1): strictly FIFO, no barging.
class semaphore : public detail::semaphore_base {
public:
    /// std::invalid_argument("Semaphore initial value must be >= 0") when `value < 0`.
    explicit semaphore(std::ptrdiff_t value = 1) : semaphore_base(value) {}

    /// Semaphore.release(): increments and wakes the next waiter.
    void release() { release_one(); }

    /// `co_await s.acquire()`; a plain awaiter.
    [[nodiscard("co_await the acquire")]] acquire_awaiter acquire() noexcept {
        return acquire_awaiter(this);
    }
    /// `async with sem:`: `auto g = co_await s.acquire_guard();` releases at scope exit.
    [[nodiscard("keep the guard")]] guard_awaiter<semaphore, acquire_awaiter>
    acquire_guard() noexcept {
        return {*this, acquire_awaiter(this)};
    }
};

/// asyncio.BoundedSemaphore(value=1): release() above the initial value raises.
class bounded_semaphore : public detail::semaphore_base {
public:
    /// std::invalid_argument("Semaphore initial value must be >= 0") when `value < 0`.
    explicit bounded_semaphore(std::ptrdiff_t value = 1) : semaphore_base(value), bound_(value) {}

    /// std::invalid_argument("BoundedSemaphore released too many times") above the bound.
    void release() {
        if (value() >= bound_) {
            throw std::invalid_argument("BoundedSemaphore released too many times");
        }
        release_one();
    }

    /// `co_await s.acquire()`; a plain awaiter.
    [[nodiscard("co_await the acquire")]] acquire_awaiter acquire() noexcept {
        return acquire_awaiter(this);
    }
    /// `async with sem:`: `auto g = co_await s.acquire_guard();` releases at scope exit.
    [[nodiscard("keep the guard")]] guard_awaiter<bounded_semaphore, acquire_awaiter>
    acquire_guard() noexcept {
        return {*this, acquire_awaiter(this)};
    }

private:
    std::ptrdiff_t bound_;
};

/// asyncio.Condition(lock=None): owns a lock, or uses the one given (which must outlive it).
class condition {
public:
    condition() noexcept : lock_(&own_) {}
    /// Condition(lock).
    explicit condition(lock& l) noexcept : lock_(&l) {}
    condition(const condition&) = delete;
    condition& operator=(const condition&) = delete;

    /// The underlying lock's locked(), acquire(), acquire_guard() and release().
    [[nodiscard]] bool locked() const noexcept { return lock_->locked(); }
    [[nodiscard("co_await the acquire")]] lock::acquire_awaiter acquire() noexcept {
        return lock_->acquire();
    }
    [[nodiscard("keep the guard")]] guard_awaiter<lock, lock::acquire_awaiter>
    acquire_guard() noexcept {
        return lock_->acquire_guard();
    }
    void release() { lock_->release(); }

    /// Condition.notify(n): wakes up to `n` waiters in FIFO order; each returns from its wait
    /// once it has the lock back. std::runtime_error without the lock.
    void notify(std::size_t n = 1) {
        if (!locked()) {
            throw std::runtime_error("cannot notify on un-acquired lock");
        }
        detail::notify_waiters(waiters_, n);
    }
    /// Condition.notify_all().
    void notify_all() { notify(waiters_.size()); }

    /// The awaiter of wait() (Pred = void) and wait_for(pred): a state machine that waits to be
    /// notified, then re-acquires the lock (again and again if cancelled meanwhile), and for
    /// wait_for waits again while the predicate is false, all without resuming the coroutine.
    template <class Pred> using wait_awaiter = detail::condition_wait<Pred>;

    /// `co_await c.wait()`: releases the lock, waits for a notify, re-acquires the lock (even
    /// when cancelled, and only then rethrows). std::runtime_error without the lock.
    [[nodiscard("co_await the wait")]] wait_awaiter<void> wait() noexcept {
        return wait_awaiter<void>(lock_, &waiters_, {});
    }

    /// `co_await c.wait_for(pred)`: waits until `pred()` is truthy and returns its value.
    template <class Pred>
    [[nodiscard("co_await the wait")]] wait_awaiter<std::decay_t<Pred>> wait_for(Pred&& pred) {
        return wait_awaiter<std::decay_t<Pred>>(lock_, &waiters_, std::forward<Pred>(pred));
    }

private:
    friend struct detail::repr::peek; // the debug strings (repr.hpp) read the waiters

    lock own_;
    lock* lock_;
    detail::sync_list waiters_;
};

/// asyncio.Barrier(parties): tasks wait until `parties` have arrived; states filling, draining,
/// resetting and broken. wait(), reset() and abort() are plain awaiters (no coroutine frame per
/// call) that follow locks.py's coroutines over a condition step by step, so they take exactly
/// CPython's hops. parties(), n_waiting() and broken() are detail::barrier_core's.
class barrier : public detail::barrier_core {
public:
    /// std::invalid_argument("parties must be > 0") when `parties < 1`.
    explicit barrier(std::ptrdiff_t parties) : barrier_core(parties) {}

    /// `co_await b.wait()` (Barrier.wait()): the arrival index, 0 to parties-1 (the last arrival
    /// does not suspend and resumes first). broken_barrier_error when the barrier is reset or
    /// aborted meanwhile ("Abort or reset of barrier"), or is broken ("Barrier aborted").
    [[nodiscard("co_await the wait")]] wait_awaiter wait() noexcept { return wait_awaiter(this); }

    /// `co_await b.reset()` (Barrier.reset()): current waiters raise broken_barrier_error; the
    /// barrier refills. Suspends only while another task holds the barrier's lock.
    [[nodiscard("co_await the reset")]] change_awaiter reset() noexcept { return {this, false}; }

    /// `co_await b.abort()` (Barrier.abort()): breaks the barrier for good.
    [[nodiscard("co_await the abort")]] change_awaiter abort() noexcept { return {this, true}; }
};

} // namespace asyncio
// ---- (back in asyncio/asyncio.hpp)

// ---- asyncio/queue.hpp ---------------------------------------------------------------------------
// queue, priority_queue and lifo_queue: asyncio.Queue, PriorityQueue and LifoQueue.



// ---- asyncio/detail/queue_core.hpp ---------------------------------------------------------------
// The untyped part of asyncio's queues: waiter lists, unfinished count, joiners, shutdown flag.



#include <initializer_list>

namespace asyncio::detail {

struct waiter_tag;

/// A task suspended in put, get or join; lives in the awaiting frame.
struct queue_waiter : list_hook<waiter_tag> {
    task_core* root = nullptr;
    std::coroutine_handle<> handle;
    bool woken = false;
    /// The queue was destroyed while this waiter referred to it.
    bool gone = false;

    /// After resuming from a wait: rethrows a delivered cancellation, or reports a queue that
    /// died under a waiter. Returns true when the queue may be touched.
    [[nodiscard]] bool resume_checks() {
        unlink();
        if (gone) {
            root->throw_if_cancel_delivered();
            throw std::runtime_error("the queue was destroyed while a task was waiting on it");
        }
        return true;
    }

    queue_waiter() noexcept = default;
    queue_waiter(const queue_waiter&) noexcept : list_hook<waiter_tag>() {}
    queue_waiter& operator=(const queue_waiter&) = delete;
    ~queue_waiter() { unlink(); }
};

using waiter_list = intrusive_list<queue_waiter, waiter_tag>;

/// Getters, putters and joiners, the count of unfinished items and the shutdown flag.
class queue_core {
public:
    queue_core() = default;
    queue_core(const queue_core&) = delete;
    queue_core& operator=(const queue_core&) = delete;

    /// A queue that dies under waiting tasks (a local queue of a task that returned while its
    /// consumers were being cancelled, the seed program's shape) must not be touched by them
    /// again: each waiter learns the queue is gone, and one still blocked is woken to fail.
    ~queue_core() {
        for (waiter_list* l : {&getters_, &putters_, &joiners_}) {
            while (!l->empty()) {
                queue_waiter& w = l->pop_front();
                w.gone = true;
                w.root->wake();
            }
        }
        while (!woken_.empty()) {
            woken_.pop_front().gone = true;
        }
    }

    /// asyncio's _wakeup_next: the first waiter's task runs in the next iteration and re-checks
    /// (no hand-off: a task that runs first may take the item).
    void wakeup_next(waiter_list& waiters) {
        if (!waiters.empty()) {
            queue_waiter& w = waiters.pop_front();
            w.woken = true;
            woken_.push_back(w);
            w.root->wake();
        }
    }
    void wakeup_all(waiter_list& waiters) {
        while (!waiters.empty()) {
            wakeup_next(waiters);
        }
    }

    /// Queue.task_done().
    void task_done() {
        if (unfinished_ == 0) {
            throw std::invalid_argument("task_done() called too many times");
        }
        if (--unfinished_ == 0) {
            wakeup_all(joiners_);
        }
    }

    /// Suspends `h` on `list` with a cancel hook that withdraws the waiter.
    template <class Promise>
    void wait_on(waiter_list& list, queue_waiter& w, std::coroutine_handle<Promise> h,
                 recheck_fn recheck) {
        w.root = root_of(h);
        w.handle = h;
        w.woken = false;
        list.push_back(w);
        w.root->suspend(h, cancel_hook{&withdraw, &w}, recheck);
    }

    /// Waits again at the back after a lost race (the re-check of asyncio's `while` loop).
    static void wait_again(waiter_list& list, queue_waiter& w, recheck_fn recheck) {
        w.unlink();
        w.woken = false;
        list.push_back(w);
        w.root->suspend(w.handle, cancel_hook{&withdraw, &w}, recheck);
    }

    waiter_list getters_;
    waiter_list putters_;
    waiter_list joiners_;
    waiter_list woken_; // woken, their step not run yet
    std::size_t unfinished_ = 0;
    bool shut_down_ = false;

private:
    // Cancelled while waiting: leave the list; the await throws cancelled_error next iteration.
    static bool withdraw(void* ctx, task_core& t) {
        auto* w = static_cast<queue_waiter*>(ctx);
        w->unlink();
        t.deliver_cancel();
        t.wake();
        return true;
    }
};

} // namespace asyncio::detail
// ---- (back in asyncio/queue.hpp)


namespace asyncio {

namespace detail {

/// FIFO storage (asyncio.Queue).
template <class T> class fifo_store {
public:
    void push(T&& v) { items_.push_back(std::move(v)); }
    T pop() {
        T v = std::move(items_.front());
        items_.pop_front();
        return v;
    }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    void clear() noexcept { items_.clear(); }
    /// Front (next out) to back.
    template <class F> void for_each(F&& f) const {
        for (const T& v : items_) {
            f(v);
        }
    }

private:
    std::deque<T> items_;
};

/// Stack storage (asyncio.LifoQueue).
template <class T> class lifo_store {
public:
    void push(T&& v) { items_.push_back(std::move(v)); }
    T pop() {
        T v = std::move(items_.back());
        items_.pop_back();
        return v;
    }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    void clear() noexcept { items_.clear(); }
    /// Bottom (oldest) to top (next out), the order of LifoQueue's list.
    template <class F> void for_each(F&& f) const {
        for (const T& v : items_) {
            f(v);
        }
    }

private:
    std::vector<T> items_;
};

/// Min-heap storage (asyncio.PriorityQueue); equal priorities leave in insertion order.
template <class T, class Compare> class priority_store {
public:
    void push(T&& v) {
        heap_.push_back(entry{std::move(v), seq_++});
        std::push_heap(heap_.begin(), heap_.end(), later{&comp_});
    }
    T pop() {
        std::pop_heap(heap_.begin(), heap_.end(), later{&comp_});
        T v = std::move(heap_.back().value);
        heap_.pop_back();
        return v;
    }
    [[nodiscard]] std::size_t size() const noexcept { return heap_.size(); }
    void clear() noexcept { heap_.clear(); }
    /// In the order the items come out (the heap's own layout depends on the standard library).
    template <class F> void for_each(F&& f) const {
        std::vector<const entry*> order;
        order.reserve(heap_.size());
        for (const entry& e : heap_) {
            order.push_back(&e);
        }
        Compare comp = comp_;
        std::sort(order.begin(), order.end(),
                  [&comp](const entry* a, const entry* b) { return later{&comp}(*b, *a); });
        for (const entry* e : order) {
            f(e->value);
        }
    }

private:
    struct entry {
        T value;
        std::uint64_t seq;
    };
    // std heap algorithms build a max-heap: "a comes out after b".
    struct later {
        Compare* comp;
        bool operator()(const entry& a, const entry& b) const {
            if ((*comp)(b.value, a.value)) {
                return true;
            }
            if ((*comp)(a.value, b.value)) {
                return false;
            }
            return a.seq > b.seq;
        }
    };
    std::vector<entry> heap_;
    std::uint64_t seq_ = 0;
    [[no_unique_address]] Compare comp_{};
};

/// The queue algorithm over a storage policy; see `queue` for the documentation.
template <class T, class Store> class basic_queue : private queue_core {
public:
    explicit basic_queue(std::ptrdiff_t maxsize = 0) noexcept : maxsize_(maxsize) {}

    [[nodiscard]] std::size_t qsize() const noexcept { return store_.size(); }
    [[nodiscard]] bool empty() const noexcept { return store_.size() == 0; }
    [[nodiscard]] bool full() const noexcept {
        return maxsize_ > 0 && store_.size() >= static_cast<std::size_t>(maxsize_);
    }
    [[nodiscard]] std::ptrdiff_t maxsize() const noexcept { return maxsize_; }
    [[nodiscard]] bool is_shut_down() const noexcept { return shut_down_; }

    /// For debug strings: the number of tasks blocked in `get()` (asyncio's `len(q._getters)`).
    [[nodiscard]] std::size_t waiting_getters() const noexcept { return count(getters_); }
    /// For debug strings: the number of tasks blocked in `put()` (`len(q._putters)`).
    [[nodiscard]] std::size_t waiting_putters() const noexcept { return count(putters_); }
    /// For debug strings: items put and not yet marked done (`q._unfinished_tasks`).
    [[nodiscard]] std::size_t unfinished_tasks() const noexcept { return unfinished_; }
    /// For debug strings: calls `f(const T&)` for each item, in the order asyncio's repr lists
    /// `_queue` (FIFO: next out first; LIFO: oldest first; priority: next out first).
    template <class F> void for_each_item(F&& f) const { store_.for_each(std::forward<F>(f)); }

    void put_nowait(T item) {
        if (shut_down_) {
            throw queue_shut_down();
        }
        if (full()) {
            throw queue_full();
        }
        store_.push(std::move(item));
        ++unfinished_;
        wakeup_next(getters_);
    }

    T get_nowait() {
        if (empty()) {
            if (shut_down_) {
                throw queue_shut_down();
            }
            throw queue_empty();
        }
        T item = store_.pop();
        wakeup_next(putters_);
        return item;
    }

    using queue_core::task_done;

    void shutdown(bool immediate = false) {
        shut_down_ = true;
        if (immediate) {
            while (!empty()) {
                (void)store_.pop();
                if (unfinished_ > 0) {
                    --unfinished_;
                }
            }
            if (unfinished_ == 0) {
                wakeup_all(joiners_);
            }
        }
        wakeup_all(getters_);
        wakeup_all(putters_);
    }

    class put_awaiter;
    class get_awaiter;
    class join_awaiter;

    [[nodiscard("co_await the put")]] put_awaiter put(T item) {
        return put_awaiter(this, std::move(item));
    }
    [[nodiscard("co_await the get")]] get_awaiter get() noexcept { return get_awaiter(this); }
    [[nodiscard("co_await the join")]] join_awaiter join() noexcept { return join_awaiter(this); }

    /// `co_await q.put(x)`: the item waits in the caller's frame, not in the queue, until there
    /// is room, so a cancelled put never inserts it.
    class put_awaiter : private queue_waiter {
    public:
        put_awaiter(basic_queue* q, T&& item) : q_(q), item_(std::move(item)) {}
        [[nodiscard]] bool await_ready() const noexcept { return !q_->full() || q_->shut_down_; }
        template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
            q_->wait_on(q_->putters_, *this, h, &recheck);
        }
        void await_resume() {
            if (root != nullptr && resume_checks() && root->cancel_delivery_pending()) {
                if (woken && !q_->full()) {
                    q_->wakeup_next(q_->putters_);
                }
                root->throw_if_cancel_delivered();
            }
            q_->put_nowait(std::move(item_));
        }

    private:
        static bool recheck(void* ctx, task_core&) {
            auto* self = static_cast<put_awaiter*>(static_cast<queue_waiter*>(ctx));
            if (!self->gone && self->q_->full() && !self->q_->shut_down_) {
                wait_again(self->q_->putters_, *self, &recheck);
                return false;
            }
            return true;
        }
        basic_queue* q_;
        T item_;
    };

    /// `co_await q.get()`: the item.
    class get_awaiter : private queue_waiter {
    public:
        explicit get_awaiter(basic_queue* q) noexcept : q_(q) {}
        [[nodiscard]] bool await_ready() const noexcept { return !q_->empty() || q_->shut_down_; }
        template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
            q_->wait_on(q_->getters_, *this, h, &recheck);
        }
        T await_resume() {
            if (root != nullptr && resume_checks() && root->cancel_delivery_pending()) {
                // Woken, then cancelled before running: pass the wake-up on (asyncio's except).
                if (woken && !q_->empty()) {
                    q_->wakeup_next(q_->getters_);
                }
                root->throw_if_cancel_delivered();
            }
            return q_->get_nowait();
        }

    private:
        static bool recheck(void* ctx, task_core&) {
            auto* self = static_cast<get_awaiter*>(static_cast<queue_waiter*>(ctx));
            if (!self->gone && self->q_->empty() && !self->q_->shut_down_) {
                wait_again(self->q_->getters_, *self, &recheck);
                return false;
            }
            return true;
        }
        basic_queue* q_;
    };

    /// `co_await q.join()`: until every item put has been marked done.
    class join_awaiter : private queue_waiter {
    public:
        explicit join_awaiter(basic_queue* q) noexcept : q_(q) {}
        [[nodiscard]] bool await_ready() const noexcept { return q_->unfinished_ == 0; }
        template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
            q_->wait_on(q_->joiners_, *this, h, nullptr);
        }
        void await_resume() {
            if (root != nullptr && resume_checks()) {
                root->throw_if_cancel_delivered();
            }
        }

    private:
        basic_queue* q_;
    };

protected:
    ~basic_queue() = default;

private:
    static std::size_t count(const waiter_list& l) noexcept { return l.count(); }

    Store store_;
    std::ptrdiff_t maxsize_;
};

} // namespace detail

/// asyncio.Queue: a FIFO queue for tasks of one loop. `maxsize` <= 0 means unbounded.
/// `co_await q.put(x)` waits while the queue is full, `co_await q.get()` while it is empty; both
/// proceed at once, without suspending, when they can, even with others waiting. A wake-up is not
/// a hand-off: the woken task re-checks when it runs, and a task that runs first may take the item
/// (the loser waits again at the back), as in asyncio. A cancelled getter takes no item and passes
/// on a wake-up it received; a cancelled put never inserts its item. `task_done()` counts puts;
/// `co_await q.join()` waits until every item put was marked done. `shutdown(immediate)` follows
/// Python 3.13. Waiters resume in the iteration after the event that frees them. put/get/join are
/// plain awaiters in the caller's frame: no allocation per operation. The queue must outlive the
/// tasks waiting on it. Errors: queue_full, queue_empty, queue_shut_down, and
/// std::invalid_argument("task_done() called too many times").
template <class T> class queue : public detail::basic_queue<T, detail::fifo_store<T>> {
public:
    using detail::basic_queue<T, detail::fifo_store<T>>::basic_queue;
};

/// asyncio.PriorityQueue: smallest first by `Compare`. Deliberate improvement on asyncio's heapq:
/// items of equal priority come out in insertion order (heapq would compare the items further).
template <class T, class Compare = std::less<T>>
class priority_queue : public detail::basic_queue<T, detail::priority_store<T, Compare>> {
public:
    using detail::basic_queue<T, detail::priority_store<T, Compare>>::basic_queue;
};

/// asyncio.LifoQueue: the last item put is the first got.
template <class T> class lifo_queue : public detail::basic_queue<T, detail::lifo_store<T>> {
public:
    using detail::basic_queue<T, detail::lifo_store<T>>::basic_queue;
};

} // namespace asyncio
// ---- (back in asyncio/asyncio.hpp)

// ---- asyncio/repr.hpp ----------------------------------------------------------------------------
// Debug strings (asyncio's repr): operator<< and std::formatter for futures, tasks, handles,
// queues, locks, task groups and timeouts.


// ---- asyncio/task_group.hpp ----------------------------------------------------------------------
// task_group (asyncio.TaskGroup): structured concurrency as a body-taking coroutine.



// ---- asyncio/detail/body_outcome.hpp -------------------------------------------------------------
// How the body of a task group or a timeout ended: its value, or the exception that ended it.



namespace asyncio::detail {

/// What the body of `async with` ended with, kept while the scope's exit runs (C++ forbids
/// `co_await` in a catch block, so the exception is recorded there and handled after it).
template <class R> struct body_outcome {
    value_slot<R> result;
    std::exception_ptr error;
    /// The body ended with cancelled_error.
    bool cancelled = false;

    /// Called in the catch block that ended the body.
    void caught(bool cancellation) noexcept {
        error = std::current_exception();
        cancelled = cancellation;
    }

    /// The body's value, or its exception rethrown: what the scope gives when it lets the
    /// outcome through.
    R take() {
        if (error) {
            std::rethrow_exception(error);
        }
        if constexpr (!std::is_void_v<R>) {
            return std::move(result.get());
        }
    }
};

} // namespace asyncio::detail
// ---- (back in asyncio/task_group.hpp)

#include <list>

namespace asyncio {

/// asyncio.TaskGroup. C++ has no asynchronous destructor and no `co_await` in a `catch` block, so
/// `async with TaskGroup() as tg: body` becomes a call that owns the body:
///
///     int r = co_await asyncio::task_group::run([&](asyncio::task_group& tg) -> asyncio::task<int>
///     {
///         tg.create_task(child(), "name");
///         co_return 42;
///     });
///
/// `run` returns once the body and every child are done (the scope cannot be left while a child
/// runs, and the group lives only as long as `run`). The first child that fails cancels the other
/// children and the body's current await; the failures then come out as one exception_group
/// ("unhandled errors in a TaskGroup"), the body's own error among them, nested groups nested. A
/// child that was merely cancelled is not an error. An external cancellation of the task running
/// the group cancels every child and propagates as cancelled_error once they are done; the group's
/// own cancellation of that task is withdrawn with uncancel(), as in CPython (asyncio-semantics.md
/// section 6). The awaiter resumes two iterations after the last child finishes. Children are
/// cancelled in the order they were created (CPython walks a set, in no fixed order).
class task_group {
public:
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;
    ~task_group() {
        // Only when the loop is destroyed under a pending group: its children's callbacks must
        // not reach it.
        for (child& c : tasks_) {
            if (!c.task.done()) {
                c.task.remove_done_callback(c.callback);
            }
        }
    }

    /// TaskGroup.create_task(coro, name=...): spawns `t` as a child of the group (the body starts
    /// in the next iteration). std::runtime_error, with CPython's message, when the group is
    /// finished or shutting down; the rejected task is destroyed without running. `site`: the
    /// caller's location, kept in debug mode.
    template <class T>
    task_handle<T> create_task(task<T> t, std::string name = {},
                               const detail::source_site& site = {
                                   __builtin_FILE(), static_cast<unsigned>(__builtin_LINE()),
                                   __builtin_FUNCTION()}) {
        if (!entered_) {
            throw std::runtime_error("TaskGroup " + repr() + " has not been entered");
        }
        if (exiting_ && tasks_.empty()) {
            throw std::runtime_error("TaskGroup " + repr() + " is finished");
        }
        if (aborting_) {
            throw std::runtime_error("TaskGroup " + repr() + " is shutting down");
        }
        task_handle<T> h = loop_->create_task(std::move(t), std::move(name), site);
        tasks_.emplace_back();
        auto it = std::prev(tasks_.end());
        it->task = h;
        it->callback = h.add_done_callback([this, it] { on_task_done(it); });
        if (!h.done()) {
            // CPython 3.14: future_add_to_awaited_by(task, parent), for call graphs (graph.hpp).
            it->host.attach(*detail::state_access::get(h), detail::state_access::core_of(parent_));
        }
        return h;
    }

    /// Runs `body(tg)`, a callable taking the group and returning an awaitable (typically a
    /// coroutine lambda returning task<T>), inline in the calling task, then waits for every
    /// child; returns what the body returned. See the class comment for errors and cancellation.
    template <class F>
        requires std::is_invocable_v<F&, task_group&> &&
                 awaitable<std::invoke_result_t<F&, task_group&>>
    [[nodiscard("co_await the task group")]] static auto run(F body)
        -> task<await_result_t<std::invoke_result_t<F&, task_group&>>> {
        return run_body<await_result_t<std::invoke_result_t<F&, task_group&>>>(std::move(body));
    }

    /// TaskGroup's repr: "<TaskGroup tasks=2 errors=1 cancelling>".
    [[nodiscard]] std::string repr() const {
        std::string s = "<TaskGroup";
        if (!tasks_.empty()) {
            s += " tasks=" + std::to_string(tasks_.size());
        }
        if (!errors_.empty()) {
            s += " errors=" + std::to_string(errors_.size());
        }
        if (aborting_) {
            s += " cancelling";
        } else if (entered_) {
            s += " entered";
        }
        return s + ">";
    }

private:
    struct child {
        task_ref task;
        callback_id callback = 0;
        detail::awaited_by_node host; // names the host task in the child's done list
    };

    task_group() = default;

    void enter() {
        loop_ = &get_running_loop();
        parent_ = current_task();
        if (!parent_) {
            throw std::runtime_error("TaskGroup " + repr() + " cannot determine the parent task");
        }
        entered_ = true;
    }

    void abort() {
        aborting_ = true;
        for (child& c : tasks_) {
            if (!c.task.done()) {
                c.task.cancel();
            }
        }
    }

    // TaskGroup._on_task_done: a done callback, so it runs one iteration after the child ends.
    void on_task_done(std::list<child>::iterator it) {
        task_ref t = std::move(it->task);
        tasks_.erase(it);
        if (on_completed_ && tasks_.empty() && !on_completed_.done()) {
            on_completed_.set_result();
        }
        if (t.cancelled()) {
            return;
        }
        std::exception_ptr e = t.exception();
        if (!e) {
            return;
        }
        errors_.push_back(e);
        if (parent_.done()) {
            loop_->call_exception_handler({"Task " + t.get_name() +
                                               " has errored out but its parent task " +
                                               parent_.get_name() + " is already completed",
                                           e, t.get_name()});
            return;
        }
        if (!aborting_ && !parent_cancel_requested_) {
            abort();
            parent_cancel_requested_ = true;
            parent_.cancel();
        }
    }

    template <class R, class F> static task<R> run_body(F body) {
        task_group g;
        g.enter();
        detail::body_outcome<R> body_ended;
        try {
            if constexpr (std::is_void_v<R>) {
                co_await body(g);
                body_ended.result.emplace();
            } else {
                body_ended.result.emplace(co_await body(g));
            }
        } catch (const cancelled_error&) {
            body_ended.caught(true);
        } catch (...) {
            body_ended.caught(false);
        }
        const std::exception_ptr& error = body_ended.error;
        const bool cancelled = body_ended.cancelled;
        // TaskGroup.__aexit__.
        g.exiting_ = true;
        std::exception_ptr propagate_cancellation = cancelled ? error : nullptr;
        if (error && !g.aborting_) {
            g.abort();
        }
        while (!g.tasks_.empty()) {
            if (!g.on_completed_) {
                g.on_completed_ = g.loop_->create_future<void>();
            }
            std::exception_ptr cancel;
            try {
                co_await g.on_completed_;
            } catch (const cancelled_error&) {
                cancel = std::current_exception();
            }
            if (cancel && !g.aborting_) {
                propagate_cancellation = cancel;
                g.abort();
            }
            g.on_completed_ = future<void>();
        }
        if (g.parent_cancel_requested_ && g.parent_.uncancel() == 0) {
            propagate_cancellation = nullptr;
        }
        if (propagate_cancellation && g.errors_.empty()) {
            std::rethrow_exception(propagate_cancellation);
        }
        if (error && !cancelled) {
            g.errors_.push_back(error);
        }
        if (!g.errors_.empty()) {
            if (g.parent_.cancelling() != 0) {
                g.parent_.uncancel();
                g.parent_.cancel();
            }
            throw exception_group("unhandled errors in a TaskGroup", std::move(g.errors_));
        }
        co_return body_ended.take();
    }

    event_loop* loop_ = nullptr;
    task_ref parent_;
    std::list<child> tasks_; // pending children, in creation order
    std::vector<std::exception_ptr> errors_;
    future<void> on_completed_;
    bool entered_ = false;
    bool exiting_ = false;
    bool aborting_ = false;
    bool parent_cancel_requested_ = false;
};

} // namespace asyncio
// ---- (back in asyncio/repr.hpp)

// ---- asyncio/timeouts.hpp ------------------------------------------------------------------------
// timeout, timeout_at (asyncio.timeout's async context manager, as a body-taking coroutine) and
// wait_for.




namespace asyncio {

namespace detail::repr {
struct peek;
}

/// asyncio.Timeout: the scope a `timeout` / `timeout_at` body runs in. `when()` is the deadline
/// (std::nullopt: none), `reschedule(when)` moves it, `expired()` says whether it fired. The
/// deadline cancels the task running the body (at its current co_await, through the usual
/// cancellation); the scope then turns that cancellation, and only that one, into timeout_error.
class timeout_scope {
public:
    using time_point = loop_clock::time_point;

    timeout_scope(const timeout_scope&) = delete;
    timeout_scope& operator=(const timeout_scope&) = delete;
    ~timeout_scope() { handle_.cancel(); }

    /// Timeout.when(): the current deadline on the loop's clock, or std::nullopt for none.
    [[nodiscard]] std::optional<time_point> when() const noexcept { return when_; }

    /// Timeout.expired(): the deadline fired while the body ran.
    [[nodiscard]] bool expired() const noexcept {
        return state_ == state::expiring || state_ == state::expired;
    }

    /// Timeout.reschedule(when): a new deadline (std::nullopt: none); one already passed fires in
    /// the next iteration. std::runtime_error once the deadline fired or the body finished, as in
    /// CPython ("Cannot change state of expiring Timeout", "... expired ...", "... finished ...").
    void reschedule(std::optional<time_point> when) {
        if (state_ != state::entered) {
            if (state_ == state::created) {
                throw std::runtime_error("Timeout has not been entered");
            }
            throw std::runtime_error(std::string("Cannot change state of ") + state_name() +
                                     " Timeout");
        }
        when_ = when;
        handle_.cancel();
        handle_ = handle();
        if (!when) {
            return;
        }
        event_loop& loop = get_running_loop();
        if (*when <= loop.time()) {
            // CPython uses call_soon here: the deadline fires behind what is already queued.
            handle_ = loop.call_soon([this] { on_timeout(); });
        } else {
            handle_ = loop.call_at(*when, [this] { on_timeout(); });
        }
    }

private:
    friend struct detail::repr::peek; // the debug string (repr.hpp) reads the state

    template <class R, class F>
    friend task<R> detail_run_timeout(std::optional<loop_clock::time_point>, F,
                                      std::optional<std::int64_t>);

    enum class state { created, entered, expiring, expired, exited };

    explicit timeout_scope(std::optional<time_point> when) noexcept : when_(when) {}

    [[nodiscard]] const char* state_name() const noexcept {
        switch (state_) {
        case state::created:
            return "created";
        case state::entered:
            return "active";
        case state::expiring:
            return "expiring";
        case state::expired:
            return "expired";
        case state::exited:
            break;
        }
        return "finished";
    }

    // Timeout.__aenter__.
    void enter() {
        task_ = current_task();
        if (!task_) {
            throw std::runtime_error("Timeout should be used inside a task");
        }
        state_ = state::entered;
        cancelling_ = task_.cancelling();
        reschedule(when_);
    }

    void on_timeout() {
        ASYNCIO_ASSERT(state_ == state::entered);
        task_.cancel();
        state_ = state::expiring;
    }

    // Timeout.__aexit__: true when the body's cancelled_error is this deadline's, to be raised
    // as timeout_error.
    [[nodiscard]] bool exit(bool body_cancelled) {
        handle_.cancel();
        handle_ = handle();
        if (state_ == state::expiring) {
            state_ = state::expired;
            return task_.uncancel() <= cancelling_ && body_cancelled;
        }
        state_ = state::exited;
        return false;
    }

    std::optional<time_point> when_;
    handle handle_;
    task_ref task_;
    int cancelling_ = 0;
    state state_ = state::created;
};

namespace detail {

/// Calls the body with the scope if it takes one.
template <class F> auto invoke_timeout_body(F& body, timeout_scope& scope) {
    if constexpr (std::is_invocable_v<F&, timeout_scope&>) {
        return body(scope);
    } else {
        return body();
    }
}

template <class F>
using timeout_body_result_t = await_result_t<decltype(invoke_timeout_body(
    std::declval<F&>(), std::declval<timeout_scope&>()))>;

template <class F>
concept timeout_body = (std::is_invocable_v<F&, timeout_scope&> || std::is_invocable_v<F&>) &&
                       requires(F& f, timeout_scope& s) {
                           { invoke_timeout_body(f, s) } -> awaitable;
                       };

} // namespace detail

/// The coroutine behind timeout and timeout_at (named outside detail only to befriend the scope).
template <class R, class F>
task<R> detail_run_timeout(std::optional<loop_clock::time_point> when, F body,
                           std::optional<std::int64_t> delay_ns) {
    if (delay_ns) { // wait_for: the deadline counts from the start, as `async def wait_for` does
        when = loop_clock::time_point(std::chrono::nanoseconds(detail::saturating_add(
            get_running_loop().time().time_since_epoch().count(), *delay_ns)));
    }
    timeout_scope scope(when);
    scope.enter();
    detail::body_outcome<R> body_ended;
    try {
        if constexpr (std::is_void_v<R>) {
            co_await detail::invoke_timeout_body(body, scope);
            body_ended.result.emplace();
        } else {
            body_ended.result.emplace(co_await detail::invoke_timeout_body(body, scope));
        }
    } catch (const cancelled_error&) {
        body_ended.caught(true);
    } catch (...) {
        body_ended.caught(false);
    }
    if (scope.exit(body_ended.cancelled)) {
        throw timeout_error(""); // CPython: TimeoutError(), raised from the CancelledError
    }
    co_return body_ended.take();
}

/// `async with asyncio.timeout_at(when) as t: body`: runs `body(t)` (or `body()`), a callable
/// returning an awaitable (typically a coroutine lambda returning task<T>), inline in the calling
/// task, and returns what it gives. At `when` on the loop's clock the task is cancelled; if that
/// cancellation ends the body, timeout_error is raised instead (an outer timeout's or another
/// cancellation passes through). std::nullopt: no deadline (`reschedule` may set one). Any other
/// exception of the body propagates. Throws std::runtime_error("Timeout should be used inside a
/// task") outside a task. A body that never suspends is never interrupted, as in CPython.
/// Because C++ has no asynchronous destructors, the body is a callable and not a block.
template <class F>
    requires detail::timeout_body<F>
[[nodiscard("co_await the timeout")]] task<detail::timeout_body_result_t<F>>
timeout_at(std::optional<loop_clock::time_point> when, F body) {
    return detail_run_timeout<detail::timeout_body_result_t<F>>(when, std::move(body),
                                                                std::nullopt);
}

/// `async with asyncio.timeout(delay) as t: body`: timeout_at(loop.time() + delay, body); the
/// deadline is taken when the call is made (it needs a running loop).
template <class Rep, class Period, class F>
    requires detail::timeout_body<F>
[[nodiscard("co_await the timeout")]] task<detail::timeout_body_result_t<F>>
timeout(std::chrono::duration<Rep, Period> delay, F body) {
    const auto now = get_running_loop().time();
    const auto when = loop_clock::time_point(std::chrono::nanoseconds(
        detail::saturating_add(now.time_since_epoch().count(), detail::to_nanoseconds(delay))));
    return timeout_at(when, std::move(body));
}

/// `async with asyncio.timeout(None)`: no deadline until the body reschedules one.
template <class F>
    requires detail::timeout_body<F>
[[nodiscard("co_await the timeout")]] task<detail::timeout_body_result_t<F>> timeout(std::nullopt_t,
                                                                                     F body) {
    return timeout_at(std::nullopt, std::move(body));
}

namespace detail {

// wait_for's body: awaits the awaitable it holds (a member coroutine, so nothing dangles: the
// body object lives in the timeout's frame while its coroutine runs).
template <class V> struct await_body {
    V aw;
    task<await_result_t<V>> operator()() { co_return co_await std::move(aw); }
};

// wait_for with a deadline already passed: the awaitable runs as a task that is cancelled before
// it starts (a coroutine never runs) unless it is already done, and wait_for waits for it to end.
template <class A> task<await_result_t<A>> wait_for_expired(A aw) {
    event_loop& loop = get_running_loop();
    auto fut = ensure_future(std::move(aw), loop);
    if (!fut.done()) {
        // asyncio's _cancel_and_wait: a done callback releases a waiter future.
        future<void> waiter = loop.create_future<void>();
        const callback_id id = fut.add_done_callback([waiter]() mutable {
            if (!waiter.done()) {
                waiter.set_result();
            }
        });
        struct remove_callback {
            decltype(fut)& f;
            callback_id id;
            ~remove_callback() { f.remove_done_callback(id); }
        } guard{fut, id};
        fut.cancel();
        co_await waiter;
    }
    if (fut.cancelled()) {
        throw timeout_error("");
    }
    if constexpr (std::is_void_v<await_result_t<A>>) {
        fut.result();
    } else {
        co_return std::move(fut.result());
    }
}

} // namespace detail

/// asyncio.wait_for(aw, timeout) as in 3.12+: `co_await aw` under a timeout, inline in the calling
/// task. On expiry the work is cancelled and awaited until it ends (its cleanup runs), then
/// timeout_error is raised; if it swallowed the cancellation and returned a value, that value is
/// returned. The deadline counts from when the wait_for starts running (it needs no running loop
/// when called, as `async def wait_for` does not). A timeout of zero or less never starts a
/// coroutine: the awaitable runs as a task,
/// cancelled before its first step unless it is already done. Cancelling the caller cancels the
/// work too.
template <class A, class Rep, class Period>
    requires awaitable<A> && std::move_constructible<std::remove_cvref_t<A>>
[[nodiscard("co_await the wait_for")]] task<await_result_t<std::remove_cvref_t<A>>>
wait_for(A&& aw, std::chrono::duration<Rep, Period> timeout_) {
    using V = std::remove_cvref_t<A>;
    if (detail::to_nanoseconds(timeout_) <= 0) {
        return detail::wait_for_expired(V(std::forward<A>(aw)));
    }
    return detail_run_timeout<await_result_t<V>>(std::nullopt,
                                                 detail::await_body<V>{V(std::forward<A>(aw))},
                                                 detail::to_nanoseconds(timeout_));
}

} // namespace asyncio
// ---- (back in asyncio/repr.hpp)


#include <version>

#if defined(__cpp_lib_format)
#include <format>
#endif

// What the debug strings print, field by field against CPython 3.13's repr:
//
//   future<T>        <Future pending> | <Future finished result=1> |
//                    <Future finished exception=std::invalid_argument('x')> | <Future cancelled>
//   task_handle<T>   <Task pending name='Task-1'> | <Task cancelling name='t'> |
//                    <Task finished name='t' result='s'> | <Task cancelled name='t'>
//   task_ref         the same without result= (its type is erased; exception= is printed)
//   handle           <Handle> | <Handle cancelled>
//   timer_handle     <TimerHandle when=12.5> | <TimerHandle cancelled when=12.5>
//   queue<T>         <Queue maxsize=1 _queue=[1] _getters[1] _putters[1] tasks=1 shutdown>
//                    (PriorityQueue, LifoQueue likewise; this is CPython's str(q): its repr
//                    adds "at 0x...", which says nothing a C++ reader needs)
//   event            <asyncio.locks.Event object at 0x... [unset, waiters:1]>
//   lock             <asyncio.locks.Lock object at 0x... [locked, waiters:1]>
//   semaphore        <asyncio.locks.Semaphore object at 0x... [unlocked, value:2]> | [locked, ...]
//   bounded_semaphore  <asyncio.locks.BoundedSemaphore object at 0x... [unlocked, value:3]>
//   condition        <asyncio.locks.Condition object at 0x... [locked, waiters:1]>
//   barrier          <asyncio.locks.Barrier object at 0x... [filling, waiters:2/3]> | [broken]
//                    (CPython's str() of a lock is its repr, with the object's address: here the
//                    C++ object's; `waiters:` counts what locks.py's deque holds, including a
//                    woken or cancelled waiter whose task has not run yet)
//   task_group       <TaskGroup tasks=1 errors=1 cancelling> | <TaskGroup entered>
//   timeout_scope    <Timeout [active] when=12.5> | <Timeout [active] when=None> |
//                    <Timeout [expiring]> (the states a body can see; when= is rounded to
//                    milliseconds, as CPython's round(when, 3))
//
// Differences C++ forces, deliberately:
// - A task has no `coro=<f() running at file:line>`: a coroutine handle knows neither its
//   function's name nor where it is suspended. The task's name is the substitute.
// - A task has no `wait_for=<...>`: the task records how to cancel what it awaits, not what that
//   is. A future or task has no `cb=[...]`: C++ callables have no printable name.
// - A handle prints no callback (`<Handle f() at file:line>` in CPython), for the same reason.
// - An exception prints as its dynamic type's demangled name and its what() text, e.g.
//   `std::invalid_argument('x')` for Python's `ValueError('x')`; `asyncio::cancelled_error('m')`
//   shows the cancel message; an exception of a type not derived from std::exception prints as
//   `TypeName()`. Without RTTI every type name is `exception`.
// - Values: strings (std::string, std::string_view, C strings, char) are quoted as Python
//   quotes them ('x', "it's", '\n', '\x01'); bool prints True/False; void results, asyncio::none
//   and nullptr print None; floating point prints as Python's float repr (1.0, 0.001, 1e+16); a
//   type with its own operator<< prints through it; any other type prints as `<TypeName>`
//   (demangled when the standard library allows, else `<object>`). A future or task result
//   string longer than 30 characters is shortened as reprlib does ('aaaaaaaaaaaa...aaaaaaaaaaaaa');
//   queue items are printed in full, as CPython does.
// - A priority_queue lists its items in the order they come out (CPython lists heapq's array,
//   whose order is an implementation detail of the heap).
// - An empty (default-constructed) future, task or handle prints `<Future empty>`, `<Task empty>`,
//   `<Handle empty>`: Python has no such object.
//
// Printing never changes state: it does not mark an exception as retrieved (the "exception was
// never retrieved" report still comes) and does not move a result out.

namespace asyncio {

namespace detail::repr {

/// Reads a state's exception without marking it retrieved (printing must not silence the
/// "exception was never retrieved" report). Never instantiated.
struct exception_peek : future_state_base {
    static const std::exception_ptr& of(const future_state_base& s) noexcept {
        return s.*(&exception_peek::exc_);
    }
};

/// The untyped state behind a task_ref. Never instantiated.
struct task_ref_peek : task_ref {
    static task_core* of(const task_ref& r) noexcept { return (r.*(&task_ref_peek::core_)).get(); }
};

/// `pending`, `finished` or `cancelled` (and, for a task, `cancelling`), as asyncio's `_state`.
inline void write_status(std::ostream& os, const future_state_base& s, int cancelling) {
    if (!s.done()) {
        os << (cancelling > 0 ? "cancelling" : "pending");
    } else if (s.cancelled()) {
        os << "cancelled";
    } else {
        os << "finished";
    }
}

/// ` result=...` / ` exception=...` of a finished state; nothing otherwise. `slot` is null when
/// the result type is unknown (task_ref).
template <class T>
void write_outcome(std::ostream& os, const future_state_base& s, value_slot<T>* slot) {
    if (s.status() == future_status::exception) {
        os << " exception=";
        write_exception(os, exception_peek::of(s));
    } else if (s.status() == future_status::result && slot != nullptr) {
        os << " result=";
        if constexpr (std::is_void_v<T>) {
            os << "None";
        } else {
            write_value(os, slot->get(), true);
        }
    }
}

inline void write_task_head(std::ostream& os, const task_core& t) {
    os << "<Task ";
    write_status(os, t, t.cancelling());
    os << " name=";
    write_string(os, t.name());
}

template <class Queue> void write_queue(std::ostream& os, std::string_view kind, const Queue& q) {
    os << '<' << kind << " maxsize=" << q.maxsize();
    if (!q.empty()) {
        os << " _queue=[";
        bool first = true;
        q.for_each_item([&](const auto& item) {
            if (!first) {
                os << ", ";
            }
            first = false;
            write_value(os, item);
        });
        os << ']';
    }
    if (const std::size_t n = q.waiting_getters(); n != 0) {
        os << " _getters[" << n << ']';
    }
    if (const std::size_t n = q.waiting_putters(); n != 0) {
        os << " _putters[" << n << ']';
    }
    if (const std::size_t n = q.unfinished_tasks(); n != 0) {
        os << " tasks=" << n;
    }
    if (q.is_shut_down()) {
        os << " shutdown";
    }
    os << '>';
}

/// Reads what the locks, the barrier and the timeout scope keep private, for their debug strings.
/// Printing changes nothing; the waiter lists are walked, not modified.
struct peek {
    static std::size_t count(const sync_list& l) { return const_cast<sync_list&>(l).size(); }
    static std::size_t waiters(const event& e) { return count(e.waiters_); }
    static std::size_t waiters(const lock_core& l) { return count(l.waiters_); }
    static std::size_t waiters(const semaphore_base& s) { return count(s.waiters_); }
    static std::size_t waiters(const condition& c) { return count(c.waiters_); }
    static bool locked(const semaphore_base& s) { return const_cast<semaphore_base&>(s).locked(); }
    static const char* state_name(const barrier_core& b) {
        switch (b.state_) {
        case barrier_core::barrier_state::filling:
            break;
        case barrier_core::barrier_state::draining:
            return "draining";
        case barrier_core::barrier_state::resetting:
            return "resetting";
        case barrier_core::barrier_state::broken:
            return "broken";
        }
        return "filling";
    }
    static const char* state_name(const timeout_scope& t) { return t.state_name(); }
    static bool entered(const timeout_scope& t) {
        return t.state_ == timeout_scope::state::entered;
    }
};

/// `<asyncio.locks.Kind object at 0x... [`, as CPython's object.__repr__ starts a lock's repr.
inline void write_lock_head(std::ostream& os, std::string_view kind, const void* address) {
    os << "<asyncio.locks." << kind << " object at " << address << " [";
}
/// `, waiters:n]>`, the waiters only when there are some.
inline std::ostream& write_lock_tail(std::ostream& os, std::size_t waiters) {
    if (waiters != 0) {
        os << ", waiters:" << waiters;
    }
    return os << "]>";
}
inline std::ostream& write_semaphore(std::ostream& os, std::string_view kind,
                                     const semaphore_base& s) {
    write_lock_head(os, kind, &s);
    if (peek::locked(s)) {
        os << "locked";
    } else {
        os << "unlocked, value:" << s.value();
    }
    return write_lock_tail(os, peek::waiters(s));
}

/// The debug string of `v` (what operator<< writes).
template <class V> std::string to_string(const V& v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

} // namespace detail::repr

/// asyncio.Future's repr: `<Future pending>`, `<Future finished result=1>`,
/// `<Future finished exception=std::invalid_argument('x')>`, `<Future cancelled>`. Reads the
/// state only: an exception is not marked retrieved. See repr.hpp's notes for what differs.
template <class T> std::ostream& operator<<(std::ostream& os, const future<T>& f) {
    if (!f) {
        return os << "<Future empty>";
    }
    auto s = detail::state_access::get(f);
    os << "<Future ";
    detail::repr::write_status(os, *s, 0);
    detail::repr::write_outcome<T>(os, *s, &s->slot());
    return os << '>';
}

/// asyncio.Task's repr: `<Task pending name='Task-1'>`, `<Task cancelling name='t'>` (a cancel
/// requested, not yet done), `<Task finished name='t' result=1>`, `<Task finished name='t'
/// exception=std::runtime_error('x')>`, `<Task cancelled name='t'>`. No `coro=` and no
/// `wait_for=`: see repr.hpp's notes.
template <class T> std::ostream& operator<<(std::ostream& os, const task_handle<T>& t) {
    if (!t) {
        return os << "<Task empty>";
    }
    auto s = detail::state_access::get(t);
    detail::repr::write_task_head(os, *s);
    detail::repr::write_outcome<T>(os, *s, &s->slot());
    return os << '>';
}

/// asyncio.Task's repr through a type-erased reference (current_task(), all_tasks()): as for
/// task_handle<T>, without `result=` (the result's type is not known here).
inline std::ostream& operator<<(std::ostream& os, const task_ref& t) {
    if (!t) {
        return os << "<Task empty>";
    }
    const detail::task_core& s = *detail::repr::task_ref_peek::of(t);
    detail::repr::write_task_head(os, s);
    detail::repr::write_outcome<void>(os, s, nullptr);
    return os << '>';
}

/// asyncio.Handle's repr: `<Handle>` or `<Handle cancelled>` (no callback name: see repr.hpp).
inline std::ostream& operator<<(std::ostream& os, const handle& h) {
    if (!h) {
        return os << "<Handle empty>";
    }
    return os << (h.cancelled() ? "<Handle cancelled>" : "<Handle>");
}

/// asyncio.TimerHandle's repr: `<TimerHandle when=12.5>` or `<TimerHandle cancelled when=12.5>`,
/// `when` in seconds on the loop's clock, printed as Python prints a float.
inline std::ostream& operator<<(std::ostream& os, const timer_handle& h) {
    if (!h) {
        return os << "<TimerHandle empty>";
    }
    os << (h.cancelled() ? "<TimerHandle cancelled when=" : "<TimerHandle when=");
    const auto ns = h.when().time_since_epoch().count();
    detail::repr::write_float(os, static_cast<double>(ns) / 1e9);
    return os << '>';
}

/// asyncio.Queue's str(): `<Queue maxsize=1 _queue=[1] _getters[1] _putters[1] tasks=1
/// shutdown>`, each field only when it is not empty/zero, as in CPython.
template <class T> std::ostream& operator<<(std::ostream& os, const queue<T>& q) {
    detail::repr::write_queue(os, "Queue", q);
    return os;
}
/// asyncio.PriorityQueue's str(); `_queue` lists the items in the order they come out.
template <class T, class Compare>
std::ostream& operator<<(std::ostream& os, const priority_queue<T, Compare>& q) {
    detail::repr::write_queue(os, "PriorityQueue", q);
    return os;
}
/// asyncio.LifoQueue's str(); `_queue` lists the items oldest first, as CPython's list does.
template <class T> std::ostream& operator<<(std::ostream& os, const lifo_queue<T>& q) {
    detail::repr::write_queue(os, "LifoQueue", q);
    return os;
}

/// asyncio.Event's repr: `<asyncio.locks.Event object at 0x... [unset, waiters:1]>` (`set` or
/// `unset`; the waiters only when there are some).
inline std::ostream& operator<<(std::ostream& os, const event& e) {
    detail::repr::write_lock_head(os, "Event", &e);
    os << (e.is_set() ? "set" : "unset");
    return detail::repr::write_lock_tail(os, detail::repr::peek::waiters(e));
}

/// asyncio.Lock's repr: `<asyncio.locks.Lock object at 0x... [locked, waiters:1]>`.
inline std::ostream& operator<<(std::ostream& os, const lock& l) {
    detail::repr::write_lock_head(os, "Lock", &l);
    os << (l.locked() ? "locked" : "unlocked");
    return detail::repr::write_lock_tail(os, detail::repr::peek::waiters(l));
}

/// asyncio.Semaphore's repr: `<asyncio.locks.Semaphore object at 0x... [unlocked, value:2]>`,
/// `[locked, waiters:1]` (locked as Semaphore.locked() says).
inline std::ostream& operator<<(std::ostream& os, const semaphore& s) {
    return detail::repr::write_semaphore(os, "Semaphore", s);
}
/// asyncio.BoundedSemaphore's repr, as the semaphore's.
inline std::ostream& operator<<(std::ostream& os, const bounded_semaphore& s) {
    return detail::repr::write_semaphore(os, "BoundedSemaphore", s);
}

/// asyncio.Condition's repr: `<asyncio.locks.Condition object at 0x... [locked, waiters:1]>`
/// (its lock's state, its own waiters).
inline std::ostream& operator<<(std::ostream& os, const condition& c) {
    detail::repr::write_lock_head(os, "Condition", &c);
    os << (c.locked() ? "locked" : "unlocked");
    return detail::repr::write_lock_tail(os, detail::repr::peek::waiters(c));
}

/// asyncio.Barrier's repr: `<asyncio.locks.Barrier object at 0x... [filling, waiters:2/3]>`
/// (n_waiting/parties), `[draining, waiters:0/3]`, `[broken]`.
inline std::ostream& operator<<(std::ostream& os, const barrier& b) {
    detail::repr::write_lock_head(os, "Barrier", &b);
    os << detail::repr::peek::state_name(b);
    if (!b.broken()) {
        os << ", waiters:" << b.n_waiting() << '/' << b.parties();
    }
    return os << "]>";
}

/// asyncio.TaskGroup's repr: `<TaskGroup tasks=2 errors=1 cancelling>`, `<TaskGroup entered>`.
inline std::ostream& operator<<(std::ostream& os, const task_group& g) {
    return os << g.repr();
}

/// asyncio.Timeout's repr: `<Timeout [active] when=12.5>` (seconds on the loop's clock, rounded
/// to milliseconds; `when=None` without a deadline), `<Timeout [expiring]>` once the deadline
/// fired while the body still runs.
inline std::ostream& operator<<(std::ostream& os, const timeout_scope& t) {
    os << "<Timeout [" << detail::repr::peek::state_name(t) << ']';
    if (detail::repr::peek::entered(t)) {
        os << " when=";
        if (const auto when = t.when()) {
            const auto ns = when->time_since_epoch().count();
            detail::repr::write_float(os, std::round(static_cast<double>(ns) / 1e6) / 1e3);
        } else {
            os << "None";
        }
    }
    return os << '>';
}

} // namespace asyncio

#if defined(__cpp_lib_format)

namespace asyncio::detail::repr {

/// std::format support: `{}` only (no format spec), writing what operator<< writes.
struct formatter_base {
    constexpr auto parse(std::format_parse_context& ctx) {
        auto it = ctx.begin();
        if (it != ctx.end() && *it != '}') {
            throw std::format_error("asyncio debug strings take no format spec");
        }
        return it;
    }
    template <class V, class Context> auto write(const V& v, Context& ctx) const {
        const std::string s = to_string(v);
        return std::copy(s.begin(), s.end(), ctx.out());
    }
};

} // namespace asyncio::detail::repr

template <class T>
struct std::formatter<asyncio::future<T>, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::future<T>& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <class T>
struct std::formatter<asyncio::task_handle<T>, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::task_handle<T>& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <> struct std::formatter<asyncio::task_ref, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::task_ref& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <> struct std::formatter<asyncio::handle, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::handle& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <>
struct std::formatter<asyncio::timer_handle, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::timer_handle& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <class T>
struct std::formatter<asyncio::queue<T>, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::queue<T>& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <class T, class Compare>
struct std::formatter<asyncio::priority_queue<T, Compare>, char>
    : asyncio::detail::repr::formatter_base {
    template <class Context>
    auto format(const asyncio::priority_queue<T, Compare>& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <class T>
struct std::formatter<asyncio::lifo_queue<T>, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::lifo_queue<T>& v, Context& ctx) const {
        return write(v, ctx);
    }
};

template <> struct std::formatter<asyncio::event, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::event& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <> struct std::formatter<asyncio::lock, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::lock& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <>
struct std::formatter<asyncio::semaphore, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::semaphore& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <>
struct std::formatter<asyncio::bounded_semaphore, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::bounded_semaphore& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <>
struct std::formatter<asyncio::condition, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::condition& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <> struct std::formatter<asyncio::barrier, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::barrier& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <>
struct std::formatter<asyncio::task_group, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::task_group& v, Context& ctx) const {
        return write(v, ctx);
    }
};
template <>
struct std::formatter<asyncio::timeout_scope, char> : asyncio::detail::repr::formatter_base {
    template <class Context> auto format(const asyncio::timeout_scope& v, Context& ctx) const {
        return write(v, ctx);
    }
};

#endif
// ---- (back in asyncio/asyncio.hpp)

// ---- asyncio/run.hpp -----------------------------------------------------------------------------
// run(): asyncio.run — a fresh loop, the main task, then an orderly shutdown of what is left.





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
// ---- (back in asyncio/asyncio.hpp)

// ---- asyncio/sleep.hpp ---------------------------------------------------------------------------
// sleep(duration): asyncio.sleep as a plain awaiter on the loop's timer heap, no frame allocated.




namespace asyncio {

namespace detail {

/// Lives in the awaiting frame; its timer entry is in the loop's timers while it sleeps.
class sleep_awaiter : private timer_entry {
public:
    explicit sleep_awaiter(std::int64_t delay_ns) noexcept : delay_(delay_ns) { run = &expired; }
    /// Copied only before it is awaited (while its timer entry is idle).
    sleep_awaiter(const sleep_awaiter&) noexcept = default;
    sleep_awaiter& operator=(const sleep_awaiter&) = delete;
    ~sleep_awaiter() {
        if (loop_ != nullptr) {
            // The frame is destroyed while asleep (its loop is closing): unlink the timer.
            loop_->cancel_timer(*this);
        }
    }

    [[nodiscard]] bool await_ready() const noexcept { return false; }

    template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
        root_ = root_of(h);
        if (delay_ <= 0) {
            // asyncio.sleep(0): one bare yield, to the back of the ready queue; no timer.
            root_->yield_now(h);
            return;
        }
        arm(h);
    }

    void await_resume() { root_->throw_if_cancel_delivered(); }

private:
    // A positive delay: the timer goes into the loop's heap (kept out of line, so that sleep(0)
    // stays a few instructions).
    ASYNCIO_NOINLINE void arm(std::coroutine_handle<> h) {
        loop_ = &root_->loop().core();
        loop_->add_timer(*this, saturating_add(loop_->now(), delay_));
        root_->suspend(h, cancel_hook{&on_cancel, this});
    }

    // The timer expired and ran from the ready queue: wake the task for the next iteration,
    // which is CPython's two stages (timer callback resolves the future, the task runs later).
    static void expired(void* p, bool run) {
        auto* self = static_cast<sleep_awaiter*>(static_cast<timer_entry*>(p));
        self->state = timer_state::fired;
        if (run) {
            self->root_->wake();
        }
    }

    // Cancel while asleep: the timer goes (from the heap, or from the ready queue if it already
    // expired) and the task resumes next iteration with cancelled_error.
    static bool on_cancel(void* ctx, task_core& t) {
        auto* self = static_cast<sleep_awaiter*>(ctx);
        if (!self->loop_->cancel_timer(*self)) {
            return false;
        }
        t.deliver_cancel();
        t.wake();
        return true;
    }

    std::int64_t delay_;
    task_core* root_ = nullptr;
    loop_core* loop_ = nullptr;
};

} // namespace detail

/// asyncio.sleep(delay): suspends the calling task for `delay` (any std::chrono duration). Zero or
/// negative delays yield exactly once (the task goes to the back of the ready queue); positive
/// ones resume one iteration after the timer expires, as in CPython. The deadline is taken when
/// the sleep is awaited. Cancelling the task removes its timer. A NaN delay throws
/// std::invalid_argument("Invalid delay: NaN (not a number)") at the call. No allocation.
template <class Rep, class Period>
[[nodiscard("co_await the sleep")]] detail::sleep_awaiter
sleep(std::chrono::duration<Rep, Period> delay) {
    return detail::sleep_awaiter(detail::to_nanoseconds(delay));
}

} // namespace asyncio
// ---- (back in asyncio/asyncio.hpp)

// ---- asyncio/streams.hpp -------------------------------------------------------------------------
// Streams (asyncio's streams.py): open_connection, start_server, stream_reader, stream_writer,
// server, and their Unix-socket forms.



// ---- asyncio/detail/stream_ops.hpp ---------------------------------------------------------------
// The awaiters and coroutines behind stream_reader and stream_writer (read, readuntil, drain).



// ---- asyncio/detail/stream_state.hpp -------------------------------------------------------------
// The shared state of one stream connection: the reader's buffer and CPython's socket transport.



#include <netinet/tcp.h>
#include <sys/uio.h>

#include <climits>

namespace asyncio::detail {

/// The reader's default limit (CPython's _DEFAULT_LIMIT, 64 KiB).
inline constexpr std::size_t stream_default_limit = std::size_t{64} * 1024;
/// How much one receive asks for (CPython's _SelectorSocketTransport.max_size).
inline constexpr std::size_t stream_recv_size = std::size_t{256} * 1024;

/// One connection, as CPython splits it into StreamReader, StreamReaderProtocol, StreamWriter and
/// _SelectorSocketTransport, in one object shared by the stream_reader and stream_writer handles.
///
/// The transport owns the socket. While reading is not paused, its reader watcher stays
/// registered with the loop's descriptor registry (no system call per wait): in each iteration in
/// which the socket is readable, the watcher runs from the ready queue, receives up to 256 KiB,
/// feeds the reader's buffer and wakes the task waiting for data, which resumes in the next
/// iteration (CPython: data_received sets the waiter's result). Once the buffer holds more than
/// twice the limit, reading is paused (the watcher unregistered) until a read brings it back to
/// the limit. The writer watcher is registered only while the write buffer is non-empty.
///
/// References: every stream_reader/stream_writer handle, the registered writer watcher and each
/// callback queued on the loop hold one. When the last handle goes, the connection is closed
/// (gracefully, flushing what is buffered, when its loop is running; otherwise at once).
class stream_state {
public:
    /// A reader with no transport (CPython's `StreamReader()`): fed by feed_data/feed_eof.
    explicit stream_state(std::size_t limit) : limit_(limit) {}

    /// A connected socket; reading starts with start_reading().
    stream_state(event_loop& loop, asyncio::socket sock, std::size_t limit)
        : limit_(limit), loop_(&loop), sock_(std::move(sock)), closed_(loop.create_future<void>()),
          has_transport_(true) {
        rw_.self = this;
        rw_.on_ready = &read_ready;
        rw_.on_removed = &read_removed;
        ww_.self = this;
        ww_.on_ready = &write_ready;
        ww_.on_removed = &write_removed;
        try {
            local_ = sock_.getsockname();
        } catch (const std::system_error&) { // NOLINT(bugprone-empty-catch): CPython leaves None
        }
        try {
            peer_ = sock_.getpeername();
        } catch (const std::system_error&) { // NOLINT(bugprone-empty-catch): CPython leaves None
        }
        if (local_.family() == AF_INET || local_.family() == AF_INET6) {
            sock_.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1); // as CPython's transports
        }
    }

    stream_state(const stream_state&) = delete;
    stream_state& operator=(const stream_state&) = delete;

    ~stream_state() {
        detach_from_server();
        remove_reader();
        remove_writer_registration();
        sock_.close();
        if (closed_ && closed_.done() && !closed_.cancelled()) {
            try { // retrieved (CPython's protocol __del__ does the same)
                (void)closed_.exception();
            } catch (...) { // NOLINT(bugprone-empty-catch): done and not cancelled: cannot throw
            }
        }
    }

    void add_ref() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0) {
            delete this;
        }
    }
    /// A stream_reader or stream_writer handle starts or stops referring to this connection.
    void add_handle() noexcept {
        ++handles_;
        ++refs_;
    }
    void drop_handle() noexcept {
        if (--handles_ == 0 && has_transport_ && !closing_) {
            if (running_loop() == loop_) {
                try {
                    close();
                } catch (...) {
                    abort_now();
                }
            } else {
                abort_now();
            }
        }
        release();
    }

    /// Registers the reader watcher (CPython's transport does it through call_soon). Throws what
    /// the registry throws.
    void start_reading() {
        if (!closing_ && !transport_paused_) {
            add_reader();
        }
    }

    // ---- reader (StreamReader) ----

    [[nodiscard]] std::size_t size() const noexcept { return buf_.size() - start_; }
    [[nodiscard]] std::string_view view() const noexcept {
        return std::string_view(buf_).substr(start_);
    }

    /// StreamReader.feed_data.
    void feed_data(std::string_view data) {
        ASYNCIO_ASSERT(!eof_);
        if (data.empty()) {
            return;
        }
        if (size() == 0) {
            buf_.assign(data);
            start_ = 0;
        } else {
            buf_.append(data);
        }
        wakeup_waiter();
        if (has_transport_ && !paused_ && size() > 2 * limit_) {
            pause_reading();
            paused_ = true;
        }
    }

    /// StreamReader.feed_eof.
    void feed_eof() noexcept {
        eof_ = true;
        wakeup_waiter();
    }

    /// StreamReader.set_exception.
    void set_exception(std::exception_ptr e) noexcept {
        exception_ = std::move(e);
        wakeup_waiter();
    }

    /// The first `n` buffered bytes, removed from the buffer (the whole buffer is handed over
    /// without a copy when it is taken entirely).
    [[nodiscard]] std::string take(std::size_t n) {
        std::string out;
        if (n >= size()) {
            if (start_ == 0) {
                out = std::move(buf_);
            } else {
                out.assign(buf_, start_);
            }
            buf_.clear();
            start_ = 0;
        } else {
            out.assign(buf_, start_, n);
            start_ += n;
            if (start_ >= 4096 && start_ > buf_.size() / 2) {
                buf_.erase(0, start_);
                start_ = 0;
            }
        }
        maybe_resume_transport();
        return out;
    }

    /// Forgets the first `n` buffered bytes.
    void discard(std::size_t n) { (void)take(n); }

    /// StreamReader._maybe_resume_transport.
    void maybe_resume_transport() {
        if (paused_ && size() <= limit_) {
            paused_ = false;
            resume_reading();
        }
    }

    /// The check of StreamReader._wait_for_data before its waiter is parked.
    void before_wait(const char* what) {
        if (!waiters_.empty()) {
            throw std::runtime_error(std::string(what) +
                                     "() called while another coroutine is already waiting for "
                                     "incoming data");
        }
        ASYNCIO_ASSERT(!eof_);
        if (paused_) {
            paused_ = false;
            resume_reading();
        }
    }

    /// The reader's error, if any, once the buffer is empty: the bytes received before an error
    /// are read first (CPython raises at once and strands them).
    void raise_if_failed() const {
        if (exception_) {
            std::rethrow_exception(exception_);
        }
    }

    // ---- transport (_SelectorSocketTransport) and protocol (StreamReaderProtocol) ----

    /// Transport.write: sent at once when nothing is buffered (no copy), the rest buffered.
    void write(std::span<const std::byte> data) {
        if (eof_written_) {
            throw std::runtime_error("Cannot call write() after write_eof()");
        }
        if (data.empty() || conn_lost_ != 0) {
            return; // CPython drops writes to a lost connection (and logs after 5 of them)
        }
        std::size_t sent = 0;
        if (wsize() == 0) {
            const auto r = ::send(sock_.fileno(), data.data(), data.size(), MSG_NOSIGNAL);
            if (r < 0) {
                if (!would_block(errno)) {
                    fatal_error(errno, "send");
                    return;
                }
            } else {
                sent = static_cast<std::size_t>(r);
            }
            if (sent == data.size()) {
                return;
            }
        }
        append_write(data.subspan(sent));
    }

    /// Transport.writelines: one sendmsg over the pieces when nothing is buffered.
    void writelines(std::span<const std::string_view> pieces) {
        if (eof_written_) {
            throw std::runtime_error("Cannot call write() after write_eof()");
        }
        if (conn_lost_ != 0) {
            return;
        }
        std::size_t skip = 0; // bytes of the pieces already sent
        if (wsize() == 0 && !pieces.empty()) {
            iovec iov[64];
            const std::size_t n = std::min<std::size_t>(pieces.size(), 64);
            for (std::size_t i = 0; i < n; ++i) {
                iov[i].iov_base = const_cast<char*>(pieces[i].data());
                iov[i].iov_len = pieces[i].size();
            }
            msghdr msg{};
            msg.msg_iov = iov;
            msg.msg_iovlen = n;
            const auto r = ::sendmsg(sock_.fileno(), &msg, MSG_NOSIGNAL);
            if (r < 0) {
                if (!would_block(errno)) {
                    fatal_error(errno, "send");
                    return;
                }
            } else {
                skip = static_cast<std::size_t>(r);
            }
        }
        for (const std::string_view p : pieces) {
            if (skip >= p.size()) {
                skip -= p.size();
                continue;
            }
            append_write(as_bytes(p.substr(skip)));
            skip = 0;
        }
    }

    /// Transport.write_eof: shuts the sending side once the buffer is flushed.
    void write_eof() {
        if (closing_ || eof_written_) {
            return;
        }
        eof_written_ = true;
        if (wsize() == 0) {
            sock_.shutdown(SHUT_WR);
        }
    }

    /// Transport.close: stops reading; the connection is lost once the buffer is flushed.
    void close() {
        if (closing_) {
            return;
        }
        closing_ = true;
        remove_reader();
        if (wsize() == 0) {
            ++conn_lost_;
            remove_writer_registration();
            schedule_connection_lost(nullptr);
        }
    }

    /// Transport.abort: the connection is lost at once, the buffer discarded.
    void abort() { force_close(nullptr); }

    [[nodiscard]] bool is_closing() const noexcept { return closing_; }
    [[nodiscard]] std::size_t wsize() const noexcept { return wbuf_.size() - wstart_; }

    /// Transport.set_write_buffer_limits.
    void set_write_buffer_limits(std::size_t high, std::size_t low) {
        if (low > high) {
            throw std::invalid_argument("high (" + std::to_string(high) + ") must be >= low (" +
                                        std::to_string(low) + ") must be >= 0");
        }
        high_ = high;
        low_ = low;
        maybe_pause_protocol();
    }

    /// Resolves `f` when the drain waiters wake (resume_writing or connection_lost).
    void add_drain_waiter(future<void> f) { drain_waiters_.push_back(std::move(f)); }
    void remove_drain_waiter(const future<void>& f) noexcept { std::erase(drain_waiters_, f); }

    // Everything below is plain data the public classes read.
    std::size_t limit_;
    std::string buf_;
    std::size_t start_ = 0;
    bool eof_ = false;
    bool paused_ = false; // the reader paused the transport (StreamReader._paused)
    std::exception_ptr exception_;
    sync_list waiters_;

    event_loop* loop_ = nullptr;
    asyncio::socket sock_;
    future<void> closed_; // StreamReaderProtocol._closed
    socket_address local_;
    socket_address peer_;
    bool has_transport_ = false;
    bool closing_ = false;
    bool eof_written_ = false;
    bool write_paused_ = false;    // FlowControlMixin._paused
    bool connection_lost_ = false; // FlowControlMixin._connection_lost
    /// The server that accepted the connection (a server_core), told when the connection is lost.
    void* server_ = nullptr;
    void (*detach_fn_)(void* server, stream_state& s) noexcept = nullptr;
    std::size_t high_ = std::size_t{64} * 1024;
    std::size_t low_ = std::size_t{16} * 1024;

private:
    struct watch final : io_watcher {
        stream_state* self = nullptr;
    };

    void wakeup_waiter() noexcept {
        waiters_.for_each([](sync_waiter& w) {
            if (!w.done()) {
                w.wake();
            }
        });
    }

    void add_reader() {
        if (!reading_ && sock_.is_open()) {
            loop_core& c = loop_->core();
            c.io_.watch(*c.selector_, c.ready_, sock_.fileno(), event_read, &rw_);
            reading_ = true;
        }
    }
    void remove_reader() noexcept {
        if (reading_) {
            reading_ = false;
            loop_core& c = loop_->core();
            c.io_.unwatch_if(*c.selector_, c.ready_, sock_.fileno(), event_read, &rw_);
        }
    }
    /// Unregisters the writer watcher and drops its reference (never the last one here: callers
    /// hold another).
    void remove_writer_registration() noexcept {
        if (writing_) {
            writing_ = false;
            loop_core& c = loop_->core();
            c.io_.unwatch_if(*c.selector_, c.ready_, sock_.fileno(), event_write, &ww_, true);
            --refs_;
        }
    }

    void pause_reading() noexcept {
        if (closing_ || transport_paused_) {
            return;
        }
        transport_paused_ = true;
        remove_reader();
    }
    void resume_reading() {
        if (closing_ || !transport_paused_) {
            return;
        }
        transport_paused_ = false;
        add_reader();
    }

    void append_write(std::span<const std::byte> rest) {
        if (wsize() == 0) {
            wbuf_.clear();
            wstart_ = 0;
        }
        wbuf_.append(reinterpret_cast<const char*>(rest.data()), rest.size());
        if (!writing_) {
            loop_core& c = loop_->core();
            c.io_.watch(*c.selector_, c.ready_, sock_.fileno(), event_write, &ww_);
            writing_ = true;
            ++refs_;
        }
        maybe_pause_protocol();
    }

    void maybe_pause_protocol() noexcept {
        if (wsize() > high_ && !write_paused_) {
            write_paused_ = true; // protocol.pause_writing()
        }
    }
    void maybe_resume_protocol() {
        if (write_paused_ && wsize() <= low_) {
            write_paused_ = false; // protocol.resume_writing(): wake the drain waiters
            for (future<void>& f : drain_waiters_) {
                if (!f.done()) {
                    f.set_result();
                }
            }
        }
    }

    /// _fatal_error for an OSError: the connection is lost with it.
    void fatal_error(int err, const char* what) noexcept {
        force_close(std::make_exception_ptr(std::system_error(err, std::generic_category(), what)));
    }

    /// Transport._force_close.
    void force_close(std::exception_ptr exc) noexcept {
        if (conn_lost_ != 0) {
            return;
        }
        if (wsize() != 0) {
            wbuf_.clear();
            wstart_ = 0;
        }
        remove_writer_registration();
        if (!closing_) {
            closing_ = true;
            remove_reader();
        }
        ++conn_lost_;
        schedule_connection_lost(std::move(exc));
    }

    void schedule_connection_lost(std::exception_ptr exc) noexcept {
        if (running_loop() != loop_ || loop_->core().closing_) {
            call_connection_lost(exc); // no loop to defer to
            return;
        }
        try {
            (void)loop_->call_soon([s = ref_ptr<stream_state>(this), e = std::move(exc)]() mutable {
                s->call_connection_lost(e);
            });
        } catch (...) {
            call_connection_lost(nullptr);
        }
    }

    /// Transport._call_connection_lost: the protocol learns (the reader ends or fails, the closed
    /// future completes, drain waiters wake), then the socket closes and the server forgets the
    /// connection.
    void call_connection_lost(const std::exception_ptr& exc) noexcept;

    void abort_now() noexcept {
        closing_ = true;
        ++conn_lost_;
        remove_reader();
        remove_writer_registration();
        sock_.close();
        connection_lost_ = true;
        detach_from_server();
    }

    /// The server's _detach: it forgets the connection (its wait_closed may complete).
    void detach_from_server() noexcept {
        if (server_ != nullptr) {
            detach_fn_(std::exchange(server_, nullptr), *this);
        }
    }

    static void read_ready(io_watcher* w, bool run) {
        stream_state* s = static_cast<watch*>(w)->self;
        if (!run || s->conn_lost_ != 0) {
            return;
        }
        char* scratch = s->loop_->core().recv_scratch(stream_recv_size);
        const auto r = ::recv(s->sock_.fileno(), scratch, stream_recv_size, 0);
        if (r < 0) {
            if (!would_block(errno)) {
                s->fatal_error(errno, "recv");
            }
            return;
        }
        if (r == 0) {
            // eof_received: the reader ends; the transport stays open for writing (the protocol
            // returns True), so only the reading stops.
            s->feed_eof();
            s->remove_reader();
            return;
        }
        s->feed_data(std::string_view(scratch, static_cast<std::size_t>(r)));
    }

    static void read_removed(io_watcher* w, int) noexcept {
        static_cast<watch*>(w)->self->reading_ = false; // the loop closes or the fd was closed
    }

    static void write_ready(io_watcher* w, bool run) {
        stream_state* s = static_cast<watch*>(w)->self;
        if (!run || s->conn_lost_ != 0) {
            return;
        }
        ref_ptr<stream_state> keep(s); // completing the loss below may drop the last reference
        const auto r =
            ::send(s->sock_.fileno(), s->wbuf_.data() + s->wstart_, s->wsize(), MSG_NOSIGNAL);
        if (r < 0) {
            if (!would_block(errno)) {
                s->fatal_error(errno, "send");
            }
            return;
        }
        s->wstart_ += static_cast<std::size_t>(r);
        if (s->wstart_ >= 65536 && s->wstart_ > s->wbuf_.size() / 2) {
            s->wbuf_.erase(0, s->wstart_);
            s->wstart_ = 0;
        }
        s->maybe_resume_protocol();
        if (s->wsize() == 0) {
            s->wbuf_.clear();
            s->wstart_ = 0;
            s->remove_writer_registration();
            if (s->closing_) {
                s->call_connection_lost(nullptr);
            } else if (s->eof_written_) {
                ::shutdown(s->sock_.fileno(), SHUT_WR);
            }
        }
    }

    static void write_removed(io_watcher* w, int) noexcept {
        stream_state* s = static_cast<watch*>(w)->self;
        if (s->writing_) {
            s->writing_ = false;
            s->release(); // the registration's reference (may be the last)
        }
    }

    std::string wbuf_;
    std::size_t wstart_ = 0;
    std::vector<future<void>> drain_waiters_;
    watch rw_;
    watch ww_;
    int refs_ = 0;
    int handles_ = 0;
    int conn_lost_ = 0;
    bool reading_ = false;
    bool writing_ = false;
    bool transport_paused_ = false;
    bool connection_lost_called_ = false;
};

inline void stream_state::call_connection_lost(const std::exception_ptr& exc) noexcept {
    if (connection_lost_called_) {
        return;
    }
    connection_lost_called_ = true;
    if (conn_lost_ == 0) {
        ++conn_lost_; // later writes are dropped
    }
    ref_ptr<stream_state> keep(this);
    try {
        // StreamReaderProtocol.connection_lost
        if (exc) {
            set_exception(exc);
        } else {
            feed_eof();
        }
        if (closed_ && !closed_.done()) {
            if (exc) {
                closed_.set_exception(exc);
            } else {
                closed_.set_result();
            }
        }
        // FlowControlMixin.connection_lost
        connection_lost_ = true;
        if (write_paused_) {
            for (future<void>& f : drain_waiters_) {
                if (!f.done()) {
                    if (exc) {
                        f.set_exception(exc);
                    } else {
                        f.set_result();
                    }
                }
            }
        }
    } catch (...) { // NOLINT(bugprone-empty-catch): out of memory scheduling a wake-up
    }
    connection_lost_ = true;
    remove_reader();
    remove_writer_registration();
    sock_.close();
    detach_from_server();
}

} // namespace asyncio::detail
// ---- (back in asyncio/detail/stream_ops.hpp)


namespace asyncio::detail {

/// Awaits a lazy task from inside another awaiter (the slow path of an awaiter whose fast path
/// needs no coroutine frame).
template <class T> class task_delegate {
public:
    void set(task<T> t) noexcept { t_ = std::move(t); }
    template <class Promise> void suspend(std::coroutine_handle<Promise> h) {
        a_.emplace(t_.operator co_await());
        (void)a_->await_ready();
        a_->await_suspend(h);
    }
    // NOLINTNEXTLINE(bugprone-unchecked-optional-access): suspend() emplaced it
    T resume() { return a_->await_resume(); }

private:
    using awaiter_type = decltype(std::declval<task<T>&>().operator co_await());
    task<T> t_;
    std::optional<awaiter_type> a_;
};

/// StreamReader._wait_for_data's `await self._waiter`, without a future: the waiter lives in the
/// awaiting frame, is woken through the ready queue (the task resumes in the next iteration), and
/// a cancel unlinks it. Call stream_state::before_wait first.
class data_waiter : private sync_waiter {
public:
    explicit data_waiter(stream_state* s) noexcept : s_(s) {}
    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
        park(s_->waiters_, h);
    }
    void await_resume() {
        resume_checks();
        root->throw_if_cancel_delivered();
    }

private:
    stream_state* s_;
};

/// StreamReader.read(-1): everything up to the end of the stream.
inline task<std::string> read_all(ref_ptr<stream_state> s) {
    std::string all;
    for (;;) {
        if (s->size() != 0) {
            if (all.empty()) {
                all = s->take(s->size());
            } else {
                all.append(s->view());
                s->discard(s->size());
            }
        }
        if (s->eof_) {
            break;
        }
        if (s->exception_) {
            s->buf_ = std::move(all); // the bytes read so far stay readable
            s->start_ = 0;
            std::rethrow_exception(s->exception_);
        }
        s->before_wait("read");
        co_await data_waiter(s.get());
    }
    co_return all;
}

/// StreamReader.read(n): no frame is allocated unless n < 0.
class read_awaiter : private sync_waiter {
public:
    read_awaiter(ref_ptr<stream_state> s, std::ptrdiff_t n) noexcept : s_(std::move(s)), n_(n) {}

    [[nodiscard]] bool await_ready() {
        if (n_ < 0) {
            slow_.set(read_all(s_));
            return false;
        }
        return n_ == 0 || s_->size() != 0 || s_->eof_ || s_->exception_;
    }
    template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
        if (n_ < 0) {
            slow_.suspend(h);
            return;
        }
        s_->before_wait("read");
        park(s_->waiters_, h);
    }
    std::string await_resume() {
        if (n_ < 0) {
            return slow_.resume();
        }
        if (root != nullptr) {
            resume_checks();
            root->throw_if_cancel_delivered();
        }
        if (s_->size() == 0) {
            s_->raise_if_failed();
            return {};
        }
        if (n_ == 0) {
            return {};
        }
        return s_->take(static_cast<std::size_t>(n_));
    }

private:
    ref_ptr<stream_state> s_;
    std::ptrdiff_t n_;
    task_delegate<std::string> slow_;
};

/// StreamReader.readuntil(separator or tuple of separators), and readline (`line`: "\n" only).
/// With several separators the shortest chunk ending in any of them wins; for the limit, the
/// shortest separator is the one that matched (CPython 3.13).
/// `Seps`: std::string (one separator, no allocation) or std::vector<std::string>. (Not a
/// std::array: g++ 12 copies a braced aggregate holding a string bitwise when it is an argument
/// in a co_await expression.)
template <class Seps>
task<std::string> read_until(ref_ptr<stream_state> s, Seps separators, bool line) {
    std::span<std::string> seps;
    if constexpr (std::is_same_v<Seps, std::string>) {
        seps = std::span<std::string>(&separators, 1);
    } else {
        seps = std::span<std::string>(separators);
    }
    if (seps.empty()) {
        throw std::invalid_argument("Separator should contain at least one element");
    }
    if (seps.size() > 1) {
        std::ranges::stable_sort(seps, {}, &std::string::size);
    }
    const std::size_t min_seplen = seps.front().size();
    const std::size_t max_seplen = seps.back().size();
    if (min_seplen == 0) {
        throw std::invalid_argument("Separator should be at least one-byte string");
    }
    std::size_t offset = 0;
    std::size_t match_start = 0;
    std::size_t match_end = 0;
    const char* overrun = nullptr;
    for (;;) {
        const std::size_t buflen = s->size();
        if (buflen >= offset + min_seplen) {
            bool found = false;
            for (const std::string& sep : seps) {
                const std::size_t isep = s->view().find(sep, offset);
                if (isep != std::string_view::npos && (!found || isep + sep.size() < match_end)) {
                    found = true;
                    match_start = isep;
                    match_end = isep + sep.size();
                }
            }
            if (found) {
                if (match_start > s->limit_) {
                    overrun = "Separator is found, but chunk is longer than limit";
                }
                break;
            }
            offset = buflen + 1 > max_seplen ? buflen + 1 - max_seplen : 0;
            if (offset > s->limit_) {
                overrun = "Separator is not found, and chunk exceed the limit";
                match_start = offset;
                break;
            }
        }
        if (s->eof_) {
            std::string chunk = s->take(s->size());
            if (line) {
                co_return chunk;
            }
            throw incomplete_read_error(std::move(chunk), std::nullopt);
        }
        s->raise_if_failed();
        s->before_wait(line ? "readline" : "readuntil");
        co_await data_waiter(s.get());
    }
    if (overrun != nullptr) {
        if (!line) {
            throw limit_overrun_error(overrun, match_start);
        }
        // readline drops the overlong line, or everything when no separator was seen.
        const std::string& sep = seps.front();
        if (s->view().substr(match_start).starts_with(sep)) {
            s->discard(match_start + sep.size());
        } else {
            s->discard(s->size());
        }
        throw std::invalid_argument(overrun);
    }
    co_return s->take(match_end);
}

/// StreamReader.readexactly.
inline task<std::string> read_exactly(ref_ptr<stream_state> s, std::size_t n) {
    while (s->size() < n) {
        if (s->eof_) {
            throw incomplete_read_error(s->take(s->size()), n);
        }
        s->raise_if_failed();
        s->before_wait("readexactly");
        co_await data_waiter(s.get());
    }
    co_return s->take(n);
}

/// StreamWriter.drain's slow path (see drain_awaiter).
inline task<> drain_slow(ref_ptr<stream_state> s) {
    s->raise_if_failed();
    if (s->closing_) {
        co_await sleep(std::chrono::seconds(0)); // let connection_lost run (CPython does the same)
    }
    if (s->connection_lost_) {
        throw std::system_error(ECONNRESET, std::generic_category(), "Connection lost");
    }
    if (!s->write_paused_) {
        co_return;
    }
    future<void> f = s->loop_->create_future<void>();
    s->add_drain_waiter(f);
    struct remover {
        stream_state* s;
        future<void>* f;
        ~remover() { s->remove_drain_waiter(*f); }
    } guard{s.get(), &f};
    co_await f;
}

/// StreamWriter.drain: does not suspend (and allocates nothing) while the write buffer is below
/// the high-water mark and the connection is healthy.
class drain_awaiter {
public:
    explicit drain_awaiter(ref_ptr<stream_state> s) noexcept : s_(std::move(s)) {}
    [[nodiscard]] bool await_ready() {
        if (!s_->exception_ && !s_->closing_ && !s_->connection_lost_ && !s_->write_paused_) {
            return true;
        }
        slow_.set(drain_slow(s_));
        slow_used_ = true;
        return false;
    }
    template <class Promise> void await_suspend(std::coroutine_handle<Promise> h) {
        slow_.suspend(h);
    }
    void await_resume() {
        if (slow_used_) {
            slow_.resume();
        }
    }

private:
    ref_ptr<stream_state> s_;
    task_delegate<void> slow_;
    bool slow_used_ = false;
};

/// A counted reference that keeps a connection open (see stream_state).
class stream_handle {
public:
    stream_handle() noexcept = default;
    explicit stream_handle(stream_state* s) noexcept : s_(s) {
        if (s_ != nullptr) {
            s_->add_handle();
        }
    }
    stream_handle(const stream_handle& o) noexcept : stream_handle(o.s_) {}
    stream_handle(stream_handle&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    stream_handle& operator=(stream_handle o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    ~stream_handle() {
        if (s_ != nullptr) {
            s_->drop_handle();
        }
    }
    [[nodiscard]] stream_state* get() const noexcept { return s_; }
    [[nodiscard]] ref_ptr<stream_state> ref() const noexcept { return ref_ptr<stream_state>(s_); }

private:
    stream_state* s_ = nullptr;
};

} // namespace asyncio::detail
// ---- (back in asyncio/streams.hpp)

// ---- asyncio/detail/stream_server.hpp ------------------------------------------------------------
// asyncio.Server's state (listening sockets, accepted connections) and name resolution for streams.



#include <sys/stat.h>


namespace asyncio::detail {

/// asyncio.Server's state: listening sockets watched for connections, the connections still
/// open, and the waiters of wait_closed.
class server_core {
public:
    using on_connection_fn = std::function<void(server_core&, stream_state&)>;

    server_core(event_loop& loop, std::vector<asyncio::socket> socks, on_connection_fn fn,
                std::size_t limit, int backlog)
        : loop_(&loop), socks_(std::move(socks)), on_connection_(std::move(fn)), limit_(limit),
          backlog_(backlog) {
        watches_.resize(socks_.size());
        for (std::size_t i = 0; i < socks_.size(); ++i) {
            watches_[i].self = this;
            watches_[i].index = i;
            watches_[i].on_ready = &accept_ready;
            watches_[i].on_removed = &accept_removed;
        }
    }
    server_core(const server_core&) = delete;
    server_core& operator=(const server_core&) = delete;
    ~server_core() { close_sockets(); }

    void add_ref() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0) {
            delete this;
        }
    }

    /// Server._start_serving: listen and watch every socket.
    void start_serving() {
        if (serving_ || closed_) {
            return;
        }
        serving_ = true;
        for (std::size_t i = 0; i < socks_.size(); ++i) {
            socks_[i].listen(backlog_);
            watch_socket(i);
        }
    }

    /// Server.close: stops listening (the sockets close); connections go on.
    void close() {
        if (closed_) {
            return;
        }
        closed_ = true;
        close_sockets();
        serving_ = false;
        if (serve_forever_ && !serve_forever_.done()) {
            (void)serve_forever_.cancel();
        }
        serve_forever_ = {};
        if (clients_.empty()) {
            wakeup();
        }
    }

    /// Closes the listening sockets (and removes a Unix socket's file if it is still ours).
    void close_sockets() noexcept {
        for (std::size_t i = 0; i < socks_.size(); ++i) {
            unwatch_socket(i);
        }
        if (!unix_path_.empty()) {
            struct stat st{};
            if (::stat(unix_path_.c_str(), &st) == 0 && st.st_ino == unix_inode_) {
                ::unlink(unix_path_.c_str());
            }
            unix_path_.clear();
        }
        socks_.clear();
    }

    void wakeup() {
        if (woken_) {
            return;
        }
        woken_ = true;
        std::vector<future<void>> ws = std::move(waiters_);
        for (future<void>& f : ws) {
            if (!f.done()) {
                f.set_result();
            }
        }
    }

    void attach(stream_state& s) {
        clients_.push_back(&s);
        s.server_ = this;
        s.detach_fn_ = &detach_thunk;
        add_ref();
    }
    void detach(stream_state& s) noexcept {
        std::erase(clients_, &s);
        if (clients_.empty() && closed_) {
            try {
                wakeup();
            } catch (...) { // NOLINT(bugprone-empty-catch): out of memory waking a waiter
            }
        }
        release();
    }

    event_loop* loop_;
    std::vector<asyncio::socket> socks_;
    std::vector<stream_state*> clients_;
    std::vector<future<void>> waiters_;
    future<void> serve_forever_;
    on_connection_fn on_connection_;
    std::size_t limit_;
    int backlog_;
    bool serving_ = false;
    bool closed_ = false;
    bool woken_ = false;
    std::string unix_path_;
    ino_t unix_inode_ = 0;

private:
    static void detach_thunk(void* server, stream_state& s) noexcept {
        static_cast<server_core*>(server)->detach(s);
    }

    struct watch final : io_watcher {
        server_core* self = nullptr;
        std::size_t index = 0;
        bool registered = false;
    };

    void watch_socket(std::size_t i) {
        watch& w = watches_[i];
        if (!w.registered) {
            loop_core& c = loop_->core();
            c.io_.watch(*c.selector_, c.ready_, socks_[i].fileno(), event_read, &w);
            w.registered = true;
        }
    }
    void unwatch_socket(std::size_t i) noexcept {
        watch& w = watches_[i];
        if (w.registered) {
            w.registered = false;
            loop_core& c = loop_->core();
            c.io_.unwatch_if(*c.selector_, c.ready_, socks_[i].fileno(), event_read, &w);
        }
    }

    // BaseSelectorEventLoop._accept_connection: up to `backlog` connections per readiness.
    static void accept_ready(io_watcher* iw, bool run) {
        auto* w = static_cast<watch*>(iw);
        server_core* self = w->self;
        if (!run) {
            return;
        }
        ref_ptr<server_core> keep(self);
        for (int n = 0; n < self->backlog_ && w->registered; ++n) {
            const int c = ::accept4(self->socks_[w->index].fileno(), nullptr, nullptr,
                                    SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (c < 0) {
                const int err = errno;
                if (would_block(err)) {
                    return;
                }
                if (err == ECONNABORTED || err == EPROTO) {
                    continue; // the peer gave up before we accepted: take the next one
                }
                if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                    // Out of descriptors or memory: stop accepting for a second (CPython's
                    // ACCEPT_RETRY_DELAY) instead of spinning on a ready socket.
                    self->loop_->call_exception_handler(
                        {"socket.accept() out of system resource",
                         std::make_exception_ptr(
                             std::system_error(err, std::generic_category(), "accept")),
                         {}});
                    const std::size_t i = w->index;
                    self->unwatch_socket(i);
                    (void)self->loop_->call_later(std::chrono::seconds(1), [keep, i] {
                        if (keep->serving_ && i < keep->socks_.size()) {
                            keep->watch_socket(i);
                        }
                    });
                    return;
                }
                throw std::system_error(err, std::generic_category(), "accept");
            }
            self->accepted(asyncio::socket::adopt(c));
        }
    }

    static void accept_removed(io_watcher* iw, int) noexcept {
        static_cast<watch*>(iw)->registered = false;
    }

    /// A new connection: its transport is made now; as in CPython, reading starts two iterations
    /// later (the accept task's step, then the transport's call_soon) and the client callback
    /// runs in the same iteration as reading starts, so a coroutine handler's first step comes
    /// three iterations after the accept.
    void accepted(asyncio::socket conn) {
        ref_ptr<stream_state> s(new stream_state(*loop_, std::move(conn), limit_));
        attach(*s);
        ref_ptr<server_core> self(this);
        (void)loop_->call_soon([s, self]() {
            (void)self->loop_->call_soon([s, self]() {
                if (s->is_closing()) {
                    return;
                }
                s->start_reading();
                self->on_connection_(*self, *s);
            });
        });
    }

    std::vector<watch> watches_;
    int refs_ = 0;
};

/// CPython's _ensure_resolved: loop.getaddrinfo for a stream socket (a numeric host, or none for
/// a server's every interface, at once without suspending; a name in the default executor).
inline task<std::vector<address_info>> resolve_stream(std::string host, int port, int family,
                                                      bool passive) {
    std::vector<address_info> infos = co_await getaddrinfo(
        std::move(host), port, family, SOCK_STREAM, 0, passive ? AI_PASSIVE : 0);
    co_return infos;
}

} // namespace asyncio::detail
// ---- (back in asyncio/streams.hpp)



namespace asyncio {

class stream_reader;
class stream_writer;

/// asyncio.StreamReader: the receiving side of a connection, or a standalone buffer fed with
/// feed_data/feed_eof. Handles are cheap to copy and share one buffer. While any handle of a
/// connection (reader or writer) lives, the connection stays open; when the last one goes, it is
/// closed (CPython: when the writer is garbage-collected).
///
/// Deliberate difference: bytes received before a connection error (a reset) are read first; the
/// error is raised by the read that finds the buffer empty (or too short). CPython raises the
/// error at once and strands those bytes in the buffer.
class stream_reader {
public:
    /// StreamReader(limit=65536): a reader with no connection. Throws std::invalid_argument for a
    /// zero limit ("Limit cannot be <= 0").
    explicit stream_reader(std::size_t limit = detail::stream_default_limit) : h_(make(limit)) {}

    /// StreamReader.read(n): `n < 0` reads to the end of the stream; `n == 0` returns "" at once;
    /// `n > 0` waits for at least one byte (unless the stream ended) and returns up to `n`. Does
    /// not suspend when bytes are buffered; otherwise resumes one iteration after the bytes came
    /// (as CPython's waiter). Throws the connection's error (std::system_error, e.g.
    /// errc::connection_reset) once the buffer is empty, std::runtime_error when another task
    /// already waits on this reader.
    [[nodiscard("co_await the read")]] detail::read_awaiter read(std::ptrdiff_t n = -1) const {
        return {h_.ref(), n};
    }

    /// StreamReader.readline(): up to and including "\n"; at the end of the stream the partial
    /// last line, then "". A line longer than the limit throws std::invalid_argument (Python's
    /// ValueError) with LimitOverrunError's message, after dropping that line from the buffer (or
    /// the whole buffer when no "\n" was seen).
    [[nodiscard("co_await the read")]] task<std::string> readline() const {
        return detail::read_until(h_.ref(), std::string("\n"), true);
    }

    /// StreamReader.readuntil(separator): up to and including the separator. Throws
    /// incomplete_read_error (expected() empty) at the end of the stream, with the bytes read,
    /// which leave the buffer; limit_overrun_error when the separator is not within the limit
    /// (the bytes stay buffered); std::invalid_argument for an empty separator.
    [[nodiscard("co_await the read")]] task<std::string>
    readuntil(std::string_view separator = "\n") const {
        return detail::read_until(h_.ref(), std::string(separator), false);
    }

    /// StreamReader.readuntil((sep1, sep2, ...)) (3.13): up to and including the first
    /// separator found; when several end at different places, the shortest chunk wins. Errors as
    /// the single-separator form; std::invalid_argument for an empty list.
    [[nodiscard("co_await the read")]] task<std::string>
    readuntil(std::span<const std::string_view> separators) const {
        return detail::read_until(
            h_.ref(), std::vector<std::string>(separators.begin(), separators.end()), false);
    }
    /// readuntil({"\r\n", "\n"}). Inside a co_await expression g++ 12 rejects the braced list
    /// ("array used as initializer"): name it first (a std::array or std::vector of
    /// std::string_view) and pass that.
    [[nodiscard("co_await the read")]] task<std::string>
    readuntil(std::initializer_list<std::string_view> separators) const {
        return readuntil(std::span<const std::string_view>(separators.begin(), separators.size()));
    }

    /// StreamReader.readexactly(n): exactly `n` bytes, or incomplete_read_error at the end of the
    /// stream. Throws std::invalid_argument for n < 0.
    [[nodiscard("co_await the read")]] task<std::string> readexactly(std::ptrdiff_t n) const {
        if (n < 0) {
            throw std::invalid_argument("readexactly size can not be less than zero");
        }
        return detail::read_exactly(h_.ref(), static_cast<std::size_t>(n));
    }

    /// `async for line in reader`: the next line (readline), or std::nullopt at the end.
    [[nodiscard("co_await the line")]] task<std::optional<std::string>> next() const {
        return next_line(h_.ref());
    }

    /// StreamReader.at_eof(): the stream ended and the buffer is empty.
    [[nodiscard]] bool at_eof() const noexcept { return h_.get()->eof_ && h_.get()->size() == 0; }
    /// StreamReader.feed_data: appends bytes and wakes the waiting read.
    void feed_data(std::string_view data) { h_.get()->feed_data(data); }
    /// StreamReader.feed_eof: ends the stream and wakes the waiting read.
    void feed_eof() noexcept { h_.get()->feed_eof(); }
    /// StreamReader.exception(): the connection's error, or null.
    [[nodiscard]] std::exception_ptr exception() const noexcept { return h_.get()->exception_; }
    /// StreamReader.set_exception: later reads throw `e` once the buffer is empty.
    void set_exception(std::exception_ptr e) noexcept { h_.get()->set_exception(std::move(e)); }
    /// The limit given at construction.
    [[nodiscard]] std::size_t limit() const noexcept { return h_.get()->limit_; }
    /// Bytes buffered and not yet read (len(reader._buffer)).
    [[nodiscard]] std::size_t buffered() const noexcept { return h_.get()->size(); }

private:
    friend class stream_writer;
    friend struct stream_access;
    explicit stream_reader(detail::stream_state* s) noexcept : h_(s) {}

    static detail::stream_state* make(std::size_t limit) {
        if (limit == 0) {
            throw std::invalid_argument("Limit cannot be <= 0");
        }
        return new detail::stream_state(limit);
    }

    static task<std::optional<std::string>> next_line(detail::ref_ptr<detail::stream_state> s) {
        std::string line = co_await detail::read_until(std::move(s), std::string("\n"), true);
        if (line.empty()) {
            co_return std::nullopt;
        }
        co_return line;
    }

    detail::stream_handle h_;
};

/// asyncio.StreamWriter: the sending side of a connection (with its transport's controls).
class stream_writer {
public:
    /// StreamWriter.write: synchronous. Sent at once when nothing is buffered (no copy); what the
    /// socket does not take is buffered and sent as it becomes writable. Dropped silently once
    /// the connection is lost (as CPython). Throws std::runtime_error after write_eof().
    void write(std::string_view data) { s()->write(detail::as_bytes(data)); }
    /// The same for bytes.
    void write(std::span<const std::byte> data) { s()->write(data); }

    /// StreamWriter.writelines: one system call for all pieces when nothing is buffered.
    void writelines(std::span<const std::string_view> pieces) { s()->writelines(pieces); }
    void writelines(std::initializer_list<std::string_view> pieces) {
        s()->writelines(std::span<const std::string_view>(pieces.begin(), pieces.size()));
    }

    /// StreamWriter.drain: returns at once while the write buffer is at most the high-water mark
    /// (64 KiB); otherwise waits until it falls to the low-water mark (16 KiB). Throws the
    /// connection's error (std::system_error, e.g. errc::connection_reset, errc::broken_pipe), or
    /// std::system_error(errc::connection_reset, "Connection lost") once the connection is gone.
    [[nodiscard("co_await the drain")]] detail::drain_awaiter drain() const {
        return detail::drain_awaiter(h_.ref());
    }

    /// StreamWriter.write_eof: shuts down the sending side once the buffer is flushed.
    void write_eof() { s()->write_eof(); }
    /// StreamWriter.can_write_eof: true for sockets.
    [[nodiscard]] bool can_write_eof() const noexcept { return true; }
    /// StreamWriter.close: stops reading, flushes the buffer, then closes the socket (in a later
    /// iteration; wait_closed tells when).
    void close() { s()->close(); }
    /// Transport.abort: closes at once, discarding the buffer.
    void abort() { s()->abort(); }
    /// StreamWriter.is_closing.
    [[nodiscard]] bool is_closing() const noexcept { return s()->is_closing(); }
    /// StreamWriter.wait_closed: completes when the connection is lost, with its error if any.
    /// As in CPython, cancelling the waiting task cancels this shared future.
    [[nodiscard("co_await the close")]] future<void> wait_closed() const { return s()->closed_; }

    /// StreamWriter.get_extra_info: "peername" and "sockname" give a socket_address, "socket" an
    /// `asyncio::socket*` (owned by the connection: do not close it); anything else `fallback`.
    [[nodiscard]] std::any get_extra_info(std::string_view name, std::any fallback = {}) const {
        if (name == "peername") {
            return s()->peer_;
        }
        if (name == "sockname") {
            return s()->local_;
        }
        if (name == "socket") {
            return &s()->sock_;
        }
        return fallback;
    }
    /// get_extra_info("peername"), typed.
    [[nodiscard]] const socket_address& peername() const noexcept { return s()->peer_; }
    /// get_extra_info("sockname"), typed.
    [[nodiscard]] const socket_address& sockname() const noexcept { return s()->local_; }

    /// Transport.get_write_buffer_size.
    [[nodiscard]] std::size_t get_write_buffer_size() const noexcept { return s()->wsize(); }
    /// Transport.set_write_buffer_limits(high, low): low defaults to high / 4.
    void set_write_buffer_limits(std::size_t high, std::optional<std::size_t> low = {}) {
        s()->set_write_buffer_limits(high, low.value_or(high / 4));
    }
    /// Transport.get_write_buffer_limits: (low, high).
    [[nodiscard]] std::pair<std::size_t, std::size_t> get_write_buffer_limits() const noexcept {
        return {s()->low_, s()->high_};
    }

private:
    friend struct stream_access;
    explicit stream_writer(detail::stream_state* s) noexcept : h_(s) {}
    [[nodiscard]] detail::stream_state* s() const noexcept { return h_.get(); }

    detail::stream_handle h_;
};

/// Internal: builds handles over a connection.
struct stream_access {
    static stream_reader reader(detail::stream_state* s) noexcept { return stream_reader(s); }
    static stream_writer writer(detail::stream_state* s) noexcept { return stream_writer(s); }
};

/// Options of open_connection and open_unix_connection.
struct stream_options {
    /// The reader's limit (64 KiB): readline/readuntil's longest chunk, and reading pauses above
    /// twice it.
    std::size_t limit = detail::stream_default_limit;
    /// AF_UNSPEC, AF_INET or AF_INET6 (open_connection).
    int family = AF_UNSPEC;
};

/// Options of start_server and start_unix_server (CPython's keyword arguments). Not yet:
/// happy_eyeballs_delay, ssl, sock=.
struct server_options {
    std::size_t limit = detail::stream_default_limit;
    /// listen()'s backlog, also the most connections accepted per readiness (CPython: 100).
    int backlog = 100;
    /// SO_REUSEADDR (CPython's default on Unix: true).
    bool reuse_address = true;
    /// SO_REUSEPORT.
    bool reuse_port = false;
    /// AF_UNSPEC, AF_INET or AF_INET6.
    int family = AF_UNSPEC;
    /// Start accepting at once (otherwise start_serving or serve_forever does).
    bool start_serving = true;
};

namespace detail {

/// The task of one connection of a server whose callback is a coroutine function: CPython's
/// task plus its done callback (an exception is reported, and the connection closed).
template <class F> task<> run_handler(std::shared_ptr<F> fn, stream_reader r, stream_writer w) {
    std::exception_ptr err;
    bool cancelled = false;
    try {
        co_await (*fn)(r, w);
    } catch (const cancelled_error&) {
        cancelled = true;
        err = std::current_exception();
    } catch (...) {
        err = std::current_exception();
    }
    if (cancelled) {
        w.close();
        std::rethrow_exception(err);
    }
    if (err) {
        get_running_loop().call_exception_handler(
            {"Unhandled exception in client_connected_cb", err, {}});
        w.close();
    }
}

/// The end of open_connection: a connected socket becomes a reader and a writer, two iterations
/// later (CPython: the transport's call_soon of connection_made, add_reader and the waiter).
inline task<std::pair<stream_reader, stream_writer>> make_stream(asyncio::socket sock,
                                                                 std::size_t limit) {
    event_loop& loop = get_running_loop();
    ref_ptr<stream_state> s(new stream_state(loop, std::move(sock), limit));
    stream_reader r = stream_access::reader(s.get());
    stream_writer w = stream_access::writer(s.get());
    co_await sleep(std::chrono::seconds(0));
    s->start_reading();
    co_await sleep(std::chrono::seconds(0));
    co_return std::pair<stream_reader, stream_writer>(std::move(r), std::move(w));
}

template <class F> server_core::on_connection_fn make_on_connection(F cb) {
    auto fn = std::make_shared<F>(std::move(cb));
    return [fn](server_core& server, stream_state& s) {
        stream_reader r = stream_access::reader(&s);
        stream_writer w = stream_access::writer(&s);
        using result = std::invoke_result_t<F&, stream_reader&, stream_writer&>;
        if constexpr (std::is_void_v<result>) {
            try {
                (*fn)(r, w);
            } catch (...) {
                server.loop_->call_exception_handler(
                    {"Unhandled exception in client_connected_cb", std::current_exception(), {}});
                w.close();
            }
        } else {
            (void)server.loop_->create_task(run_handler<F>(fn, std::move(r), std::move(w)));
        }
    };
}

} // namespace detail

/// asyncio.Server, as start_server returns it: listening sockets that hand each new connection to
/// the client callback. Move-only; destroying it closes it (connections go on).
class server {
public:
    server() noexcept = default;
    server(server&&) noexcept = default;
    server& operator=(server&& o) noexcept {
        if (this != &o) {
            shut();
            core_ = std::move(o.core_);
        }
        return *this;
    }
    server(const server&) = delete;
    server& operator=(const server&) = delete;
    ~server() { shut(); }

    /// Server.close: stops listening and closes the listening sockets; open connections and
    /// their handlers carry on (close_clients/abort_clients end them). A serve_forever in
    /// progress ends with cancelled_error, as in CPython.
    void close() { core().close(); }

    /// Server.wait_closed: completes once the server is closed and its last connection is gone.
    [[nodiscard("co_await the close")]] task<> wait_closed() const {
        return wait_closed_impl(core_);
    }

    /// Server.is_serving.
    [[nodiscard]] bool is_serving() const noexcept { return core_ && core_->serving_; }

    /// Server.sockets: the listening sockets (none once closed). Owned by the server. Throws
    /// std::runtime_error for an empty (default-constructed or moved-from) server.
    [[nodiscard]] const std::vector<asyncio::socket>& sockets() const { return core().socks_; }

    /// Server.start_serving: starts accepting, then yields once so the listening sockets are
    /// registered (CPython: "skip one loop iteration").
    [[nodiscard("co_await the start")]] task<> start_serving() {
        core().start_serving();
        return yield_once();
    }

    /// Server.serve_forever: accepts until cancelled, then closes the server and waits for it.
    /// Throws std::runtime_error when already serving forever or closed.
    [[nodiscard("co_await the serving")]] task<> serve_forever() {
        return serve_forever_impl(core_);
    }

    /// Server.close_clients (3.13): closes every open connection (buffers are flushed first).
    void close_clients() {
        std::vector<detail::stream_state*> cs = core().clients_;
        for (detail::stream_state* s : cs) {
            s->close();
        }
    }
    /// Server.abort_clients (3.13): aborts every open connection.
    void abort_clients() {
        std::vector<detail::stream_state*> cs = core().clients_;
        for (detail::stream_state* s : cs) {
            s->abort();
        }
    }

private:
    friend struct server_access;
    explicit server(detail::ref_ptr<detail::server_core> c) noexcept : core_(std::move(c)) {}

    [[nodiscard]] detail::server_core& core() const {
        if (!core_) {
            throw std::runtime_error("empty server (default-constructed or moved-from)");
        }
        return *core_;
    }

    void shut() noexcept {
        if (!core_) {
            return;
        }
        if (detail::running_loop() == core_->loop_) {
            try {
                core_->close();
            } catch (...) {
                core_->close_sockets();
            }
        } else {
            core_->close_sockets();
        }
        core_.reset();
    }

    static task<> yield_once() { co_await sleep(std::chrono::seconds(0)); }

    static task<> wait_closed_impl(detail::ref_ptr<detail::server_core> c) {
        if (c->woken_) {
            co_return;
        }
        future<void> f = c->loop_->create_future<void>();
        c->waiters_.push_back(f);
        co_await f;
    }

    static task<> serve_forever_impl(detail::ref_ptr<detail::server_core> c) {
        if (c->serve_forever_) {
            throw std::runtime_error("server is already being awaited on serve_forever()");
        }
        if (c->closed_) {
            throw std::runtime_error("server is closed");
        }
        c->start_serving();
        future<void> f = c->loop_->create_future<void>();
        c->serve_forever_ = f;
        std::exception_ptr cancelled;
        try {
            co_await f;
        } catch (const cancelled_error&) {
            cancelled = std::current_exception();
        }
        if (cancelled) {
            c->close();
            struct clear {
                detail::server_core* c;
                future<void>* f;
                ~clear() {
                    if (c->serve_forever_ == *f) {
                        c->serve_forever_ = {};
                    }
                }
            } guard{c.get(), &f};
            co_await wait_closed_impl(c);
            std::rethrow_exception(cancelled);
        }
        if (c->serve_forever_ == f) {
            c->serve_forever_ = {};
        }
    }

    detail::ref_ptr<detail::server_core> core_;
};

/// Internal: builds a server over its state.
struct server_access {
    static server make(detail::ref_ptr<detail::server_core> c) noexcept {
        return server(std::move(c));
    }
};

namespace detail {

inline task<server> finish_server(ref_ptr<server_core> c, bool start) {
    if (start) {
        c->start_serving();
        co_await sleep(std::chrono::seconds(0));
    }
    co_return server_access::make(std::move(c));
}

} // namespace detail

/// asyncio.open_connection(host, port): connects (trying each resolved address in turn) and
/// returns a reader and a writer. Numeric hosts are not looked up; a name is resolved by
/// getaddrinfo on the loop's default executor. Errors: std::system_error (errc::connection_refused,
/// ...; the first error when every address fails the same way, else "Multiple exceptions: ..."),
/// and getaddrinfo's (gai_category()).
[[nodiscard("co_await the connection")]] inline task<std::pair<stream_reader, stream_writer>>
open_connection(std::string host, int port, stream_options options = {}) {
    const std::vector<address_info> infos =
        co_await detail::resolve_stream(host, port, options.family, false);
    std::vector<std::system_error> errors;
    for (const address_info& ai : infos) {
        asyncio::socket sock(ai.family, SOCK_STREAM, ai.protocol);
        try {
            co_await sock_connect(sock, ai.address);
        } catch (const std::system_error& e) {
            errors.push_back(e);
            continue;
        }
        co_return co_await detail::make_stream(std::move(sock), options.limit);
    }
    if (errors.empty()) {
        throw std::system_error(EAI_NONAME, gai_category(), "getaddrinfo returned empty list");
    }
    const bool same = std::ranges::all_of(errors, [&](const std::system_error& e) {
        return std::string_view(e.what()) == errors.front().what();
    });
    if (same) {
        throw errors.front();
    }
    std::string msg = "Multiple exceptions: ";
    for (std::size_t i = 0; i < errors.size(); ++i) {
        msg += (i == 0 ? "" : ", ") + std::string(errors[i].what());
    }
    throw std::system_error(errors.front().code(), msg);
}

/// asyncio.open_unix_connection(path).
[[nodiscard("co_await the connection")]] inline task<std::pair<stream_reader, stream_writer>>
open_unix_connection(std::string path, stream_options options = {}) {
    asyncio::socket sock(AF_UNIX);
    co_await sock_connect(sock, socket_address::unix_path(path));
    co_return co_await detail::make_stream(std::move(sock), options.limit);
}

/// asyncio.start_server(client_connected_cb, host, port): listens on every address `host`
/// resolves to and calls `callback(reader, writer)` for each connection, with `stream_reader&`
/// and `stream_writer&` (copy them to keep them). A callback returning a task (a coroutine
/// function) runs as one task per connection, starting three iterations after the accept as in
/// CPython; when it ends with an exception, that is reported to the loop's exception handler
/// ("Unhandled exception in client_connected_cb") and the connection closed. When the callback's
/// copies of the reader and writer are gone, the connection closes. Port 0 picks a free port
/// (read it from sockets()). Bind errors: std::system_error.
template <class F>
[[nodiscard("co_await the server")]] task<server>
start_server(F callback, std::string host, int port, server_options options = {}) {
    event_loop& loop = get_running_loop();
    std::vector<asyncio::socket> socks;
    std::vector<socket_address> seen;
    const std::vector<address_info> infos =
        co_await detail::resolve_stream(host, port, options.family, true);
    for (const address_info& ai : infos) {
        if (std::ranges::find(seen, ai.address) != seen.end()) {
            continue;
        }
        seen.push_back(ai.address);
        asyncio::socket s(ai.family, SOCK_STREAM, ai.protocol);
        if (options.reuse_address) {
            s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
        }
        if (options.reuse_port) {
            s.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
        }
        if (ai.family == AF_INET6) {
            s.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1);
        }
        s.bind(ai.address);
        socks.push_back(std::move(s));
    }
    detail::ref_ptr<detail::server_core> c(new detail::server_core(
        loop, std::move(socks), detail::make_on_connection(std::move(callback)), options.limit,
        options.backlog));
    co_return co_await detail::finish_server(std::move(c), options.start_serving);
}

/// asyncio.start_unix_server(client_connected_cb, path): as start_server on a Unix socket. A
/// stale socket file at `path` is removed first; close() removes the file if it is still the
/// server's (3.13's cleanup_socket=True).
template <class F>
[[nodiscard("co_await the server")]] task<server> start_unix_server(F callback, std::string path,
                                                                    server_options options = {}) {
    event_loop& loop = get_running_loop();
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
        ::unlink(path.c_str());
    }
    asyncio::socket s(AF_UNIX);
    s.bind(socket_address::unix_path(path));
    std::vector<asyncio::socket> socks;
    socks.push_back(std::move(s));
    detail::ref_ptr<detail::server_core> c(new detail::server_core(
        loop, std::move(socks), detail::make_on_connection(std::move(callback)), options.limit,
        options.backlog));
    if (::stat(path.c_str(), &st) == 0) {
        c->unix_path_ = path;
        c->unix_inode_ = st.st_ino;
    }
    co_return co_await detail::finish_server(std::move(c), options.start_serving);
}

} // namespace asyncio
// ---- (back in asyncio/asyncio.hpp)

// ---- asyncio/wait.hpp ----------------------------------------------------------------------------
// shield, wait and as_completed (asyncio.shield, asyncio.wait, asyncio.as_completed).



namespace asyncio {

namespace detail {

/// A task_handle<T> or a future<T>: what wait and as_completed watch.
template <class H> inline constexpr bool is_watchable = false;
template <class T> inline constexpr bool is_watchable<task_handle<T>> = true;
template <class T> inline constexpr bool is_watchable<future<T>> = true;

/// What a range element becomes: handles and futures stay themselves, anything else awaitable
/// is spawned as a task (as CPython's ensure_future).
template <class A> auto to_watchable(A&& a, event_loop& loop) {
    if constexpr (is_watchable<std::remove_cvref_t<A>>) {
        return std::remove_cvref_t<A>(a);
    } else {
        return ensure_future(std::forward<A>(a), loop);
    }
}

/// The same for an element of a range: a lazy task in it is moved from (as gather does), a
/// handle or future copied.
template <class A> auto element_to_watchable(A& a, event_loop& loop) {
    if constexpr (is_watchable<std::remove_cv_t<A>>) {
        return std::remove_cv_t<A>(a);
    } else {
        return ensure_future(std::move(a), loop);
    }
}

template <class R>
using watchable_of_t = decltype(element_to_watchable(
    std::declval<std::remove_reference_t<std::ranges::range_reference_t<R>>&>(),
    std::declval<event_loop&>()));

/// The identity of a handle or future (duplicates collapse, as in CPython's set).
template <class H> const void* identity_of(const H& h) {
    return state_access::get(h).get();
}

/// The distinct elements of `r`, as handles or futures, in their first order.
template <class R> auto distinct_watchables(R&& r, event_loop& loop) {
    using H = watchable_of_t<R>;
    std::vector<H> out;
    std::unordered_set<const void*> seen;
    for (auto&& a : r) {
        H h = element_to_watchable(a, loop);
        if (!identity_of(h)) {
            throw invalid_state_error("an empty task_handle or future (default-constructed or "
                                      "moved-from) cannot be waited for");
        }
        if (seen.insert(identity_of(h)).second) {
            out.push_back(std::move(h));
        }
    }
    return out;
}

template <class R>
concept watchable_range =
    std::ranges::input_range<R> && awaitable<std::ranges::range_reference_t<R>>;

template <class H> void copy_outcome(H& inner, future<typename H::value_type>& outer) {
    using T = typename H::value_type;
    if (inner.cancelled()) {
        outer.cancel();
    } else if (std::exception_ptr e = inner.exception()) {
        outer.set_exception(e);
    } else if constexpr (std::is_void_v<T>) {
        outer.set_result();
    } else {
        outer.set_result(inner.result());
    }
}

} // namespace detail

/// asyncio.shield(aw): a future that completes as `aw` does, which cancelling does not propagate
/// into `aw`: cancelling the task awaiting the shield (or the returned future) cancels only the
/// future, and `aw` runs on (its result is then dropped, its exception marked retrieved).
/// Cancelling `aw` itself cancels the future. `aw` is a task_handle<T> or future<T>, or any other
/// awaitable, which then runs as a task. When `aw` is already done the future is returned done
/// (CPython returns `aw` itself). The awaiter resumes two iterations after `aw` finishes.
/// The result is copied from a handle or future the caller holds.
template <class A>
    requires awaitable<A>
[[nodiscard("co_await the shield")]] auto shield(A&& aw) {
    event_loop& loop = get_running_loop();
    auto inner = detail::to_watchable(std::forward<A>(aw), loop);
    using H = decltype(inner);
    using T = typename H::value_type;
    future<T> outer = loop.create_future<T>();
    if (inner.done()) {
        detail::copy_outcome(inner, outer);
        return outer;
    }
    // Each side's callback holds the other: inner's ends with inner, outer's with outer.
    const callback_id on_inner = inner.add_done_callback([outer](H& in) mutable {
        if (outer.cancelled()) {
            if (!in.cancelled()) {
                (void)in.exception(); // marks it retrieved
            }
            return;
        }
        detail::copy_outcome(in, outer);
    });
    outer.add_done_callback([inner, on_inner]() mutable {
        if (!inner.done()) {
            inner.remove_done_callback(on_inner);
        }
    });
    return outer;
}

/// asyncio.FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED.
enum class return_when { first_completed, first_exception, all_completed };
inline constexpr return_when first_completed = return_when::first_completed;
inline constexpr return_when first_exception = return_when::first_exception;
inline constexpr return_when all_completed = return_when::all_completed;

/// What wait returns: the handles or futures that are done and those still pending, each in input
/// order (CPython returns two sets; here the order is deterministic). `auto [done, pending] = ...`.
template <class H> struct wait_result {
    std::vector<H> done;
    std::vector<H> pending;
};

namespace detail {

template <class H>
task<wait_result<H>> wait_impl(std::vector<H> fs, return_when when,
                               std::optional<std::int64_t> timeout_ns) {
    event_loop& loop = get_running_loop();
    future<void> waiter = loop.create_future<void>();
    handle timeout_handle;
    if (timeout_ns) {
        timeout_handle = loop.call_later(std::chrono::nanoseconds(*timeout_ns), [waiter]() mutable {
            if (!waiter.done()) {
                waiter.set_result();
            }
        });
    }
    // Shared with the callbacks: one that is already scheduled when this coroutine ends still
    // runs after it (as CPython's closure keeps its counter).
    auto counter = std::make_shared<std::size_t>(fs.size());
    std::vector<callback_id> ids;
    ids.reserve(fs.size());
    auto on_completion = [counter, when, waiter, timeout_handle](H& f) mutable {
        --*counter;
        if (*counter == 0 || when == return_when::first_completed ||
            (when == return_when::first_exception && !f.cancelled() && f.exception())) {
            timeout_handle.cancel();
            if (!waiter.done()) {
                waiter.set_result();
            }
        }
    };
    struct cleanup {
        std::vector<H>& fs;
        std::vector<callback_id>& ids;
        handle& timeout_handle;
        ~cleanup() {
            timeout_handle.cancel();
            for (std::size_t i = 0; i < ids.size(); ++i) {
                fs[i].remove_done_callback(ids[i]);
            }
        }
    } guard{fs, ids, timeout_handle};
    for (H& f : fs) {
        ids.push_back(f.add_done_callback(on_completion));
    }
    co_await waiter;
    wait_result<H> out;
    for (H& f : fs) {
        (f.done() ? out.done : out.pending).push_back(f);
    }
    co_return out;
}

inline void check_return_when(return_when when) {
    if (when != return_when::first_completed && when != return_when::first_exception &&
        when != return_when::all_completed) {
        throw std::invalid_argument("Invalid return_when value: " +
                                    std::to_string(static_cast<int>(when)));
    }
}

} // namespace detail

/// asyncio.wait(fs, return_when=...): waits until every one (all_completed, the default), the
/// first one (first_completed) or the first to fail (first_exception; a cancellation does not
/// count) of the handles or futures in `fs` is done; duplicates count once. Never raises the
/// awaitables' exceptions and never cancels them. It always suspends, even when the condition
/// already holds, and resumes two iterations later, as in CPython. An empty range raises
/// std::invalid_argument("Set of Tasks/Futures is empty.").
template <detail::watchable_range R>
[[nodiscard("co_await the wait")]] auto wait(R&& fs, return_when when = all_completed) {
    detail::check_return_when(when);
    auto v = detail::distinct_watchables(std::forward<R>(fs), get_running_loop());
    if (v.empty()) {
        throw std::invalid_argument("Set of Tasks/Futures is empty.");
    }
    return detail::wait_impl(std::move(v), when, std::nullopt);
}

/// asyncio.wait(fs, timeout=..., return_when=...): the same, returning when `timeout` passes at
/// the latest (it never raises timeout_error).
template <detail::watchable_range R, class Rep, class Period>
[[nodiscard("co_await the wait")]] auto wait(R&& fs, std::chrono::duration<Rep, Period> timeout,
                                             return_when when = all_completed) {
    detail::check_return_when(when);
    auto v = detail::distinct_watchables(std::forward<R>(fs), get_running_loop());
    if (v.empty()) {
        throw std::invalid_argument("Set of Tasks/Futures is empty.");
    }
    return detail::wait_impl(std::move(v), when, detail::to_nanoseconds(timeout));
}

/// asyncio.as_completed(aws, timeout=...) (3.13): the handles or futures of `aws` (other
/// awaitables run as tasks; duplicates count once) in the order they complete.
///
///     auto ac = asyncio::as_completed(tasks);
///     while (auto t = co_await ac.next()) { use(t->result()); }   // async for t in as_completed
///     for (std::size_t i = 0; i < n; ++i) { use(co_await ac.next_result()); } // for aw in ...
///
/// `next()` gives the next completed handle (std::nullopt once all were given), as 3.13's
/// `async for` yields the original tasks; `next_result()` its result, or raises its exception, as
/// awaiting an element of the plain iteration does. When the timeout passes first, every
/// remaining `next()` raises timeout_error. Not copyable or movable; must not outlive its loop.
template <class H> class as_completed_iterator {
public:
    using value_type = typename H::value_type;

    as_completed_iterator(std::vector<H> todo, std::optional<std::int64_t> timeout_ns)
        : s_(std::make_shared<state>()) {
        event_loop& loop = get_running_loop();
        s_->todo = std::move(todo);
        s_->left = s_->pending = s_->todo.size();
        s_->ids.reserve(s_->todo.size());
        // The callbacks share the state: one already scheduled when the iterator goes still runs.
        for (H& f : s_->todo) {
            s_->ids.push_back(f.add_done_callback([st = s_](H& done) { st->on_completion(done); }));
        }
        if (!s_->todo.empty() && timeout_ns) {
            s_->timeout = loop.call_later(std::chrono::nanoseconds(*timeout_ns),
                                          [st = s_] { st->on_timeout(); });
        }
    }
    as_completed_iterator(const as_completed_iterator&) = delete;
    as_completed_iterator& operator=(const as_completed_iterator&) = delete;
    ~as_completed_iterator() { s_->detach(); }

    /// How many handles or futures are still to be given.
    [[nodiscard]] std::size_t remaining() const noexcept { return s_->left; }

    /// The next handle or future to complete; std::nullopt once every one was given.
    [[nodiscard("co_await the next")]] task<std::optional<H>> next() {
        std::shared_ptr<state> st = s_;
        if (st->left == 0) {
            co_return std::nullopt;
        }
        --st->left;
        std::optional<H> f = co_await st->done.get();
        if (!f) {
            throw timeout_error("");
        }
        co_return f;
    }

    /// The next completed awaitable's result (or its exception); std::runtime_error once none is
    /// left (Python's StopIteration).
    [[nodiscard("co_await the next result")]] task<value_type> next_result() {
        if (s_->left == 0) {
            throw std::runtime_error("as_completed: no awaitable left");
        }
        std::optional<H> f = co_await next();
        if constexpr (std::is_void_v<value_type>) {
            f->result();
        } else {
            co_return f->result();
        }
    }

private:
    struct state {
        std::vector<H> todo;
        std::vector<callback_id> ids;
        queue<std::optional<H>> done;
        handle timeout;
        std::size_t left = 0;
        std::size_t pending = 0;

        void on_completion(H& f) {
            if (pending == 0) {
                return; // the timeout came first
            }
            --pending;
            done.put_nowait(f);
            if (pending == 0) {
                timeout.cancel();
                timeout = handle();
            }
        }

        void on_timeout() {
            detach();
            for (; pending > 0; --pending) {
                done.put_nowait(std::nullopt); // each remaining next() raises timeout_error
            }
        }

        // Drops the callbacks that have not fired and the timeout, which all hold the state.
        void detach() noexcept {
            timeout.cancel();
            timeout = handle();
            for (std::size_t i = 0; i < ids.size(); ++i) {
                if (!todo[i].done()) {
                    todo[i].remove_done_callback(ids[i]);
                }
            }
            ids.clear();
        }
    };

    std::shared_ptr<state> s_;
};

/// asyncio.as_completed(aws): see as_completed_iterator.
template <detail::watchable_range R>
[[nodiscard]] as_completed_iterator<detail::watchable_of_t<R>> as_completed(R&& aws) {
    return {detail::distinct_watchables(std::forward<R>(aws), get_running_loop()), std::nullopt};
}

/// asyncio.as_completed(aws, timeout=...): see as_completed_iterator.
template <detail::watchable_range R, class Rep, class Period>
[[nodiscard]] as_completed_iterator<detail::watchable_of_t<R>>
as_completed(R&& aws, std::chrono::duration<Rep, Period> timeout) {
    return {detail::distinct_watchables(std::forward<R>(aws), get_running_loop()),
            detail::to_nanoseconds(timeout)};
}

} // namespace asyncio
// ---- (back in asyncio/asyncio.hpp)
