// SPDX-License-Identifier: MIT
// The umbrella header: every public asyncio-cpp header.
#pragma once

#include <asyncio/async_generator.hpp>
#include <asyncio/awaitable.hpp>
#include <asyncio/config.hpp>
#include <asyncio/contextvars.hpp>
#include <asyncio/datagram.hpp>
#include <asyncio/datagram_protocol.hpp>
#include <asyncio/exceptions.hpp>
#include <asyncio/future.hpp>
#include <asyncio/gather.hpp>
#include <asyncio/generator.hpp>
#include <asyncio/graph.hpp>
#include <asyncio/handle.hpp>
#include <asyncio/locks.hpp>
#include <asyncio/loop.hpp>
#include <asyncio/queue.hpp>
#include <asyncio/repr.hpp>
#include <asyncio/run.hpp>
#include <asyncio/sleep.hpp>
#include <asyncio/socket.hpp>
#include <asyncio/socket_address.hpp>
#include <asyncio/streams.hpp>
#include <asyncio/task.hpp>
#include <asyncio/task_group.hpp>
#include <asyncio/threads.hpp>
#include <asyncio/timeouts.hpp>
#include <asyncio/wait.hpp>
