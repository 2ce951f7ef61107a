#include "runtime/sync_protocol.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "common/status.h"
#include "fmt/format.h"

namespace liman::runtime {

bool SendSync(int fd, SyncType type, int32_t pid, const void* payload, size_t length) {
  SyncHeader header{type, pid};
  iovec iov[2] = {{&header, sizeof header}, {const_cast<void*>(payload), length}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = length ? 2 : 1;
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n >= 0;
}

int ReceiveSync(int fd, SyncHeader* header, void* payload, size_t capacity, size_t* length) {
  iovec iov[2] = {{header, sizeof *header}, {payload, capacity}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < static_cast<ssize_t>(sizeof *header)) return -1;
  if (length) *length = static_cast<size_t>(n) - sizeof *header;
  return static_cast<int>(header->type);
}

void SendChildError(int fd, const ChildError& error) {
  SendSync(fd, SyncType::kError, 0, &error, sizeof error);
}

absl::StatusOr<SyncHeader> ExpectSync(int fd, SyncType expected, std::string* payload) {
  SyncHeader header{};
  constexpr size_t kCapacity = 1 << 20;
  std::unique_ptr<char[]> storage(new char[kCapacity]);  // uninitialised: only what arrives is touched
  char* buffer = storage.get();
  size_t length = 0;
  int type = ReceiveSync(fd, &header, buffer, kCapacity, &length);
  if (type < 0) return absl::InternalError("container init exited unexpectedly (no report on the sync socket)");
  if (header.type == SyncType::kError) {
    ChildError error;
    memcpy(&error, buffer, std::min(length, sizeof error));
    error.message[sizeof error.message - 1] = '\0';
    if (error.err == 0) return absl::InternalError(error.message);
    return ErrnoError(error.err, error.message);
  }
  if (header.type != expected)
    return absl::InternalError(fmt::format("sync: expected message {}, got {}", static_cast<uint32_t>(expected),
                                           static_cast<uint32_t>(header.type)));
  if (payload) payload->assign(buffer, length);
  return header;
}

}  // namespace liman::runtime
