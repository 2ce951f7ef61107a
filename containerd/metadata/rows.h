// Row-level helpers the stores share, all run inside a transaction. Internal to
// containerd/metadata.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "containerd/core/content.h"
#include "common/sqlite.h"

namespace liman::containerd::metadata {

// Creates the namespace row if missing: as in containerd, creating any object in a namespace
// creates the namespace.
absl::Status EnsureNamespace(sqlite::Connection& db, std::string_view ns);

// The next number of the counter `name` (1, 2, …; never reused).
absl::StatusOr<int64_t> NextSequence(sqlite::Connection& db, std::string_view name);

// The counter that numbers backend ingest refs and snapshot keys.
inline constexpr char kBackendSequence[] = "backend";

// The key an object gets in a backend shared by all namespaces (containerd's createKey).
std::string BackendKey(std::string_view ns, int64_t sequence, std::string_view key);

// Lease resource types (containerd's bucket names).
inline constexpr char kResourceContent[] = "content";
inline constexpr char kResourceIngests[] = "ingests";
std::string SnapshotResourceType(std::string_view snapshotter);

// Records that lease `lease` holds (`type`, `id`); kNotFound if the lease does not exist.
// Nothing to do when `lease` is empty.
absl::Status AddLeaseResource(sqlite::Connection& db, std::string_view ns, std::string_view lease,
                              std::string_view type, std::string_view id);
// Drops (`type`, `id`) from lease `lease` if it holds it; nothing to do when `lease` is empty.
absl::Status RemoveLeaseResource(sqlite::Connection& db, std::string_view ns, std::string_view lease,
                                 std::string_view type, std::string_view id);

// Labels from a JSON column.
absl::StatusOr<Labels> LabelsColumn(const sqlite::Statement& stmt, int column);

// containerd writes maps without their empty values: setting a label to "" removes it.
void DropEmptyValues(Labels& labels);

// containerd's field mask rule for a string map field named `field` ("labels"): the path
// `field` replaces the whole map with `from`'s, `field.<key>` sets that key to `from`'s value
// (empty, hence removed, when `from` lacks it). False when `path` is about another field.
bool ApplyMapFieldPath(std::string_view path, std::string_view field, Labels& target, const Labels& from);

}  // namespace liman::containerd::metadata
