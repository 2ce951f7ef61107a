#include "containerd/archive/compression.h"

#include <string>

#include "common/status.h"
#include "containerd/archive/codecs.h"

namespace liman::containerd::archive {

std::string_view CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kNone: return "none";
    case Compression::kGzip: return "gzip";
    case Compression::kZstd: return "zstd";
  }
  return "unknown";
}

absl::StatusOr<Compression> CompressionForMediaType(std::string_view media_type) {
  // OCI layer types carry the compression as a "+suffix" (image-spec media-types.md); Docker's
  // schema 2 types as ".gzip" in the name. Parameters ("; foo=bar") are not part of the type.
  std::string_view type = media_type.substr(0, media_type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  struct Known {
    std::string_view type;
    Compression compression;
  };
  static constexpr Known kKnown[] = {
      {"application/vnd.oci.image.layer.v1.tar", Compression::kNone},
      {"application/vnd.oci.image.layer.v1.tar+gzip", Compression::kGzip},
      {"application/vnd.oci.image.layer.v1.tar+zstd", Compression::kZstd},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar", Compression::kNone},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", Compression::kGzip},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", Compression::kZstd},
      {"application/vnd.docker.image.rootfs.diff.tar", Compression::kNone},
      {"application/vnd.docker.image.rootfs.diff.tar.gzip", Compression::kGzip},
      {"application/vnd.docker.image.rootfs.diff.tar.zstd", Compression::kZstd},
      {"application/vnd.docker.image.rootfs.foreign.diff.tar", Compression::kNone},
      {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", Compression::kGzip},
  };
  for (const Known& known : kKnown)
    if (type == known.type) return known.compression;
  return absl::InvalidArgumentError(fmt::format("unsupported layer media type {}", Quote(media_type)));
}

Compression DetectCompression(std::string_view prefix) {
  // RFC 1952 section 2.3.1 (ID1 ID2 CM=deflate); RFC 8878 section 3.1.1 (frame magic, little
  // endian 0xFD2FB528).
  if (prefix.size() >= 3 && prefix[0] == '\x1f' && prefix[1] == '\x8b' && prefix[2] == '\x08')
    return Compression::kGzip;
  if (prefix.size() >= 4 && prefix.substr(0, 4) == std::string_view("\x28\xb5\x2f\xfd", 4))
    return Compression::kZstd;
  return Compression::kNone;
}

namespace {

class PassThroughCompressor final : public Compressor {
 public:
  explicit PassThroughCompressor(Sink sink) : sink_(std::move(sink)) {}
  absl::Status Write(std::string_view data) override { return data.empty() ? absl::OkStatus() : sink_(data); }
  absl::Status Finish() override { return absl::OkStatus(); }

 private:
  Sink sink_;
};

class PassThroughSource final : public ByteSource {
 public:
  explicit PassThroughSource(ByteSource& source) : source_(source) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t capacity) override { return source_.Read(buffer, capacity); }

 private:
  ByteSource& source_;
};

}  // namespace

std::unique_ptr<ByteSource> NewDecompressor(ByteSource& compressed, Compression compression) {
  switch (compression) {
    case Compression::kGzip: return NewGzipDecoder(compressed);
    case Compression::kZstd: return NewZstdDecoder(compressed);
    case Compression::kNone: break;
  }
  return std::make_unique<PassThroughSource>(compressed);
}

std::unique_ptr<Compressor> NewCompressor(Compression compression, Compressor::Sink sink) {
  switch (compression) {
    case Compression::kGzip: return NewGzipEncoder(std::move(sink));
    case Compression::kZstd: return NewZstdEncoder(std::move(sink));
    case Compression::kNone: break;
  }
  return std::make_unique<PassThroughCompressor>(std::move(sink));
}

}  // namespace liman::containerd::archive
