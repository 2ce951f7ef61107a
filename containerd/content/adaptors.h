// The fields content filters can name (containerd's content.AdaptInfo and the local store's
// adaptStatus), for every ContentStore implementation to share:
//   ContentInfo:   digest, size, labels.<key>
//   IngestStatus:  ref, expected
#pragma once

#include "containerd/core/content.h"
#include "containerd/filters/filters.h"

namespace liman::containerd::content {

// The adaptors refer to `info` / `status`, which must outlive them.
filters::Adaptor AdaptInfo(const ContentInfo& info);
filters::Adaptor AdaptStatus(const IngestStatus& status);

}  // namespace liman::containerd::content
