// The records the metadata store keeps, field for field as containerd's API messages have them
// (containerd.services.{namespaces,images,containers,leases}.v1), so the gRPC services map
// them one to one.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "containerd/core/content.h"

namespace liman::containerd::metadata {

// google.protobuf.Any: a type URL and the serialized message.
struct Any {
  std::string type_url;
  std::string value;
  bool operator==(const Any&) const = default;
};

struct Namespace {
  std::string name;
  Labels labels;
};

// containerd.types.Descriptor (an OCI descriptor without urls/platform).
struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  Labels annotations;
};

struct Image {
  std::string name;
  Labels labels;
  Descriptor target;
  absl::Time created_at;
  absl::Time updated_at;
};

struct Container {
  struct Runtime {
    std::string name;
    std::optional<Any> options;
  };
  std::string id;
  Labels labels;
  std::string image;
  Runtime runtime;
  std::optional<Any> spec;
  std::string snapshotter;
  std::string snapshot_key;
  absl::Time created_at;
  absl::Time updated_at;
  std::map<std::string, Any> extensions;
  std::string sandbox_id;  // containerd 1.7's field 10; empty: none
};

struct Lease {
  std::string id;
  absl::Time created_at;
  Labels labels;
};

// A resource a lease holds: type "content" (id: a digest), "ingests" (id: an ingest ref) or
// "snapshots/<snapshotter>" (id: a snapshot key).
struct LeaseResource {
  std::string id;
  std::string type;
  bool operator==(const LeaseResource&) const = default;
};

// Labels with a meaning to the metadata store (containerd's names).
namespace labels {
// Marks an object (content, snapshot) as a garbage collection root.
inline constexpr char kGcRoot[] = "containerd.io/gc.root";
// "containerd.io/gc.ref.content[.<name>|/<name>]" = digest: keeps that content.
inline constexpr char kGcRefContent[] = "containerd.io/gc.ref.content";
// "containerd.io/gc.ref.snapshot.<snapshotter>[/<name>]" = key: keeps that snapshot.
inline constexpr char kGcRefSnapshotPrefix[] = "containerd.io/gc.ref.snapshot.";
// On a lease: an RFC 3339 time after which the lease no longer protects anything.
inline constexpr char kGcExpire[] = "containerd.io/gc.expire";
// On a lease: hold only the listed resources, not what their labels reference.
inline constexpr char kGcFlat[] = "containerd.io/gc.flat";
// Snapshot labels with this prefix are also given to the backend snapshotter.
inline constexpr char kSnapshotInheritedPrefix[] = "containerd.io/snapshot/";
// On Prepare/View: the name the snapshot will be committed as (see NamespacedSnapshotter).
inline constexpr char kSnapshotRef[] = "containerd.io/snapshot.ref";
}  // namespace labels

}  // namespace liman::containerd::metadata
