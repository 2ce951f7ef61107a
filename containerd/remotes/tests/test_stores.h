// The real content store and overlay snapshotter in a temporary directory, with the checks the
// pull, unpack and import tests share.
#pragma once

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/mount.h"
#include "containerd/content/local_store.h"
#include "containerd/remotes/tests/test_registry.h"
#include "containerd/snapshots/overlay_snapshotter.h"

namespace liman::containerd::remotes::testing {

inline void RequireOk(const absl::Status& status) {
  INFO(status.ToString());
  REQUIRE(status.ok());
}
template <typename T>
inline T RequireOk(absl::StatusOr<T> result) {
  RequireOk(result.status());
  return *std::move(result);
}

struct Stores {
  TempDir dir;
  std::unique_ptr<content::LocalStore> content;
  std::unique_ptr<snapshots::OverlaySnapshotter> snapshots;

  Stores() {
    content = RequireOk(content::LocalStore::Open(JoinPath(dir.path(), "content")));
    snapshots = RequireOk(snapshots::OverlaySnapshotter::Open(JoinPath(dir.path(), "snapshots")));
  }

  Labels LabelsOf(const std::string& digest) { return RequireOk(content->Info(digest)).labels; }
  bool HasBlob(const std::string& digest) { return content->Info(digest).ok(); }

  std::vector<SnapshotInfo> AllSnapshots() {
    std::vector<SnapshotInfo> all;
    RequireOk(snapshots->Walk({}, [&](const SnapshotInfo& info) {
      all.push_back(info);
      return absl::OkStatus();
    }));
    return all;
  }

  // What a container would see on top of snapshot `name`: path → "d", "f:<content>", "l:<target>".
  std::map<std::string, std::string> Tree(const std::string& name) {
    std::string key = "view-" + name;
    std::vector<MountDescriptor> mounts = RequireOk(snapshots->View(key, name, {}));
    TempDir target;
    RequireOk(MountAll(mounts, target.path()));
    std::map<std::string, std::string> tree;
    namespace fs = std::filesystem;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(target.path())) {
      std::string path = entry.path().string().substr(target.path().size() + 1);
      if (entry.is_symlink()) {
        tree[path] = "l:" + fs::read_symlink(entry.path()).string();
      } else if (entry.is_directory()) {
        tree[path] = "d";
      } else {
        tree[path] = "f:" + RequireOk(ReadFile(entry.path().string()));
      }
    }
    RequireOk(UnmountAll(target.path()));
    RequireOk(snapshots->Remove(key));
    return tree;
  }

  // Nothing half-done: no ingest, no active snapshot, no staging directory.
  void CheckNothingPending() {
    CHECK(RequireOk(content->ListStatuses({})).empty());
    for (const SnapshotInfo& info : AllSnapshots()) {
      INFO(info.name);
      CHECK(info.kind == SnapshotKind::kCommitted);
    }
    CHECK(RequireOk(ListDir(JoinPath(snapshots->root(), "staging"))).empty());
  }
};

}  // namespace liman::containerd::remotes::testing
