// containerd.services.images.v1.Image and containerd.types.Descriptor <-> the metadata store's
// records, field for field (containerd's services/images/helpers.go).
#pragma once

#include "containerd/metadata/records.h"
#include "containerd/services/images/v1/images.pb.h"
#include "containerd/types/descriptor.pb.h"

namespace liman::containerd::services {

void ToProtoDescriptor(const metadata::Descriptor& descriptor, ::containerd::types::Descriptor* out);
metadata::Descriptor FromProtoDescriptor(const ::containerd::types::Descriptor& descriptor);

void ToProtoImage(const metadata::Image& image, ::containerd::services::images::v1::Image* out);
// The times are taken too; the store decides what it keeps of them (created_at on Update).
metadata::Image FromProtoImage(const ::containerd::services::images::v1::Image& image);

}  // namespace liman::containerd::services
