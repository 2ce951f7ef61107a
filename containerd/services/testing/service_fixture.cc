#include "containerd/services/testing/service_fixture.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "common/file_util.h"
#include "common/mount.h"
#include "containerd/content/local_store.h"
#include "containerd/server/namespace_context.h"

namespace liman::containerd::services::testing {

ServiceFixture::ServiceFixture() {
  std::string pattern = "/tmp/liman-ctrd-service-test.XXXXXX";
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  temp_ = pattern;
  root_ = JoinPath(temp_, "root");
  state_ = JoinPath(temp_, "state");
  address_ = JoinPath(state_, "containerd.sock");

  auto content = content::LocalStore::Open(JoinPath(root_, "io.containerd.content.v1.content"));
  REQUIRE(content.ok());
  content_ = std::shared_ptr<ContentStore>(*std::move(content));
  auto snapshotter =
      snapshots::OverlaySnapshotter::Open(JoinPath(root_, "io.containerd.snapshotter.v1.overlayfs"));
  REQUIRE(snapshotter.ok());
  snapshotter_ = *std::move(snapshotter);

  metadata::DbOptions options;
  options.content = content_;
  options.snapshotters["overlayfs"] = snapshotter_;
  options.content_sharing = metadata::ContentSharingPolicy::kShared;
  auto db = metadata::DB::Open(root_, std::move(options));
  REQUIRE(db.ok());
  db_ = *std::move(db);
  events_ = std::make_unique<events::Exchange>();

  server::DaemonConfig config;
  config.root = root_;
  config.state = state_;
  config.grpc_address = address_;
  daemon_ = std::make_unique<server::Daemon>(config);

  tasks::TaskManagerOptions task_options;
  task_options.state_dir = state_;
  task_options.root_dir = root_;
  task_options.address = address_;
  task_options.ttrpc_address = config.TtrpcAddress();
  task_options.events = events_.get();
  auto task_manager = tasks::TaskManager::Create(std::move(task_options));
  REQUIRE(task_manager.ok());
  tasks_ = *std::move(task_manager);

  deps_.db = db_.get();
  deps_.events = events_.get();
  deps_.tasks = tasks_.get();
  deps_.daemon = daemon_.get();
  deps_.root = root_;
  deps_.state = state_;
}

ServiceFixture::~ServiceFixture() {
  channel_.reset();
  if (daemon_) daemon_->Shutdown(absl::Seconds(2));
  daemon_.reset();
  tasks_.reset();
  db_.reset();
  snapshotter_.reset();
  content_.reset();
  // A failed test may leave snapshot or task mounts: take them down before the tree goes.
  (void)UnmountAll(temp_);
  (void)RemoveAll(temp_);
}

void ServiceFixture::Serve(const std::function<std::unique_ptr<grpc::Service>(const ServiceDeps&)>& make) {
  daemon_->AddService(make(deps_));
}

void ServiceFixture::Start() {
  absl::Status started = daemon_->Start();
  INFO(started.ToString());
  REQUIRE(started.ok());
  channel_ = grpc::CreateChannel("unix://" + address_, grpc::InsecureChannelCredentials());
}

std::unique_ptr<grpc::ClientContext> ServiceFixture::Context(const std::string& ns, const std::string& lease) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!ns.empty()) context->AddMetadata(server::kNamespaceMetadataKey, ns);
  if (!lease.empty()) context->AddMetadata(server::kLeaseMetadataKey, lease);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(1));
  return context;
}

}  // namespace liman::containerd::services::testing
