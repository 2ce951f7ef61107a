// What every gRPC service of liman-containerd is built from: the daemon's shared parts. The
// daemon (containerd/main.cc) owns them all and outlives the services.
#pragma once

#include <string>
#include <vector>

#include "containerd/events/exchange.h"
#include "containerd/metadata/db.h"
#include "containerd/server/daemon.h"
#include "containerd/tasks/task_manager.h"

namespace liman::containerd::services {

struct ServiceDeps {
  metadata::DB* db = nullptr;
  events::Exchange* events = nullptr;
  tasks::TaskManager* tasks = nullptr;
  // For OnShutdown hooks (streams that would otherwise hold the shutdown: event subscriptions).
  server::Daemon* daemon = nullptr;
  std::string root;   // --root: persistent data
  std::string state;  // --state: runtime state (fifos, sockets, temporary mounts)
  std::string default_snapshotter = "overlayfs";
  // Registries pulled from over plain HTTP besides loopback ones ("host:port").
  std::vector<std::string> insecure_registries;
  // Docker-style config.json with registry credentials; empty: none.
  std::string docker_config;
  // Flush unpacked layers before committing their snapshots (DaemonConfig::sync_fs).
  bool sync_fs = false;
};

}  // namespace liman::containerd::services
