#include "containerd/server/daemon.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/status.h"
#include "containerd/server/unix_listener.h"

namespace liman::containerd::server {
namespace {

sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

Daemon::Daemon(DaemonConfig config)
    : config_(std::move(config)), stop_event_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

Daemon::~Daemon() { Shutdown(); }

void Daemon::RegisterService(grpc::Service* service) { services_.push_back(service); }

void Daemon::AddService(std::unique_ptr<grpc::Service> service) {
  services_.push_back(service.get());
  owned_services_.push_back(std::move(service));
}

void Daemon::OnShutdown(std::function<void()> hook) { shutdown_hooks_.push_back(std::move(hook)); }

void Daemon::BlockShutdownSignals() {
  sigset_t set = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

absl::Status Daemon::Start() {
  absl::MutexLock lock(&mutex_);
  if (started_) return absl::FailedPreconditionError("daemon already started");
  started_ = true;
  if (!stop_event_) return ErrnoError("eventfd");
  LIMAN_RETURN_IF_ERROR(MkdirAll(config_.root, 0711));
  LIMAN_RETURN_IF_ERROR(MkdirAll(config_.state, 0711));
  LIMAN_RETURN_IF_ERROR(PrepareSocketPath(config_.grpc_address));

  // grpc.health.v1.Health answers SERVING for the server as a whole: containerd's client
  // IsServing, which dockerd polls to supervise containerd, asks it.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(GrpcUnixTarget(config_.grpc_address), grpc::InsecureServerCredentials(), &bound);
  builder.SetMaxReceiveMessageSize(kMaxGrpcMessageSize);
  builder.SetMaxSendMessageSize(kMaxGrpcMessageSize);
  for (grpc::Service* service : services_) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound == 0)
    return absl::UnavailableError(fmt::format("serve grpc on {}: could not bind", Quote(config_.grpc_address)));
  absl::StatusOr<BoundSocket> bound_socket = RestrictSocket(config_.grpc_address);
  if (!bound_socket.ok()) {
    server->Shutdown();
    server->Wait();
    (void)RemoveSocket(config_.grpc_address, BoundSocket{});
    return bound_socket.status();
  }
  server_ = std::move(server);
  bound_socket_ = *bound_socket;
  LogInfo("serving grpc on {}", config_.grpc_address);
  return absl::OkStatus();
}

void Daemon::Shutdown(absl::Duration grace) {
  std::unique_ptr<grpc::Server> server;
  BoundSocket bound_socket;
  {
    absl::MutexLock lock(&mutex_);
    server = std::move(server_);
    bound_socket = bound_socket_;
  }
  if (server == nullptr) return;
  LogInfo("stopping grpc server on {}", config_.grpc_address);
  for (const auto& hook : shutdown_hooks_) hook();
  server->Shutdown(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(grace));
  server->Wait();
  if (absl::Status status = RemoveSocket(config_.grpc_address, bound_socket); !status.ok())
    LogWarn("{}", status.message());
}

void Daemon::RequestStop() {
  uint64_t one = 1;
  // Only async-signal-safe calls here; a full counter (EAGAIN) already means "stop".
  ssize_t n = write(stop_event_.get(), &one, sizeof one);
  (void)n;
}

absl::Status Daemon::Run() {
  BlockShutdownSignals();
  sigset_t signals = ShutdownSignals();
  UniqueFd signal_fd(signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd) return ErrnoError("signalfd");
  LIMAN_RETURN_IF_ERROR(Start());

  pollfd fds[2] = {{.fd = signal_fd.get(), .events = POLLIN}, {.fd = stop_event_.get(), .events = POLLIN}};
  while (true) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      absl::Status status = ErrnoError("poll");
      Shutdown();
      return status;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      if (read(signal_fd.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        LogInfo("received signal {}, shutting down", strsignal(static_cast<int>(info.ssi_signo)));
        break;
      }
    }
    if (fds[1].revents & POLLIN) break;
  }
  Shutdown();
  return absl::OkStatus();
}

}  // namespace liman::containerd::server
