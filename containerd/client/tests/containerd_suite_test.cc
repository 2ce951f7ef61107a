// The shared content and snapshotter suites against the real containerd 1.6 through the gRPC
// clients: what the suites assert is what containerd does. Where liman guarantees more than
// containerd shows, the suite options turn the stricter check into one of containerd's actual
// behaviour (documented on ContentSuiteOptions and SnapshotterSuiteOptions). One containerd serves every check of the binary; each check works in a
// namespace of its own, so it starts from an empty store.
#include <atomic>
#include <catch2/catch.hpp>

#include "containerd/client/grpc_content_store.h"
#include "containerd/client/grpc_snapshotter.h"
#include "containerd/client/tests/real_containerd.h"
#include "containerd/content/testsuite.h"
#include "containerd/snapshots/testsuite.h"
#include "fmt/format.h"

namespace liman::containerd::client::testing {
namespace {

std::string FreshNamespace() {
  static std::atomic<int> next = 0;
  return fmt::format("liman-suite-{}", ++next);
}

// What containerd 1.6 does not guarantee over its API (see the options' documentation).
constexpr content::testing::ContentSuiteOptions kContainerdContent{
    .resumed_writer_reports_stored_total = false,
    .exact_error_messages = false,
    .status_reports_expected = false,
    .writer_validates_expected_digest = false,
};
constexpr snapshots::testsuite::SnapshotterSuiteOptions kContainerdSnapshots{
    .bad_filter_is_invalid_argument = false,
    .cleanup_supported = false,
};

// The binary's containerd, started on first use and stopped (mounts undone, directory removed)
// when the binary exits; null with `skip` set when it cannot run here.
RealContainerd* SharedContainerd(std::string& skip) {
  static const std::string reason = RealContainerd::SkipReason();
  static std::unique_ptr<RealContainerd> daemon;
  skip = reason;
  if (!reason.empty()) return nullptr;
  if (daemon == nullptr) {
    absl::StatusOr<std::unique_ptr<RealContainerd>> started = RealContainerd::Start();
    INFO(started.status().ToString());
    REQUIRE(started.ok());
    daemon = *std::move(started);
  }
  return daemon.get();
}

TEST_CASE("GrpcContentStore on containerd 1.6 passes the content store suite", "[containerd]") {
  std::string skip;
  RealContainerd* containerd = SharedContainerd(skip);
  if (containerd == nullptr) {
    WARN("skipped: " << skip);
    return;
  }
  content::testing::RunContentStoreSuite([containerd] {
    // Content no image or lease refers to is containerd's garbage: the store works in a lease.
    const std::string ns = FreshNamespace();
    const std::string lease = ns + "-lease";
    absl::Status leased = containerd->CreateLease(ns, lease);
    INFO(leased.ToString());
    REQUIRE(leased.ok());
    return std::make_shared<GrpcContentStore>(containerd->channel(),
                                              CallScope{.ns = ns, .lease = lease, .timeout = absl::Minutes(1)});
  }, kContainerdContent);
}

TEST_CASE("GrpcSnapshotter on containerd 1.6 passes the snapshotter suite", "[containerd]") {
  std::string skip;
  RealContainerd* containerd = SharedContainerd(skip);
  if (containerd == nullptr) {
    WARN("skipped: " << skip);
    return;
  }
  // The suite labels every snapshot containerd.io/gc.root: no lease needed.
  snapshots::testsuite::RunSnapshotterSuite(
      [containerd](const std::string&) -> absl::StatusOr<std::unique_ptr<Snapshotter>> {
        return std::make_unique<GrpcSnapshotter>(containerd->channel(), "overlayfs",
                                                 CallScope{.ns = FreshNamespace(), .lease = "", .timeout = absl::Minutes(1)});
      },
      kContainerdSnapshots);
}

}  // namespace
}  // namespace liman::containerd::client::testing
