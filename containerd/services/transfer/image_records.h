// Turning what a transfer produced into image records, as containerd's client does it, with the
// events containerd's images service publishes (/images/create, /images/update).
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "containerd/metadata/records.h"
#include "containerd/remotes/image_spec.h"
#include "containerd/services/service_deps.h"
#include "containerd/types/descriptor.pb.h"

namespace liman::containerd::services {

enum class ExistingImage {
  // Client.Pull (createNewImage): Create; if the name exists, replace the whole record.
  kReplace,
  // Client.Import: Update the target only; if the name does not exist, Create.
  kUpdateTarget,
};

// Creates or updates `image` in `ns` and publishes the matching event.
absl::StatusOr<metadata::Image> RecordImage(const ServiceDeps& deps, std::string_view ns, const metadata::Image& image,
                                            ExistingImage existing);

metadata::Descriptor ToRecordDescriptor(const remotes::Descriptor& descriptor);
remotes::Descriptor FromRecordDescriptor(const metadata::Descriptor& descriptor);

}  // namespace liman::containerd::services
