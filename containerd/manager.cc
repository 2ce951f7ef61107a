#include "containerd/manager.h"

#include "common/file_util.h"
#include "common/logging.h"
#include "common/status.h"
#include "containerd/content/local_store.h"
#include "containerd/snapshots/overlay_snapshotter.h"

namespace liman::containerd {

namespace {
// Plugin directories as containerd names them under its root.
constexpr char kContentDir[] = "io.containerd.content.v1.content";
constexpr char kOverlayDir[] = "io.containerd.snapshotter.v1.overlayfs";
constexpr char kSnapshotterName[] = "overlayfs";
}  // namespace

absl::StatusOr<std::unique_ptr<Manager>> Manager::Open(const server::DaemonConfig& config, server::Daemon* daemon) {
  std::unique_ptr<Manager> manager(new Manager());
  LIMAN_RETURN_IF_ERROR(MkdirAll(config.root, 0711));
  LIMAN_RETURN_IF_ERROR(MkdirAll(config.state, 0711));

  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<content::LocalStore> content,
                         content::LocalStore::Open(JoinPath(config.root, kContentDir)));
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<snapshots::OverlaySnapshotter> overlay,
                         snapshots::OverlaySnapshotter::Open(JoinPath(config.root, kOverlayDir)));
  metadata::DbOptions db_options;
  db_options.content = std::move(content);
  db_options.snapshotters[kSnapshotterName] = std::move(overlay);
  // containerd's default: a blob any namespace has is readable by another that knows its
  // digest once it commits a write of it (no second download across namespaces).
  db_options.content_sharing = metadata::ContentSharingPolicy::kShared;
  LIMAN_ASSIGN_OR_RETURN(manager->db_, metadata::DB::Open(config.root, std::move(db_options)));

  manager->events_ = std::make_unique<events::Exchange>();
  const std::string ttrpc_address = config.TtrpcAddress();
  LIMAN_RETURN_IF_ERROR(MkdirAll(ParentDirectory(ttrpc_address), 0700));
  LIMAN_ASSIGN_OR_RETURN(manager->ttrpc_, events::TtrpcEndpoint::Start(manager->events_.get(), ttrpc_address));

  tasks::TaskManagerOptions task_options;
  task_options.state_dir = config.state;
  task_options.root_dir = config.root;
  task_options.address = config.grpc_address;
  task_options.ttrpc_address = ttrpc_address;
  task_options.events = manager->events_.get();
  LIMAN_ASSIGN_OR_RETURN(manager->tasks_, tasks::TaskManager::Create(std::move(task_options)));
  LIMAN_ASSIGN_OR_RETURN(tasks::LoadReport loaded, manager->tasks_->LoadExisting());
  for (const std::string& task : loaded.adopted) LogInfo("adopted the running task {}", task);
  for (const std::string& task : loaded.cleaned) LogInfo("cleaned up task {}: its shim had died", task);

  services::ServiceDeps& deps = manager->deps_;
  deps.db = manager->db_.get();
  deps.events = manager->events_.get();
  deps.tasks = manager->tasks_.get();
  deps.daemon = daemon;
  deps.root = config.root;
  deps.state = config.state;
  deps.default_snapshotter = kSnapshotterName;
  deps.insecure_registries = config.insecure_registries;
  deps.docker_config = config.docker_config;
  deps.sync_fs = config.sync_fs;

  // A collection at start picks up what a crash left between a delete and its collection.
  if (absl::StatusOr<metadata::GarbageCollectStats> collected = manager->db_->GarbageCollect(); !collected.ok()) {
    LogWarn("garbage collection: {}", collected.status().message());
  }
  manager->collector_ = std::thread([m = manager.get()] { m->CollectGarbageLoop(absl::Seconds(1)); });
  return manager;
}

Manager::~Manager() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (collector_.joinable()) collector_.join();
  tasks_.reset();
  ttrpc_.reset();
}

void Manager::CollectGarbageLoop(absl::Duration interval) {
  absl::MutexLock lock(&mutex_);
  while (!stopping_) {
    auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return stopping_; };
    if (mutex_.AwaitWithTimeout(absl::Condition(&stopping), interval)) break;
    if (db_->DeletionsSinceCollection() == 0) continue;
    mutex_.Unlock();
    absl::StatusOr<metadata::GarbageCollectStats> collected = db_->GarbageCollect();
    if (!collected.ok()) LogWarn("garbage collection: {}", collected.status().message());
    mutex_.Lock();
  }
}

}  // namespace liman::containerd
