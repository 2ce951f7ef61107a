#include "containerd/metadata/gc.h"

#include <compare>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/fmt_absl.h"
#include "common/logging.h"
#include "common/status.h"
#include "containerd/metadata/codec.h"
#include "containerd/metadata/records.h"
#include "containerd/metadata/rows.h"

namespace liman::containerd::metadata {
namespace {

enum class NodeType { kContent, kSnapshot, kLease, kIngest };

// A resource in one namespace. Snapshot keys are "<snapshotter>/<key>". A flat node (reached
// through a gc.flat lease) does not follow label references.
struct Node {
  NodeType type;
  std::string ns;
  std::string key;
  bool flat = false;
  auto operator<=>(const Node&) const = default;
};

using NsKey = std::pair<std::string, std::string>;

struct SnapshotRow {
  std::string parent;
  Labels labels;
};

// Everything the mark phase needs, read once inside the collection's transaction.
struct Graph {
  std::vector<Node> roots;
  std::vector<NsKey> leases;
  std::map<NsKey, Labels> content;         // (ns, digest) -> labels
  std::map<NsKey, SnapshotRow> snapshots;  // (ns, "<snapshotter>/<key>")
  std::map<NsKey, std::string> ingests;    // (ns, ref) -> shared blob ("" for none)
};

std::string SnapshotNodeKey(std::string_view snapshotter, std::string_view key) {
  return fmt::format("{}/{}", snapshotter, key);
}

bool HasPrefix(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// The references gc.ref labels make (containerd's sendLabelRefs).
void LabelReferences(const std::string& ns, const Labels& labels, std::vector<Node>& out) {
  constexpr std::string_view kContent = labels::kGcRefContent;
  for (auto it = labels.lower_bound(std::string(kContent)); it != labels.end() && HasPrefix(it->first, kContent);
       ++it) {
    // "containerd.io/gc.ref.content", or followed by '.' or '/' and any name.
    if (it->first.size() > kContent.size() && it->first[kContent.size()] != '.' && it->first[kContent.size()] != '/')
      continue;
    out.push_back(Node{NodeType::kContent, ns, it->second});
  }
  constexpr std::string_view kSnapshot = labels::kGcRefSnapshotPrefix;
  for (auto it = labels.lower_bound(std::string(kSnapshot)); it != labels.end() && HasPrefix(it->first, kSnapshot);
       ++it) {
    std::string_view snapshotter = std::string_view(it->first).substr(kSnapshot.size());
    snapshotter = snapshotter.substr(0, snapshotter.find('/'));
    out.push_back(Node{NodeType::kSnapshot, ns, SnapshotNodeKey(snapshotter, it->second)});
  }
}

template <typename RowFn>
absl::Status ForEachRow(sqlite::Connection& db, std::string_view sql, RowFn fn) {
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare(sql));
  while (true) {
    LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return absl::OkStatus();
    LIMAN_RETURN_IF_ERROR(fn(stmt));
  }
}

// Leases that have not expired are roots, and so is everything they hold.
absl::Status ScanLeases(sqlite::Connection& db, absl::Time now, Graph& graph) {
  std::map<NsKey, std::vector<std::pair<std::string, std::string>>> resources;  // lease -> (type, id)
  LIMAN_RETURN_IF_ERROR(ForEachRow(db, "SELECT namespace, lease_id, type, id FROM lease_resources",
                                   [&](const sqlite::Statement& row) -> absl::Status {
                                     resources[{row.Text(0), row.Text(1)}].emplace_back(row.Text(2), row.Text(3));
                                     return absl::OkStatus();
                                   }));
  return ForEachRow(db, "SELECT namespace, id, labels FROM leases", [&](const sqlite::Statement& row) -> absl::Status {
    NsKey lease{row.Text(0), row.Text(1)};
    graph.leases.push_back(lease);
    LIMAN_ASSIGN_OR_RETURN(Labels lease_labels, LabelsColumn(row, 2));
    if (auto it = lease_labels.find(labels::kGcExpire); it != lease_labels.end()) {
      std::optional<absl::Time> expires = ParseRfc3339(it->second);
      if (!expires) {
        LogInfo("lease {} in namespace {}: ignoring invalid expiration value {}", Quote(lease.second),
                Quote(lease.first), Quote(it->second));
      } else if (now > *expires) {
        return absl::OkStatus();  // expired: protects nothing and goes itself
      }
    }
    bool flat = lease_labels.contains(labels::kGcFlat);
    const std::string& ns = lease.first;
    graph.roots.push_back(Node{NodeType::kLease, ns, lease.second});
    for (const auto& [type, id] : resources[lease]) {
      if (type == kResourceContent) {
        graph.roots.push_back(Node{NodeType::kContent, ns, id, flat});
      } else if (type == kResourceIngests) {
        graph.roots.push_back(Node{NodeType::kIngest, ns, id});
      } else if (HasPrefix(type, "snapshots/")) {
        graph.roots.push_back(Node{NodeType::kSnapshot, ns, SnapshotNodeKey(type.substr(10), id), flat});
      }
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<Graph> LoadGraph(sqlite::Connection& db, absl::Time now) {
  Graph graph;
  LIMAN_RETURN_IF_ERROR(ScanLeases(db, now, graph));
  LIMAN_RETURN_IF_ERROR(ForEachRow(db, "SELECT namespace, target_digest, labels FROM images",
                                   [&](const sqlite::Statement& row) -> absl::Status {
                                     std::string ns = row.Text(0);
                                     graph.roots.push_back(Node{NodeType::kContent, ns, row.Text(1)});
                                     LIMAN_ASSIGN_OR_RETURN(Labels image_labels, LabelsColumn(row, 2));
                                     LabelReferences(ns, image_labels, graph.roots);
                                     return absl::OkStatus();
                                   }));
  LIMAN_RETURN_IF_ERROR(
      ForEachRow(db, "SELECT namespace, ref, CASE WHEN shared THEN expected ELSE '' END, expires_at FROM ingests",
                 [&](const sqlite::Statement& row) -> absl::Status {
                   NsKey ingest{row.Text(0), row.Text(1)};
                   graph.ingests[ingest] = row.Text(2);
                   // A lease-less ingest is kept until it expires; a leased one (no expiry) by its lease.
                   if (!row.IsNull(3) && DecodeTime(row.Int(3)) > now)
                     graph.roots.push_back(Node{NodeType::kIngest, ingest.first, ingest.second});
                   return absl::OkStatus();
                 }));
  LIMAN_RETURN_IF_ERROR(ForEachRow(db, "SELECT namespace, digest, labels FROM content",
                                   [&](const sqlite::Statement& row) -> absl::Status {
                                     NsKey blob{row.Text(0), row.Text(1)};
                                     LIMAN_ASSIGN_OR_RETURN(Labels blob_labels, LabelsColumn(row, 2));
                                     if (blob_labels.contains(labels::kGcRoot))
                                       graph.roots.push_back(Node{NodeType::kContent, blob.first, blob.second});
                                     graph.content[blob] = std::move(blob_labels);
                                     return absl::OkStatus();
                                   }));
  LIMAN_RETURN_IF_ERROR(
      ForEachRow(db, "SELECT namespace, snapshotter, snapshot_key, labels FROM containers",
                 [&](const sqlite::Statement& row) -> absl::Status {
                   std::string ns = row.Text(0);
                   if (std::string snapshotter = row.Text(1); !snapshotter.empty())
                     graph.roots.push_back(Node{NodeType::kSnapshot, ns, SnapshotNodeKey(snapshotter, row.Text(2))});
                   LIMAN_ASSIGN_OR_RETURN(Labels container_labels, LabelsColumn(row, 3));
                   LabelReferences(ns, container_labels, graph.roots);
                   return absl::OkStatus();
                 }));
  LIMAN_RETURN_IF_ERROR(
      ForEachRow(db, "SELECT namespace, snapshotter, key, parent, labels FROM snapshots",
                 [&](const sqlite::Statement& row) -> absl::Status {
                   std::string snapshotter = row.Text(1);
                   NsKey snapshot{row.Text(0), SnapshotNodeKey(snapshotter, row.Text(2))};
                   SnapshotRow data;
                   if (!row.IsNull(3)) data.parent = SnapshotNodeKey(snapshotter, row.Text(3));
                   LIMAN_ASSIGN_OR_RETURN(data.labels, LabelsColumn(row, 4));
                   if (data.labels.contains(labels::kGcRoot))
                     graph.roots.push_back(Node{NodeType::kSnapshot, snapshot.first, snapshot.second});
                   graph.snapshots[snapshot] = std::move(data);
                   return absl::OkStatus();
                 }));
  return graph;
}

// What `node` keeps alive (containerd's references).
void References(const Graph& graph, const Node& node, std::vector<Node>& out) {
  NsKey id{node.ns, node.key};
  switch (node.type) {
    case NodeType::kContent:
      if (node.flat) return;
      if (auto it = graph.content.find(id); it != graph.content.end()) LabelReferences(node.ns, it->second, out);
      return;
    case NodeType::kSnapshot:
      if (auto it = graph.snapshots.find(id); it != graph.snapshots.end()) {
        if (!it->second.parent.empty()) out.push_back(Node{NodeType::kSnapshot, node.ns, it->second.parent, node.flat});
        if (!node.flat) LabelReferences(node.ns, it->second.labels, out);
      }
      return;
    case NodeType::kIngest:
      if (auto it = graph.ingests.find(id); it != graph.ingests.end() && !it->second.empty())
        out.push_back(Node{NodeType::kContent, node.ns, it->second});
      return;
    case NodeType::kLease:
      return;  // a lease's resources are roots already
  }
}

// Tricolour marking; the result forgets flatness (a node reached both ways counts once).
std::set<Node> Mark(const Graph& graph) {
  std::set<Node> seen;
  std::set<Node> reachable;
  std::vector<Node> gray = graph.roots;
  std::vector<Node> refs;
  while (!gray.empty()) {
    Node node = std::move(gray.back());
    gray.pop_back();
    if (!seen.insert(node).second) continue;
    refs.clear();
    References(graph, node, refs);
    for (Node& ref : refs) {
      if (!seen.contains(ref)) gray.push_back(std::move(ref));
    }
    node.flat = false;
    reachable.insert(std::move(node));
  }
  return reachable;
}

// Deletes the rows of the unmarked resources; returns the counts.
absl::Status Sweep(sqlite::Connection& db, const Graph& graph, const std::set<Node>& marked,
                   GarbageCollectStats& stats) {
  auto remove = [&](std::string_view sql, auto&&... args) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare(sql));
    return stmt.Bind(args...).Run();
  };
  for (const auto& [ns, id] : graph.leases) {
    if (marked.contains(Node{NodeType::kLease, ns, id})) continue;
    LIMAN_RETURN_IF_ERROR(remove("DELETE FROM leases WHERE namespace = ?1 AND id = ?2", ns, id));
    LogDebug("gc: removed lease {} in namespace {}", Quote(id), Quote(ns));
    ++stats.leases;
  }
  for (const auto& [key, row] : graph.snapshots) {
    if (marked.contains(Node{NodeType::kSnapshot, key.first, key.second})) continue;
    size_t slash = key.second.find('/');
    LIMAN_RETURN_IF_ERROR(remove("DELETE FROM snapshots WHERE namespace = ?1 AND snapshotter = ?2 AND key = ?3",
                                 key.first, key.second.substr(0, slash), key.second.substr(slash + 1)));
    LogDebug("gc: removed snapshot {} in namespace {}", Quote(key.second), Quote(key.first));
    ++stats.snapshots;
  }
  for (const auto& [key, expected] : graph.ingests) {
    if (marked.contains(Node{NodeType::kIngest, key.first, key.second})) continue;
    LIMAN_RETURN_IF_ERROR(remove("DELETE FROM ingests WHERE namespace = ?1 AND ref = ?2", key.first, key.second));
    LogDebug("gc: removed ingest {} in namespace {}", Quote(key.second), Quote(key.first));
    ++stats.ingests;
  }
  for (const auto& [key, blob_labels] : graph.content) {
    if (marked.contains(Node{NodeType::kContent, key.first, key.second})) continue;
    LIMAN_RETURN_IF_ERROR(remove("DELETE FROM content WHERE namespace = ?1 AND digest = ?2", key.first, key.second));
    LogDebug("gc: removed content {} in namespace {}", key.second, Quote(key.first));
    ++stats.content;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::set<std::string>> ReadStrings(DbState& state, std::string_view sql, std::string_view arg = {}) {
  std::set<std::string> values;
  LIMAN_RETURN_IF_ERROR(state.pool->Read([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare(sql));
    if (!arg.empty()) stmt.Bind(arg);
    while (true) {
      LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return absl::OkStatus();
      values.insert(stmt.Text(0));
    }
  }));
  return values;
}

// Blobs and backend ingests no row names.
absl::Status CollectContentBackend(DbState& state, GarbageCollectStats& stats) {
  std::unique_lock lock(state.content_lock);
  LIMAN_ASSIGN_OR_RETURN(
      std::set<std::string> digests,
      ReadStrings(state, "SELECT digest FROM content UNION SELECT expected FROM ingests WHERE shared"));
  LIMAN_ASSIGN_OR_RETURN(std::set<std::string> refs, ReadStrings(state, "SELECT backend_ref FROM ingests"));

  std::vector<std::string> unused;
  LIMAN_RETURN_IF_ERROR(state.content->Walk({}, [&](const ContentInfo& info) -> absl::Status {
    if (!digests.contains(info.digest)) unused.push_back(info.digest);
    return absl::OkStatus();
  }));
  for (const std::string& digest : unused) {
    absl::Status status = state.content->Delete(digest);
    if (absl::IsNotFound(status)) continue;
    if (!status.ok()) return Annotate(status, "gc: remove unreferenced content");
    LogDebug("gc: removed blob {}", digest);
    ++stats.blobs;
  }

  LIMAN_ASSIGN_OR_RETURN(std::vector<IngestStatus> ingests, state.content->ListStatuses({}));
  for (const IngestStatus& ingest : ingests) {
    if (refs.contains(ingest.ref)) continue;
    absl::Status status = state.content->Abort(ingest.ref);
    // Gone meanwhile, or a writer still holds it (an ingest of another process sharing the
    // backend, or one whose row was just collected: the next collection gets it).
    if (absl::IsNotFound(status) || absl::IsUnavailable(status)) continue;
    if (!status.ok()) return Annotate(status, "gc: abort unreferenced ingest");
    LogDebug("gc: aborted ingest {}", Quote(ingest.ref));
    ++stats.backend_ingests;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> CollectSnapshotterBackend(DbState& state, SnapshotterBackend& backend) {
  std::unique_lock lock(backend.lock);
  LIMAN_ASSIGN_OR_RETURN(std::set<std::string> used,
                         ReadStrings(state, "SELECT backend_key FROM snapshots WHERE snapshotter = ?1", backend.name));
  std::set<std::string> names;
  std::map<std::string, std::vector<std::string>> children;
  std::vector<std::pair<std::string, std::string>> snapshots;  // (name, parent)
  LIMAN_RETURN_IF_ERROR(backend.snapshotter->Walk({}, [&](const SnapshotInfo& info) -> absl::Status {
    names.insert(info.name);
    snapshots.emplace_back(info.name, info.parent);
    return absl::OkStatus();
  }));
  std::vector<std::string> roots;
  for (const auto& [name, parent] : snapshots) {
    if (parent.empty() || !names.contains(parent))
      roots.push_back(name);
    else
      children[parent].push_back(name);
  }

  // Children before parents: a backend refuses to remove a snapshot that has children.
  int64_t removed = 0;
  std::function<absl::Status(const std::string&)> prune = [&](const std::string& name) -> absl::Status {
    for (const std::string& child : children[name]) LIMAN_RETURN_IF_ERROR(prune(child));
    if (used.contains(name)) return absl::OkStatus();
    absl::Status status = backend.snapshotter->Remove(name);
    if (absl::IsFailedPrecondition(status)) {
      LogWarn("gc: snapshotter {}: keep snapshot {}: {}", backend.name, Quote(name), status);
      return absl::OkStatus();
    }
    if (absl::IsNotFound(status)) return absl::OkStatus();
    if (!status.ok()) return Annotate(status, fmt::format("gc: snapshotter {}: remove {}", backend.name, Quote(name)));
    LogDebug("gc: snapshotter {}: removed snapshot {}", backend.name, Quote(name));
    ++removed;
    return absl::OkStatus();
  };
  for (const std::string& root : roots) LIMAN_RETURN_IF_ERROR(prune(root));

  absl::Status cleanup = backend.snapshotter->Cleanup();
  if (!cleanup.ok() && !absl::IsUnimplemented(cleanup))
    return Annotate(cleanup, fmt::format("gc: snapshotter {}: cleanup", backend.name));
  return removed;
}

absl::StatusOr<GarbageCollectStats> CollectGarbage(DbState& state) {
  GarbageCollectStats stats;
  // Mark and sweep in one write transaction: nothing changes the rows in between.
  LIMAN_RETURN_IF_ERROR(state.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(Graph graph, LoadGraph(db, state.clock()));
    std::set<Node> marked = Mark(graph);
    return Sweep(db, graph, marked, stats);
  }));
  state.deletions = 0;

  LIMAN_RETURN_IF_ERROR(CollectContentBackend(state, stats));
  for (auto& [name, backend] : state.snapshotters) {
    LIMAN_ASSIGN_OR_RETURN(int64_t removed, CollectSnapshotterBackend(state, *backend));
    stats.backend_snapshots += removed;
  }
  if (stats.leases + stats.content + stats.ingests + stats.snapshots + stats.blobs + stats.backend_ingests +
          stats.backend_snapshots >
      0) {
    LogInfo("gc: removed {} leases, {} content, {} ingests, {} snapshots; backends: {} blobs, {} ingests, {} snapshots",
            stats.leases, stats.content, stats.ingests, stats.snapshots, stats.blobs, stats.backend_ingests,
            stats.backend_snapshots);
  }
  return stats;
}

}  // namespace liman::containerd::metadata
