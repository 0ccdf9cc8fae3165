// SPDX-License-Identifier: MIT
// asyncio.DatagramProtocol: what a datagram endpoint calls (see <asyncio/datagram.hpp>).
#pragma once

#include <asyncio/config.hpp>
#include <asyncio/socket_address.hpp>

#include <exception>
#include <string>
#include <system_error>

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
