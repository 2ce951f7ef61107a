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

}  // namespace liman::engine
