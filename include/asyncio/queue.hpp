// SPDX-License-Identifier: MIT
// queue, priority_queue and lifo_queue: asyncio.Queue, PriorityQueue and LifoQueue.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>

#include <asyncio/detail/queue_core.hpp>
#include <asyncio/detail/task_core.hpp>

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <utility>
#include <vector>

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
