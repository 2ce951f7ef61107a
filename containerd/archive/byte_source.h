// Pull-based byte streams: what a layer is read from (a content store blob, a registry response,
// a file) and what the decompressors in compression.h produce.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace liman::containerd::archive {

// Fills up to `capacity` bytes of `buffer` and returns how many; 0 only at the end.
// ApplyLayer calls Read from one worker thread (never concurrently), not the caller's thread.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual absl::StatusOr<size_t> Read(char* buffer, size_t capacity) = 0;
};

// Reads a file descriptor to its end (a blob, a pipe). Does not own the descriptor.
class FdByteSource final : public ByteSource {
 public:
  explicit FdByteSource(int fd) : fd_(fd) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t capacity) override;

 private:
  int fd_;
};

// Reads from memory the caller keeps alive; `max_read` caps each Read (tests use it to cut a
// stream at awkward places).
class MemoryByteSource final : public ByteSource {
 public:
  explicit MemoryByteSource(std::string_view data, size_t max_read = SIZE_MAX) : data_(data), max_read_(max_read) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t capacity) override;

 private:
  std::string_view data_;
  size_t max_read_;
};

// Reads a stream that arrives in pieces (a request body, a gRPC stream's messages): `next_piece`
// returns the next one, valid until its next call, and an empty one at the end.
class PieceByteSource final : public ByteSource {
 public:
  using NextPiece = std::function<absl::StatusOr<std::string_view>()>;
  explicit PieceByteSource(NextPiece next_piece) : next_piece_(std::move(next_piece)) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t capacity) override;

 private:
  NextPiece next_piece_;
  std::string_view pending_;
  bool ended_ = false;
};

// Gives `prefix` (bytes already read from `rest`, to tell its compression) again, then reads on
// from `rest`.
class PrefixedSource final : public ByteSource {
 public:
  PrefixedSource(std::string prefix, ByteSource& rest) : prefix_(std::move(prefix)), rest_(rest) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t capacity) override;

 private:
  std::string prefix_;
  size_t offset_ = 0;
  ByteSource& rest_;
};

// Reads `source` until `capacity` bytes are in `buffer` or the stream ends.
absl::StatusOr<size_t> ReadFull(ByteSource& source, char* buffer, size_t capacity);

}  // namespace liman::containerd::archive
