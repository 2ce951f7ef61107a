#include "runtime/self_exe.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "runtime/mount_api.h"

extern char** environ;

namespace liman::runtime {
namespace {
constexpr int kSizeSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW;

// Either write seal makes the copy immutable: F_SEAL_WRITE, or F_SEAL_FUTURE_WRITE (fcntl(2):
// no write(2) and no new writable mapping), which is as strong here because no mapping of the
// memfd exists when it is sealed.
bool HasWriteSeal(int seals) { return (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) != 0; }

// F_SEAL_WRITE fails with EBUSY while any page of the memfd holds an extra reference:
// memfd_wait_for_pins (mm/memfd.c) waits about 75 ms and gives up, and pages just written may
// sit in per-CPU LRU batches that it drains only on the calling CPU. Under load (a shim starting
// many execs at once) that refusal is spurious, so on EBUSY the copy is sealed with
// F_SEAL_FUTURE_WRITE instead, which never waits (Linux 5.1+; sound for private mappings, as the
// ELF loader makes, since 5.5's commit 05d351102dbe).

// overlayfs splits its lowerdir list at ':' and takes '\' as the escape (overlayfs.rst).
std::string EscapeLowerDir(const std::string& path) {
  return absl::StrReplaceAll(path, {{"\\", "\\\\"}, {":", "\\:"}});
}

absl::StatusOr<UniqueFd> SealedMemfdCopy() {
  UniqueFd self(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return ErrnoError("open \"/proc/self/exe\"");
  struct stat st;
  if (fstat(self.get(), &st) != 0) return ErrnoError("stat \"/proc/self/exe\"");
  UniqueFd copy(memfd_create("liman-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!copy) return ErrnoError("memfd_create(\"liman-runtime\")");
  off_t offset = 0;
  while (offset < st.st_size) {
    ssize_t n = sendfile(copy.get(), self.get(), &offset, static_cast<size_t>(st.st_size - offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError("copy \"/proc/self/exe\" into a memfd");
  }
  if (absl::Status sealed = SealExecutableCopy(copy.get()); !sealed.ok()) return sealed;
  return copy;
}

}  // namespace

absl::Status SealExecutableCopy(int memfd) {
  if (fcntl(memfd, F_ADD_SEALS, kSizeSeals | F_SEAL_WRITE) == 0) return absl::OkStatus();
  if (errno == EBUSY && fcntl(memfd, F_ADD_SEALS, kSizeSeals | F_SEAL_FUTURE_WRITE) == 0) return absl::OkStatus();
  return ErrnoError("seal the memfd copy of liman-runtime");
}

// An overlayfs of only lower layers has no upper layer to copy a file up into, so the kernel
// marks its superblock read-only (SB_RDONLY in ovl_fill_super) and no remount can change that.
// fsmount(2) leaves the mount detached: it is in no mount table, nothing can reach it but the fd,
// and it goes away with the last reference (the executing image's). The binary's directory
// is the top layer, so `empty_dir` cannot mask it. overlayfs refuses layers nested in each other
// (ELOOP), which the caller answers with the memfd copy.
absl::StatusOr<UniqueFd> OpenReadOnlyOverlayView(const std::string& binary, const std::string& empty_dir) {
  size_t slash = binary.find_last_of('/');
  if (binary.empty() || binary[0] != '/' || slash == std::string::npos || binary.ends_with(" (deleted)"))
    return absl::FailedPreconditionError(absl::StrCat("no directory to stack for ", Quote(binary)));
  std::string directory = slash == 0 ? "/" : binary.substr(0, slash);
  std::string name = binary.substr(slash + 1);
  UniqueFd context(FsOpen("overlay"));
  if (!context) return ErrnoError("fsopen \"overlay\"");
  std::string lower = absl::StrCat(EscapeLowerDir(directory), ":", EscapeLowerDir(empty_dir));
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

bool RunningFromSealedCopy() {
  UniqueFd self(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return false;
  // A read-only overlayfs: the view above, or a binary installed on a read-only overlay root,
  // which a container cannot write through either (open(2) fails with EROFS).
  struct statfs fs;
  if (fstatfs(self.get(), &fs) == 0 && fs.f_type == OVERLAYFS_SUPER_MAGIC && (fs.f_flags & ST_RDONLY) != 0)
    return true;
  int seals = fcntl(self.get(), F_GET_SEALS);
  return seals >= 0 && (seals & kSizeSeals) == kSizeSeals && HasWriteSeal(seals);
}

absl::Status ReexecFromSealedCopy(char** argv, const std::string& empty_dir) {
  auto binary = ReadLink("/proc/self/exe");
  absl::StatusOr<UniqueFd> view = binary.ok() ? OpenReadOnlyOverlayView(*binary, empty_dir) : binary.status();
  if (!view.ok()) {
    LogDebug("sealing liman-runtime with a memfd copy: {}", view.status().message());
    view = SealedMemfdCopy();
    if (!view.ok()) return view.status();
  }
  fexecve(view->get(), argv, environ);
  return ErrnoError("fexecve the sealed view of liman-runtime");
}

}  // namespace liman::runtime
