// Streams between threads for a pull: a layer's bytes arrive on a download thread (which also
// writes them into the content store) and are consumed by the extraction, so download, hashing,
// decompression and file writes overlap, with bounded memory.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "containerd/archive/byte_source.h"
#include "containerd/core/content.h"

namespace liman::containerd::remotes {

// A bounded ring buffer between one producer and one consumer thread.
class BytePipe {
 public:
  explicit BytePipe(size_t capacity);

  // Producer: copies all of `data` in, blocking while the pipe is full. kCancelled once the
  // consumer has closed its end.
  absl::Status Write(std::string_view data);
  // Producer: the end. The consumer reads the buffered bytes, then gets `status` (OK: end of
  // stream, Read returns 0).
  void CloseWrite(absl::Status status);

  // Consumer: up to `capacity` bytes, blocking while the pipe is empty and open.
  absl::StatusOr<size_t> Read(char* buffer, size_t capacity);
  // Consumer: stops reading; a blocked and every later Write fails.
  void CloseRead();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::unique_ptr<char[]> ring_;
  size_t capacity_;
  size_t head_ = 0;  // next byte to read
  size_t size_ = 0;  // bytes buffered
  bool write_closed_ = false;
  bool read_closed_ = false;
  absl::Status end_status_;
};

// A ByteSource fed by `produce`, which runs on a thread of its own and writes into the pipe.
// Destroying the source closes the read end (so the producer fails its next Write) and joins.
class ProducerSource final : public archive::ByteSource {
 public:
  using Producer = std::function<absl::Status(BytePipe& pipe)>;
  ProducerSource(size_t capacity, Producer produce);
  ~ProducerSource() override;
  ProducerSource(const ProducerSource&) = delete;
  ProducerSource& operator=(const ProducerSource&) = delete;

  absl::StatusOr<size_t> Read(char* buffer, size_t capacity) override;
  // Closes the read end, waits for the producer and returns what it returned.
  absl::Status Finish();

 private:
  BytePipe pipe_;
  Producer produce_;
  absl::Status result_;
  std::thread thread_;
  bool finished_ = false;
};

// A committed blob of a content store, read front to back.
class ContentSource final : public archive::ByteSource {
 public:
  explicit ContentSource(std::unique_ptr<ContentReader> reader) : reader_(std::move(reader)) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t capacity) override;

 private:
  std::unique_ptr<ContentReader> reader_;
  int64_t offset_ = 0;
};

// Reads `source` to its end, discarding the bytes (what remains after a tar's end-of-archive,
// so that the stream's own end-of-data checks run).
absl::Status DrainSource(archive::ByteSource& source);

}  // namespace liman::containerd::remotes
