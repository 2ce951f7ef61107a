// The shared content and snapshotter suites against liman-containerd's own content and snapshots
// services, in-process (services/testing/service_fixture.h), through the same gRPC clients the
// real-containerd checks use: the wire behaviour of both daemons is held to one standard.
#include <catch2/catch.hpp>

#include "containerd/client/grpc_content_store.h"
#include "containerd/client/grpc_snapshotter.h"
#include "containerd/content/testsuite.h"
#include "containerd/metadata/db.h"
#include "containerd/services/content/content_service.h"
#include "containerd/services/snapshots/snapshots_service.h"
#include "containerd/services/testing/service_fixture.h"
#include "containerd/snapshots/testsuite.h"

namespace liman::containerd::client::testing {
namespace {

using services::testing::ServiceFixture;

constexpr char kNamespace[] = "liman-suite";

// The content service answers a Write STAT like containerd does, with the total sent in that
// session (services/content/content_service.cc): a writer resumed with total 0 reports 0. Every
// other guarantee of the suite holds over the wire.
constexpr content::testing::ContentSuiteOptions kServiceContent{.resumed_writer_reports_stored_total = false};

TEST_CASE("GrpcContentStore on liman-containerd passes the content store suite", "[liman]") {
  // Catch2 enters the test case once per check: each gets a fresh daemon.
  ServiceFixture fixture;
  fixture.Serve(services::MakeContentService);
  fixture.Start();
  // As against containerd: the store works in a lease, so that garbage collection keeps what it
  // writes.
  metadata::Lease lease;
  lease.id = "liman-suite-lease";
  auto created = fixture.deps().db->Leases().Create(kNamespace, lease);
  INFO(created.status().ToString());
  REQUIRE(created.ok());
  content::testing::RunContentStoreSuite([&fixture] {
    return std::make_shared<GrpcContentStore>(
        fixture.channel(), CallScope{.ns = kNamespace, .lease = "liman-suite-lease", .timeout = absl::Minutes(1)});
  }, kServiceContent);
}

TEST_CASE("GrpcSnapshotter on liman-containerd passes the snapshotter suite", "[liman]") {
  ServiceFixture fixture;
  fixture.Serve(services::MakeSnapshotsService);
  fixture.Start();
  snapshots::testsuite::RunSnapshotterSuite(
      [&fixture](const std::string&) -> absl::StatusOr<std::unique_ptr<Snapshotter>> {
        return std::make_unique<GrpcSnapshotter>(fixture.channel(), "overlayfs",
                                                 CallScope{.ns = kNamespace, .lease = "", .timeout = absl::Minutes(1)});
      });
}

}  // namespace
}  // namespace liman::containerd::client::testing
