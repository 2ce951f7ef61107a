#include "containerd/remotes/image_spec.h"

#include <nlohmann/json.hpp>

#include "common/json_member.h"
#include "common/status.h"
#include "containerd/remotes/reference.h"

namespace liman::containerd::remotes {
namespace {

using nlohmann::json;

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

absl::Status Malformed(const Descriptor& desc, std::string_view what, std::string_view cause) {
  return absl::InvalidArgumentError(fmt::format("parse {} {}: {}", what, desc.digest, cause));
}

absl::StatusOr<json> ParseJson(std::string_view text, const Descriptor& desc, std::string_view what) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Malformed(desc, what, "invalid JSON");
  if (!doc.is_object()) return Malformed(desc, what, "not a JSON object");
  return doc;
}

bool IsSchema1Document(const json& doc) {
  auto version = doc.find("schemaVersion");
  return doc.contains("fsLayers") ||
         (version != doc.end() && version->is_number_integer() && version->get<int64_t>() == 1);
}

std::optional<Platform> PlatformFromJson(const json& value) {
  if (!value.is_object()) return std::nullopt;
  Platform platform;
  platform.os = StringMember(value, "os");
  platform.architecture = StringMember(value, "architecture");
  platform.variant = StringMember(value, "variant");
  platform.os_version = StringMember(value, "os.version");
  if (auto it = value.find("os.features"); it != value.end() && it->is_array()) {
    for (const json& feature : *it) {
      if (feature.is_string()) platform.os_features.push_back(feature.get<std::string>());
    }
  }
  return platform;
}

absl::StatusOr<Descriptor> DescriptorFromJson(const json& value, const Descriptor& parent, std::string_view what) {
  if (!value.is_object()) return Malformed(parent, what, "descriptor is not an object");
  Descriptor desc;
  desc.media_type = StringMember(value, "mediaType");
  desc.digest = StringMember(value, "digest");
  if (!IsValidSha256Digest(desc.digest)) {
    return Malformed(parent, what, fmt::format("invalid or unsupported descriptor digest {}", Quote(desc.digest)));
  }
  auto size = value.find("size");
  if (size == value.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
    return Malformed(parent, what, fmt::format("descriptor {} has no valid size", desc.digest));
  }
  desc.size = size->get<int64_t>();
  if (auto it = value.find("urls"); it != value.end() && it->is_array()) {
    for (const json& url : *it) {
      if (url.is_string()) desc.urls.push_back(url.get<std::string>());
    }
  }
  if (auto it = value.find("annotations"); it != value.end() && it->is_object()) {
    for (const auto& [key, annotation] : it->items()) {
      if (annotation.is_string()) desc.annotations[key] = annotation.get<std::string>();
    }
  }
  if (auto it = value.find("platform"); it != value.end()) desc.platform = PlatformFromJson(*it);
  return desc;
}

// containerd's validateMediaType: schema 1 documents and index/manifest confusions are refused.
absl::Status CheckDocumentKind(const json& doc, const Descriptor& desc, std::string_view what) {
  if (IsSchema1Document(doc)) {
    return absl::UnimplementedError(
        fmt::format("{} {}: Docker schema 1 manifests are not supported; push the image again with a current Docker "
                    "(schema 2) or as OCI",
                    what, desc.digest));
  }
  std::string declared = StringMember(doc, "mediaType");
  if (IsManifestType(desc.media_type) && (doc.contains("manifests") || IsIndexType(declared))) {
    return Malformed(desc, what, fmt::format("expected manifest but found index ({})", desc.media_type));
  }
  if (IsIndexType(desc.media_type) && (doc.contains("config") || doc.contains("layers") || IsManifestType(declared))) {
    return Malformed(desc, what, fmt::format("expected index but found manifest ({})", desc.media_type));
  }
  return absl::OkStatus();
}

}  // namespace

nlohmann::ordered_json DescriptorToJson(const Descriptor& desc) {
  nlohmann::ordered_json out;
  out["mediaType"] = desc.media_type;
  out["digest"] = desc.digest;
  out["size"] = desc.size;
  if (!desc.urls.empty()) out["urls"] = desc.urls;
  if (!desc.annotations.empty()) {
    nlohmann::ordered_json annotations = nlohmann::ordered_json::object();
    for (const auto& [key, value] : desc.annotations) annotations[key] = value;  // sorted, like Go's maps
    out["annotations"] = annotations;
  }
  if (desc.platform) {
    const Platform& p = *desc.platform;
    nlohmann::ordered_json platform;
    platform["architecture"] = p.architecture;
    platform["os"] = p.os;
    if (!p.os_version.empty()) platform["os.version"] = p.os_version;
    if (!p.os_features.empty()) platform["os.features"] = p.os_features;
    if (!p.variant.empty()) platform["variant"] = p.variant;
    out["platform"] = platform;
  }
  return out;
}

bool IsIndexType(std::string_view mt) { return mt == media_type::kOciIndex || mt == media_type::kDockerManifestList; }
bool IsManifestType(std::string_view mt) { return mt == media_type::kOciManifest || mt == media_type::kDockerManifest; }
bool IsSchema1Type(std::string_view mt) {
  return mt == media_type::kDockerSchema1Manifest || mt == media_type::kDockerSchema1SignedManifest;
}
bool IsConfigType(std::string_view mt) { return mt == media_type::kOciConfig || mt == media_type::kDockerConfig; }
bool IsLayerType(std::string_view mt) {
  return StartsWith(mt, media_type::kOciLayerPrefix) || mt == media_type::kDockerLayer ||
         mt == media_type::kDockerLayerGzip || mt == media_type::kDockerForeignLayer ||
         mt == media_type::kDockerForeignLayerGzip;
}

absl::StatusOr<Index> ParseIndex(std::string_view text, const Descriptor& desc) {
  LIMAN_ASSIGN_OR_RETURN(json doc, ParseJson(text, desc, "index"));
  LIMAN_RETURN_IF_ERROR(CheckDocumentKind(doc, desc, "index"));
  auto manifests = doc.find("manifests");
  if (manifests == doc.end() || !manifests->is_array()) return Malformed(desc, "index", "no \"manifests\" array");
  Index index;
  for (const json& entry : *manifests) {
    LIMAN_ASSIGN_OR_RETURN(Descriptor child, DescriptorFromJson(entry, desc, "index"));
    index.manifests.push_back(std::move(child));
  }
  return index;
}

absl::StatusOr<Manifest> ParseManifest(std::string_view text, const Descriptor& desc) {
  LIMAN_ASSIGN_OR_RETURN(json doc, ParseJson(text, desc, "manifest"));
  LIMAN_RETURN_IF_ERROR(CheckDocumentKind(doc, desc, "manifest"));
  auto config = doc.find("config");
  if (config == doc.end()) return Malformed(desc, "manifest", "no \"config\" descriptor");
  Manifest manifest;
  LIMAN_ASSIGN_OR_RETURN(manifest.config, DescriptorFromJson(*config, desc, "manifest"));
  auto layers = doc.find("layers");
  if (layers != doc.end()) {
    if (!layers->is_array()) return Malformed(desc, "manifest", "\"layers\" is not an array");
    for (const json& entry : *layers) {
      LIMAN_ASSIGN_OR_RETURN(Descriptor layer, DescriptorFromJson(entry, desc, "manifest"));
      manifest.layers.push_back(std::move(layer));
    }
  }
  return manifest;
}

absl::StatusOr<ImageConfig> ParseImageConfig(std::string_view text, const Descriptor& desc) {
  LIMAN_ASSIGN_OR_RETURN(json doc, ParseJson(text, desc, "image config"));
  ImageConfig config;
  config.os = StringMember(doc, "os");
  config.architecture = StringMember(doc, "architecture");
  config.variant = StringMember(doc, "variant");
  auto rootfs = doc.find("rootfs");
  if (rootfs == doc.end() || !rootfs->is_object()) return Malformed(desc, "image config", "no \"rootfs\" object");
  auto diff_ids = rootfs->find("diff_ids");
  if (diff_ids != rootfs->end() && !diff_ids->is_null()) {
    if (!diff_ids->is_array()) return Malformed(desc, "image config", "rootfs.diff_ids is not an array");
    for (const json& id : *diff_ids) {
      if (!id.is_string() || !IsValidSha256Digest(id.get<std::string>())) {
        return Malformed(desc, "image config", fmt::format("invalid diff id {}", id.dump()));
      }
      config.diff_ids.push_back(id.get<std::string>());
    }
  }
  return config;
}

std::string DetectManifestMediaType(std::string_view text) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return {};
  if (std::string declared = StringMember(doc, "mediaType"); !declared.empty()) return declared;
  if (IsSchema1Document(doc)) {
    return std::string(doc.contains("signatures") ? media_type::kDockerSchema1SignedManifest
                                                  : media_type::kDockerSchema1Manifest);
  }
  if (doc.contains("manifests")) return std::string(media_type::kOciIndex);
  if (doc.contains("config")) return std::string(media_type::kOciManifest);
  return {};
}

Labels ChildGcLabels(const std::vector<Descriptor>& children) {
  Labels labels;
  std::map<std::string, int> counters;
  for (const Descriptor& child : children) {
    std::string key;
    if (IsConfigType(child.media_type)) {
      key = "containerd.io/gc.ref.content.config";
    } else if (IsManifestType(child.media_type)) {
      key = "containerd.io/gc.ref.content.m.";
    } else if (IsLayerType(child.media_type)) {
      key = "containerd.io/gc.ref.content.l.";
    } else {
      key = "containerd.io/gc.ref.content.";
    }
    // SetChildrenMappedLabels: keys ending in '.' are always numbered, others from the second on.
    int index = counters[key]++;
    if (index > 0 || key.back() == '.') key += std::to_string(index);
    labels[key] = child.digest;
  }
  return labels;
}

Labels InheritedSnapshotLabels(const Descriptor& layer) {
  Labels labels;
  for (const auto& [key, value] : layer.annotations) {
    if (StartsWith(key, "containerd.io/snapshot/")) labels[key] = value;
  }
  return labels;
}

}  // namespace liman::containerd::remotes
