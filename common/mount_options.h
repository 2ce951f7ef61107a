// The mount options of config.json split the way mount(8) and runc split them: flags for
// mount(2), propagation changes applied afterwards, recursive attributes for mount_setattr(2),
// and the rest joined into the filesystem's data string.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace liman {

struct MountOptions {
  unsigned long flags = 0;                 // MS_* passed to mount(2) (bind, rdonly, nosuid…)
  unsigned long cleared_flags = 0;         // flags an option explicitly turned off (rw, suid…)
  std::vector<unsigned long> propagation;  // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC)
  uint64_t recursive_attr_set = 0;         // MOUNT_ATTR_* from "rro", "rnosuid"… (mount_setattr)
  uint64_t recursive_attr_clear = 0;
  std::string data;                        // comma-joined filesystem options ("mode=755,size=64k")
  bool idmap = false;                      // "idmap"/"ridmap": needs mount idmapping
  bool tmpcopyup = false;                  // runc extension: copy the shadowed dir into the tmpfs
  bool bind() const;
  bool recursive_bind() const;
};

absl::StatusOr<MountOptions> ParseMountOptions(const std::vector<std::string>& options);

// The MS_* propagation flag for rootfsPropagation ("shared", "rslave", …); 0 for "".
absl::StatusOr<unsigned long> ParsePropagation(const std::string& name);

}  // namespace liman
