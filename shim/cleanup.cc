#include "shim/cleanup.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "common/file_util.h"
#include "common/mount.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "shim/bundle_files.h"
#include "shim/proto_time.h"
#include "shim/runtime_cli.h"
#include "shim/runtime_record.h"

namespace liman::shim {

int RunCleanup(const ShimFlags& flags) {
  auto warn = [](const absl::Status& status) {
    if (!status.ok()) std::fprintf(stderr, "liman-shim delete: %s\n", std::string(status.message()).c_str());
  };
  absl::StatusOr<RuntimeConfig> config = LoadRuntimeConfig(flags.bundle);
  if (config.ok()) {
    absl::Status deleted = RuntimeCli(*config).Delete(flags.id, /*force=*/true);
    if (!absl::IsNotFound(deleted)) warn(deleted);
  } else {
    warn(config.status());  // Create never ran: there is no runtime state to delete
  }
  warn(UnmountAll(JoinPath(flags.bundle, "rootfs")));
  unlink(ShimSocketPath(flags).c_str());

  absl::StatusOr<std::optional<ExitRecord>> recorded = ReadExitRecord(flags.bundle, "");
  warn(recorded.status());
  ExitRecord exit;
  if (recorded.ok() && recorded->has_value()) {
    exit = **recorded;
  } else {
    // The shim died without seeing its container exit: report it killed, and record that so a
    // second delete answers the same.
    exit = ExitRecord{"", 0, 128 + SIGKILL, absl::Now()};
    warn(WriteExitRecord(flags.bundle, exit));
  }
  containerd::task::v2::DeleteResponse response;
  response.set_pid(exit.pid);
  response.set_exit_status(exit.exit_status);
  *response.mutable_exited_at() = ToProtoTimestamp(exit.exited_at);
  std::string out = response.SerializeAsString();
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace liman::shim
