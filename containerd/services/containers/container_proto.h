// containerd.services.containers.v1.Container <-> the metadata store's record, field for field
// (containerd's services/containers/helpers.go).
#pragma once

#include "containerd/metadata/records.h"
#include "containerd/services/containers/v1/containers.pb.h"

namespace liman::containerd::services {

void ToProtoContainer(const metadata::Container& container, ::containerd::services::containers::v1::Container* out);
// An unset runtime options or spec message stays unset (std::nullopt), as containerd keeps nil.
metadata::Container FromProtoContainer(const ::containerd::services::containers::v1::Container& container);

}  // namespace liman::containerd::services
