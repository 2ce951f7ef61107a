// Zstandard through libzstd's streaming API; ZSTD_decompressStream walks consecutive frames
// (and skippable frames) on its own.
#include <zstd.h>

#include <memory>

#include "common/status.h"
#include "containerd/archive/codecs.h"

namespace liman::containerd::archive {
namespace {

constexpr int kCompressionLevel = 3;  // containerd's and the zstd CLI's default

class ZstdDecoder final : public ByteSource {
 public:
  explicit ZstdDecoder(ByteSource& compressed)
      : compressed_(compressed), context_(ZSTD_createDCtx()), input_(std::make_unique<char[]>(kCompressedBufferSize)) {}
  ~ZstdDecoder() override { ZSTD_freeDCtx(context_); }

  absl::StatusOr<size_t> Read(char* buffer, size_t capacity) override {
    if (done_) return 0;
    if (context_ == nullptr) return absl::ResourceExhaustedError("zstd: cannot allocate a decompression context");
    ZSTD_outBuffer out{buffer, capacity, 0};
    while (out.pos < out.size) {
      if (in_.pos == in_.size && !input_eof_) LIMAN_RETURN_IF_ERROR(Refill());
      if (in_.pos == in_.size && input_eof_ && frame_complete_) {
        done_ = true;
        break;
      }
      const size_t out_before = out.pos;
      const size_t in_before = in_.pos;
      size_t result = ZSTD_decompressStream(context_, &out, &in_);
      if (ZSTD_isError(result)) return absl::DataLossError(fmt::format("zstd: {}", ZSTD_getErrorName(result)));
      // 0: a frame is complete and fully flushed; otherwise more input is needed.
      frame_complete_ = result == 0;
      if (!frame_complete_ && input_eof_ && out.pos == out_before && in_.pos == in_before)
        return absl::DataLossError("zstd: unexpected end of stream");
    }
    return out.pos;
  }

 private:
  absl::Status Refill() {
    LIMAN_ASSIGN_OR_RETURN(size_t n, compressed_.Read(input_.get(), kCompressedBufferSize));
    if (n == 0) input_eof_ = true;
    in_ = ZSTD_inBuffer{input_.get(), n, 0};
    return absl::OkStatus();
  }

  ByteSource& compressed_;
  ZSTD_DCtx* context_;
  std::unique_ptr<char[]> input_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  bool input_eof_ = false;
  bool frame_complete_ = false;  // an empty stream is not a valid zstd stream
  bool done_ = false;
};

class ZstdEncoder final : public Compressor {
 public:
  explicit ZstdEncoder(Sink sink)
      : sink_(std::move(sink)), context_(ZSTD_createCCtx()), output_(std::make_unique<char[]>(ZSTD_CStreamOutSize())) {
    if (context_ == nullptr) return;
    ZSTD_CCtx_setParameter(context_, ZSTD_c_compressionLevel, kCompressionLevel);
    ZSTD_CCtx_setParameter(context_, ZSTD_c_checksumFlag, 1);  // as the zstd CLI: corruption is caught
  }
  ~ZstdEncoder() override { ZSTD_freeCCtx(context_); }

  absl::Status Write(std::string_view data) override {
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    while (in.pos < in.size) LIMAN_RETURN_IF_ERROR(Compress(in, ZSTD_e_continue).status());
    return absl::OkStatus();
  }

  absl::Status Finish() override {
    ZSTD_inBuffer in{nullptr, 0, 0};
    while (true) {
      LIMAN_ASSIGN_OR_RETURN(size_t remaining, Compress(in, ZSTD_e_end));
      if (remaining == 0) return absl::OkStatus();
    }
  }

 private:
  absl::StatusOr<size_t> Compress(ZSTD_inBuffer& in, ZSTD_EndDirective directive) {
    if (context_ == nullptr) return absl::ResourceExhaustedError("zstd: cannot allocate a compression context");
    ZSTD_outBuffer out{output_.get(), ZSTD_CStreamOutSize(), 0};
    size_t result = ZSTD_compressStream2(context_, &out, &in, directive);
    if (ZSTD_isError(result)) return absl::InternalError(fmt::format("zstd: {}", ZSTD_getErrorName(result)));
    if (out.pos > 0) LIMAN_RETURN_IF_ERROR(sink_(std::string_view(output_.get(), out.pos)));
    return result;
  }

  Sink sink_;
  ZSTD_CCtx* context_;
  std::unique_ptr<char[]> output_;
};

}  // namespace

std::unique_ptr<ByteSource> NewZstdDecoder(ByteSource& compressed) { return std::make_unique<ZstdDecoder>(compressed); }
std::unique_ptr<Compressor> NewZstdEncoder(Compressor::Sink sink) { return std::make_unique<ZstdEncoder>(std::move(sink)); }

}  // namespace liman::containerd::archive
