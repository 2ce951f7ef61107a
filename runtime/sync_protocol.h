// Messages between liman-runtime (the parent) and the container's stage-1/stage-2 processes over
// a SOCK_SEQPACKET socketpair: each send is one message, so a header plus payload never tears.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/child_error.h"

namespace liman::runtime {

enum class SyncType : uint32_t {
  // child -> parent
  kUserNamespaceReady = 1,  // stage 1 unshared CLONE_NEWUSER: write uid_map/gid_map now
  kInitPid = 2,             // stage 1 forked stage 2 (pid in the header)
  kMountsReady = 3,         // stage 2 mounted everything: run prestart/createRuntime hooks
  kSeccompListener = 4,     // carries the seccomp notify fd (SCM_RIGHTS)
  kReady = 5,               // stage 2 is set up and waits on the exec fifo (or execs, for exec)
  kError = 6,               // payload: ChildError
  // parent -> child
  kIdMapsWritten = 100,
  kContinue = 101,          // payload: the container state JSON for createContainer/startContainer hooks
};

struct SyncHeader {
  SyncType type;
  int32_t pid;
};

// Child side: never allocates.
bool SendSync(int fd, SyncType type, int32_t pid = 0, const void* payload = nullptr, size_t length = 0);
// Reads one message; returns the type, or -1 on EOF/error. `payload` gets up to `capacity` bytes.
int ReceiveSync(int fd, SyncHeader* header, void* payload, size_t capacity, size_t* length);
void SendChildError(int fd, const ChildError& error);

// Parent side: waits for `expected`; a kError becomes an absl::Status with the child's errno and
// message, EOF becomes `context: container init exited unexpectedly`.
absl::StatusOr<SyncHeader> ExpectSync(int fd, SyncType expected, std::string* payload = nullptr);

}  // namespace liman::runtime
