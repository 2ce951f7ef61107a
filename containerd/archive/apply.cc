#include "containerd/archive/apply.h"

#include <fcntl.h>
#include <unistd.h>

#include <memory>

#include "common/logging.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "containerd/archive/libarchive_handles.h"
#include "containerd/archive/extractor.h"
#include "containerd/archive/layer_stream.h"

namespace liman::containerd::archive {
namespace {

// What libarchive's read callback reads from: the layer's chunks, the first one already taken to
// see whether the layer is empty.
struct ReadContext {
  LayerStream* stream;
  std::string_view first;
  absl::Status status;  // why the stream failed, when it did: better words than libarchive's
};

la_ssize_t ReadChunk(::archive* reader, void* opaque, const void** buffer) {
  auto* context = static_cast<ReadContext*>(opaque);
  std::string_view chunk = context->first;
  context->first = std::string_view();
  if (chunk.empty()) {
    absl::StatusOr<std::string_view> next = context->stream->Next();
    if (!next.ok()) {
      context->status = next.status();
      archive_set_error(reader, EIO, "%s", std::string(next.status().message()).c_str());
      return -1;
    }
    chunk = *next;
  }
  *buffer = chunk.data();
  return static_cast<la_ssize_t>(chunk.size());
}

// A libarchive failure, unless the stream under it failed first: then that is the cause.
absl::Status ReadFailure(const ReadContext& context, const absl::Status& reported) {
  return context.status.ok() ? reported : Annotate(context.status, "read layer");
}

absl::Status ExtractAll(ReadContext& context, Extractor& extractor) {
  ArchiveReader reader(archive_read_new());
  ArchiveEntry entry(archive_entry_new());
  if (reader == nullptr || entry == nullptr) return absl::ResourceExhaustedError("libarchive: out of memory");
  // Tar only (ustar, pax, GNU, with their long names, xattrs and sparse files); decompression is
  // ours, so no filter is enabled.
  archive_read_support_format_tar(reader.get());
  if (archive_read_open(reader.get(), &context, nullptr, ReadChunk, nullptr) != ARCHIVE_OK)
    return ReadFailure(context, absl::DataLossError(fmt::format("open tar: {}", archive_error_string(reader.get()))));
  while (true) {
    int result = archive_read_next_header2(reader.get(), entry.get());
    if (result == ARCHIVE_EOF) return absl::OkStatus();
    if (result == ARCHIVE_WARN) {
      LogDebug("apply layer: {}", archive_error_string(reader.get()));
    } else if (result != ARCHIVE_OK) {
      const char* message = archive_error_string(reader.get());
      return ReadFailure(context, absl::DataLossError(fmt::format("read tar header: {}", message ? message : "?")));
    }
    absl::Status status = extractor.Extract(reader.get(), entry.get());
    if (!status.ok()) return ReadFailure(context, status);
  }
}

}  // namespace

absl::StatusOr<ApplyResult> ApplyLayer(ByteSource& compressed, Compression compression, const std::string& root,
                                       const ApplyOptions& options) {
  UniqueFd root_fd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) return ErrnoError(errno, fmt::format("open {}", Quote(root)));
  std::vector<UniqueFd> lower_roots;
  for (const std::string& lower : options.lower_dirs) {
    UniqueFd fd(open(lower.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return ErrnoError(errno, fmt::format("open lower directory {}", Quote(lower)));
    lower_roots.push_back(std::move(fd));
  }

  LayerStream stream(compressed, compression, LayerStreamOptions{.read_ahead = options.read_ahead});
  Extractor extractor(root_fd.get(), options, std::move(lower_roots));
  absl::StatusOr<std::string_view> first = stream.Next();
  if (!first.ok()) return Annotate(first.status(), "read layer");
  // An empty stream is an empty layer (Go's tar reader agrees); libarchive would call it truncated.
  if (!first->empty()) {
    ReadContext context{&stream, *first, absl::OkStatus()};
    LIMAN_RETURN_IF_ERROR(ExtractAll(context, extractor));
    LIMAN_RETURN_IF_ERROR(extractor.Finish());
  }
  if (absl::Status drained = stream.Drain(); !drained.ok()) return Annotate(drained, "read layer");
  return ApplyResult{stream.DiffId(), stream.size()};
}

absl::Status SyncFilesystem(const std::string& dir) {
  UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return ErrnoError(errno, fmt::format("open {}", Quote(dir)));
  if (syncfs(fd.get()) != 0) return ErrnoError(errno, fmt::format("syncfs {}", Quote(dir)));
  return absl::OkStatus();
}

}  // namespace liman::containerd::archive
