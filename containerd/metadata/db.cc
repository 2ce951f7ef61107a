#include "containerd/metadata/db.h"

#include <mutex>

#include "common/file_util.h"
#include "common/fmt_absl.h"
#include "common/status.h"
#include "common/wall_clock.h"
#include "containerd/metadata/content_view.h"
#include "containerd/metadata/schema.h"
#include "containerd/metadata/snapshot_view.h"
#include "containerd/metadata/validate.h"

namespace liman::containerd::metadata {
namespace {

// containerd's plugin directory name for its bolt metadata, with our engine's suffix.
constexpr char kPluginDir[] = "io.containerd.metadata.v1.sqlite";
constexpr char kDatabaseFile[] = "meta.db";

}  // namespace

std::string DB::DatabasePath(const std::string& root) { return JoinPath(JoinPath(root, kPluginDir), kDatabaseFile); }

absl::StatusOr<std::unique_ptr<DB>> DB::Open(const std::string& root, DbOptions options) {
  if (options.content == nullptr) return absl::InvalidArgumentError("metadata: a content store is required");
  auto state = std::make_unique<DbState>();
  state->clock = options.clock ? std::move(options.clock) : [] { return WallClockNow(); };
  state->content_sharing = options.content_sharing;
  state->ingest_expiry = options.ingest_expiry;
  state->content = std::move(options.content);
  for (auto& [name, snapshotter] : options.snapshotters) {
    if (snapshotter == nullptr)
      return absl::InvalidArgumentError(fmt::format("metadata: snapshotter {} is null", Quote(name)));
    auto backend = std::make_unique<SnapshotterBackend>();
    backend->name = name;
    backend->staging = dynamic_cast<StagingSnapshotter*>(snapshotter.get());
    backend->snapshotter = std::move(snapshotter);
    state->snapshotters.emplace(name, std::move(backend));
  }

  // 0711 like containerd's plugin directories: others may traverse, not list.
  LIMAN_RETURN_IF_ERROR(MkdirAll(JoinPath(root, kPluginDir), 0711));
  std::string path = DatabasePath(root);
  absl::StatusOr<std::unique_ptr<sqlite::Pool>> pool = sqlite::Pool::Open(path, MigrateSchema);
  if (!pool.ok()) return Annotate(pool.status(), fmt::format("open metadata database {}", Quote(path)));
  state->pool = *std::move(pool);
  return std::unique_ptr<DB>(new DB(std::move(state)));
}

DB::DB(std::unique_ptr<DbState> state)
    : state_(std::move(state)), namespaces_(*state_), images_(*state_), containers_(*state_), leases_(*state_) {
  state_->collect_garbage = [this] { return GarbageCollect().status(); };
}

DB::~DB() = default;

absl::StatusOr<std::unique_ptr<ContentStore>> DB::ContentView(std::string_view ns, std::string_view lease) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  return std::make_unique<NamespacedContentStore>(*state_, std::string(ns), std::string(lease));
}

absl::StatusOr<std::unique_ptr<Snapshotter>> DB::SnapshotterView(std::string_view snapshotter, std::string_view ns,
                                                                 std::string_view lease) {
  LIMAN_RETURN_IF_ERROR(ValidateNamespace(ns));
  auto it = state_->snapshotters.find(snapshotter);
  if (it == state_->snapshotters.end())
    return absl::InvalidArgumentError(fmt::format("snapshotter not loaded: {}", snapshotter));
  SnapshotterBackend& backend = *it->second;
  if (backend.staging != nullptr)
    return std::make_unique<NamespacedStagingSnapshotter>(*state_, backend, std::string(ns), std::string(lease));
  return std::make_unique<NamespacedSnapshotter>(*state_, backend, std::string(ns), std::string(lease));
}

std::vector<std::string> DB::SnapshotterNames() const {
  std::vector<std::string> names;
  for (const auto& [name, backend] : state_->snapshotters) names.push_back(name);
  return names;
}

absl::StatusOr<GarbageCollectStats> DB::GarbageCollect() {
  std::lock_guard lock(state_->gc_mutex);
  return CollectGarbage(*state_);
}

}  // namespace liman::containerd::metadata
