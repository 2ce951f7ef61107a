#include "common/mount_options.h"

#include <linux/mount.h>
#include <sys/mount.h>

#include <string_view>

#include "common/status.h"
#include "fmt/format.h"

namespace liman {
namespace {

struct FlagOption {
  std::string_view name;
  bool clear;  // the option turns the flag off
  unsigned long flag;
};

// mount(8)'s filesystem-independent options, as runc's mountPropagationMapping/flags table.
constexpr FlagOption kFlagOptions[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},
    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},
    {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"lazytime", false, MS_LAZYTIME},
    {"nolazytime", true, MS_LAZYTIME},
    {"iversion", false, MS_I_VERSION},
    {"noiversion", true, MS_I_VERSION},
    {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"symfollow", true, MS_NOSYMFOLLOW},
};

struct PropagationOption {
  std::string_view name;
  unsigned long flag;
};

constexpr PropagationOption kPropagationOptions[] = {
    {"private", MS_PRIVATE},        {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},          {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},            {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE},  {"runbindable", MS_UNBINDABLE | MS_REC},
};

struct RecursiveAttrOption {
  std::string_view name;
  bool clear;
  uint64_t attr;
};

// runc's "r"-prefixed recursive options, applied with mount_setattr(2) and AT_RECURSIVE.
constexpr RecursiveAttrOption kRecursiveAttrOptions[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},       {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},   {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},     {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},   {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME}, {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rnoatime", false, MOUNT_ATTR_NOATIME}, {"rstrictatime", false, MOUNT_ATTR_STRICTATIME},
    {"rrelatime", false, MOUNT_ATTR_RELATIME}, {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

}  // namespace

bool MountOptions::bind() const { return flags & MS_BIND; }
bool MountOptions::recursive_bind() const { return (flags & MS_BIND) && (flags & MS_REC); }

absl::StatusOr<MountOptions> ParseMountOptions(const std::vector<std::string>& options) {
  MountOptions parsed;
  for (const std::string& option : options) {
    bool matched = false;
    for (const FlagOption& flag : kFlagOptions) {
      if (option != flag.name) continue;
      if (flag.clear) {
        parsed.flags &= ~flag.flag;
        parsed.cleared_flags |= flag.flag;
      } else {
        parsed.flags |= flag.flag;
        parsed.cleared_flags &= ~flag.flag;
      }
      matched = true;
      break;
    }
    for (const PropagationOption& propagation : kPropagationOptions) {
      if (matched || option != propagation.name) continue;
      parsed.propagation.push_back(propagation.flag);
      matched = true;
    }
    for (const RecursiveAttrOption& attr : kRecursiveAttrOptions) {
      if (matched || option != attr.name) continue;
      (attr.clear ? parsed.recursive_attr_clear : parsed.recursive_attr_set) |= attr.attr;
      matched = true;
    }
    if (matched) continue;
    if (option == "idmap" || option == "ridmap") {
      parsed.idmap = true;
    } else if (option == "tmpcopyup") {
      parsed.tmpcopyup = true;
    } else if (!option.empty()) {
      if (!parsed.data.empty()) parsed.data.push_back(',');
      parsed.data += option;
    }
  }
  return parsed;
}

absl::StatusOr<unsigned long> ParsePropagation(const std::string& name) {
  if (name.empty()) return 0ul;
  for (const PropagationOption& propagation : kPropagationOptions)
    if (name == propagation.name) return propagation.flag;
  return absl::InvalidArgumentError(fmt::format("invalid rootfsPropagation {}", Quote(name)));
}

}  // namespace liman
