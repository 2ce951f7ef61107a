// The runtime's --console-socket: for a process with a terminal, runc (and liman-runtime) open
// the pty inside the container and send its master over this unix socket with SCM_RIGHTS
// (runc's docs/terminals.md). The socket lives in a fresh 0700 directory, as containerd's
// NewTempConsoleSocket makes it, so no other user can connect first and hand us another fd.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"

namespace liman::shim {

class ConsoleSocket {
 public:
  // Listens on <parent>/pty<random>/pty.sock; an empty `parent` means $TMPDIR, else /tmp.
  static absl::StatusOr<std::unique_ptr<ConsoleSocket>> Create(const std::string& parent = "");
  // Removes the socket and its directory.
  ~ConsoleSocket();
  ConsoleSocket(const ConsoleSocket&) = delete;
  ConsoleSocket& operator=(const ConsoleSocket&) = delete;

  const std::string& path() const { return path_; }

  // Accepts the runtime's connection and receives the pty master it sends, waiting at most
  // `timeout` in all. The runtime sends it before `create`/`exec --detach` returns and the
  // kernel queues connection and message until we accept (unix(7)), so after a successful
  // runtime call this does not wait. The fd is close-on-exec.
  absl::StatusOr<UniqueFd> ReceiveMaster(absl::Duration timeout);

 private:
  ConsoleSocket(std::string dir, std::string path, UniqueFd listener)
      : dir_(std::move(dir)), path_(std::move(path)), listener_(std::move(listener)) {}

  std::string dir_;
  std::string path_;
  UniqueFd listener_;
};

}  // namespace liman::shim
