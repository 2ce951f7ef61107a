// Layer compression: media types, streaming decompression (gzip through ISA-L's igzip, zstd) and
// streaming compression for layers we write. Done here rather than by libarchive so that the
// uncompressed tar can be hashed (the diff_id) in the same pass that unpacks it.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "containerd/archive/byte_source.h"

namespace liman::containerd::archive {

enum class Compression { kNone, kGzip, kZstd };

// "gzip", "zstd" or "none", for messages.
std::string_view CompressionName(Compression compression);

// The compression of a layer media type: OCI's tar, tar+gzip and tar+zstd (also the
// nondistributable forms) and Docker's rootfs.diff.tar[.gzip] (also the foreign forms).
// kInvalidArgument naming the type if it is not a layer type we can unpack.
absl::StatusOr<Compression> CompressionForMediaType(std::string_view media_type);

// The compression the first bytes of a stream show (gzip and zstd magic numbers), kNone otherwise.
Compression DetectCompression(std::string_view prefix);

// A source producing the decompressed bytes of `compressed` (which must outlive it). Gzip streams
// may hold several members (pigz, concatenated files); zstd several frames. A truncated or corrupt
// stream, or bytes after the last member that are not another member, fail with kDataLoss.
std::unique_ptr<ByteSource> NewDecompressor(ByteSource& compressed, Compression compression);

// Streaming compression into `sink`: Write any number of times, then Finish once.
class Compressor {
 public:
  using Sink = std::function<absl::Status(std::string_view)>;
  virtual ~Compressor() = default;
  virtual absl::Status Write(std::string_view data) = 0;
  virtual absl::Status Finish() = 0;
};

// Gzip at ISA-L level 1 (about `gzip -1`'s ratio at several times its speed); zstd at level 3
// (containerd's default); kNone passes the bytes through.
std::unique_ptr<Compressor> NewCompressor(Compression compression, Compressor::Sink sink);

}  // namespace liman::containerd::archive
