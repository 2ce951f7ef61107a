#include "runtime/cgroups/v1/net_cls.h"

#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups::v1 {

absl::Status ApplyNetCls(const std::string& dir, uint32_t class_id) {
  return WriteKnob(dir, "net_cls.classid", std::to_string(class_id));
}

}  // namespace liman::cgroups::v1
