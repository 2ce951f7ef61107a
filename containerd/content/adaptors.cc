#include "containerd/content/adaptors.h"

#include <string>

namespace liman::containerd::content {

filters::Adaptor AdaptInfo(const ContentInfo& info) {
  return [&info](const std::vector<std::string>& path) -> std::optional<std::string> {
    if (path.empty()) return std::nullopt;
    if (path[0] == "digest") return info.digest;
    // containerd leaves size unfiltered (a TODO there); equality on the decimal is harmless.
    if (path[0] == "size") return std::to_string(info.size);
    if (path[0] == "labels") return filters::MapField(info.labels, std::span(path).subspan(1));
    return std::nullopt;
  };
}

filters::Adaptor AdaptStatus(const IngestStatus& status) {
  return [&status](const std::vector<std::string>& path) -> std::optional<std::string> {
    if (path.empty()) return std::nullopt;
    if (path[0] == "ref") return status.ref;
    if (path[0] == "expected" && !status.expected.empty()) return status.expected;
    return std::nullopt;
  };
}

}  // namespace liman::containerd::content
