#include "runtime/self_exe.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/read_only_view.h"
#include "common/status.h"
#include "common/unique_fd.h"

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

bool RunningFromSealedCopy() {
  UniqueFd self(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return false;
  // The overlay view, made by us or by the shim that started us.
  if (OnReadOnlyOverlay(self.get())) return true;
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
