#include "common/read_only_view.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/file_util.h"
#include "common/mount_api.h"
#include "common/status.h"

namespace liman {
namespace {

// overlayfs splits its lowerdir list at ':' and takes '\' as the escape (overlayfs.rst).
std::string EscapeLowerDir(const std::string& path) {
  return absl::StrReplaceAll(path, {{"\\", "\\\\"}, {":", "\\:"}});
}

}  // namespace

// An overlayfs of only lower layers has no upper layer to copy a file up into, so the kernel
// marks its superblock read-only (SB_RDONLY in ovl_fill_super) and no remount can change that.
// fsmount(2) leaves the mount detached: it is in no mount table, nothing can reach it but the fd,
// and it goes away with the last reference (the executing image's). The binary's directory
// is the top layer, so `second_layer` cannot mask it. overlayfs refuses layers nested in each
// other (ELOOP).
absl::StatusOr<UniqueFd> OpenReadOnlyOverlayView(const std::string& binary, const std::string& second_layer) {
  size_t slash = binary.find_last_of('/');
  if (binary.empty() || binary[0] != '/' || slash == std::string::npos || binary.ends_with(" (deleted)"))
    return absl::FailedPreconditionError(absl::StrCat("no directory to stack for ", Quote(binary)));
  std::string directory = slash == 0 ? "/" : binary.substr(0, slash);
  std::string name = binary.substr(slash + 1);
  UniqueFd context(FsOpen("overlay"));
  if (!context) return ErrnoError("fsopen \"overlay\"");
  std::string lower = absl::StrCat(EscapeLowerDir(directory), ":", EscapeLowerDir(second_layer));
  if (FsConfig(context.get(), FSCONFIG_SET_STRING, "lowerdir", lower.c_str()) != 0)
    return ErrnoError(absl::StrCat("fsconfig overlay lowerdir=", Quote(lower)));
  // xino only numbers inodes across layers on different filesystems, which nothing here reads;
  // left on, the kernel logs a notice for every mount.
  FsConfig(context.get(), FSCONFIG_SET_STRING, "xino", "off");
  if (FsConfig(context.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr) != 0)
    return ErrnoError(absl::StrCat("create overlay lowerdir=", Quote(lower)));
  UniqueFd mount(FsMount(context.get(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID));
  if (!mount) return ErrnoError(absl::StrCat("fsmount overlay lowerdir=", Quote(lower)));
  UniqueFd file(openat(mount.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!file) return ErrnoError(absl::StrCat("open ", Quote(name), " in overlay lowerdir=", Quote(lower)));
  return file;
}

bool OnReadOnlyOverlay(int fd) {
  struct statfs fs;
  return fstatfs(fd, &fs) == 0 && fs.f_type == OVERLAYFS_SUPER_MAGIC && (fs.f_flags & ST_RDONLY) != 0;
}

}  // namespace liman
