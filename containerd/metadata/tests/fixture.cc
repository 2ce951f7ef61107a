#include "containerd/metadata/tests/fixture.h"

#include <algorithm>

#include "common/file_util.h"
#include "containerd/content/digest.h"

namespace liman::containerd::metadata::testing {

Env::Env(EnvOptions options) : options_(options) {
  content_ = Must(content::LocalStore::Open(JoinPath(dir_.path(), "content")));
  overlay_ = Must(snapshots::OverlaySnapshotter::Open(JoinPath(dir_.path(), "overlay")));
  Open();
}

// The DB goes before the backends it uses, and everything before the directory.
Env::~Env() { db_.reset(); }

void Env::Open() {
  DbOptions options;
  options.content = content_;
  options.snapshotters = {{kOverlay, overlay_}};
  options.content_sharing = options_.content_sharing;
  if (!options_.real_clock) options.clock = [clock = clock_] { return clock->Now(); };
  db_ = Must(DB::Open(dir_.path(), std::move(options)));
}

void Env::Reopen() {
  db_.reset();
  Open();
}

std::unique_ptr<ContentStore> Env::Content(const std::string& ns, const std::string& lease) {
  return Must(db_->ContentView(ns, lease));
}

std::unique_ptr<Snapshotter> Env::Snapshots(const std::string& ns, const std::string& lease) {
  return Must(db_->SnapshotterView(kOverlay, ns, lease));
}

std::string CommitBlob(ContentStore& store, const std::string& ref, const std::string& data, const Labels& labels) {
  std::string digest = content::Sha256Digest(data);
  std::unique_ptr<ContentWriter> writer = Must(store.Writer(ref, static_cast<int64_t>(data.size()), digest));
  Must(writer->Write(data));
  Must(writer->Commit(static_cast<int64_t>(data.size()), digest, labels));
  return digest;
}

std::vector<std::string> Digests(ContentStore& store, const std::vector<std::string>& filters) {
  std::vector<std::string> digests;
  Must(store.Walk(filters, [&](const ContentInfo& info) {
    digests.push_back(info.digest);
    return absl::OkStatus();
  }));
  std::sort(digests.begin(), digests.end());
  return digests;
}

std::vector<std::string> SnapshotNames(Snapshotter& snapshotter, const std::vector<std::string>& filters) {
  std::vector<std::string> names;
  Must(snapshotter.Walk(filters, [&](const SnapshotInfo& info) {
    names.push_back(info.name);
    return absl::OkStatus();
  }));
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> BackendSnapshots(Env& env) { return SnapshotNames(env.backend_snapshots()); }

std::vector<std::string> BackendBlobs(Env& env) { return Digests(env.backend_content()); }

Image TestImage(const std::string& name, const std::string& digest, int64_t size) {
  Image image;
  image.name = name;
  image.target.media_type = "application/vnd.oci.image.manifest.v1+json";
  image.target.digest = digest;
  image.target.size = size;
  return image;
}

Container TestContainer(const std::string& id) {
  Container container;
  container.id = id;
  container.runtime.name = "io.containerd.runc.v2";
  container.spec = Any{.type_url = "types.containerd.io/opencontainers/runtime-spec/1/Spec", .value = "{}"};
  return container;
}

}  // namespace liman::containerd::metadata::testing
