#include "common/orlov_top_dir.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common/logging.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace liman {

void MarkTopOfDirectoryHierarchies(const std::string& dir) {
  UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  int flags = 0;
  if (!fd || ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0) return;
  if ((flags & FS_TOPDIR_FL) != 0) return;
  flags |= FS_TOPDIR_FL;
  if (ioctl(fd.get(), FS_IOC_SETFLAGS, &flags) != 0)
    LogDebug("{}: cannot set the top-directory flag: {}", Quote(dir), strerror(errno));
}

}  // namespace liman
