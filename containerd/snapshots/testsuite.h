// The snapshotter test suite, written once against the Snapshotter interface (like containerd's
// snapshots/testsuite) and run against every implementation: the overlay snapshotter, the
// namespaced one the API serves, and a gRPC client of real containerd for comparison.
//
// Checks use real mounts (root is required) and compare what a mount shows against the same
// changes applied to a plain directory. Every mount is undone by RAII, also when a check fails.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mount.h"
#include "containerd/core/snapshots.h"
#include "common/tests/temp_dir.h"

namespace liman::containerd::snapshots::testsuite {

// Makes the snapshotter one check runs against. `root` is a fresh, empty directory on a
// filesystem that can hold overlay upper directories; a local snapshotter keeps its state there,
// a remote one may ignore it but must start empty (a fresh namespace, say). The snapshotter is
// destroyed when the check ends, before `root` is deleted.
using SnapshotterFactory = std::function<absl::StatusOr<std::unique_ptr<Snapshotter>>(const std::string& root)>;

// What a snapshotter guarantees beyond what containerd 1.6 shows over its API. Our snapshotters
// keep every guarantee (all true, the default). The run against real containerd turns off those
// it lacks; the checks concerned then assert what containerd does instead.
struct SnapshotterSuiteOptions {
  // Walk with a malformed filter fails with InvalidArgument. containerd's snapshots List
  // answers Unknown (the filter parser's error carries no errdefs class): still an error.
  bool bad_filter_is_invalid_argument = true;
  // Cleanup succeeds and leaves live snapshots alone. containerd 1.6's snapshots service
  // answers Unimplemented (it cleans up only inside its garbage collector).
  bool cleanup_supported = true;
};

// Runs every check of the suite as a Catch2 SECTION of the calling TEST_CASE. Catch2 enters a
// test case once per section, so each check gets its own temporary directory and snapshotter:
//
//   TEST_CASE("overlay snapshotter passes the snapshotter suite") {
//     testsuite::RunSnapshotterSuite([](const std::string& root) { ... });
//   }
//
// `options` says which guarantees beyond containerd 1.6's observable behaviour to check.
void RunSnapshotterSuite(const SnapshotterFactory& factory, const SnapshotterSuiteOptions& options = {});

// Where tests make their temporary trees: $LIMAN_TEST_TMPDIR if set, else /tmp unless that is
// overlayfs or tmpfs (unfit for overlay upper directories), else /var/tmp.
std::string TestTempBase();

// A temporary directory under TestTempBase(), removed with its contents on destruction.
class TempDir : public test_support::TempDir {
 public:
  explicit TempDir(const std::string& prefix = "liman-test") : test_support::TempDir(prefix, TestTempBase()) {}
};

// Mounts descriptors onto `target` (MountAll) for its lifetime.
class ScopedMount {
 public:
  static absl::StatusOr<ScopedMount> Mount(const std::vector<MountDescriptor>& mounts, const std::string& target);
  ScopedMount(ScopedMount&& other) noexcept;
  ScopedMount& operator=(ScopedMount&&) = delete;
  ScopedMount(const ScopedMount&) = delete;
  ~ScopedMount();
  // Unmounts now (before a Commit); the destructor then has nothing left to do.
  absl::Status Unmount();
  const std::string& target() const { return target_; }

 private:
  explicit ScopedMount(std::string target) : target_(std::move(target)) {}
  std::string target_;  // empty once unmounted or moved from
};

}  // namespace liman::containerd::snapshots::testsuite
