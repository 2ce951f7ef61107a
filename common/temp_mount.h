// A snapshot's mounts mounted on a temporary directory for a while, to read what they show
// (containerd's mount.WithTempMount): the diff service reads layers through it, the engine reads
// an image's /etc/passwd and /etc/group to resolve `--user NAME`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mount.h"

namespace liman {

// The same mounts, read-only (containerd's WithReadonlyTempMount).
std::vector<MountDescriptor> ReadOnlyMounts(std::vector<MountDescriptor> mounts);

// `mounts` mounted on a fresh directory under `parent` for the object's lifetime; unmounted and
// removed again by the destructor, whatever happened in between.
class TempMount {
 public:
  // No mounts: an empty directory (the empty tree a base layer is compared with).
  static absl::StatusOr<std::unique_ptr<TempMount>> Mount(const std::vector<MountDescriptor>& mounts,
                                                          const std::string& parent);
  ~TempMount();
  TempMount(const TempMount&) = delete;
  TempMount& operator=(const TempMount&) = delete;

  const std::string& dir() const { return dir_; }

 private:
  explicit TempMount(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
  bool mounted_ = false;
};

}  // namespace liman
