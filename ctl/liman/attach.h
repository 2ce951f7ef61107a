// The container's stdio over a hijacked connection (attach, exec start): our stdin into the
// socket (half-closed at EOF, so the container's stdin ends), the socket out to our stdout and
// stderr, de-multiplexed from Docker's 8-byte frames when there is no terminal; with a terminal,
// ours in raw mode and its size passed on now and at every SIGWINCH.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "ctl/liman/engine_client.h"

namespace liman::cli {

// Splits Docker's multiplexed stream ([stream, 0, 0, 0, size BE32] + payload) as bytes arrive.
class StreamDemuxer {
 public:
  // `sink(stream, data)`: stream 1 stdout, 2 stderr (3, the daemon's error, goes to 2 as well).
  explicit StreamDemuxer(std::function<void(int, std::string_view)> sink) : sink_(std::move(sink)) {}
  void Feed(std::string_view data);

 private:
  std::function<void(int, std::string_view)> sink_;
  std::string pending_;
};

struct AttachOptions {
  bool tty = false;
  bool send_stdin = false;
  // Called with (width, height) once at the start and after each SIGWINCH, with a terminal.
  std::function<void(unsigned, unsigned)> resize;
};

// The resize callback for `path` ("/containers/ID/resize", "/exec/ID/resize"): ?h=&w= posted.
std::function<void(unsigned, unsigned)> ResizeBy(EngineClient& client, const std::string& path);

// Runs until the daemon ends the output. stdin is copied on a thread of its own that may stay
// blocked in read(0) afterwards (docker's client does the same); it never touches the socket
// after this returns.
absl::Status PumpAttached(EngineClient::Hijacked& connection, const AttachOptions& options);

// docker's refusal of -it when our stdin is not a terminal: prints "the input device is not a
// TTY" and returns true then.
bool RefuseTtyWithoutTerminal(bool tty, bool interactive);

// Writes `data` to `fd` whole (EINTR, short writes; EAGAIN waits).
bool WriteFull(int fd, std::string_view data);

}  // namespace liman::cli
