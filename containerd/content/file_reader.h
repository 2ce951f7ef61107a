// ContentReader over an open blob file: pread(2) at any offset. The blob is immutable and the
// descriptor keeps it readable even if it is deleted meanwhile.
#pragma once

#include <string>

#include "common/unique_fd.h"
#include "containerd/core/content.h"

namespace liman::containerd::content {

class FileContentReader final : public ContentReader {
 public:
  FileContentReader(UniqueFd fd, int64_t size, std::string digest)
      : fd_(std::move(fd)), size_(size), digest_(std::move(digest)) {}

  int64_t Size() const override { return size_; }
  // Short at the end of the blob (offset == Size() gives ""); kOutOfRange past it.
  absl::StatusOr<std::string> ReadAt(int64_t offset, int64_t length) override;

 private:
  UniqueFd fd_;
  int64_t size_;
  std::string digest_;
};

}  // namespace liman::containerd::content
