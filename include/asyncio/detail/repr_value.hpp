// SPDX-License-Identifier: MIT
// How the debug strings of repr.hpp print values, strings, floats and exceptions, as Python's repr.
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/exceptions.hpp>

#include <asyncio/detail/value_slot.hpp>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
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
