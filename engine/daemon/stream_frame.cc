#include "engine/daemon/stream_frame.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace liman::engine {

std::string StreamFrame(StreamId stream, std::string_view data) {
  std::string frame(8, '\0');
  frame[0] = static_cast<char>(stream);
  uint32_t size = htonl(static_cast<uint32_t>(data.size()));
  std::memcpy(&frame[4], &size, 4);
  frame.append(data);
  return frame;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace liman::engine
