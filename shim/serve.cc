#include "shim/serve.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include "common/event_loop.h"
#include "common/logging.h"
#include "common/ttrpc/server.h"
#include "shim/publisher.h"
#include "shim/reaper.h"
#include "shim/task_service.h"

namespace liman::shim {

int Serve(const ShimFlags& flags, UniqueFd listener) {
  LogConfig log_config;
  log_config.level = flags.debug ? LogLevel::kDebug : LogLevel::kInfo;
  (void)ConfigureLogging(log_config);
  // A manager that went away must not kill us through a write to its closed pipe or socket.
  signal(SIGPIPE, SIG_IGN);
  if (absl::Status status = BecomeSubreaper(); !status.ok()) {
    LogError("{}", status);
    return 1;
  }
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) {
    LogError("{}", loop.status());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<Reaper>> reaper = Reaper::Create(loop->get());
  if (!reaper.ok()) {
    LogError("{}", reaper.status());
    return 1;
  }
  const char* events_address = getenv("TTRPC_ADDRESS");
  Publisher publisher(loop->get(), events_address != nullptr ? events_address : "", flags.namespace_name);
  TaskService tasks(loop->get(), reaper->get(), &publisher, flags);
  (*reaper)->SetHandler([&tasks](const ChildExit& exit) { return tasks.OnChildExit(exit); });

  ttrpc::Server server(loop->get());
  tasks.RegisterWith(server);
  if (absl::Status status = server.Serve(std::move(listener)); !status.ok()) {
    LogError("{}", status);
    return 1;
  }
  absl::Status status = (*loop)->Run();
  if (!status.ok()) LogError("{}", status);
  unlink(ShimSocketPath(flags).c_str());
  return status.ok() ? 0 : 1;
}

}  // namespace liman::shim
