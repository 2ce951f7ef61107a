// A container's changes to its image's files: listed (docker diff: its overlay upper directory
// walked, each entry looked up in a view of the image) and made into images (docker commit and
// the builder's steps: its snapshot against a view of its parent through the manager's Diff, as a
// new gzip layer on that image, unpacked at once onto the image's snapshot (Prepare, Diff.Apply,
// Commit under the new chain id) so that the image runs without a pull, then a new config, OCI
// manifest and image record). Images are written under a lease: what a failure leaves half-made
// is collected.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <set>

#include "absl/time/clock.h"
#include "common/file_util.h"
#include "common/temp_mount.h"
#include "containerd/archive/apply.h"
#include "containerd/archive/byte_source.h"
#include "containerd/archive/compression.h"
#include "containerd/archive/diff.h"
#include "containerd/client/proto_convert.h"
#include "common/logging.h"
#include "common/random_bytes.h"
#include "common/sha256.h"
#include "common/status.h"
#include "containerd/remotes/image_spec.h"
#include "containerd/remotes/reference.h"
#include "containerd/remotes/unpacker.h"
#include "containerd/services/images/v1/images.grpc.pb.h"
#include "ctl/liman-ctr/image_config.h"
#include "engine/daemon/daemon.h"
#include "engine/daemon/dockerfile.h"
#include "fmt/format.h"

namespace liman::engine {

namespace images = ::containerd::services::images::v1;
namespace snapshots = ::containerd::services::snapshots::v1;
namespace diff = ::containerd::services::diff::v1;
namespace content = ::containerd::services::content::v1;
namespace media_type = containerd::remotes::media_type;
using nlohmann::json;

namespace {

constexpr char kUncompressedLabel[] = "containerd.io/uncompressed";

// A lease for what one image takes to make, deleted when it goes.
class ImageLease {
 public:
  explicit ImageLease(ctr::Client& client) : client_(client) {}
  ~ImageLease() {
    if (id_) client_.ReleaseLease(*id_);
  }
  ImageLease(const ImageLease&) = delete;
  ImageLease& operator=(const ImageLease&) = delete;
  absl::Status Acquire() {
    LIMAN_ASSIGN_OR_RETURN(std::string id, client_.CreateLease());
    id_ = std::move(id);
    return absl::OkStatus();
  }
  const std::optional<std::string>& id() const { return id_; }

 private:
  ctr::Client& client_;
  std::optional<std::string> id_;
};

// A snapshot removed when this goes (a view, an unpack that was not committed) unless released.
class SnapshotRemoval {
 public:
  SnapshotRemoval(ctr::Client& client, std::string key, const std::optional<std::string>& lease)
      : client_(client), key_(std::move(key)), lease_(lease) {}
  ~SnapshotRemoval() {
    if (key_.empty()) return;
    snapshots::RemoveSnapshotRequest remove;
    remove.set_snapshotter(ctr::kDefaultSnapshotter);
    remove.set_key(key_);
    google::protobuf::Empty empty;
    auto context = client_.Context(lease_);
    grpc::Status status = client_.Snapshots().Remove(context.get(), remove, &empty);
    if (!status.ok() && status.error_code() != grpc::StatusCode::NOT_FOUND)
      LogWarn("remove snapshot {}: {}", key_, status.error_message());
  }
  SnapshotRemoval(const SnapshotRemoval&) = delete;
  SnapshotRemoval& operator=(const SnapshotRemoval&) = delete;
  void Release() { key_.clear(); }

 private:
  ctr::Client& client_;
  std::string key_;
  const std::optional<std::string>& lease_;
};

// One unary call to the manager under `lease`: `call(context, &response)` makes it; its error
// names `what`.
template <typename Response, typename Call>
absl::StatusOr<Response> Unary(ctr::Client& client, const std::optional<std::string>& lease, std::string_view what,
                               Call&& call) {
  Response response;
  auto context = client.Context(lease);
  grpc::Status status = call(context.get(), &response);
  if (!status.ok()) return ctr::CallError(status, what);
  return response;
}

absl::StatusOr<snapshots::Info> StatSnapshot(ctr::Client& client, const std::string& key,
                                             const std::optional<std::string>& lease) {
  snapshots::StatSnapshotRequest stat;
  stat.set_snapshotter(ctr::kDefaultSnapshotter);
  stat.set_key(key);
  LIMAN_ASSIGN_OR_RETURN(auto info, Unary<snapshots::StatSnapshotResponse>(
                                        client, lease, fmt::format("snapshot {}", key), [&](auto* context, auto* out) {
                                          return client.Snapshots().Stat(context, stat, out);
                                        }));
  return info.info();
}

// A read-only view of the committed snapshot `parent` ("liman-view-…"), its removal put in
// `removal`; its mounts.
absl::StatusOr<google::protobuf::RepeatedPtrField<::containerd::types::Mount>> ViewSnapshot(
    ctr::Client& client, const std::string& parent, const std::optional<std::string>& lease,
    std::optional<SnapshotRemoval>& removal) {
  snapshots::ViewSnapshotRequest view;
  view.set_snapshotter(ctr::kDefaultSnapshotter);
  view.set_key("liman-view-" + RandomHex(8));
  view.set_parent(parent);
  LIMAN_ASSIGN_OR_RETURN(auto viewed, Unary<snapshots::ViewSnapshotResponse>(
                                          client, lease, fmt::format("view of snapshot {}", parent),
                                          [&](auto* context, auto* out) {
                                            return client.Snapshots().View(context, view, out);
                                          }));
  removal.emplace(client, view.key(), lease);
  return viewed.mounts();
}

// The mounts of the active snapshot `key`.
absl::StatusOr<google::protobuf::RepeatedPtrField<::containerd::types::Mount>> SnapshotMounts(
    ctr::Client& client, const std::string& key, const std::optional<std::string>& lease) {
  snapshots::MountsRequest request;
  request.set_snapshotter(ctr::kDefaultSnapshotter);
  request.set_key(key);
  LIMAN_ASSIGN_OR_RETURN(auto mounts, Unary<snapshots::MountsResponse>(
                                          client, lease, fmt::format("mounts of snapshot {}", key),
                                          [&](auto* context, auto* out) {
                                            return client.Snapshots().Mounts(context, request, out);
                                          }));
  return mounts.mounts();
}

struct WrittenLayer {
  ctr::Descriptor blob;
  std::string diff_id;
};

// The layer of a container's changes: its snapshot against a view of the snapshot's parent (no
// view for a container of an image without layers).
absl::StatusOr<WrittenLayer> DiffContainer(ctr::Client& client, const std::string& container_id,
                                           const std::optional<std::string>& lease) {
  LIMAN_ASSIGN_OR_RETURN(snapshots::Info info, StatSnapshot(client, container_id, lease));
  diff::DiffRequest request;
  std::optional<SnapshotRemoval> view_removal;
  if (!info.parent().empty()) {
    LIMAN_ASSIGN_OR_RETURN(*request.mutable_left(), ViewSnapshot(client, info.parent(), lease, view_removal));
  }
  LIMAN_ASSIGN_OR_RETURN(*request.mutable_right(), SnapshotMounts(client, container_id, lease));
  request.set_media_type(std::string(media_type::kOciLayerGzip));
  request.set_ref("liman-commit-" + RandomHex(8));
  LIMAN_ASSIGN_OR_RETURN(auto response, Unary<diff::DiffResponse>(
                                            client, lease, fmt::format("diff of container {}", container_id),
                                            [&](auto* context, auto* out) { return client.Diff().Diff(context, request, out); }));

  WrittenLayer layer{.blob = ctr::FromProto(response.diff())};
  content::InfoRequest info_request;
  info_request.set_digest(layer.blob.digest);
  LIMAN_ASSIGN_OR_RETURN(auto blob_info, Unary<content::InfoResponse>(
                                             client, lease, fmt::format("layer {}", layer.blob.digest),
                                             [&](auto* context, auto* out) {
                                               return client.Content().Info(context, info_request, out);
                                             }));
  auto uncompressed = blob_info.info().labels().find(kUncompressedLabel);
  if (uncompressed == blob_info.info().labels().end())
    return absl::InternalError(fmt::format("layer {} has no {} label", layer.blob.digest, kUncompressedLabel));
  layer.diff_id = uncompressed->second;
  return layer;
}

// `layer` applied onto the committed snapshot `parent` ("" for none) as the committed snapshot
// `chain_id`, unless that exists already (another image with the same layers).
absl::Status UnpackLayer(ctr::Client& client, const WrittenLayer& layer, const std::string& parent,
                         const std::string& chain_id, const std::optional<std::string>& lease) {
  // An existing snapshot may be one an image just removed left to the collector: the lease takes
  // it first, so what Stat finds stays until the new config's label references it (the
  // collector marks and sweeps in one transaction; a snapshot it swept before is not found).
  if (lease)
    LIMAN_RETURN_IF_ERROR(
        client.AddLeaseResource(*lease, fmt::format("snapshots/{}", ctr::kDefaultSnapshotter), chain_id));
  absl::StatusOr<snapshots::Info> existing = StatSnapshot(client, chain_id, lease);
  if (existing.ok()) return absl::OkStatus();
  if (!absl::IsNotFound(existing.status())) return existing.status();

  snapshots::PrepareSnapshotRequest prepare;
  prepare.set_snapshotter(ctr::kDefaultSnapshotter);
  prepare.set_key("liman-unpack-" + RandomHex(8));
  prepare.set_parent(parent);
  LIMAN_ASSIGN_OR_RETURN(auto prepared, Unary<snapshots::PrepareSnapshotResponse>(
                                            client, lease, fmt::format("prepare snapshot for layer {}", layer.blob.digest),
                                            [&](auto* context, auto* out) {
                                              return client.Snapshots().Prepare(context, prepare, out);
                                            }));
  SnapshotRemoval removal(client, prepare.key(), lease);

  diff::ApplyRequest apply;
  apply.mutable_diff()->set_media_type(layer.blob.media_type);
  apply.mutable_diff()->set_digest(layer.blob.digest);
  apply.mutable_diff()->set_size(layer.blob.size);
  *apply.mutable_mounts() = prepared.mounts();
  LIMAN_RETURN_IF_ERROR(Unary<diff::ApplyResponse>(client, lease, fmt::format("apply layer {}", layer.blob.digest),
                                                   [&](auto* context, auto* out) {
                                                     return client.Diff().Apply(context, apply, out);
                                                   })
                            .status());

  snapshots::CommitSnapshotRequest commit;
  commit.set_snapshotter(ctr::kDefaultSnapshotter);
  commit.set_name(chain_id);
  commit.set_key(prepare.key());
  absl::StatusOr<google::protobuf::Empty> committed = Unary<google::protobuf::Empty>(
      client, lease, fmt::format("commit snapshot {}", chain_id),
      [&](auto* context, auto* out) { return client.Snapshots().Commit(context, commit, out); });
  if (absl::IsAlreadyExists(committed.status())) return absl::OkStatus();  // made meanwhile
  LIMAN_RETURN_IF_ERROR(committed.status());
  removal.Release();
  return absl::OkStatus();
}

json DescriptorJson(const ctr::Descriptor& descriptor) {
  return {{"mediaType", descriptor.media_type}, {"digest", descriptor.digest}, {"size", descriptor.size}};
}

std::vector<std::string> DiffIds(const json& config) {
  std::vector<std::string> ids;
  const json rootfs = config.value("rootfs", json::object());
  for (const json& id : rootfs.value("diff_ids", json::array()))
    if (id.is_string()) ids.push_back(id.get<std::string>());
  return ids;
}

// Creates the image record `name`, or points it at the new target.
absl::Status RecordImage(ctr::Client& client, const std::string& name, const ctr::Descriptor& manifest) {
  images::Image record;
  record.set_name(name);
  record.mutable_target()->set_media_type(manifest.media_type);
  record.mutable_target()->set_digest(manifest.digest);
  record.mutable_target()->set_size(manifest.size);
  return client.PutImage(record);
}

// The config fields of a commit request's body, type-checked as moby decodes a container.Config
// (a string Cmd or Entrypoint is a list of one, as strslice takes it); unknown fields are ignored.
absl::StatusOr<json> CommitConfigFields(const json& body) {
  json fields = json::object();
  if (body.is_null()) return fields;
  if (!body.is_object()) return absl::InvalidArgumentError("json: cannot unmarshal the config: not an object");
  auto string_list = [](const json& value) {
    return value.is_array() && std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); });
  };
  for (const auto& [key, value] : body.items()) {
    if (value.is_null()) continue;
    auto bad = [&key](std::string_view what) {
      return absl::InvalidArgumentError(fmt::format("json: cannot unmarshal {}: not {}", key, what));
    };
    if (key == "Cmd" || key == "Entrypoint" || key == "Shell") {
      if (value.is_string()) {
        fields[key] = json::array({value});
        continue;
      }
      if (!string_list(value)) return bad("a list of strings");
    } else if (key == "Env" || key == "OnBuild") {
      if (!string_list(value)) return bad("a list of strings");
    } else if (key == "Labels") {
      if (!value.is_object() || !std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); }))
        return bad("an object of strings");
    } else if (key == "ExposedPorts" || key == "Volumes" || key == "Healthcheck") {
      if (!value.is_object()) return bad("an object");
    } else if (key == "User" || key == "WorkingDir" || key == "StopSignal" || key == "Hostname" ||
               key == "Domainname" || key == "Image") {
      if (!value.is_string()) return bad("a string");
    } else if (key == "Tty" || key == "OpenStdin" || key == "StdinOnce" || key == "AttachStdin" ||
               key == "AttachStdout" || key == "AttachStderr" || key == "ArgsEscaped") {
      if (!value.is_boolean()) return bad("a boolean");
    } else {
      continue;
    }
    fields[key] = value;
  }
  return fields;
}

}  // namespace

absl::StatusOr<Daemon::ImageContents> Daemon::WriteImage(const NewImage& image) {
  ImageLease lease(*client_);
  LIMAN_RETURN_IF_ERROR(lease.Acquire());
  ctr::Platform platform = ctr::HostPlatform();
  json config = image.base ? image.base->config
                           : json{{"architecture", platform.architecture},
                                  {"os", platform.os},
                                  {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}};
  std::vector<ctr::Descriptor> layers = image.base ? image.base->layers : std::vector<ctr::Descriptor>();
  std::vector<std::string> diff_ids = DiffIds(config);
  std::string created = absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone());
  json history = image.history;  // none for an empty base (FROM scratch)
  if (!history.is_null()) history["created"] = created;
  if (!image.layer_from.empty()) {
    LIMAN_ASSIGN_OR_RETURN(WrittenLayer layer, DiffContainer(*client_, image.layer_from, lease.id()));
    std::string parent = ctr::ChainId(diff_ids);
    diff_ids.push_back(layer.diff_id);
    LIMAN_RETURN_IF_ERROR(UnpackLayer(*client_, layer, parent, ctr::ChainId(diff_ids), lease.id()));
    layers.push_back(layer.blob);
  } else if (!history.is_null()) {
    history["empty_layer"] = true;
  }
  config["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
  if (!config.contains("history") || !config["history"].is_array()) config["history"] = json::array();
  if (!history.is_null()) config["history"].push_back(history);
  config["created"] = created;
  if (!image.author.empty()) config["author"] = image.author;
  config["config"] = image.run_config;

  std::string config_text = config.dump();
  ctr::Descriptor config_blob{.media_type = std::string(media_type::kOciConfig),
                              .digest = "sha256:" + Sha256Hex(config_text),
                              .size = static_cast<int64_t>(config_text.size())};
  std::map<std::string, std::string> config_labels;
  // The config keeps the unpacked snapshot from collection, as the unpacker's does.
  if (!diff_ids.empty())
    config_labels[containerd::remotes::kGcSnapshotLabelPrefix + std::string(ctr::kDefaultSnapshotter)] =
        ctr::ChainId(diff_ids);
  LIMAN_RETURN_IF_ERROR(client_->WriteBlob(config_text, config_blob.digest, config_labels, lease.id()));

  json manifest = {{"schemaVersion", 2},
                   {"mediaType", media_type::kOciManifest},
                   {"config", DescriptorJson(config_blob)},
                   {"layers", json::array()}};
  std::map<std::string, std::string> manifest_labels = {{"containerd.io/gc.ref.content.config", config_blob.digest}};
  for (size_t i = 0; i < layers.size(); ++i) {
    manifest["layers"].push_back(DescriptorJson(layers[i]));
    manifest_labels[fmt::format("containerd.io/gc.ref.content.l.{}", i)] = layers[i].digest;
  }
  std::string manifest_text = manifest.dump();
  ctr::Descriptor manifest_blob{.media_type = std::string(media_type::kOciManifest),
                                .digest = "sha256:" + Sha256Hex(manifest_text),
                                .size = static_cast<int64_t>(manifest_text.size())};
  LIMAN_RETURN_IF_ERROR(client_->WriteBlob(manifest_text, manifest_blob.digest, manifest_labels, lease.id()));
  LIMAN_RETURN_IF_ERROR(
      RecordImage(*client_, image.name.empty() ? DanglingImageName(manifest_blob.digest) : image.name, manifest_blob));
  return ImageContents{config_blob.digest, std::move(config), std::move(layers), manifest_blob};
}

absl::Status Daemon::NameImage(const ImageContents& image, const std::string& name) {
  LIMAN_RETURN_IF_ERROR(RecordImage(*client_, name, image.manifest));
  LIMAN_RETURN_IF_ERROR(RemoveImageRecord(DanglingImageName(image.manifest.digest)));
  absl::StatusOr<containerd::remotes::Reference> reference = containerd::remotes::ParseReference(name);
  events_.Publish(EngineEvent{"image", "tag", image.id,
                              {{"name", reference.ok() ? containerd::remotes::FamiliarString(*reference) : name}},
                              {}});
  return absl::OkStatus();
}

absl::Status Daemon::RecordDanglingImage(const ImageContents& image) {
  return RecordImage(*client_, DanglingImageName(image.manifest.digest), image.manifest);
}

namespace {

// docker diff's kinds (moby's archive.ChangeType).
enum ChangeKind { kModified = 0, kAdded = 1, kDeleted = 2 };

// Walks the overlay upper directory `dir_fd` ("" its path in the container): a character device
// 0/0 is a deletion (overlay's whiteout), anything else an addition or, when `lower_root` has the
// path, a modification. An opaque directory's hidden lower entries are not listed (as moby's).
absl::Status WalkUpper(int dir_fd, const std::string& path, int lower_root, json& changes) {
  absl::StatusOr<std::vector<std::string>> names = ListDir(fmt::format("/proc/self/fd/{}", dir_fd));
  if (!names.ok()) return Annotate(names.status(), fmt::format("the upper directory {}", Quote(path.empty() ? "/" : path)));
  std::sort(names->begin(), names->end());
  for (const std::string& name : *names) {
    std::string child = path + "/" + name;
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
    if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0) {
      changes.push_back({{"Path", child}, {"Kind", kDeleted}});
      continue;
    }
    bool in_lower = lower_root >= 0 && OpenInRoot(lower_root, child, O_PATH | O_NOFOLLOW).ok();
    changes.push_back({{"Path", child}, {"Kind", in_lower ? kModified : kAdded}});
    if (!S_ISDIR(st.st_mode)) continue;
    UniqueFd sub(openat(dir_fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) return ErrnoError(fmt::format("open the upper directory {}", Quote(child)));
    LIMAN_RETURN_IF_ERROR(WalkUpper(sub.get(), child, lower_root, changes));
  }
  return absl::OkStatus();
}

// An option "name=value" of a mount.
std::optional<std::string> MountOption(const MountDescriptor& mount, std::string_view name) {
  for (const std::string& option : mount.options)
    if (option.size() > name.size() && option.starts_with(name) && option[name.size()] == '=')
      return option.substr(name.size() + 1);
  return std::nullopt;
}

// The changes without the mount points a start makes in the container's own files (moby makes
// them in an "init" layer below, so they are not the container's changes): added, they are
// dropped, and a directory that was only changed by them (/etc, /dev) with them.
json WithoutMountPoints(const json& changes) {
  static const std::set<std::string, std::less<>> kMountPoints = {
      "/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue",
      "/proc", "/sys", "/.dockerenv"};
  std::set<std::string> parents_of_dropped;
  json kept = json::array();
  for (const json& change : changes) {
    const std::string& path = change["Path"].get_ref<const std::string&>();
    if (change["Kind"] == kAdded && kMountPoints.contains(path)) {
      parents_of_dropped.insert(ParentDirectory(path));
      continue;
    }
    kept.push_back(change);
  }
  json result = json::array();
  for (const json& change : kept) {
    const std::string& path = change["Path"].get_ref<const std::string&>();
    bool only_mount_points = change["Kind"] == kModified && parents_of_dropped.contains(path) &&
                             std::none_of(kept.begin(), kept.end(), [&](const json& other) {
                               return other["Path"].get_ref<const std::string&>().starts_with(path + "/");
                             });
    if (!only_mount_points) result.push_back(change);
  }
  return result;
}

}  // namespace

absl::StatusOr<std::string> Daemon::ImportImage(const ImportRequest& request,
                                                const std::function<absl::StatusOr<std::string_view>()>& source) {
  std::string name;
  if (!request.repo.empty()) {
    absl::StatusOr<containerd::remotes::Reference> parsed = containerd::remotes::ParseReference(
        request.tag.empty() ? request.repo : request.repo + ":" + request.tag);
    if (!parsed.ok()) return absl::InvalidArgumentError(std::string(parsed.status().message()));
    name = parsed->String();
  }
  json run_config = json::object();
  LIMAN_RETURN_IF_ERROR(ApplyConfigChanges(request.changes, run_config));
  // The archive unpacked into a snapshot of its own, which then becomes the image's one layer.
  ImageLease lease(*client_);
  LIMAN_RETURN_IF_ERROR(lease.Acquire());
  snapshots::PrepareSnapshotRequest prepare;
  prepare.set_snapshotter(ctr::kDefaultSnapshotter);
  prepare.set_key("liman-import-" + RandomHex(8));
  LIMAN_ASSIGN_OR_RETURN(auto prepared, Unary<snapshots::PrepareSnapshotResponse>(
                                            *client_, lease.id(), "prepare a snapshot for the import",
                                            [&](auto* context, auto* out) {
                                              return client_->Snapshots().Prepare(context, prepare, out);
                                            }));
  SnapshotRemoval removal(*client_, prepare.key(), lease.id());
  {
    LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<TempMount> root,
                           TempMount::Mount(containerd::client::MountsFromProto(prepared.mounts()),
                                            JoinPath(options_.exec_root, "mounts")));
    containerd::archive::PieceByteSource body(source);
    std::string magic(4, '\0');
    LIMAN_ASSIGN_OR_RETURN(size_t magic_size, containerd::archive::ReadFull(body, magic.data(), magic.size()));
    magic.resize(magic_size);
    containerd::archive::Compression compression = containerd::archive::DetectCompression(magic);
    containerd::archive::PrefixedSource archive(std::move(magic), body);
    containerd::archive::ApplyOptions options;
    options.overlay_whiteouts = false;
    options.whiteouts = false;
    options.read_ahead = false;
    absl::StatusOr<containerd::archive::ApplyResult> applied = containerd::archive::ApplyLayer(
        archive, compression, root->dir(), options);
    if (!applied.ok()) return Annotate(applied.status(), "import: unpack the archive");
  }
  LIMAN_ASSIGN_OR_RETURN(
      ImageContents image,
      WriteImage(NewImage{.layer_from = prepare.key(),
                          .run_config = run_config,
                          .history = {{"created_by", ""},
                                      {"comment", request.message.empty() ? "Imported from -" : request.message}},
                          .name = name}));
  events_.Publish(EngineEvent{"image", "import", image.id, {{"name", image.id}}, {}});
  return image.id;
}

absl::Status Daemon::ExportContainer(const std::string& ref,
                                     const std::function<absl::Status(std::string_view)>& sink) {
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(ref));
  LIMAN_ASSIGN_OR_RETURN(auto mounts_proto, SnapshotMounts(*client_, container->id, std::nullopt));
  std::vector<MountDescriptor> mounts = containerd::client::MountsFromProto(mounts_proto);
  // Read-only, without taking the upper directory as an upper again (a running container's
  // overlay holds it; overlayfs refuses a second mount over it): the upper becomes the top lower,
  // or is bound alone when the image has no layers.
  for (MountDescriptor& mount : mounts) {
    if (mount.type != "overlay") continue;
    std::optional<std::string> upper = MountOption(mount, "upperdir");
    std::optional<std::string> lower = MountOption(mount, "lowerdir");
    if (!upper) continue;
    if (lower && !lower->empty()) {
      mount.options = {"lowerdir=" + *upper + ":" + *lower};
    } else {
      mount = MountDescriptor{.type = "bind", .source = *upper, .target = mount.target, .options = {"rbind"}};
    }
  }
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<TempMount> root,
                         TempMount::Mount(ReadOnlyMounts(std::move(mounts)), JoinPath(options_.exec_root, "mounts")));
  std::string parent = ParentDirectory(root->dir());
  UniqueFd parent_fd(open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!parent_fd) return ErrnoError(fmt::format("open {}", Quote(parent)));
  return containerd::archive::WriteEntryTar(parent_fd.get(), root->dir().substr(parent.size() + 1), ".", sink);
}

absl::StatusOr<json> Daemon::ContainerChanges(const std::string& ref) {
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(ref));
  LIMAN_ASSIGN_OR_RETURN(snapshots::Info info, StatSnapshot(*client_, container->id, std::nullopt));
  LIMAN_ASSIGN_OR_RETURN(auto mounts_proto, SnapshotMounts(*client_, container->id, std::nullopt));
  std::vector<MountDescriptor> mounts = containerd::client::MountsFromProto(mounts_proto);
  // The container's own files: the overlay's upper directory, or the whole bind of a snapshot
  // without a parent.
  std::string upper;
  if (mounts.size() == 1 && mounts[0].type == "overlay") {
    upper = MountOption(mounts[0], "upperdir").value_or("");
  } else if (mounts.size() == 1 && mounts[0].type == "bind") {
    upper = mounts[0].source;
  }
  if (upper.empty())
    return absl::UnimplementedError(fmt::format("changes of container {}: its snapshot is not an overlay", ref));
  // The image's files, to tell a modification from an addition.
  std::optional<SnapshotRemoval> view_removal;
  std::unique_ptr<TempMount> lower;
  UniqueFd lower_root;
  if (!info.parent().empty()) {
    LIMAN_ASSIGN_OR_RETURN(auto view, ViewSnapshot(*client_, info.parent(), std::nullopt, view_removal));
    LIMAN_ASSIGN_OR_RETURN(lower, TempMount::Mount(containerd::client::MountsFromProto(view),
                                                   JoinPath(options_.exec_root, "mounts")));
    lower_root.reset(open(lower->dir().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!lower_root) return ErrnoError(fmt::format("open {}", Quote(lower->dir())));
  }
  UniqueFd upper_fd(open(upper.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!upper_fd) return ErrnoError(fmt::format("open {}", Quote(upper)));
  json changes = json::array();
  LIMAN_RETURN_IF_ERROR(WalkUpper(upper_fd.get(), "", lower_root ? lower_root.get() : -1, changes));
  return WithoutMountPoints(changes);
}

absl::StatusOr<std::string> Daemon::CommitContainer(const std::string& ref, const CommitRequest& request) {
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(ref));
  std::string name;
  if (!request.repo.empty()) {
    absl::StatusOr<containerd::remotes::Reference> parsed = containerd::remotes::ParseReference(
        request.repo + ":" + (request.tag.empty() ? "latest" : request.tag));
    if (!parsed.ok()) return absl::InvalidArgumentError(std::string(parsed.status().message()));
    name = parsed->String();
  }
  std::string image_id;
  json run_config;
  bool pause = false;
  {
    std::lock_guard lock(mu_);
    image_id = container->record.value("Image", "");
    run_config = container->record.value("Config", json::object());
    pause = request.pause && container->Running() && !container->record["State"].value("Paused", false);
  }
  // The request's config replaces what it sets (moby's merge), then the changes apply.
  LIMAN_ASSIGN_OR_RETURN(json fields, CommitConfigFields(request.config));
  for (const auto& [key, value] : fields.items())
    if (!(value.is_string() && value.get<std::string>().empty())) run_config[key] = value;
  LIMAN_RETURN_IF_ERROR(ApplyConfigChanges(request.changes, run_config));
  LIMAN_ASSIGN_OR_RETURN(ImageContents base, FindImageContents(image_id));
  std::string created_by;
  for (const json& word : container->record["Config"].value("Cmd", json::array()))
    if (word.is_string()) created_by += (created_by.empty() ? "" : " ") + word.get<std::string>();

  // Paused, the container's files hold still while they are read (docker commit --pause, the
  // default).
  bool paused_here = pause && PauseContainer(container->id, true).ok();
  absl::StatusOr<ImageContents> written = WriteImage(NewImage{.base = std::move(base),
                                                              .layer_from = container->id,
                                                              .run_config = run_config,
                                                              .history = {{"created_by", created_by},
                                                                          {"comment", request.comment}},
                                                              .author = request.author,
                                                              .name = name});
  if (paused_here) {
    if (absl::Status resumed = PauseContainer(container->id, false); !resumed.ok())
      LogWarn("commit {}: unpause: {}", container->id, resumed);
  }
  if (!written.ok()) return Annotate(written.status(), fmt::format("commit container {}", ref));
  {
    std::lock_guard lock(mu_);
    ContainerEventLocked(*container, "commit",
                         {{"comment", request.comment}, {"imageID", written->id}, {"imageRef", name}});
  }
  return written->id;
}

}  // namespace liman::engine
