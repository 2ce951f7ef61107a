#include "common/ttrpc/frame.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "common/status.h"

namespace liman::ttrpc {
namespace {

void PutUint32(std::string& out, uint32_t value) {
  out.push_back(static_cast<char>(value >> 24));
  out.push_back(static_cast<char>(value >> 16));
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value));
}

uint32_t GetUint32(const char* bytes) {
  auto byte = [bytes](int i) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])); };
  return byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
}

absl::Status OversizedError(uint32_t length) {
  return absl::ResourceExhaustedError(fmt::format(
      "ttrpc: message length {} exceeds maximum message size of {}", length, kMaxMessageSize));
}

// Milliseconds poll(2) may wait before `deadline`; -1 for none.
int PollTimeoutMs(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(
      std::min<int64_t>(absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))), INT32_MAX));
}

// Waits until `fd` is ready for `events` or `deadline` passes.
absl::Status WaitReady(int fd, short events, absl::Time deadline, std::string_view what) {
  while (true) {
    pollfd pfd{fd, events, 0};
    int ready = poll(&pfd, 1, PollTimeoutMs(deadline));
    if (ready > 0) return absl::OkStatus();
    if (ready == 0) return absl::DeadlineExceededError(fmt::format("{}: deadline exceeded", what));
    if (errno != EINTR) return ErrnoError(fmt::format("poll {}", what));
  }
}

// Reads exactly `size` bytes into `out`; `started` tells whether an EOF now cuts a frame short.
absl::Status ReadExactly(int fd, char* out, size_t size, absl::Time deadline, bool started) {
  size_t done = 0;
  while (done < size) {
    LIMAN_RETURN_IF_ERROR(WaitReady(fd, POLLIN, deadline, "read ttrpc frame"));
    ssize_t n = read(fd, out + done, size - done);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return ErrnoError("read ttrpc frame");
    }
    if (n == 0) {
      return absl::UnavailableError(started || done > 0 ? "read ttrpc frame: connection closed mid-frame"
                                                        : "read ttrpc frame: connection closed");
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

std::string EncodeFrame(const Frame& frame) {
  std::string out;
  out.reserve(kHeaderSize + frame.payload.size());
  PutUint32(out, static_cast<uint32_t>(frame.payload.size()));
  PutUint32(out, frame.stream_id);
  out.push_back(static_cast<char>(frame.type));
  out.push_back(static_cast<char>(frame.flags));
  out.append(frame.payload);
  return out;
}

void FrameReader::Append(std::string_view bytes) {
  // Consumed bytes are dropped lazily, once they are at least half the buffer, so that a run of
  // small frames does not move the remainder each time.
  if (offset_ > 0 && offset_ >= buffer_.size() / 2) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(bytes.data(), bytes.size());
}

absl::StatusOr<std::optional<Frame>> FrameReader::Next() {
  if (buffered() < kHeaderSize) return std::nullopt;
  const char* header = buffer_.data() + offset_;
  uint32_t length = GetUint32(header);
  if (length > kMaxMessageSize) return OversizedError(length);
  if (buffered() < kHeaderSize + length) return std::nullopt;
  Frame frame;
  frame.stream_id = GetUint32(header + 4);
  frame.type = static_cast<MessageType>(static_cast<uint8_t>(header[8]));
  frame.flags = static_cast<uint8_t>(header[9]);
  frame.payload.assign(header + kHeaderSize, length);
  offset_ += kHeaderSize + length;
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  }
  return frame;
}

absl::Status WriteFrame(int fd, const Frame& frame) {
  if (frame.payload.size() > kMaxMessageSize) return OversizedError(static_cast<uint32_t>(frame.payload.size()));
  std::string bytes = EncodeFrame(frame);
  size_t done = 0;
  bool is_socket = true;
  while (done < bytes.size()) {
    // MSG_NOSIGNAL: a peer that went away is an EPIPE error here, not a SIGPIPE that kills the
    // caller (send(2)). Non-sockets (pipes in tests) fall back to write(2).
    ssize_t n = is_socket ? send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL)
                          : write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == ENOTSOCK && is_socket) {
        is_socket = false;
        continue;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        LIMAN_RETURN_IF_ERROR(WaitReady(fd, POLLOUT, absl::InfiniteFuture(), "write ttrpc frame"));
        continue;
      }
      absl::Status error = ErrnoError("write ttrpc frame");
      if (errno == EPIPE || errno == ECONNRESET) return absl::UnavailableError(error.message());
      return error;
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<Frame> ReadFrame(int fd, absl::Time deadline) {
  char header[kHeaderSize];
  LIMAN_RETURN_IF_ERROR(ReadExactly(fd, header, kHeaderSize, deadline, false));
  uint32_t length = GetUint32(header);
  if (length > kMaxMessageSize) return OversizedError(length);
  Frame frame;
  frame.stream_id = GetUint32(header + 4);
  frame.type = static_cast<MessageType>(static_cast<uint8_t>(header[8]));
  frame.flags = static_cast<uint8_t>(header[9]);
  frame.payload.resize(length);
  LIMAN_RETURN_IF_ERROR(ReadExactly(fd, frame.payload.data(), length, deadline, true));
  return frame;
}

absl::StatusOr<Frame> ReadFrame(int fd, FrameReader& reader, absl::Time deadline) {
  while (true) {
    LIMAN_ASSIGN_OR_RETURN(std::optional<Frame> frame, reader.Next());
    if (frame.has_value()) return std::move(*frame);
    LIMAN_RETURN_IF_ERROR(WaitReady(fd, POLLIN, deadline, "read ttrpc frame"));
    char buffer[kReadChunk];
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return absl::UnavailableError(ErrnoError("read ttrpc frame").message());
    }
    if (n == 0) {
      return absl::UnavailableError(reader.buffered() > 0 ? "read ttrpc frame: connection closed mid-frame"
                                                          : "read ttrpc frame: connection closed");
    }
    reader.Append(std::string_view(buffer, static_cast<size_t>(n)));
  }
}

}  // namespace liman::ttrpc
