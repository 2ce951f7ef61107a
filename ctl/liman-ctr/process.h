// Running a created process (a task's init or an exec) attached to our stdio until it exits:
// what ctr run, ctr tasks start and ctr tasks exec share. Wait is in flight before Start;
// signals are forwarded (without a terminal) or SIGWINCH resizes the pty (with one); output is
// drained to EOF after the exit and the `after_exit` step (deleting the process closes the
// shim's FIFO ends).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "ctl/liman-ctr/client.h"
#include "ctl/liman-ctr/stdio.h"

namespace liman::ctr {

// The signals liman-ctr takes over while attached: blocked in every thread from the start of
// main (gRPC's threads inherit the mask) and read through a signalfd.
void BlockForwardedSignals();
// For commands that do not attach: default dispositions apply again (Ctrl-C ends them).
void UnblockForwardedSignals();

struct AttachedProcess {
  std::string container_id;
  std::string exec_id;  // empty: the init process
  bool terminal = false;
};

// Starts the process (`start`), copies stdio until it exits, runs `after_exit`, drains the
// output, and returns the exit status. `io` must have been opened before the process was created.
absl::StatusOr<uint32_t> RunAttached(Client& client, const AttachedProcess& process, const FifoSet& fifos,
                                     AttachedIo& io, const std::function<absl::Status()>& start,
                                     const std::function<absl::Status()>& after_exit);

// Tasks.Start / Tasks.Delete / Tasks.DeleteProcess / Tasks.Kill, for the steps around it.
absl::Status StartProcess(Client& client, const std::string& container_id, const std::string& exec_id);
absl::StatusOr<uint32_t> DeleteProcess(Client& client, const std::string& container_id, const std::string& exec_id);
absl::Status KillProcess(Client& client, const std::string& container_id, const std::string& exec_id,
                         int signal, bool all);

}  // namespace liman::ctr
