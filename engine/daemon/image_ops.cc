// Images: pull through the manager's Transfer service with Docker's progress messages, and
// list/inspect/tag/remove over its image records (names normalized as Docker and containerd
// do; an image's ID is its config digest).
#include <algorithm>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/status.h"
#include "containerd/remotes/reference.h"
#include "containerd/services/images/v1/images.grpc.pb.h"
#include "ctl/liman-ctr/image_resolve.h"
#include "ctl/liman-ctr/transfer.h"
#include "engine/daemon/daemon.h"
#include "fmt/format.h"
#include "liman/services/transfer/v1/transfer.grpc.pb.h"

namespace liman::engine {

namespace images = ::containerd::services::images::v1;
namespace transfer = ::liman::services::transfer::v1;
using containerd::remotes::FamiliarString;
using containerd::remotes::ParseReference;
using containerd::remotes::Reference;
using nlohmann::json;

std::string DanglingImageName(const std::string& manifest_digest) { return "moby-dangling@" + manifest_digest; }

bool IsDanglingImageName(const std::string& name) { return name.starts_with("moby-dangling@"); }

std::string BuildCacheImageName(const std::string& key) { return "docker.io/library/liman-build-cache:" + key; }

bool IsBuildCacheImageName(const std::string& name) {
  return name.starts_with("docker.io/library/liman-build-cache:");
}

namespace {

std::string ShortId(const std::string& digest) {
  size_t colon = digest.find(':');
  return digest.substr(colon == std::string::npos ? 0 : colon + 1, 12);
}

// Docker's X-Registry-Auth: base64url of {"username","password","serveraddress","identitytoken"}.
absl::StatusOr<transfer::RegistryAuth> ParseRegistryAuth(const std::string& header) {
  transfer::RegistryAuth auth;
  if (header.empty()) return auth;
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(header, &decoded) && !absl::Base64Unescape(header, &decoded))
    return absl::InvalidArgumentError("X-Registry-Auth is not base64");
  json parsed = json::parse(decoded, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    // Old clients send "{}" or nothing useful; treat undecodable as no credentials, as moby does.
    return auth;
  }
  auth.set_username(parsed.value("username", ""));
  auth.set_password(parsed.value("password", ""));
  auth.set_identity_token(parsed.value("identitytoken", ""));
  return auth;
}

struct ImageEntry {
  images::Image record;
  std::string config_digest;
  json config;  // the image config blob
  int64_t size = 0;
  int64_t config_size = 0;
  std::vector<ctr::Descriptor> layers;  // the layer blobs, bottom first
  ctr::Descriptor manifest;             // the host platform's manifest
};

std::string FamiliarName(const std::string& name) {
  absl::StatusOr<Reference> ref = ParseReference(name);
  return ref.ok() ? FamiliarString(*ref) : name;
}

// "busybox:latest" for a record that names a tag; nothing for a digest-only or unparsable name.
std::optional<std::string> FamiliarTag(const std::string& name) {
  absl::StatusOr<Reference> ref = ParseReference(name);
  if (!ref.ok() || ref->tag.empty()) return std::nullopt;
  return FamiliarString(*ref);
}

// "busybox@sha256:…" for a name's repository and the manifest digest.
std::string FamiliarDigest(const std::string& name, const std::string& digest) {
  absl::StatusOr<Reference> ref = ParseReference(name);
  if (!ref.ok()) return name + "@" + digest;
  Reference repo = *ref;
  repo.tag.clear();
  repo.digest = digest;
  return FamiliarString(repo);
}

int64_t CreatedSeconds(const json& config) {
  absl::Time created;
  std::string error;
  if (config.contains("created") && config["created"].is_string() &&
      absl::ParseTime(absl::RFC3339_full, config["created"].get<std::string>(), &created, &error))
    return absl::ToUnixSeconds(created);
  return 0;
}

}  // namespace

bool Daemon::InsecureRegistry(const std::string& domain) const {
  std::string host = domain.substr(0, domain.rfind(':'));
  // Docker treats 127.0.0.0/8 as insecure by default.
  if (absl::StartsWith(host, "127.") || host == "localhost" || host == "[::1]") return true;
  return std::find(options_.insecure_registries.begin(), options_.insecure_registries.end(), domain) !=
         options_.insecure_registries.end();
}

absl::Status Daemon::PullImage(const std::string& image, const std::string& tag, const std::string& registry_auth,
                               const std::function<void(const json&)>& progress) {
  std::string text = image;
  if (!tag.empty()) text += (absl::StartsWith(tag, "sha256:") ? "@" : ":") + tag;
  absl::StatusOr<Reference> ref = ParseReference(text);
  if (!ref.ok()) return absl::InvalidArgumentError(std::string(ref.status().message()));
  LIMAN_ASSIGN_OR_RETURN(transfer::RegistryAuth auth, ParseRegistryAuth(registry_auth));

  // What the name pointed to before: "Image is up to date" when it still does.
  std::string before;
  {
    images::GetImageRequest get;
    get.set_name(ref->String());
    images::GetImageResponse found;
    auto context = client_->Context();
    if (client_->Images().Get(context.get(), get, &found).ok()) before = found.image().target().digest();
  }

  transfer::PullRequest request;
  request.set_ref(ref->String());
  request.set_plain_http(InsecureRegistry(ref->domain));
  request.set_snapshotter(ctr::kDefaultSnapshotter);
  if (!auth.username().empty() || !auth.identity_token().empty()) *request.mutable_auth() = auth;
  auto context = client_->Context(std::nullopt, /*no_deadline=*/true);
  auto reader = client_->Transfer().Pull(context.get(), request);
  transfer::PullProgress message;
  std::set<std::string> announced;
  std::string target_digest;
  std::string object = ref->tag.empty() ? ref->digest : ref->tag;
  while (reader->Read(&message)) {
    for (const transfer::ContentProgress& item : message.progress()) {
      std::string id = ShortId(item.digest());
      const std::string& status = item.status();
      if (status == "resolved") {
        progress({{"status", "Pulling from " + ref->path}, {"id", object}});
      } else if (status == "exists") {
        progress({{"status", "Already exists"}, {"progressDetail", json::object()}, {"id", id}});
      } else if (status == "downloading") {
        if (announced.insert(item.digest()).second)
          progress({{"status", "Pulling fs layer"}, {"progressDetail", json::object()}, {"id", id}});
        if (item.offset() > 0)
          progress({{"status", "Downloading"},
                    {"progressDetail", {{"current", item.offset()}, {"total", item.total()}}},
                    {"id", id}});
      } else if (status == "downloaded") {
        progress({{"status", "Download complete"}, {"progressDetail", json::object()}, {"id", id}});
      } else if (status == "unpacked") {
        progress({{"status", "Extracting"},
                  {"progressDetail", {{"current", item.total()}, {"total", item.total()}}},
                  {"id", id}});
      } else if (status == "committed") {
        progress({{"status", "Pull complete"}, {"progressDetail", json::object()}, {"id", id}});
      }
    }
    if (message.has_result()) target_digest = message.result().target().digest();
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return ctr::CallError(status, fmt::format("pull {}", FamiliarString(*ref)));
  progress({{"status", "Digest: " + target_digest}});
  progress({{"status", fmt::format("Status: {} for {}", before == target_digest ? "Image is up to date" : "Downloaded newer image",
                                   FamiliarString(*ref))}});
  Reference repository = *ref;
  repository.tag.clear();
  repository.digest.clear();
  events_.Publish(EngineEvent{"image", "pull", FamiliarString(*ref), {{"name", FamiliarString(repository)}}, {}});
  return absl::OkStatus();
}

absl::Status Daemon::PushImage(const std::string& image, const std::string& tag, const std::string& registry_auth,
                               const std::function<void(const json&)>& progress) {
  absl::StatusOr<Reference> repository = ParseReference(image);
  if (!repository.ok()) return absl::InvalidArgumentError(std::string(repository.status().message()));
  if (!repository->digest.empty()) return absl::InvalidArgumentError("cannot push a digest reference");
  repository->tag.clear();
  LIMAN_ASSIGN_OR_RETURN(transfer::RegistryAuth auth, ParseRegistryAuth(registry_auth));

  // The tags to push: the one asked for, or with none (docker push --all-tags) every tag of the
  // repository, in name order as moby sends them.
  std::vector<Reference> tagged;
  if (!tag.empty()) {
    absl::StatusOr<Reference> ref = ParseReference(repository->Name() + ":" + tag);
    if (!ref.ok()) return absl::InvalidArgumentError(std::string(ref.status().message()));
    images::GetImageRequest get;
    get.set_name(ref->String());
    images::GetImageResponse found;
    auto context = client_->Context();
    if (client_->Images().Get(context.get(), get, &found).ok()) tagged.push_back(*ref);
  } else {
    images::ListImagesRequest list;
    images::ListImagesResponse listed;
    auto context = client_->Context();
    grpc::Status status = client_->Images().List(context.get(), list, &listed);
    if (!status.ok()) return ctr::CallError(status, "list images");
    for (const images::Image& record : listed.images()) {
      absl::StatusOr<Reference> ref = ParseReference(record.name());
      if (ref.ok() && !ref->tag.empty() && ref->Name() == repository->Name()) tagged.push_back(*ref);
    }
    std::sort(tagged.begin(), tagged.end(), [](const Reference& a, const Reference& b) { return a.tag < b.tag; });
  }
  if (tagged.empty())
    return absl::NotFoundError(fmt::format("An image does not exist locally with the tag: {}", FamiliarString(*repository)));

  progress({{"status", fmt::format("The push refers to repository [{}]", repository->Name())}});
  ctr::Platform platform = ctr::HostPlatform();
  for (const Reference& ref : tagged) {
    // The layers by their blob digests, shown (top first) by their diff ids as docker does.
    LIMAN_ASSIGN_OR_RETURN(ImageContents contents, ImageContentsByName(ref.String()));
    std::map<std::string, std::string> layer_ids;
    const json& diff_ids = contents.config.contains("rootfs") ? contents.config["rootfs"].value("diff_ids", json::array())
                                                              : json::array();
    for (size_t i = contents.layers.size(); i-- > 0;) {
      std::string id = ShortId(i < diff_ids.size() && diff_ids[i].is_string() ? diff_ids[i].get<std::string>()
                                                                              : contents.layers[i].digest);
      layer_ids[contents.layers[i].digest] = id;
      progress({{"status", "Preparing"}, {"progressDetail", json::object()}, {"id", id}});
    }
    transfer::PushRequest request;
    request.set_name(ref.String());
    request.set_platform(ctr::FormatPlatform(platform));
    request.set_plain_http(InsecureRegistry(ref.domain));
    if (!auth.username().empty() || !auth.identity_token().empty()) *request.mutable_auth() = auth;
    auto context = client_->Context(std::nullopt, /*no_deadline=*/true);
    auto reader = client_->Transfer().Push(context.get(), request);
    transfer::PushProgress message;
    ctr::Descriptor pushed;
    while (reader->Read(&message)) {
      for (const transfer::ContentProgress& item : message.progress()) {
        auto layer = layer_ids.find(item.digest());
        if (layer == layer_ids.end()) continue;  // the config and manifests are not shown
        const std::string& status = item.status();
        if (status == "exists") {
          progress({{"status", "Layer already exists"}, {"progressDetail", json::object()}, {"id", layer->second}});
        } else if (status == "uploading") {
          progress({{"status", "Pushing"},
                    {"progressDetail", {{"current", item.offset()}, {"total", item.total()}}},
                    {"id", layer->second}});
        } else if (status == "uploaded") {
          progress({{"status", "Pushed"}, {"progressDetail", json::object()}, {"id", layer->second}});
        } else if (status == "mounted") {
          progress({{"status", "Mounted from " + item.source()}, {"progressDetail", json::object()}, {"id", layer->second}});
        }
      }
      if (message.has_pushed()) pushed = ctr::FromProto(message.pushed());
    }
    grpc::Status status = reader->Finish();
    if (!status.ok()) return ctr::CallError(status, fmt::format("push {}", FamiliarString(ref)));
    progress({{"status", fmt::format("{}: digest: {} size: {}", ref.tag, pushed.digest, pushed.size)}});
    progress({{"progressDetail", json::object()},
              {"aux", {{"Tag", ref.tag}, {"Digest", pushed.digest}, {"Size", pushed.size}}}});
    events_.Publish(EngineEvent{"image", "push", FamiliarString(ref), {{"name", FamiliarString(*repository)}}, {}});
  }
  return absl::OkStatus();
}

absl::Status Daemon::Login(const RegistryLogin& login) {
  // moby's ConvertToHostname: the address without its scheme and path; Docker Hub's names are
  // docker.io.
  std::string host = login.server_address;
  for (const std::string scheme : {"https://", "http://"})
    if (host.starts_with(scheme)) host = host.substr(scheme.size());
  host = host.substr(0, host.find('/'));
  if (host.empty() || host == "index.docker.io" || host == "registry-1.docker.io") host = "docker.io";
  transfer::LoginRequest request;
  request.set_host(host);
  request.set_plain_http(InsecureRegistry(host));
  request.mutable_auth()->set_username(login.username);
  request.mutable_auth()->set_password(login.password);
  request.mutable_auth()->set_identity_token(login.identity_token);
  transfer::LoginResponse response;
  auto context = client_->Context();
  grpc::Status status = client_->Transfer().Login(context.get(), request, &response);
  // "login attempt to … failed" is the whole message, as Docker gives it.
  if (!status.ok()) return ctr::CallError(status, "login");
  return absl::OkStatus();
}

namespace {

// Every image record with its config, for the host's platform.
absl::StatusOr<std::vector<ImageEntry>> ListImageEntries(ctr::Client& client) {
  images::ListImagesRequest request;
  images::ListImagesResponse response;
  auto context = client.Context();
  grpc::Status status = client.Images().List(context.get(), request, &response);
  if (!status.ok()) return ctr::CallError(status, "list images");
  std::vector<ImageEntry> entries;
  for (const images::Image& record : response.images()) {
    // The build cache's records are the builder's own, not images' names.
    if (IsBuildCacheImageName(record.name())) continue;
    ctr::Descriptor target = ctr::FromProto(record.target());
    absl::StatusOr<ctr::ResolvedImage> resolved = ctr::ResolveImage(client.Blobs(), target, ctr::HostPlatform());
    if (!resolved.ok()) continue;  // another platform's image, or content missing
    absl::StatusOr<std::string> blob = client.ReadBlob(resolved->config.digest);
    if (!blob.ok()) continue;
    ImageEntry entry;
    entry.record = record;
    entry.config_digest = resolved->config.digest;
    entry.config = json::parse(*blob, nullptr, false);
    if (entry.config.is_discarded()) entry.config = json::object();
    entry.config_size = resolved->config.size;
    entry.size = entry.config_size;
    for (const ctr::Descriptor& layer : resolved->layers) entry.size += layer.size;
    entry.layers = resolved->layers;
    entry.manifest = resolved->manifest;
    entries.push_back(std::move(entry));
  }
  return entries;
}

// An image config's Labels ({} without any).
json ImageLabels(const json& config) {
  json labels = config.contains("config") && config["config"].is_object() ? config["config"].value("Labels", json())
                                                                          : json();
  return labels.is_object() ? labels : json::object();
}

// What `docker rmi` says it untagged for a record: the tagged name, or the name with its digest.
std::string UntaggedName(const std::string& record_name) {
  return FamiliarTag(record_name).value_or(FamiliarName(record_name));
}

bool HasTag(const ImageEntry& entry) { return FamiliarTag(entry.record.name()).has_value(); }

// Deletes the image record `name` (gone already counts as deleted).
absl::Status DeleteImageRecord(ctr::Client& client, const std::string& name) {
  images::DeleteImageRequest request;
  request.set_name(name);
  google::protobuf::Empty empty;
  auto context = client.Context();
  grpc::Status status = client.Images().Delete(context.get(), request, &empty);
  if (!status.ok() && status.error_code() != grpc::StatusCode::NOT_FOUND)
    return ctr::CallError(status, fmt::format("delete image {}", name));
  return absl::OkStatus();
}

// The records an image reference names: a name (normalized), "sha256:<id>" or an ID prefix.
std::vector<const ImageEntry*> MatchImages(const std::vector<ImageEntry>& entries, const std::string& ref,
                                           bool* by_id) {
  std::vector<const ImageEntry*> matches;
  *by_id = false;
  if (absl::StatusOr<Reference> parsed = ParseReference(ref); parsed.ok()) {
    for (const ImageEntry& entry : entries)
      if (entry.record.name() == parsed->String()) matches.push_back(&entry);
    if (!matches.empty()) return matches;
  }
  std::string id = absl::StartsWith(ref, "sha256:") ? ref.substr(7) : ref;
  bool hex = id.size() >= 4 && std::all_of(id.begin(), id.end(), [](char c) { return isxdigit(c) && !isupper(c); });
  if (!hex) return matches;
  *by_id = true;
  for (const ImageEntry& entry : entries)
    if (entry.config_digest.compare(7, id.size(), id) == 0) matches.push_back(&entry);
  return matches;
}

// The image `name` (a reference or an ID) stands for: Docker's 404 when there is none.
absl::StatusOr<const ImageEntry*> FindImage(const std::vector<ImageEntry>& entries, const std::string& name) {
  bool by_id = false;
  std::vector<const ImageEntry*> matches = MatchImages(entries, name, &by_id);
  if (matches.empty()) return absl::NotFoundError(fmt::format("No such image: {}", name));
  return matches.front();
}

}  // namespace

namespace {

// docker images' rows, one per image (config), newest first.
json ImageRows(const std::vector<ImageEntry>& entries) {
  std::map<std::string, json> by_id;
  for (const ImageEntry& entry : entries) {
    json& row = by_id[entry.config_digest];
    if (row.is_null()) {
      row = json{{"Id", entry.config_digest},
                 {"ParentId", ""},
                 {"RepoTags", json::array()},
                 {"RepoDigests", json::array()},
                 {"Created", CreatedSeconds(entry.config)},
                 {"Size", entry.size},
                 {"SharedSize", -1},
                 {"VirtualSize", entry.size},
                 {"Labels", ImageLabels(entry.config)},
                 {"Containers", -1}};
    }
    if (std::optional<std::string> tag = FamiliarTag(entry.record.name())) row["RepoTags"].push_back(*tag);
    if (IsDanglingImageName(entry.record.name())) continue;
    std::string digest = FamiliarDigest(entry.record.name(), entry.record.target().digest());
    if (std::find(row["RepoDigests"].begin(), row["RepoDigests"].end(), digest) == row["RepoDigests"].end())
      row["RepoDigests"].push_back(digest);
  }
  json list = json::array();
  for (auto& [id, row] : by_id) {
    // An image without any name is "dangling" to the CLI only with both placeholders (moby's).
    if (row["RepoTags"].empty() && row["RepoDigests"].empty()) {
      row["RepoTags"] = json::array({"<none>:<none>"});
      row["RepoDigests"] = json::array({"<none>@<none>"});
    }
    list.push_back(std::move(row));
  }
  std::sort(list.begin(), list.end(), [](const json& a, const json& b) { return a["Created"] > b["Created"]; });
  return list;
}

}  // namespace

absl::StatusOr<json> Daemon::ListImages() {
  LIMAN_ASSIGN_OR_RETURN(std::vector<ImageEntry> entries, ListImageEntries(*client_));
  return ImageRows(entries);
}

// docker system df's images: the rows of docker images with how many containers use each and
// how much of it is layers other images share. LayersSize counts every layer blob once, and each
// image's config blob, which its Size includes too (so an image in use is never more than it).
absl::StatusOr<json> Daemon::ImagesDiskUsage() {
  LIMAN_ASSIGN_OR_RETURN(std::vector<ImageEntry> entries, ListImageEntries(*client_));
  std::map<std::string, std::set<std::string>> images_of_layer;  // layer digest -> image IDs
  std::map<std::string, int64_t> layer_size;
  std::map<std::string, const ImageEntry*> image_by_id;
  for (const ImageEntry& entry : entries) {
    image_by_id.emplace(entry.config_digest, &entry);
    for (const ctr::Descriptor& layer : entry.layers) {
      images_of_layer[layer.digest].insert(entry.config_digest);
      layer_size[layer.digest] = layer.size;
    }
  }
  std::map<std::string, int> users;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, container] : containers_) ++users[container->record.value("Image", "")];
  }
  int64_t layers_size = 0;
  for (const auto& [digest, size] : layer_size) layers_size += size;
  for (const auto& [id, image] : image_by_id) layers_size += image->config_size;
  json rows = ImageRows(entries);
  for (json& row : rows) {
    const std::string id = row["Id"].get<std::string>();
    int64_t shared = 0;
    for (const ctr::Descriptor& layer : image_by_id.at(id)->layers)
      if (images_of_layer[layer.digest].size() > 1) shared += layer.size;
    row["SharedSize"] = shared;
    row["Containers"] = users.count(id) ? users[id] : 0;
  }
  return json{{"LayersSize", layers_size}, {"Images", rows}};
}

absl::StatusOr<json> Daemon::InspectImage(const std::string& name) {
  LIMAN_ASSIGN_OR_RETURN(std::vector<ImageEntry> entries, ListImageEntries(*client_));
  LIMAN_ASSIGN_OR_RETURN(const ImageEntry* found, FindImage(entries, name));
  const ImageEntry& image = *found;
  json tags = json::array(), digests = json::array();
  for (const ImageEntry& entry : entries) {
    if (entry.config_digest != image.config_digest) continue;
    if (std::optional<std::string> tag = FamiliarTag(entry.record.name())) tags.push_back(*tag);
    if (!IsDanglingImageName(entry.record.name()))
      digests.push_back(FamiliarDigest(entry.record.name(), entry.record.target().digest()));
  }
  const json& config = image.config;
  json rootfs = config.value("rootfs", json::object());
  return json{{"Id", image.config_digest},
              {"RepoTags", tags},
              {"RepoDigests", digests},
              {"Parent", ""},
              {"Comment", ""},
              {"Created", config.value("created", "")},
              {"Container", ""},
              {"DockerVersion", ""},
              {"Author", config.value("author", "")},
              {"Config", config.value("config", json::object())},
              {"Architecture", config.value("architecture", "")},
              {"Os", config.value("os", "")},
              {"Size", image.size},
              {"VirtualSize", image.size},
              {"GraphDriver", {{"Name", "overlayfs"}, {"Data", nullptr}}},
              {"RootFS", {{"Type", "layers"}, {"Layers", rootfs.value("diff_ids", json::array())}}},
              {"Metadata", {{"LastTagTime", "0001-01-01T00:00:00Z"}}}};
}

// docker history: the config's history, newest first. A step that made a layer shows that layer's
// size (its blob's, as image sizes are counted here); the newest row stands for the image (its ID
// and tags), the others for no image of their own ("<missing>", as Docker shows pulled images).
absl::StatusOr<json> Daemon::ImageHistory(const std::string& name) {
  LIMAN_ASSIGN_OR_RETURN(std::vector<ImageEntry> entries, ListImageEntries(*client_));
  LIMAN_ASSIGN_OR_RETURN(const ImageEntry* found, FindImage(entries, name));
  const ImageEntry& image = *found;
  json tags = json::array();
  for (const ImageEntry& entry : entries)
    if (entry.config_digest == image.config_digest)
      if (std::optional<std::string> tag = FamiliarTag(entry.record.name())) tags.push_back(*tag);

  auto row = [](int64_t created, const std::string& created_by, int64_t size, const std::string& comment) {
    return json{{"Id", "<missing>"}, {"Created", created},      {"CreatedBy", created_by},
                {"Tags", nullptr},   {"Size", size},            {"Comment", comment}};
  };
  json rows = json::array();
  size_t layer = 0;
  json history = image.config.value("history", json::array());
  for (const json& step : history.is_array() ? history : json::array()) {
    if (!step.is_object()) continue;
    bool empty_layer = step.value("empty_layer", false);
    int64_t size = !empty_layer && layer < image.layers.size() ? image.layers[layer++].size : 0;
    rows.push_back(row(CreatedSeconds(step), step.value("created_by", ""), size, step.value("comment", "")));
  }
  // A config without history (some tools write none) still has its layers.
  for (; layer < image.layers.size(); ++layer)
    rows.push_back(row(CreatedSeconds(image.config), "", image.layers[layer].size, ""));
  std::reverse(rows.begin(), rows.end());
  if (!rows.empty()) {
    rows[0]["Id"] = image.config_digest;
    if (!tags.empty()) rows[0]["Tags"] = tags;
  }
  return rows;
}

absl::Status Daemon::RemoveImageRecord(const std::string& name) { return DeleteImageRecord(*client_, name); }

absl::StatusOr<Daemon::ImageContents> Daemon::FindImageContents(const std::string& ref) {
  // A name is looked up by its record first, one Get (moby too tries a reference before an ID);
  // anything else (an ID or its prefix, a digest, a name not recorded) in the whole list.
  if (absl::StatusOr<Reference> name = ParseReference(ref); name.ok() && !name->tag.empty())
    if (absl::StatusOr<ImageContents> named = ImageContentsByName(name->String()); named.ok()) return named;
  LIMAN_ASSIGN_OR_RETURN(std::vector<ImageEntry> entries, ListImageEntries(*client_));
  LIMAN_ASSIGN_OR_RETURN(const ImageEntry* found, FindImage(entries, ref));
  return ImageContents{found->config_digest, found->config, found->layers, found->manifest};
}

absl::StatusOr<Daemon::ImageContents> Daemon::ImageContentsByName(const std::string& name) {
  images::GetImageRequest get;
  get.set_name(name);
  images::GetImageResponse found;
  auto context = client_->Context();
  grpc::Status status = client_->Images().Get(context.get(), get, &found);
  if (!status.ok()) return ctr::CallError(status, fmt::format("image {}", name));
  LIMAN_ASSIGN_OR_RETURN(ctr::ResolvedImage resolved,
                         ctr::ResolveImage(client_->Blobs(), ctr::FromProto(found.image().target()), ctr::HostPlatform()));
  LIMAN_ASSIGN_OR_RETURN(std::string blob, client_->ReadBlob(resolved.config.digest));
  json config = json::parse(blob, nullptr, false);
  if (!config.is_object()) return absl::DataLossError(fmt::format("image {}: its config is not a JSON object", name));
  return ImageContents{resolved.config.digest, std::move(config), resolved.layers, resolved.manifest};
}

absl::StatusOr<json> Daemon::PruneBuildCache() {
  images::ListImagesRequest request;
  images::ListImagesResponse response;
  auto context = client_->Context();
  grpc::Status status = client_->Images().List(context.get(), request, &response);
  if (!status.ok()) return ctr::CallError(status, "list images");
  json deleted = json::array();
  for (const images::Image& record : response.images()) {
    if (!IsBuildCacheImageName(record.name())) continue;
    LIMAN_RETURN_IF_ERROR(DeleteImageRecord(*client_, record.name()));
    deleted.push_back(record.name().substr(record.name().rfind(':') + 1));
  }
  // What the records held goes with the manager's next collection; its size is not known here.
  return json{{"CachesDeleted", deleted.empty() ? json() : deleted}, {"SpaceReclaimed", 0}};
}

absl::Status Daemon::TagImage(const std::string& source, const std::string& repo, const std::string& tag) {
  LIMAN_ASSIGN_OR_RETURN(std::vector<ImageEntry> entries, ListImageEntries(*client_));
  LIMAN_ASSIGN_OR_RETURN(const ImageEntry* found, FindImage(entries, source));
  absl::StatusOr<Reference> target = ParseReference(repo + ":" + (tag.empty() ? "latest" : tag));
  if (!target.ok()) return absl::InvalidArgumentError(std::string(target.status().message()));
  images::Image record = found->record;
  record.set_name(target->String());
  record.clear_created_at();
  record.clear_updated_at();
  LIMAN_RETURN_IF_ERROR(client_->PutImage(record));
  // Named now, the image is no longer dangling.
  for (const ImageEntry& entry : entries)
    if (entry.config_digest == found->config_digest && IsDanglingImageName(entry.record.name()))
      LIMAN_RETURN_IF_ERROR(DeleteImageRecord(*client_, entry.record.name()));
  events_.Publish(EngineEvent{"image", "tag", found->config_digest, {{"name", FamiliarString(*target)}}, {}});
  return absl::OkStatus();
}

absl::StatusOr<json> Daemon::RemoveImage(const std::string& name, bool force) {
  LIMAN_ASSIGN_OR_RETURN(std::vector<ImageEntry> entries, ListImageEntries(*client_));
  bool by_id = false;
  std::vector<const ImageEntry*> matches = MatchImages(entries, name, &by_id);
  if (matches.empty()) return absl::NotFoundError(fmt::format("No such image: {}", name));
  const std::string config_digest = matches.front()->config_digest;
  std::vector<const ImageEntry*> same_image;
  for (const ImageEntry& entry : entries)
    if (entry.config_digest == config_digest) same_image.push_back(&entry);
  if (by_id && same_image.size() > 1 && !force)
    return absl::FailedPreconditionError(fmt::format(
        "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
        ShortId(config_digest)));
  // The last name of an image in use by a container stays unless forced.
  bool last_name = by_id || same_image.size() == 1;
  if (last_name && !force) {
    std::lock_guard lock(mu_);
    for (const auto& [id, container] : containers_) {
      if (container->record.value("Image", "") != config_digest) continue;
      return absl::FailedPreconditionError(fmt::format(
          "conflict: unable to remove repository reference \"{}\" (must force) - container {} is using its referenced image {}",
          name, id.substr(0, 12), ShortId(config_digest)));
    }
  }
  json result = json::array();
  for (const ImageEntry* entry : by_id ? same_image : matches) {
    LIMAN_RETURN_IF_ERROR(DeleteImageRecord(*client_, entry->record.name()));
    if (IsDanglingImageName(entry->record.name())) continue;  // nothing was tagged
    result.push_back({{"Untagged", UntaggedName(entry->record.name())}});
    events_.Publish(EngineEvent{"image", "untag", config_digest, {{"name", UntaggedName(entry->record.name())}}, {}});
  }
  if (last_name) {
    result.push_back({{"Deleted", config_digest}});
    events_.Publish(EngineEvent{"image", "delete", config_digest, {{"name", config_digest}}, {}});
  }
  return result;
}

absl::StatusOr<json> Daemon::PruneImages(const json& filters) {
  bool dangling_only = true;
  if (std::vector<std::string> dangling = FilterValues(filters, "dangling"); !dangling.empty()) {
    const std::string& value = dangling.front();
    if (value == "false" || value == "0") {
      dangling_only = false;
    } else if (value != "true" && value != "1") {
      return absl::InvalidArgumentError(fmt::format("invalid filter 'dangling={}'", value));
    }
  }
  LIMAN_ASSIGN_OR_RETURN(std::optional<absl::Time> until, UntilFilter(filters));
  LIMAN_ASSIGN_OR_RETURN(std::vector<ImageEntry> entries, ListImageEntries(*client_));
  std::set<std::string> in_use;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, container] : containers_) in_use.insert(container->record.value("Image", ""));
  }
  std::map<std::string, std::vector<const ImageEntry*>> by_id;
  for (const ImageEntry& entry : entries) by_id[entry.config_digest].push_back(&entry);
  json deleted = json::array();
  uint64_t reclaimed = 0;
  for (const auto& [id, names] : by_id) {
    const ImageEntry& image = *names.front();
    if (in_use.contains(id)) continue;
    if (dangling_only && std::any_of(names.begin(), names.end(), [](const ImageEntry* e) { return HasTag(*e); })) continue;
    if (!LabelFiltersMatch(ImageLabels(image.config), filters)) continue;
    absl::StatusOr<absl::Time> created = ParseLogTime(image.config.value("created", ""), absl::Now());
    if (until && created.ok() && *created >= *until) continue;
    bool all_gone = true;
    for (const ImageEntry* entry : names) {
      // One name that cannot go (the manager refused) keeps the image; the others are untagged.
      if (absl::Status removed = DeleteImageRecord(*client_, entry->record.name()); !removed.ok()) {
        LogInfo("image prune: {} stays: {}", entry->record.name(), removed);
        all_gone = false;
        continue;
      }
      if (!IsDanglingImageName(entry->record.name()))
        deleted.push_back({{"Untagged", UntaggedName(entry->record.name())}});
    }
    if (!all_gone) continue;
    deleted.push_back({{"Deleted", id}});
    reclaimed += static_cast<uint64_t>(image.size);
  }
  // As moby: null, not [], when nothing went.
  return json{{"ImagesDeleted", deleted.empty() ? json() : deleted}, {"SpaceReclaimed", reclaimed}};
}

absl::Status Daemon::SaveImages(const std::vector<std::string>& refs,
                                const std::function<absl::Status(std::string_view)>& sink) {
  if (refs.empty()) return absl::InvalidArgumentError("no images given to save");
  LIMAN_ASSIGN_OR_RETURN(std::vector<ImageEntry> entries, ListImageEntries(*client_));
  transfer::ExportRequest request;
  std::set<std::string> names;
  for (const std::string& ref : refs) {
    bool by_id = false;
    std::vector<const ImageEntry*> matches = MatchImages(entries, ref, &by_id);
    if (matches.empty()) return absl::NotFoundError(fmt::format("No such image: {}", ref));
    // By ID: one of its names carries the content (moby saves such an image without its tags).
    for (const ImageEntry* match : by_id ? std::vector<const ImageEntry*>{matches.front()} : matches)
      if (names.insert(match->record.name()).second) request.add_names(match->record.name());
  }
  request.set_platform(ctr::FormatPlatform(ctr::HostPlatform()));
  return ctr::ExportImageArchive(*client_, request, sink);
}

absl::StatusOr<std::vector<std::string>> Daemon::LoadImages(
    const std::function<absl::StatusOr<std::string_view>()>& source) {
  transfer::ImportOptions options;
  options.set_snapshotter(ctr::kDefaultSnapshotter);
  LIMAN_ASSIGN_OR_RETURN(transfer::ImportResponse response, ctr::ImportImageArchive(*client_, options, source));
  std::vector<std::string> loaded;
  for (const transfer::ImageResult& image : response.images()) {
    std::optional<std::string> tag = FamiliarTag(image.name());
    loaded.push_back(tag ? "Loaded image: " + *tag : "Loaded image ID: " + image.config_digest());
  }
  return loaded;
}

}  // namespace liman::engine
