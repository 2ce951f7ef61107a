// One process the shim looks after: the container's init (exec_id empty) or an exec.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ttrpc/server.h"
#include "containerd/types/task/task.pb.h"
#include "shim/bundle_files.h"
#include "shim/stdio.h"

namespace liman::shim {

struct Process {
  std::string exec_id;  // empty: the container's init
  StdioConfig stdio;
  std::unique_ptr<ProcessIo> io;
  std::string spec_path;  // an exec's process.json, handed to `runtime exec --process`
  pid_t pid = 0;
  containerd::v1::types::Status status = containerd::v1::types::CREATED;
  std::optional<ExitRecord> exit;     // set once reaped, and then already on disk
  bool exit_published = false;        // output drained, /tasks/exit sent, waiters answered
  std::vector<ttrpc::Responder> waiters;

  bool running() const { return status == containerd::v1::types::RUNNING || status == containerd::v1::types::PAUSED; }
};

}  // namespace liman::shim
