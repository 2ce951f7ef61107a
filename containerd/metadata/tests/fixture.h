// What the metadata tests share: a DB over a real local content store and a real overlay
// snapshotter in a temporary directory, a clock the tests move, and small helpers.
#pragma once

#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "containerd/content/local_store.h"
#include "containerd/metadata/db.h"
#include "containerd/snapshots/overlay_snapshotter.h"
#include "containerd/snapshots/testsuite.h"

namespace liman::containerd::metadata::testing {

inline constexpr char kOverlay[] = "overlayfs";

// A clock that only moves when told to (starts at the real time, so times look sane).
class FakeClock {
 public:
  FakeClock() : nanos_(absl::ToUnixNanos(absl::Now())) {}
  absl::Time Now() const { return absl::FromUnixNanos(nanos_.load()); }
  void Advance(absl::Duration by) { nanos_ += absl::ToInt64Nanoseconds(by); }

 private:
  std::atomic<int64_t> nanos_;
};

struct EnvOptions {
  ContentSharingPolicy content_sharing = ContentSharingPolicy::kIsolated;
  // absl::Now instead of the fake clock (for the shared suites, which compare with it).
  bool real_clock = false;
};

class Env {
 public:
  explicit Env(EnvOptions options = {});
  ~Env();

  // Closes the DB and opens it again on the same files (the backends stay).
  void Reopen();

  DB& db() { return *db_; }
  FakeClock& clock() { return *clock_; }
  content::LocalStore& backend_content() { return *content_; }
  snapshots::OverlaySnapshotter& backend_snapshots() { return *overlay_; }
  const std::string& root() const { return dir_.path(); }

  std::unique_ptr<ContentStore> Content(const std::string& ns, const std::string& lease = "");
  std::unique_ptr<Snapshotter> Snapshots(const std::string& ns, const std::string& lease = "");

 private:
  void Open();

  snapshots::testsuite::TempDir dir_;
  EnvOptions options_;
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  std::shared_ptr<content::LocalStore> content_;
  std::shared_ptr<snapshots::OverlaySnapshotter> overlay_;
  std::unique_ptr<DB> db_;
};

// REQUIREs `result` ok and returns its value.
template <typename T>
T Must(absl::StatusOr<T> result) {
  INFO(result.status().ToString());
  REQUIRE(result.ok());
  return *std::move(result);
}
inline void Must(const absl::Status& status) {
  INFO(status.ToString());
  REQUIRE(status.ok());
}

inline absl::StatusCode CodeOf(const absl::Status& status) { return status.code(); }
template <typename T>
absl::StatusCode CodeOf(const absl::StatusOr<T>& result) {
  return result.status().code();
}
inline std::string MessageOf(const absl::Status& status) { return std::string(status.message()); }
template <typename T>
std::string MessageOf(const absl::StatusOr<T>& result) {
  return std::string(result.status().message());
}

// Writes and commits `data` in `store` under `ref`; returns its digest.
std::string CommitBlob(ContentStore& store, const std::string& ref, const std::string& data, const Labels& labels = {});
// The digests a Walk reports, sorted.
std::vector<std::string> Digests(ContentStore& store, const std::vector<std::string>& filters = {});
// The names a snapshotter Walk reports, sorted.
std::vector<std::string> SnapshotNames(Snapshotter& snapshotter, const std::vector<std::string>& filters = {});
// Backend snapshot names and blob digests, sorted.
std::vector<std::string> BackendSnapshots(Env& env);
std::vector<std::string> BackendBlobs(Env& env);

// An image named `name` whose target is `digest` (a manifest, say).
Image TestImage(const std::string& name, const std::string& digest, int64_t size = 100);
// A valid container `id`.
Container TestContainer(const std::string& id);

}  // namespace liman::containerd::metadata::testing
