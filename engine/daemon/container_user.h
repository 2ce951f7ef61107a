// `--user` and `--group-add` resolved against the container's own /etc/passwd and /etc/group,
// as Docker does through runc's user.GetExecUser: a name must exist in the image, a numeric uid
// need not; the passwd entry gives the primary group and home; without an explicit group the user
// also gets every group that lists it as a member.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace liman::engine {

struct ContainerUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::string home = "/";
};

// `user` is "name|uid[:group|gid]" ("" is root). `passwd` and `group` are the files' text, nullopt
// when the image has none. kInvalidArgument, worded as Docker's, for a name that is not there.
absl::StatusOr<ContainerUser> ResolveContainerUser(std::string_view user, const std::vector<std::string>& group_add,
                                                   const std::optional<std::string>& passwd,
                                                   const std::optional<std::string>& group);

// The same, reading etc/passwd and etc/group inside the directory `root_fd` (openat2
// RESOLVE_IN_ROOT: a symlinked /etc/passwd cannot lead out of the container's tree).
absl::StatusOr<ContainerUser> ResolveContainerUserInRoot(int root_fd, std::string_view user,
                                                         const std::vector<std::string>& group_add);

}  // namespace liman::engine
