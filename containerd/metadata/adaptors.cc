#include "containerd/metadata/adaptors.h"

namespace liman::containerd::metadata {
namespace {

using FieldPath = std::vector<std::string>;
using Value = std::optional<std::string>;

// A map field: the rest of the path, joined with '.', is the key ("labels.a.b" is key "a.b").
Value MapValue(const FieldPath& path, const Labels& map) {
  return filters::MapField(map, std::span<const std::string>(path).subspan(1));
}

// A string field that counts as absent when empty (containerd: `value, len(value) > 0`).
Value NonEmpty(const std::string& value) {
  if (value.empty()) return std::nullopt;
  return value;
}

}  // namespace

filters::Adaptor AdaptImage(const Image& image) {
  return [&image](const FieldPath& path) -> Value {
    if (path.empty()) return std::nullopt;
    const std::string& field = path[0];
    if (field == "name") return NonEmpty(image.name);
    if (field == "target" && path.size() >= 2) {
      if (path[1] == "digest") return NonEmpty(image.target.digest);
      if (path[1] == "mediatype") return NonEmpty(image.target.media_type);
      return std::nullopt;
    }
    if (field == "labels") return MapValue(path, image.labels);
    if (field == "annotations") return MapValue(path, image.target.annotations);
    return std::nullopt;
  };
}

filters::Adaptor AdaptContainer(const Container& container) {
  return [&container](const FieldPath& path) -> Value {
    if (path.empty()) return std::nullopt;
    const std::string& field = path[0];
    if (field == "id") return NonEmpty(container.id);
    if (field == "runtime") {
      if (path.size() >= 2 && path[1] == "name") return NonEmpty(container.runtime.name);
      return std::nullopt;
    }
    if (field == "image") return NonEmpty(container.image);
    if (field == "snapshotter") return NonEmpty(container.snapshotter);
    if (field == "labels") return MapValue(path, container.labels);
    return std::nullopt;
  };
}

filters::Adaptor AdaptLease(const Lease& lease) {
  return [&lease](const FieldPath& path) -> Value {
    if (path.empty()) return std::nullopt;
    if (path[0] == "id") return NonEmpty(lease.id);
    if (path[0] == "labels") return MapValue(path, lease.labels);
    return std::nullopt;
  };
}

filters::Adaptor AdaptContentInfo(const ContentInfo& info) {
  return [&info](const FieldPath& path) -> Value {
    if (path.empty()) return std::nullopt;
    if (path[0] == "digest") return info.digest;
    if (path[0] == "labels") return MapValue(path, info.labels);
    return std::nullopt;
  };
}

filters::Adaptor AdaptIngestStatus(const IngestStatus& status) {
  return [&status](const FieldPath& path) -> Value {
    if (!path.empty() && path[0] == "ref") return status.ref;
    return std::nullopt;
  };
}

filters::Adaptor AdaptSnapshotInfo(const SnapshotInfo& info) {
  return [&info](const FieldPath& path) -> Value {
    if (path.empty()) return std::nullopt;
    const std::string& field = path[0];
    if (field == "kind") {
      switch (info.kind) {
        case SnapshotKind::kActive:
          return "active";
        case SnapshotKind::kView:
          return "view";
        case SnapshotKind::kCommitted:
          return "committed";
        default:
          return std::nullopt;
      }
    }
    if (field == "name") return info.name;
    if (field == "parent") return info.parent;
    if (field == "labels") return MapValue(path, info.labels);
    return std::nullopt;
  };
}

}  // namespace liman::containerd::metadata
