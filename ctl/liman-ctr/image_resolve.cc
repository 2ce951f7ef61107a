#include "ctl/liman-ctr/image_resolve.h"

#include <sys/utsname.h>

#include <optional>
#include <set>

#include "common/status.h"
#include "ctl/liman-ctr/image_config.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace liman::ctr {
namespace {

using nlohmann::json;

std::string NormalizeArch(const std::string& arch) {
  if (arch == "x86_64" || arch == "x86-64") return "amd64";
  if (arch == "aarch64") return "arm64";
  return arch;
}

absl::StatusOr<json> ReadJson(const BlobReader& read, const Descriptor& desc) {
  LIMAN_ASSIGN_OR_RETURN(std::string blob, read(desc.digest));
  json doc = json::parse(blob, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return absl::InvalidArgumentError(fmt::format("{} {}: not a JSON object", desc.media_type, desc.digest));
  return doc;
}

absl::StatusOr<Descriptor> ParseDescriptor(const json& item, const std::string& where) {
  if (!item.is_object() || !item.contains("digest") || !item["digest"].is_string())
    return absl::InvalidArgumentError(fmt::format("{}: descriptor without a digest", where));
  Descriptor desc;
  desc.digest = item["digest"].get<std::string>();
  if (item.contains("mediaType") && item["mediaType"].is_string())
    desc.media_type = item["mediaType"].get<std::string>();
  if (item.contains("size") && item["size"].is_number_integer()) desc.size = item["size"].get<int64_t>();
  if (auto p = item.find("platform"); p != item.end() && p->is_object()) {
    desc.has_platform = true;
    desc.platform.os = p->value("os", "");
    desc.platform.architecture = p->value("architecture", "");
    desc.platform.variant = p->value("variant", "");
  }
  return desc;
}

absl::StatusOr<std::vector<Descriptor>> ParseDescriptors(const json& doc, const char* key,
                                                         const std::string& where) {
  std::vector<Descriptor> out;
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return out;
  if (!it->is_array()) return absl::InvalidArgumentError(fmt::format("{}: {} is not an array", where, key));
  for (const json& item : *it) {
    LIMAN_ASSIGN_OR_RETURN(Descriptor desc, ParseDescriptor(item, where));
    out.push_back(std::move(desc));
  }
  return out;
}

// The first manifest under `target` matching `platform` (index entries without a platform match
// anything, as containerd's FilterPlatforms lets them through), depth first.
absl::StatusOr<std::optional<Descriptor>> FindManifest(const BlobReader& read, const Descriptor& target,
                                                       const Platform& platform, int depth) {
  if (depth > 8) return absl::InvalidArgumentError("image index nesting too deep");
  if (IsManifestType(target.media_type)) return std::optional<Descriptor>(target);
  if (!IsIndexType(target.media_type)) return std::optional<Descriptor>();
  LIMAN_ASSIGN_OR_RETURN(json index, ReadJson(read, target));
  LIMAN_ASSIGN_OR_RETURN(std::vector<Descriptor> manifests,
                         ParseDescriptors(index, "manifests", target.digest));
  for (const Descriptor& child : manifests) {
    if (child.has_platform && !PlatformMatches(platform, child.platform)) continue;
    LIMAN_ASSIGN_OR_RETURN(std::optional<Descriptor> found, FindManifest(read, child, platform, depth + 1));
    if (found) return found;
  }
  return std::optional<Descriptor>();
}

absl::Status CollectPlatforms(const BlobReader& read, const Descriptor& desc, std::set<std::string>& out,
                              int depth) {
  if (depth > 8) return absl::InvalidArgumentError("image index nesting too deep");
  if (desc.has_platform) {
    out.insert(FormatPlatform(desc.platform));
    return absl::OkStatus();
  }
  if (IsIndexType(desc.media_type)) {
    LIMAN_ASSIGN_OR_RETURN(json index, ReadJson(read, desc));
    LIMAN_ASSIGN_OR_RETURN(std::vector<Descriptor> manifests, ParseDescriptors(index, "manifests", desc.digest));
    for (const Descriptor& child : manifests) LIMAN_RETURN_IF_ERROR(CollectPlatforms(read, child, out, depth + 1));
  } else if (IsManifestType(desc.media_type)) {
    LIMAN_ASSIGN_OR_RETURN(json manifest, ReadJson(read, desc));
    if (!manifest.contains("config")) return absl::OkStatus();
    LIMAN_ASSIGN_OR_RETURN(Descriptor config, ParseDescriptor(manifest["config"], desc.digest));
    LIMAN_ASSIGN_OR_RETURN(std::string blob, read(config.digest));
    LIMAN_ASSIGN_OR_RETURN(ImageConfig parsed, ParseImageConfig(blob));
    out.insert(FormatPlatform({parsed.os, parsed.architecture, parsed.variant}));
  }
  return absl::OkStatus();
}

}  // namespace

Platform HostPlatform() {
  struct utsname uts;
  std::string arch = uname(&uts) == 0 ? NormalizeArch(uts.machine) : "amd64";
  Platform platform{"linux", arch, ""};
  if (arch == "arm64") platform.variant = "v8";
  return platform;
}

std::string FormatPlatform(const Platform& platform) {
  std::string out = platform.os.empty() ? "unknown" : platform.os;
  out += "/" + platform.architecture;
  if (!platform.variant.empty()) out += "/" + platform.variant;
  return out;
}

absl::StatusOr<Platform> ParsePlatform(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t slash; (slash = text.find('/', start)) != std::string::npos; start = slash + 1)
    parts.push_back(text.substr(start, slash - start));
  parts.push_back(text.substr(start));
  for (const auto& part : parts)
    if (part.empty() || parts.size() > 3)
      return absl::InvalidArgumentError(fmt::format("invalid platform {}", Quote(text)));
  Platform host = HostPlatform();
  if (parts.size() == 1) {
    if (parts[0] == "linux") return Platform{"linux", host.architecture, host.variant};
    return Platform{"linux", NormalizeArch(parts[0]), ""};
  }
  Platform platform{parts[0], NormalizeArch(parts[1]), parts.size() == 3 ? parts[2] : ""};
  return platform;
}

bool PlatformMatches(const Platform& want, const Platform& have) {
  if (want.os != (have.os.empty() ? "linux" : have.os)) return false;
  if (NormalizeArch(want.architecture) != NormalizeArch(have.architecture)) return false;
  return want.variant.empty() || have.variant.empty() || want.variant == have.variant;
}

bool IsIndexType(const std::string& media_type) {
  return media_type == "application/vnd.oci.image.index.v1+json" ||
         media_type == "application/vnd.docker.distribution.manifest.list.v2+json";
}

bool IsManifestType(const std::string& media_type) {
  return media_type == "application/vnd.oci.image.manifest.v1+json" ||
         media_type == "application/vnd.docker.distribution.manifest.v2+json";
}

absl::StatusOr<ResolvedImage> ResolveImage(const BlobReader& read, const Descriptor& target,
                                           const Platform& platform) {
  LIMAN_ASSIGN_OR_RETURN(std::optional<Descriptor> manifest, FindManifest(read, target, platform, 0));
  if (!manifest)
    return absl::NotFoundError(
        fmt::format("manifest {}: no match for platform {} in manifest: not found", target.digest,
                    FormatPlatform(platform)));
  ResolvedImage resolved;
  resolved.manifest = *manifest;
  LIMAN_ASSIGN_OR_RETURN(json doc, ReadJson(read, *manifest));
  if (!doc.contains("config"))
    return absl::InvalidArgumentError(fmt::format("manifest {}: no config", manifest->digest));
  LIMAN_ASSIGN_OR_RETURN(resolved.config, ParseDescriptor(doc["config"], manifest->digest));
  LIMAN_ASSIGN_OR_RETURN(resolved.layers, ParseDescriptors(doc, "layers", manifest->digest));
  return resolved;
}

absl::StatusOr<int64_t> ImageSize(const BlobReader& read, const Descriptor& target, const Platform& platform) {
  int64_t size = target.size;
  LIMAN_ASSIGN_OR_RETURN(ResolvedImage image, ResolveImage(read, target, platform));
  if (image.manifest.digest != target.digest) size += image.manifest.size;
  size += image.config.size;
  for (const Descriptor& layer : image.layers) size += layer.size;
  return size;
}

absl::StatusOr<std::vector<std::string>> ImagePlatforms(const BlobReader& read, const Descriptor& target) {
  std::set<std::string> found;
  LIMAN_RETURN_IF_ERROR(CollectPlatforms(read, target, found, 0));
  return std::vector<std::string>(found.begin(), found.end());
}

}  // namespace liman::ctr
