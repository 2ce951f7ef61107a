// ttrpc's wire framing (github.com/containerd/ttrpc, channel.go): a 10-byte header — payload
// length (uint32, big endian), stream id (uint32, big endian), message type (1 request,
// 2 response, 3 data), flags — then the payload. Payloads above 4 MiB are refused, as ttrpc does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace liman::ttrpc {

inline constexpr size_t kHeaderSize = 10;
inline constexpr uint32_t kMaxMessageSize = 4 << 20;
// Bytes taken from a connection per read(2), into a stack buffer, then fed to a FrameReader.
inline constexpr size_t kReadChunk = 64 << 10;

enum class MessageType : uint8_t { kRequest = 1, kResponse = 2, kData = 3 };

struct Frame {
  uint32_t stream_id = 0;
  MessageType type = MessageType::kRequest;
  uint8_t flags = 0;
  std::string payload;
};

// Header + payload, ready to write.
std::string EncodeFrame(const Frame& frame);

// Incremental decoder for a non-blocking byte stream: Append what read(2) returned, then take
// frames with Next() until it returns nullopt (needs more bytes). An oversized length is an
// error (kResourceExhausted) after which the stream cannot be resynchronised.
class FrameReader {
 public:
  void Append(std::string_view bytes);
  absl::StatusOr<std::optional<Frame>> Next();
  size_t buffered() const { return buffer_.size() - offset_; }

 private:
  std::string buffer_;
  size_t offset_ = 0;
};

// Blocking helpers for clients: write all of a frame / read exactly one frame (EOF → kUnavailable,
// `deadline` passed → kDeadlineExceeded).
absl::Status WriteFrame(int fd, const Frame& frame);
absl::StatusOr<Frame> ReadFrame(int fd, absl::Time deadline = absl::InfiniteFuture());
// The same for a caller that keeps a FrameReader across calls: bytes beyond the frame, or of a
// frame cut short by the deadline, stay in `reader` for the next call.
absl::StatusOr<Frame> ReadFrame(int fd, FrameReader& reader, absl::Time deadline);

}  // namespace liman::ttrpc
