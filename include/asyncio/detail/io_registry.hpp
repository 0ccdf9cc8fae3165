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
#include <system_error>
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
