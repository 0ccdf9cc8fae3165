// SPDX-License-Identifier: MIT
// The awaiters and coroutines behind stream_reader and stream_writer (read, readuntil, drain).
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/future.hpp>
#include <asyncio/sleep.hpp>
#include <asyncio/task.hpp>

#include <asyncio/detail/ref_ptr.hpp>
#include <asyncio/detail/stream_state.hpp>
#include <asyncio/detail/sync_waiter.hpp>
#include <asyncio/detail/task_core.hpp>

#include <algorithm>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

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
