// SPDX-License-Identifier: MIT
// Context variables (Python's contextvars): context_var<T>, its tokens, and context objects.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>

#include <asyncio/detail/context_core.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

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
