#include "containerd/content/file_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/status.h"
#include "fmt/format.h"

namespace liman::containerd::content {

absl::StatusOr<std::string> FileContentReader::ReadAt(int64_t offset, int64_t length) {
  if (offset < 0 || length < 0)
    return absl::InvalidArgumentError(
        fmt::format("read {}: negative offset {} or length {}", digest_, offset, length));
  if (offset > size_)
    return absl::OutOfRangeError(fmt::format("read {} at offset {}: past the end ({} bytes)", digest_, offset, size_));
  // Never allocate more than the blob holds, whatever length the caller asks for.
  std::string data(static_cast<size_t>(std::min(length, size_ - offset)), '\0');
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = pread(fd_.get(), data.data() + done, data.size() - done, offset + static_cast<int64_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(fmt::format("read {} at offset {}", digest_, offset + static_cast<int64_t>(done)));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  return data;
}

}  // namespace liman::containerd::content
