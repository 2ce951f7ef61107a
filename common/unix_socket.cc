#include "common/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace liman {

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}
namespace {
absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return ErrnoError(ENAMETOOLONG, absl::StrCat("socket path ", Quote(path)));
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}
}  // namespace

absl::StatusOr<UniqueFd> ConnectUnix(const std::string& path, int type) {
  LIMAN_ASSIGN_OR_RETURN(sockaddr_un addr, UnixAddress(path));
  UniqueFd fd(socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoError("socket(AF_UNIX)");
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return ErrnoError(absl::StrCat("connect ", Quote(path)));
  return fd;
}

absl::StatusOr<UniqueFd> ListenUnix(const std::string& path, mode_t mode, int type) {
  LIMAN_ASSIGN_OR_RETURN(sockaddr_un addr, UnixAddress(path));
  UniqueFd fd(socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoError("socket(AF_UNIX)");
  unlink(path.c_str());
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return ErrnoError(absl::StrCat("bind ", Quote(path)));
  if (chmod(path.c_str(), mode) != 0) return ErrnoError(absl::StrCat("chmod ", Quote(path)));
  if (type != SOCK_DGRAM && listen(fd.get(), 128) != 0)
    return ErrnoError(absl::StrCat("listen ", Quote(path)));
  return fd;
}

absl::Status SendFd(int socket_fd, int fd, std::string_view payload) {
  if (payload.empty()) payload = "F";
  iovec iov{const_cast<char*>(payload.data()), payload.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  ssize_t n;
  do {
    n = sendmsg(socket_fd, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoError("sendmsg(SCM_RIGHTS)");
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> ReceiveFd(int socket_fd, std::string* payload) {
  char buf[4096];
  iovec iov{buf, sizeof buf};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoError("recvmsg(SCM_RIGHTS)");
  if (n == 0) return absl::UnavailableError("recvmsg(SCM_RIGHTS): connection closed");
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (cmsg == nullptr || cmsg->cmsg_type != SCM_RIGHTS)
    return absl::InvalidArgumentError("recvmsg(SCM_RIGHTS): message carried no descriptor");
  int fd;
  memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
  if (payload) payload->assign(buf, static_cast<size_t>(n));
  return UniqueFd(fd);
}

absl::StatusOr<BoundSocket> StatBoundSocket(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return ErrnoError(absl::StrCat("stat ", Quote(path)));
  return BoundSocket{st.st_dev, st.st_ino, st.st_mtim};
}

absl::Status RemoveBoundSocket(const std::string& path, const BoundSocket& bound) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoError(absl::StrCat("stat ", Quote(path)));
  }
  if (st.st_dev != bound.dev || st.st_ino != bound.ino || st.st_mtim.tv_sec != bound.bound_at.tv_sec ||
      st.st_mtim.tv_nsec != bound.bound_at.tv_nsec)
    return absl::OkStatus();  // another daemon's now
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError(absl::StrCat("remove ", Quote(path)));
  return absl::OkStatus();
}

}  // namespace liman
