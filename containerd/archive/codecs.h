// The codecs behind compression.h's factories (one file each: gzip.cc, zstd.cc).
#pragma once

#include <memory>

#include "containerd/archive/compression.h"

namespace liman::containerd::archive {

std::unique_ptr<ByteSource> NewGzipDecoder(ByteSource& compressed);
std::unique_ptr<Compressor> NewGzipEncoder(Compressor::Sink sink);
std::unique_ptr<ByteSource> NewZstdDecoder(ByteSource& compressed);
std::unique_ptr<Compressor> NewZstdEncoder(Compressor::Sink sink);

// Input buffer of the decoders: large, so that the inflate loops run long between refills.
inline constexpr size_t kCompressedBufferSize = 256 * 1024;

}  // namespace liman::containerd::archive
