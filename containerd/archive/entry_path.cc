#include "containerd/archive/entry_path.h"

#include "common/status.h"

namespace liman::containerd::archive {

absl::Status CleanEntryPath(std::string_view name, std::string& out) {
  out.clear();
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t slash = name.find('/', pos);
    if (slash == std::string_view::npos) slash = name.size();
    std::string_view part = name.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (out.empty())
        return absl::InvalidArgumentError(fmt::format("path {} escapes the layer root", Quote(name)));
      size_t cut = out.rfind('/');
      out.resize(cut == std::string::npos ? 0 : cut);
      continue;
    }
    if (!out.empty()) out.push_back('/');
    out.append(part);
  }
  return absl::OkStatus();
}

SplitPath SplitParent(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {std::string_view(), path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

absl::Status ParseWhiteout(std::string_view base, WhiteoutName& out) {
  out = WhiteoutName{};
  if (base.substr(0, kWhiteoutPrefix.size()) != kWhiteoutPrefix) return absl::OkStatus();
  if (base == kOpaqueWhiteout) {
    out.kind = WhiteoutKind::kOpaque;
    return absl::OkStatus();
  }
  if (base.substr(0, kWhiteoutMetaPrefix.size()) == kWhiteoutMetaPrefix) {
    out.kind = WhiteoutKind::kMeta;
    return absl::OkStatus();
  }
  std::string_view target = base.substr(kWhiteoutPrefix.size());
  if (target.empty() || target == "." || target == "..")
    return absl::InvalidArgumentError(fmt::format("invalid whiteout name {}", Quote(base)));
  out.kind = WhiteoutKind::kWhiteout;
  out.target = target;
  return absl::OkStatus();
}

}  // namespace liman::containerd::archive
