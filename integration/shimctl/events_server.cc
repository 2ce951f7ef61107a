#include "integration/shimctl/events_server.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <string>

#include "common/event_loop.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/ttrpc/server.h"
#include "common/unix_socket.h"
#include "containerd/services/ttrpc/events/v1/events.pb.h"
#include "fmt/format.h"
#include "google/protobuf/empty.pb.h"
#include "integration/shimctl/json_output.h"

namespace liman::shimctl {
namespace {

namespace events = containerd::services::events::ttrpc::v1;

// SIGTERM/SIGINT as a readable fd on the loop (signalfd(2)): the loop stops between requests,
// never in the middle of printing one.
absl::StatusOr<UniqueFd> TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return ErrnoError(errno, "sigprocmask");
  UniqueFd fd(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd) return ErrnoError(errno, "signalfd");
  return fd;
}

absl::Status Serve(const Invocation& inv) {
  const std::string& path = inv.args()[0];
  LIMAN_ASSIGN_OR_RETURN(UniqueFd signals, TerminationSignals());
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<EventLoop> loop, EventLoop::Create());
  LIMAN_ASSIGN_OR_RETURN(UniqueFd listener, ListenUnix(path, 0600));

  ttrpc::Server server(loop.get());
  server.RegisterMethod<events::ForwardRequest, google::protobuf::Empty>(
      "containerd.services.events.ttrpc.v1.Events", "Forward",
      [](const events::ForwardRequest& request) -> absl::StatusOr<google::protobuf::Empty> {
        // A line that cannot be printed must not look like a delivered event to the shim.
        LIMAN_RETURN_IF_ERROR(PrintMessage(request.envelope(), ""));
        return google::protobuf::Empty();
      });
  LIMAN_RETURN_IF_ERROR(server.Serve(std::move(listener)));
  LIMAN_RETURN_IF_ERROR(loop->Add(signals.get(), EPOLLIN, [&](uint32_t) {
    signalfd_siginfo info;
    if (read(signals.get(), &info, sizeof info) == sizeof info) loop->Stop();
  }));
  absl::Status status = loop->Run();
  loop->Remove(signals.get());
  if (unlink(path.c_str()) != 0 && errno != ENOENT) LogWarn("remove {}: {}", Quote(path), ErrnoText(errno));
  return status;
}

}  // namespace

std::vector<Command> EventsServerCommands() {
  return {{{"events-server", {}, {}, 1, 1, "SOCKET"}, Serve}};
}

}  // namespace liman::shimctl
