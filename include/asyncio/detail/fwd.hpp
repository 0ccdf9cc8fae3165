// SPDX-License-Identifier: MIT
// Forward declarations (with the default template arguments) of the public class templates.
#pragma once

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
