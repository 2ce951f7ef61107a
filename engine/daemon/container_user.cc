#include "engine/daemon/container_user.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_util.h"
#include "common/passwd_file.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::engine {
namespace {

// A group named or numbered `spec`: its gid.
absl::StatusOr<uint32_t> GroupId(std::string_view spec, const std::vector<GroupEntry>& groups) {
  for (const GroupEntry& entry : groups)
    if (entry.name == spec) return entry.gid;
  if (std::optional<uint32_t> gid = ParseId(spec)) return *gid;
  return absl::InvalidArgumentError(fmt::format("unable to find group {}: no matching entries in group file", spec));
}

constexpr off_t kMaxFileSize = 16 << 20;

// The file's text; nullopt when the image has no such file.
absl::StatusOr<std::optional<std::string>> ReadInRoot(int root_fd, const std::string& path) {
  absl::StatusOr<UniqueFd> fd = OpenInRoot(root_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
  if (!fd.ok()) {
    std::optional<int> err = StatusErrno(fd.status());
    if (err == ENOENT || err == ENOTDIR) return std::optional<std::string>();
    return fd.status();
  }
  // Only a regular file of sane size is read: an image may put a FIFO or a device there.
  struct stat st;
  if (fstat(fd->get(), &st) != 0) return ErrnoError(fmt::format("stat {}", Quote("/" + path)));
  if (!S_ISREG(st.st_mode) || st.st_size > kMaxFileSize)
    return absl::InvalidArgumentError(fmt::format("{} in the container is not a regular file of at most {} bytes",
                                                  Quote("/" + path), kMaxFileSize));
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = pread(fd->get(), text.data() + done, text.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(fmt::format("read {}", Quote("/" + path)));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  return std::optional<std::string>(std::move(text));
}

}  // namespace

absl::StatusOr<ContainerUser> ResolveContainerUser(std::string_view user, const std::vector<std::string>& group_add,
                                                   const std::optional<std::string>& passwd,
                                                   const std::optional<std::string>& group) {
  std::string_view user_part = user, group_part;
  if (size_t colon = user.find(':'); colon != std::string_view::npos) {
    user_part = user.substr(0, colon);
    group_part = user.substr(colon + 1);
  }
  std::optional<uint32_t> numeric_uid = ParseId(user_part);
  std::vector<PasswdEntry> users = passwd ? ParsePasswd(*passwd) : std::vector<PasswdEntry>{};
  std::vector<GroupEntry> groups = group ? ParseGroup(*group) : std::vector<GroupEntry>{};

  ContainerUser resolved;
  const PasswdEntry* matched = nullptr;
  for (const PasswdEntry& entry : users) {
    bool match = user_part.empty() ? entry.uid == 0 : numeric_uid ? entry.uid == *numeric_uid : entry.name == user_part;
    if (match) {
      matched = &entry;
      break;
    }
  }
  if (matched != nullptr) {
    resolved.uid = matched->uid;
    resolved.gid = matched->gid;
    if (!matched->home.empty()) resolved.home = matched->home;
  } else if (!user_part.empty()) {
    if (!numeric_uid)
      return absl::InvalidArgumentError(fmt::format("unable to find user {}: no matching entries in passwd file", user_part));
    resolved.uid = *numeric_uid;
  }

  if (!group_part.empty()) {
    LIMAN_ASSIGN_OR_RETURN(resolved.gid, GroupId(group_part, groups));
  } else if (matched != nullptr) {
    // Supplementary groups only in the implicit form, as runc.
    for (const GroupEntry& entry : groups)
      for (const std::string& member : entry.members)
        if (member == matched->name) {
          resolved.additional_gids.push_back(entry.gid);
          break;
        }
  }
  for (const std::string& extra : group_add) {
    LIMAN_ASSIGN_OR_RETURN(uint32_t gid, GroupId(extra, groups));
    resolved.additional_gids.push_back(gid);
  }
  return resolved;
}

absl::StatusOr<ContainerUser> ResolveContainerUserInRoot(int root_fd, std::string_view user,
                                                         const std::vector<std::string>& group_add) {
  LIMAN_ASSIGN_OR_RETURN(std::optional<std::string> passwd, ReadInRoot(root_fd, "etc/passwd"));
  LIMAN_ASSIGN_OR_RETURN(std::optional<std::string> group, ReadInRoot(root_fd, "etc/group"));
  return ResolveContainerUser(user, group_add, passwd, group);
}

}  // namespace liman::engine
