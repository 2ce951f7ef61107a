// limand: the Docker-compatible engine. Serves the Docker Engine API on a unix socket and runs
// everything through liman-containerd; containers outlive it (live restore is always on).
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "absl/strings/match.h"
#include "common/daemon_memory.h"
#include "common/file_util.h"
#include "common/fmt_absl.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/unix_socket.h"
#include "engine/daemon_main.h"
#include "engine/api/routes.h"
#include "engine/daemon/daemon.h"
#include "engine/http/http_server.h"
#include "engine/http/router.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace liman::engine {
namespace {

struct Flags {
  DaemonOptions daemon;
  std::string host = "unix:///run/liman/liman.sock";
  std::string group = "liman";
  std::string config_file;
  std::string log_level = "warn";
};

// daemon.json's keys, as dockerd reads them; flags given on the command line win.
absl::Status ApplyConfigFile(const std::string& path, Flags& flags, const CLI::App& app) {
  LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  nlohmann::json config = nlohmann::json::parse(text, nullptr, false);
  if (config.is_discarded() || !config.is_object())
    return absl::InvalidArgumentError(fmt::format("config file {}: not a JSON object", Quote(path)));
  auto set = [&](const char* key, const char* flag, std::string& target) -> absl::Status {
    if (!config.contains(key) || app.count(flag) > 0) return absl::OkStatus();
    if (!config[key].is_string())
      return absl::InvalidArgumentError(fmt::format("config file {}: {} must be a string", Quote(path), key));
    target = config[key].get<std::string>();
    return absl::OkStatus();
  };
  LIMAN_RETURN_IF_ERROR(set("data-root", "--data-root", flags.daemon.data_root));
  LIMAN_RETURN_IF_ERROR(set("exec-root", "--exec-root", flags.daemon.exec_root));
  LIMAN_RETURN_IF_ERROR(set("containerd", "--containerd", flags.daemon.containerd_address));
  LIMAN_RETURN_IF_ERROR(set("cgroup-parent", "--cgroup-parent", flags.daemon.cgroup_parent));
  LIMAN_RETURN_IF_ERROR(set("bridge", "--bridge", flags.daemon.bridge));
  LIMAN_RETURN_IF_ERROR(set("bip", "--bip", flags.daemon.bridge_cidr));
  LIMAN_RETURN_IF_ERROR(set("group", "--group", flags.group));
  LIMAN_RETURN_IF_ERROR(set("init-path", "--init-path", flags.daemon.init_path));
  if (config.contains("init") && app.count("--init") == 0) {
    if (!config["init"].is_boolean())
      return absl::InvalidArgumentError(fmt::format("config file {}: init must be true or false", Quote(path)));
    flags.daemon.init = config["init"].get<bool>();
  }
  if (config.contains("hosts") && app.count("--host") == 0) {
    if (!config["hosts"].is_array() || config["hosts"].empty() || !config["hosts"][0].is_string())
      return absl::InvalidArgumentError(fmt::format("config file {}: hosts must be a list of strings", Quote(path)));
    flags.host = config["hosts"][0].get<std::string>();
  }
  auto set_list = [&](const char* key, const char* flag, std::vector<std::string>& target) -> absl::Status {
    if (!config.contains(key) || app.count(flag) > 0) return absl::OkStatus();
    if (!config[key].is_array())
      return absl::InvalidArgumentError(fmt::format("config file {}: {} must be a list", Quote(path), key));
    for (const auto& item : config[key])
      if (item.is_string()) target.push_back(item.get<std::string>());
    return absl::OkStatus();
  };
  LIMAN_RETURN_IF_ERROR(set_list("insecure-registries", "--insecure-registry", flags.daemon.insecure_registries));
  LIMAN_RETURN_IF_ERROR(set_list("dns", "--dns", flags.daemon.dns));
  return absl::OkStatus();
}

// The API socket's group: looked up, or created (groupadd --system) when missing.
absl::StatusOr<gid_t> SocketGroup(const std::string& name) {
  if (struct group* found = ::getgrnam(name.c_str()); found != nullptr) return found->gr_gid;
  std::string command = fmt::format("groupadd --system {} 2>&1", name);
  if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos || std::system(command.c_str()) != 0)
    return absl::FailedPreconditionError(fmt::format("group {} does not exist and could not be created", Quote(name)));
  if (struct group* found = ::getgrnam(name.c_str()); found != nullptr) return found->gr_gid;
  return absl::FailedPreconditionError(fmt::format("group {} does not exist after groupadd", Quote(name)));
}

absl::Status Run(Flags& flags) {
  if (!absl::StartsWith(flags.host, "unix://"))
    return absl::InvalidArgumentError(fmt::format("-H {}: only unix:// sockets are supported", Quote(flags.host)));
  std::string socket_path = flags.host.substr(7);
  LIMAN_ASSIGN_OR_RETURN(gid_t gid, SocketGroup(flags.group));
  std::string socket_dir = ParentDirectory(socket_path);
  if (!PathExists(socket_dir)) {
    LIMAN_RETURN_IF_ERROR(MkdirAll(socket_dir, 0710));
    // Only root and the socket's group may reach the socket.
    if (::chown(socket_dir.c_str(), 0, gid) != 0) return ErrnoError(fmt::format("chown {}", Quote(socket_dir)));
  }

  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<Daemon> daemon, Daemon::Start(flags.daemon));
  http::Router router;
  api::AddSystemRoutes(router, *daemon);
  api::AddContainerRoutes(router, *daemon);
  api::AddImageRoutes(router, *daemon);
  api::AddExecRoutes(router, *daemon);
  api::AddVolumeRoutes(router, *daemon);
  api::AddNetworkRoutes(router, *daemon);
  http::HttpServerOptions server_options;
  server_options.default_headers = api::DefaultHeaders();
  server_options.streams_body = [&router](const http::HttpRequest& request) { return router.StreamsBody(request); };
  http::HttpServer server([&router](http::Exchange& exchange) { router.Handle(exchange); }, server_options);

  LIMAN_ASSIGN_OR_RETURN(UniqueFd listener, ListenUnix(socket_path, 0660));
  if (::chown(socket_path.c_str(), 0, gid) != 0) return ErrnoError(fmt::format("chown {}", Quote(socket_path)));
  LIMAN_ASSIGN_OR_RETURN(BoundSocket bound_socket, StatBoundSocket(socket_path));

  // SIGTERM/SIGINT end the API; the containers go on (live restore).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  std::thread([&server, signals] {
    int received = 0;
    sigwait(&signals, &received);
    server.Shutdown();
  }).detach();
  LogInfo("limand {} listening on {}", LIMAN_VERSION, socket_path);
  absl::Status served = server.Serve(listener.get());
  (void)RemoveBoundSocket(socket_path, bound_socket);
  // Monitor threads may be blocked in gRPC calls: leave without unwinding them.
  std::_Exit(served.ok() ? 0 : 1);
}

}  // namespace

int DaemonMain(int argc, char** argv) {
  // Blocked before any thread starts, so only the signal thread takes them; a client that
  // goes away is an EPIPE, not a SIGPIPE.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  liman::LimitMallocArenas();

  Flags flags;
  CLI::App app{"limand: the Liman container engine (Docker Engine API)"};
  app.add_option("--data-root", flags.daemon.data_root, "root of persistent state")->capture_default_str();
  app.add_option("--exec-root", flags.daemon.exec_root, "root of runtime state")->capture_default_str();
  app.add_option("-H,--host", flags.host, "API socket (unix://PATH)")->capture_default_str();
  app.add_option("--containerd", flags.daemon.containerd_address, "liman-containerd's socket")->capture_default_str();
  app.add_option("--containerd-namespace", flags.daemon.containerd_namespace, "the manager namespace for containers and images")
      ->capture_default_str();
  app.add_option("--insecure-registry", flags.daemon.insecure_registries, "registry reached over plain HTTP (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--dns", flags.daemon.dns, "DNS server of containers without --dns of their own (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--cgroup-parent", flags.daemon.cgroup_parent, "parent cgroup of containers")->capture_default_str();
  app.add_option("-b,--bridge", flags.daemon.bridge, "the default bridge network's bridge (none: no bridge network)")
      ->capture_default_str();
  app.add_option("--bip", flags.daemon.bridge_cidr, "the bridge's address and prefix")->capture_default_str();
  app.add_option("--ip-forward", flags.daemon.ip_forward, "set net.ipv4.ip_forward")->capture_default_str();
  app.add_option("--ip-masq", flags.daemon.ip_masq, "masquerade the bridge's outgoing traffic")->capture_default_str();
  app.add_flag("--init", flags.daemon.init, "run an init inside containers that do not choose (docker run --init)");
  app.add_option("--init-path", flags.daemon.init_path, "the init binary (default: docker-init, else tini-static)");
  app.add_option("-G,--group", flags.group, "group owning the API socket (created if missing)")->capture_default_str();
  app.add_option("--config-file", flags.config_file, "daemon.json-style configuration");
  app.add_option("--log-level", flags.log_level, "debug, info, warn, error")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  liman::LogConfig log_config;
  if (flags.log_level == "debug") log_config.level = liman::LogLevel::kDebug;
  else if (flags.log_level == "info") log_config.level = liman::LogLevel::kInfo;
  else if (flags.log_level == "error") log_config.level = liman::LogLevel::kError;
  (void)liman::ConfigureLogging(log_config);

  if (!flags.config_file.empty()) {
    if (absl::Status applied = ApplyConfigFile(flags.config_file, flags, app); !applied.ok()) {
      std::cerr << "limand: " << applied.message() << "\n";
      return 1;
    }
  }
  absl::Status status = Run(flags);
  std::cerr << "limand: " << status.message() << "\n";
  return 1;
}

}  // namespace liman::engine
