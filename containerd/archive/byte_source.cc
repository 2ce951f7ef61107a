#include "containerd/archive/byte_source.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/status.h"

namespace liman::containerd::archive {

absl::StatusOr<size_t> FdByteSource::Read(char* buffer, size_t capacity) {
  while (true) {
    ssize_t n = ::read(fd_, buffer, capacity);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return ErrnoError(errno, "read layer");
  }
}

absl::StatusOr<size_t> MemoryByteSource::Read(char* buffer, size_t capacity) {
  size_t n = std::min({capacity, max_read_, data_.size()});
  std::memcpy(buffer, data_.data(), n);
  data_.remove_prefix(n);
  return n;
}

absl::StatusOr<size_t> PieceByteSource::Read(char* buffer, size_t capacity) {
  while (pending_.empty()) {
    if (ended_) return 0;
    LIMAN_ASSIGN_OR_RETURN(pending_, next_piece_());
    ended_ = pending_.empty();
  }
  size_t n = std::min(capacity, pending_.size());
  std::memcpy(buffer, pending_.data(), n);
  pending_.remove_prefix(n);
  return n;
}

absl::StatusOr<size_t> PrefixedSource::Read(char* buffer, size_t capacity) {
  if (offset_ < prefix_.size()) {
    size_t n = std::min(capacity, prefix_.size() - offset_);
    std::memcpy(buffer, prefix_.data() + offset_, n);
    offset_ += n;
    return n;
  }
  return rest_.Read(buffer, capacity);
}

absl::StatusOr<size_t> ReadFull(ByteSource& source, char* buffer, size_t capacity) {
  size_t filled = 0;
  while (filled < capacity) {
    LIMAN_ASSIGN_OR_RETURN(size_t n, source.Read(buffer + filled, capacity - filled));
    if (n == 0) break;
    filled += n;
  }
  return filled;
}

}  // namespace liman::containerd::archive
