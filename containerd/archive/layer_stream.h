// The uncompressed bytes of a layer, in large chunks for libarchive, hashed into the diff_id as they
// are produced. With read-ahead a worker thread reads, decompresses and hashes while the caller's
// thread parses the tar and writes files: on two cores that takes decompression off the critical path.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "containerd/archive/byte_source.h"
#include "containerd/archive/compression.h"
#include "containerd/archive/digester.h"

namespace liman::containerd::archive {

struct LayerStreamOptions {
  bool read_ahead = true;
  size_t chunk_size = 1 << 20;
  int chunks = 4;  // with read-ahead: how far the worker may run ahead, plus the chunk in use
};

class LayerStream {
 public:
  // `compression` is what the media type declared. kNone is checked against the stream's magic
  // bytes, as containerd's DecompressStream does for Docker's uncompressed types, which registries
  // sometimes serve compressed; a declared gzip or zstd is held to.
  LayerStream(ByteSource& compressed, Compression compression, LayerStreamOptions options = {});
  ~LayerStream();  // stops the worker (after its current Read returns)
  LayerStream(const LayerStream&) = delete;
  LayerStream& operator=(const LayerStream&) = delete;

  // The next chunk, valid until the next call; empty at the end of the stream.
  absl::StatusOr<std::string_view> Next();
  // Reads what remains (padding after the tar's end-of-archive blocks), so that the diff_id covers
  // the whole stream and a compressed stream's trailer is verified.
  absl::Status Drain();
  // "sha256:<hex>" of the uncompressed stream and its length; complete once Next returned empty.
  std::string DiffId() const { return digester_.Digest(); }
  int64_t size() const { return digester_.size(); }

 private:
  absl::Status OpenDecoder();
  absl::StatusOr<size_t> Produce(char* buffer);
  void RunWorker();

  ByteSource& compressed_;
  Compression declared_;
  LayerStreamOptions options_;
  std::unique_ptr<ByteSource> sniffed_;  // the bytes read to detect compression, then the rest
  std::unique_ptr<ByteSource> decoder_;
  Sha256Digester digester_;  // written only by the producer
  std::vector<std::unique_ptr<char[]>> buffers_;
  bool end_ = false;

  // Read-ahead: buffers move free -> filled (worker) -> in use (consumer) -> free.
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<int> free_;
  std::deque<std::pair<int, size_t>> filled_;
  int in_use_ = -1;
  bool producer_done_ = false;
  bool stopping_ = false;
  absl::Status producer_status_;
  std::thread worker_;
};

}  // namespace liman::containerd::archive
