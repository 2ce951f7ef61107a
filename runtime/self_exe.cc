#include "runtime/self_exe.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/status.h"
#include "common/unique_fd.h"

extern char** environ;

namespace liman::runtime {
namespace {
constexpr int kRequiredSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
}

bool RunningFromSealedCopy() {
  UniqueFd self(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return false;
  int seals = fcntl(self.get(), F_GET_SEALS);
  return seals >= 0 && (seals & kRequiredSeals) == kRequiredSeals;
}

absl::Status ReexecFromSealedCopy(char** argv) {
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
  if (fcntl(copy.get(), F_ADD_SEALS, kRequiredSeals) != 0) return ErrnoError("seal the memfd copy of liman-runtime");
  fexecve(copy.get(), argv, environ);
  return ErrnoError("fexecve the sealed copy of liman-runtime");
}

}  // namespace liman::runtime
