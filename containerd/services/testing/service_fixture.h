// An in-process liman-containerd for service tests: a temporary root and state, the real local
// content store, overlay snapshotter, metadata DB, event exchange and task manager, and a Daemon
// serving the services a test adds on a temporary socket; plus a client channel and contexts
// carrying a namespace, as a containerd client sends them.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "containerd/core/content.h"
#include "containerd/services/service_deps.h"
#include "containerd/snapshots/overlay_snapshotter.h"

namespace liman::containerd::services::testing {

class ServiceFixture {
 public:
  // Builds the parts (not yet serving). Fails the test (REQUIRE) if one cannot be made.
  ServiceFixture();
  ~ServiceFixture();  // stops the daemon, lets go of the shims, removes the temporary tree
  ServiceFixture(const ServiceFixture&) = delete;
  ServiceFixture& operator=(const ServiceFixture&) = delete;

  // The services' view of the parts; valid for the fixture's life.
  const ServiceDeps& deps() const { return deps_; }
  // Adds a service made from deps(), e.g. Serve(MakeContentService). Call before Start.
  void Serve(const std::function<std::unique_ptr<grpc::Service>(const ServiceDeps&)>& make);
  // Starts serving (REQUIREs success) and connects the channel.
  void Start();

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  // A client context for namespace `ns` ("" sends none), with a lease if given, and a deadline
  // of a minute so that a broken service fails the test rather than hanging it.
  static std::unique_ptr<grpc::ClientContext> Context(const std::string& ns = "default",
                                                      const std::string& lease = "");

  const std::string& root() const { return root_; }
  const std::string& state() const { return state_; }
  const std::string& address() const { return address_; }
  ContentStore& content() { return *content_; }
  Snapshotter& snapshotter() { return *snapshotter_; }

 private:
  std::string temp_;
  std::string root_, state_, address_;
  std::shared_ptr<ContentStore> content_;
  std::shared_ptr<snapshots::OverlaySnapshotter> snapshotter_;
  std::unique_ptr<metadata::DB> db_;
  std::unique_ptr<events::Exchange> events_;
  std::unique_ptr<tasks::TaskManager> tasks_;
  std::unique_ptr<server::Daemon> daemon_;
  ServiceDeps deps_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace liman::containerd::services::testing
