// Docker's stream framing for attach, exec and logs without a terminal: an 8-byte header
// [stream, 0, 0, 0, size as uint32 big-endian] before each piece; stream 1 is stdout, 2 stderr,
// 3 an error from the daemon.
#pragma once

#include <string>
#include <string_view>

#include "common/unix_socket.h"

namespace liman::engine {

enum class StreamId : char { kStdout = 1, kStderr = 2, kSystem = 3 };

std::string StreamFrame(StreamId stream, std::string_view data);

using liman::SendAll;  // common/unix_socket.h

}  // namespace liman::engine
