// liman-containerd: the container manager, serving containerd 1.6's v1 API over gRPC.
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "common/daemon_memory.h"
#include "common/logging.h"
#include "containerd/daemon_main.h"
#include "containerd/manager.h"
#include "containerd/server/config.h"
#include "containerd/server/daemon.h"
#include "containerd/server/introspection_service.h"
#include "containerd/server/plugins.h"
#include "containerd/server/version_service.h"
#include "containerd/services/containers/containers_service.h"
#include "containerd/services/content/content_service.h"
#include "containerd/services/diff/diff_service.h"
#include "containerd/services/events/events_service.h"
#include "containerd/services/images/images_service.h"
#include "containerd/services/leases/leases_service.h"
#include "containerd/services/namespaces/namespaces_service.h"
#include "containerd/services/snapshots/snapshots_service.h"
#include "containerd/services/tasks/tasks_service.h"
#include "containerd/services/transfer/transfer_service.h"

namespace {

using namespace liman::containerd::server;

// Flags as containerd spells them; each one given overrides the config file.
int ParseFlags(int argc, char** argv, DaemonFlags* flags, bool* exit_now) {
  CLI::App app{"liman-containerd: a containerd 1.6 compatible container manager"};
  app.set_version_flag("-v,--version", std::string("liman-containerd ") + LIMAN_VERSION);
  std::string config_path, root, state, address, log_level;
  auto* config_option = app.add_option("-c,--config", config_path, "containerd-style TOML config file");
  auto* root_option = app.add_option("--root", root, fmt::format("persistent data directory (default {})", kDefaultRoot));
  auto* state_option =
      app.add_option("--state", state, fmt::format("runtime state directory (default {})", kDefaultState));
  auto* address_option =
      app.add_option("-a,--address", address, fmt::format("gRPC socket path (default {})", kDefaultGrpcAddress));
  auto* level_option = app.add_option("-l,--log-level", log_level, "trace, debug, info, warn, error (default info)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    *exit_now = true;
    return app.exit(e) == 0 ? 0 : 1;  // --help/--version, or a usage error already printed
  }
  if (config_option->count()) flags->config_path = config_path;
  if (root_option->count()) flags->root = root;
  if (state_option->count()) flags->state = state;
  if (address_option->count()) flags->grpc_address = address;
  if (level_option->count()) flags->log_level = log_level;
  return 0;
}

}  // namespace

int liman::containerd::DaemonMain(int argc, char** argv) {
  // Before any thread exists, so that all of them (gRPC's too) leave the signals to Daemon::Run.
  Daemon::BlockShutdownSignals();
  signal(SIGPIPE, SIG_IGN);
  liman::LimitMallocArenas();

  DaemonFlags flags;
  bool exit_now = false;
  if (int code = ParseFlags(argc, argv, &flags, &exit_now); exit_now) return code;

  absl::StatusOr<DaemonConfig> config = LoadDaemonConfig(flags);
  if (!config.ok()) {
    fmt::print(stderr, "liman-containerd: {}\n", config.status().message());
    return 1;
  }
  (void)liman::ConfigureLogging({.level = *ParseLogLevel(config->log_level)});

  Daemon daemon(*config);
  absl::StatusOr<std::unique_ptr<IntrospectionService>> introspection =
      IntrospectionService::Create(config->root, BuiltinPlugins(config->root));
  if (!introspection.ok()) {
    liman::LogError("{}", introspection.status().message());
    return 1;
  }
  daemon.AddService(std::make_unique<VersionService>());
  daemon.AddService(*std::move(introspection));

  absl::StatusOr<std::unique_ptr<liman::containerd::Manager>> manager = liman::containerd::Manager::Open(*config, &daemon);
  if (!manager.ok()) {
    liman::LogError("{}", manager.status().message());
    return 1;
  }
  namespace services = liman::containerd::services;
  const services::ServiceDeps& deps = (*manager)->deps();
  for (auto make : {services::MakeNamespacesService, services::MakeContentService, services::MakeImagesService,
                    services::MakeContainersService, services::MakeSnapshotsService, services::MakeDiffService,
                    services::MakeLeasesService, services::MakeEventsService, services::MakeTasksService,
                    services::MakeTransferService}) {
    daemon.AddService(make(deps));
  }

  if (absl::Status status = daemon.Run(); !status.ok()) {
    liman::LogError("{}", status.message());
    return 1;
  }
  return 0;
}
