// SPDX-License-Identifier: MIT
// The loop's table of descriptors watched for reading and writing, and what waits on each.
#pragma once

#include <asyncio/config.hpp>

#include <asyncio/detail/ready_queue.hpp>
#include <asyncio/detail/selector.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

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
        io_watcher*& place = dir == event_read ? s.reader : s.writer;
        const std::uint32_t after = before | dir;
        if (before == 0) {
            sel.add(fd, after);
            ++count_;
        } else if (after != before) {
            sel.modify(fd, after);
        }
        io_watcher* old = place;
        place = w;
        unqueue(ready, old);
        return old;
    }

    /// Unregisters the reader or writer of `fd`, returning it (unqueued), or null if none.
    io_watcher* unwatch(selector& sel, ready_queue& ready, int fd, std::uint32_t dir) noexcept {
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
        const std::uint32_t after = s.mask();
        if (after == 0) {
            sel.remove(fd);
            --count_;
        } else {
            try {
                sel.modify(fd, after);
            } catch (...) {
                // The descriptor was closed meanwhile: the kernel forgot it already.
                sel.remove(fd);
                s = slot{};
                --count_;
            }
        }
        unqueue(ready, old);
        return old;
    }

    /// Unregisters `w` if it is still the `dir` watcher of `fd` (the descriptor may have been
    /// forgotten and reused meanwhile); true if it was.
    bool unwatch_if(selector& sel, ready_queue& ready, int fd, std::uint32_t dir,
                    const io_watcher* w) noexcept {
        if (find(fd, dir) != w) {
            return false;
        }
        return unwatch(sel, ready, fd, dir) != nullptr;
    }

    /// Unregisters both watchers of `fd` (it is being closed), telling each with `err`.
    void forget(selector& sel, ready_queue& ready, int fd, int err) noexcept {
        for (const std::uint32_t dir : {event_read, event_write}) {
            if (io_watcher* w = unwatch(sel, ready, fd, dir)) {
                w->on_removed(w, err);
            }
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
    /// as CPython's _process_events).
    void dispatch(ready_queue& ready, const io_event& ev) {
        const auto i = static_cast<std::size_t>(ev.fd);
        if (ev.fd < 0 || i >= slots_.size()) {
            return;
        }
        const slot& s = slots_[i];
        if ((ev.events & event_read) != 0) {
            enqueue(ready, s.reader);
        }
        if ((ev.events & event_write) != 0) {
            enqueue(ready, s.writer);
        }
    }

    /// Descriptors registered (the loop's own wake-up descriptor is not counted).
    [[nodiscard]] std::size_t size() const noexcept { return count_; }

    /// Empties the table, handing each watcher (unqueued) to `f` (loop closing).
    template <class F> void clear(selector& sel, ready_queue& ready, F&& f) {
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            slot s = slots_[i];
            slots_[i] = slot{};
            if (s.mask() != 0) {
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
        [[nodiscard]] std::uint32_t mask() const noexcept {
            return (reader != nullptr ? event_read : 0U) | (writer != nullptr ? event_write : 0U);
        }
    };

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
    std::size_t count_ = 0;
};

} // namespace asyncio::detail
