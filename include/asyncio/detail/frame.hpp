// SPDX-License-Identifier: MIT
// unique_frame: the one RAII owner that destroys coroutine frames.
#pragma once

#include <coroutine>
#include <utility>

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
