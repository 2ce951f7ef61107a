// The daemon end to end: a real gRPC server on a unix socket in a temp dir, called through the
// generated stubs the way ctr calls containerd.
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "common/file_util.h"
#include "common/unix_socket.h"
#include "containerd/server/daemon.h"
#include "containerd/server/grpc_status.h"
#include "containerd/server/introspection_service.h"
#include "containerd/server/namespace_context.h"
#include "containerd/server/plugins.h"
#include "common/tests/temp_dir.h"
#include "containerd/server/unix_listener.h"
#include "containerd/server/version_service.h"
#include "containerd/services/namespaces/v1/namespace.grpc.pb.h"

namespace liman::containerd::server {
namespace {

namespace introspection_api = ::containerd::services::introspection::v1;
namespace namespaces_api = ::containerd::services::namespaces::v1;
namespace version_api = ::containerd::services::version::v1;
using liman::test_support::TempDir;

// Answers Namespaces.Get with the caller's namespace (and lease, as a label): how every real
// service reads them.
class EchoNamespaceService final : public namespaces_api::Namespaces::Service {
 public:
  grpc::Status Get(grpc::ServerContext* context, const namespaces_api::GetNamespaceRequest*,
                   namespaces_api::GetNamespaceResponse* response) override {
    absl::StatusOr<std::string> name = RequireNamespace(*context);
    if (!name.ok()) return ToGrpcStatus(name.status());
    response->mutable_namespace_()->set_name(*name);
    if (std::optional<std::string> lease = LeaseFromContext(*context))
      (*response->mutable_namespace_()->mutable_labels())["lease"] = *lease;
    return grpc::Status::OK;
  }
};

// A channel to the daemon's socket. Reconnects are retried quickly so that a call made with
// wait_for_ready before the socket is bound goes through as soon as it is.
std::shared_ptr<grpc::Channel> UnixChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  return grpc::CreateCustomChannel(GrpcUnixTarget(address), grpc::InsecureChannelCredentials(), args);
}

DaemonConfig TestConfig(const TempDir& dir) {
  return {.root = dir / "root", .state = dir / "state", .grpc_address = dir / "run/grpc/containerd.sock"};
}

// A started daemon with version, introspection and the echo service; members go in reverse, so
// the daemon stops before the services it serves are destroyed.
struct ServedDaemon {
  TempDir dir;
  DaemonConfig config = TestConfig(dir);
  VersionService version;
  std::unique_ptr<IntrospectionService> introspection;
  EchoNamespaceService echo;
  std::unique_ptr<Daemon> daemon;

  ServedDaemon() {
    absl::StatusOr<std::unique_ptr<IntrospectionService>> created =
        IntrospectionService::Create(config.root, BuiltinPlugins(config.root));
    REQUIRE(created.ok());
    introspection = *std::move(created);
    daemon = std::make_unique<Daemon>(config);
    daemon->RegisterService(&version);
    daemon->RegisterService(introspection.get());
    daemon->RegisterService(&echo);
    absl::Status started = daemon->Start();
    INFO(started.ToString());
    REQUIRE(started.ok());
  }

  std::shared_ptr<grpc::Channel> Channel() const { return UnixChannel(config.grpc_address); }
};

// Every call gets a deadline: a broken server fails the test instead of hanging it.
void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
}

mode_t PermissionBits(const std::string& path) {
  struct stat st;
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

TEST_CASE("Version answers over the unix socket", "[server]") {
  ServedDaemon served;
  auto stub = version_api::Version::NewStub(served.Channel());
  grpc::ClientContext context;
  SetDeadline(&context);
  version_api::VersionResponse response;
  grpc::Status status = stub->Version(&context, google::protobuf::Empty(), &response);
  REQUIRE(status.ok());
  CHECK(response.version() == LIMAN_VERSION);
  CHECK(response.revision() == "liman");
}

TEST_CASE("the socket is 0600 in a 0700 directory", "[server]") {
  ServedDaemon served;
  struct stat st;
  REQUIRE(lstat(served.config.grpc_address.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK(PermissionBits(served.config.grpc_address) == 0600);
  CHECK(PermissionBits(served.dir / "run/grpc") == 0700);
}

TEST_CASE("Introspection.Server returns the UUID kept under root", "[server][introspection]") {
  ServedDaemon served;
  auto stub = introspection_api::Introspection::NewStub(served.Channel());
  grpc::ClientContext context;
  SetDeadline(&context);
  introspection_api::ServerResponse response;
  REQUIRE(stub->Server(&context, google::protobuf::Empty(), &response).ok());
  CHECK(response.uuid().size() == 36);
  CHECK(response.uuid()[14] == '4');  // version 4
  absl::StatusOr<std::string> stored = ReadFile(served.dir / "root/io.containerd.grpc.v1.introspection/uuid");
  REQUIRE(stored.ok());
  CHECK(*stored == response.uuid());

  // A restarted daemon is the same server.
  absl::StatusOr<std::unique_ptr<IntrospectionService>> again =
      IntrospectionService::Create(served.config.root, {});
  REQUIRE(again.ok());
  CHECK((*again)->uuid() == response.uuid());
}

TEST_CASE("a corrupt UUID file is reported, not replaced", "[introspection]") {
  TempDir dir;
  std::string path = ServerUuidPath(dir.path());
  REQUIRE(MkdirAll(dir / "io.containerd.grpc.v1.introspection").ok());
  REQUIRE(WriteFileAtomic(path, "not-a-uuid").ok());
  absl::StatusOr<std::string> uuid = LoadOrCreateServerUuid(path);
  CHECK(uuid.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(*ReadFile(path) == "not-a-uuid");
}

TEST_CASE("two roots get different UUIDs", "[introspection]") {
  TempDir a, b;
  absl::StatusOr<std::string> first = LoadOrCreateServerUuid(ServerUuidPath(a.path()));
  absl::StatusOr<std::string> second = LoadOrCreateServerUuid(ServerUuidPath(b.path()));
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(*first != *second);
}

std::vector<introspection_api::Plugin> ListPlugins(const ServedDaemon& served, std::vector<std::string> filters,
                                                    grpc::Status* status_out = nullptr) {
  auto stub = introspection_api::Introspection::NewStub(served.Channel());
  grpc::ClientContext context;
  SetDeadline(&context);
  introspection_api::PluginsRequest request;
  for (const std::string& filter : filters) request.add_filters(filter);
  introspection_api::PluginsResponse response;
  grpc::Status status = stub->Plugins(&context, request, &response);
  if (status_out != nullptr) *status_out = status;
  else REQUIRE(status.ok());
  return {response.plugins().begin(), response.plugins().end()};
}

TEST_CASE("Introspection.Plugins lists the built-in plugins, filtered by type and id", "[server][introspection]") {
  ServedDaemon served;
  CHECK(ListPlugins(served, {}).size() == BuiltinPlugins(served.config.root).size());

  std::vector<introspection_api::Plugin> grpc_services = ListPlugins(served, {"type==io.containerd.grpc.v1"});
  CHECK(grpc_services.size() == 11);
  for (const auto& plugin : grpc_services) CHECK(plugin.type() == "io.containerd.grpc.v1");

  std::vector<introspection_api::Plugin> overlay = ListPlugins(served, {"type==io.containerd.snapshotter.v1,id==overlayfs"});
  REQUIRE(overlay.size() == 1);
  CHECK(overlay[0].exports().at("root") == served.dir / "root/io.containerd.snapshotter.v1.overlayfs");
  REQUIRE(overlay[0].platforms_size() == 1);
  CHECK(overlay[0].platforms(0).os() == "linux");
  CHECK(overlay[0].platforms(0).architecture() == HostPlatform().architecture);

  // Several filters are OR-ed; ~= is a regexp.
  CHECK(ListPlugins(served, {"id==content", "id==version"}).size() == 3);  // content store + 2 services
  CHECK(ListPlugins(served, {"type~=runtime"}).size() == 1);
  CHECK(ListPlugins(served, {"id==nothing"}).empty());

  grpc::Status status;
  ListPlugins(served, {"type=="}, &status);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

namespaces_api::GetNamespaceResponse CallWithMetadata(const ServedDaemon& served,
                                                      const std::vector<std::pair<std::string, std::string>>& metadata,
                                                      grpc::Status* status) {
  auto stub = namespaces_api::Namespaces::NewStub(served.Channel());
  grpc::ClientContext context;
  SetDeadline(&context);
  for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
  namespaces_api::GetNamespaceResponse response;
  *status = stub->Get(&context, namespaces_api::GetNamespaceRequest(), &response);
  return response;
}

TEST_CASE("the namespace comes from containerd-namespace metadata", "[server][namespace]") {
  ServedDaemon served;
  grpc::Status status;

  namespaces_api::GetNamespaceResponse response = CallWithMetadata(served, {{"containerd-namespace", "k8s.io"}}, &status);
  REQUIRE(status.ok());
  CHECK(response.namespace_().name() == "k8s.io");
  CHECK(response.namespace_().labels().empty());

  response = CallWithMetadata(served, {{"containerd-namespace", "default"}, {"containerd-lease", "pull-1"}}, &status);
  REQUIRE(status.ok());
  CHECK(response.namespace_().labels().at("lease") == "pull-1");

  CallWithMetadata(served, {}, &status);
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(status.error_message() == "namespace is required");

  CallWithMetadata(served, {{"containerd-namespace", ""}}, &status);
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  CallWithMetadata(served, {{"containerd-namespace", "bad..name"}}, &status);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message() ==
        "namespace validation: identifier \"bad..name\" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$");

  CallWithMetadata(served, {{"containerd-namespace", std::string(77, 'n')}}, &status);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("grpc.health.v1.Health reports SERVING", "[server]") {
  ServedDaemon served;
  grpc::GenericStub stub(served.Channel());
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::Slice empty_request("");
  grpc::ByteBuffer request(&empty_request, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  REQUIRE(done.get_future().get().ok());
  std::vector<grpc::Slice> slices;
  REQUIRE(response.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& slice : slices) bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  CHECK(bytes == std::string("\x08\x01", 2));  // HealthCheckResponse{status: SERVING}
}

TEST_CASE("Shutdown removes the socket", "[server]") {
  ServedDaemon served;
  served.daemon->Shutdown();
  CHECK_FALSE(PathExists(served.config.grpc_address));
  served.daemon->Shutdown();  // idempotent
}

TEST_CASE("a stale socket is replaced, a live one or a non-socket is refused", "[server]") {
  TempDir dir;
  DaemonConfig config = TestConfig(dir);
  REQUIRE(MkdirAll(dir / "run/grpc", 0700).ok());

  SECTION("stale socket") {
    { REQUIRE(ListenUnix(config.grpc_address).ok()); }  // closed again: nobody answers
    Daemon daemon(config);
    VersionService version;
    daemon.RegisterService(&version);
    REQUIRE(daemon.Start().ok());
    auto stub = version_api::Version::NewStub(UnixChannel(config.grpc_address));
    grpc::ClientContext context;
    SetDeadline(&context);
    version_api::VersionResponse response;
    CHECK(stub->Version(&context, google::protobuf::Empty(), &response).ok());
    daemon.Shutdown();
  }
  SECTION("live socket") {
    absl::StatusOr<UniqueFd> listener = ListenUnix(config.grpc_address);
    REQUIRE(listener.ok());
    Daemon daemon(config);
    absl::Status status = daemon.Start();
    CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
    CHECK(PathExists(config.grpc_address));
  }
  SECTION("regular file") {
    REQUIRE(WriteFileAtomic(config.grpc_address, "data").ok());
    Daemon daemon(config);
    CHECK(daemon.Start().code() == absl::StatusCode::kFailedPrecondition);
    CHECK(*ReadFile(config.grpc_address) == "data");
  }
}

// Keeps SIGTERM blocked in the calling thread (and threads it starts) for a scope.
class BlockedSigterm {
 public:
  BlockedSigterm() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &previous_);
  }
  ~BlockedSigterm() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

 private:
  sigset_t previous_;
};

// Waits (event-driven, bounded) until the daemon at `address` answers Version.
bool AnswersVersion(const std::string& address) {
  auto stub = version_api::Version::NewStub(UnixChannel(address));
  grpc::ClientContext context;
  SetDeadline(&context);
  context.set_wait_for_ready(true);  // the socket may not be bound yet
  version_api::VersionResponse response;
  return stub->Version(&context, google::protobuf::Empty(), &response).ok();
}

TEST_CASE("Run serves until SIGTERM, then shuts down and removes the socket", "[server]") {
  TempDir dir;
  DaemonConfig config = TestConfig(dir);
  VersionService version;
  Daemon daemon(config);
  daemon.RegisterService(&version);

  // The signal is sent to Run's thread only (gRPC's threads in this process do not block it),
  // and blocked there from the start so it waits for Run's signalfd whenever it comes.
  BlockedSigterm blocked;
  std::promise<absl::Status> result;
  std::thread runner([&] { result.set_value(daemon.Run()); });
  bool served = AnswersVersion(config.grpc_address);
  pthread_kill(runner.native_handle(), SIGTERM);
  runner.join();
  CHECK(served);
  CHECK(result.get_future().get().ok());
  CHECK_FALSE(PathExists(config.grpc_address));
}

TEST_CASE("RequestStop makes Run return", "[server]") {
  TempDir dir;
  DaemonConfig config = TestConfig(dir);
  VersionService version;
  Daemon daemon(config);
  daemon.RegisterService(&version);
  std::promise<absl::Status> result;
  std::thread runner([&] { result.set_value(daemon.Run()); });
  bool served = AnswersVersion(config.grpc_address);
  daemon.RequestStop();
  runner.join();
  CHECK(served);
  CHECK(result.get_future().get().ok());
  CHECK_FALSE(PathExists(config.grpc_address));
}

TEST_CASE("shutdown hooks run before the server stops", "[server]") {
  ServedDaemon served;
  int calls = 0;
  served.daemon->OnShutdown([&] { ++calls; });
  served.daemon->Shutdown();
  served.daemon->Shutdown();
  CHECK(calls == 1);
}

}  // namespace
}  // namespace liman::containerd::server
