// Volumes, local driver: a directory under <data-root>/volumes/<name>/_data, recorded in
// SQLite; named ones made on first use by `-v NAME:/path` or --mount, anonymous ones for
// Config.Volumes (removed with their container by `rm -v` and --rm). With driver options
// (volume_options.h) the directory is where the volume's filesystem is mounted while in use.
#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/json_member.h"
#include "common/logging.h"
#include "common/status.h"
#include "engine/daemon/daemon.h"
#include "engine/daemon/random_id.h"
#include "engine/daemon/volume_options.h"
#include "fmt/format.h"

namespace liman::engine {

using nlohmann::json;

namespace {

constexpr char kAnonymousLabel[] = "com.docker.volume.anonymous";

absl::Status ValidateVolumeName(const std::string& name) {
  static const std::regex kValid("^[a-zA-Z0-9][a-zA-Z0-9_.-]+$");
  if (!std::regex_match(name, kValid))
    return absl::InvalidArgumentError(fmt::format(
        "create {}: \"{}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are "
        "allowed. If you intended to pass a host directory, use absolute path",
        name, name));
  return absl::OkStatus();
}

}  // namespace

absl::Status Daemon::LoadVolumes() {
  LIMAN_ASSIGN_OR_RETURN(std::vector<json> volumes, store_->ListVolumes());
  std::lock_guard lock(mu_);
  for (json& volume : volumes) {
    // Named first: json's operator= takes its argument by value, and the right side of an
    // assignment is evaluated before the left (C++17), so a moved-from record would be read.
    std::string name = volume.is_object() ? volume.value("Name", "") : "";
    if (!name.empty()) volumes_[name] = std::move(volume);
  }
  return absl::OkStatus();
}

absl::StatusOr<json> Daemon::EnsureVolumeLocked(const std::string& requested, const json& labels, bool anonymous,
                                                const json& driver_options) {
  std::string name = requested.empty() ? RandomHexId() : requested;
  LIMAN_RETURN_IF_ERROR(ValidateVolumeName(name));
  if (auto found = volumes_.find(name); found != volumes_.end()) return found->second;
  std::string dir = options_.data_root + "/volumes/" + name;
  LIMAN_RETURN_IF_ERROR(MkdirAll(dir + "/_data", 0755));
  json volume_labels = labels.is_object() ? labels : json::object();
  if (anonymous) volume_labels[kAnonymousLabel] = "";
  json volume = {{"CreatedAt", FormatLogTime(absl::Now())},
                 {"Driver", "local"},
                 {"Labels", volume_labels},
                 {"Mountpoint", dir + "/_data"},
                 {"Name", name},
                 {"Options", driver_options.is_object() ? driver_options : json::object()},
                 {"Scope", "local"}};
  absl::Status stored = store_->PutVolume(name, volume);
  if (!stored.ok()) {
    (void)RemoveAll(dir);
    return stored;
  }
  volumes_[name] = volume;
  events_.Publish(EngineEvent{"volume", "create", name, {{"driver", "local"}}, {}});
  return volume;
}

absl::StatusOr<json> Daemon::CreateVolume(const json& body) {
  if (!body.is_null() && !body.is_object()) return absl::InvalidArgumentError("invalid JSON: the body is not an object");
  json request = body.is_object() ? body : json::object();
  std::string driver = request.value("Driver", "");
  if (!driver.empty() && driver != "local")
    return absl::NotFoundError(fmt::format("error looking up volume plugin {}: plugin \"{}\" not found", driver, driver));
  LIMAN_ASSIGN_OR_RETURN(json options, ValidateLocalDriverOptions(request.value("DriverOpts", json())));
  std::lock_guard lock(mu_);
  return EnsureVolumeLocked(request.value("Name", ""), request.value("Labels", json::object()), false, options);
}

absl::StatusOr<json> Daemon::ListVolumes() {
  std::lock_guard lock(mu_);
  json list = json::array();
  for (const auto& [name, volume] : volumes_) list.push_back(volume);
  return json{{"Volumes", list}, {"Warnings", nullptr}};
}

absl::StatusOr<json> Daemon::InspectVolume(const std::string& name) {
  std::lock_guard lock(mu_);
  auto found = volumes_.find(name);
  if (found == volumes_.end()) return absl::NotFoundError(fmt::format("get {}: no such volume", name));
  return found->second;
}

std::vector<std::string> Daemon::VolumeUsersLocked(const std::string& name) const {
  std::vector<std::string> users;
  for (const auto& [id, container] : containers_)
    for (const json& mount : container->record.value("Mounts", json::array()))
      if (mount.value("Type", "") == "volume" && mount.value("Name", "") == name) users.push_back(id);
  return users;
}

absl::Status Daemon::RemoveVolumeLocked(const std::string& name, bool force) {
  auto found = volumes_.find(name);
  if (found == volumes_.end()) {
    if (force) return absl::OkStatus();
    return absl::NotFoundError(fmt::format("get {}: no such volume", name));
  }
  std::vector<std::string> users = VolumeUsersLocked(name);
  if (!users.empty())
    return absl::FailedPreconditionError(
        fmt::format("remove {}: volume is in use - [{}]", name, fmt::join(users, ", ")));
  // A volume's filesystem (a host directory, with o=bind) is unmounted before anything is
  // removed, and nothing is removed while it is still there.
  std::string data = found->second.value("Mountpoint", "");
  if (NeedsMount(found->second["Options"])) LIMAN_RETURN_IF_ERROR(Annotate(UnmountAll(data), fmt::format("remove {}", name)));
  if (IsMountPoint(data))
    return absl::FailedPreconditionError(fmt::format("remove {}: {} is still mounted", name, Quote(data)));
  LIMAN_RETURN_IF_ERROR(store_->DeleteVolume(name));
  volumes_.erase(found);
  volume_mount_users_.erase(name);
  events_.Publish(EngineEvent{"volume", "destroy", name, {{"driver", "local"}}, {}});
  return RemoveAll(options_.data_root + "/volumes/" + name);
}

absl::Status Daemon::MountVolumesLocked(const Container& container) {
  for (const json& mount : container.record.value("Mounts", json::array())) {
    if (mount.value("Type", "") != "volume") continue;
    std::string name = mount.value("Name", "");
    auto found = volumes_.find(name);
    if (found == volumes_.end() || !NeedsMount(found->second["Options"])) continue;
    std::set<std::string>& users = volume_mount_users_[name];
    std::string data = found->second.value("Mountpoint", "");
    if (users.empty() && !IsMountPoint(data))
      LIMAN_RETURN_IF_ERROR(Annotate(MountAll({VolumeMount(found->second["Options"])}, data),
                                     fmt::format("error while mounting volume {}", Quote(data))));
    users.insert(container.id);
  }
  return absl::OkStatus();
}

void Daemon::UnmountVolumesLocked(const Container& container) {
  for (const json& mount : container.record.value("Mounts", json::array())) {
    if (mount.value("Type", "") != "volume") continue;
    std::string name = mount.value("Name", "");
    auto users = volume_mount_users_.find(name);
    if (users == volume_mount_users_.end() || !users->second.erase(container.id) || !users->second.empty()) continue;
    volume_mount_users_.erase(users);
    if (auto found = volumes_.find(name); found != volumes_.end())
      if (absl::Status unmounted = UnmountAll(found->second.value("Mountpoint", "")); !unmounted.ok())
        LogWarn("volume {}: {}", name, unmounted);
  }
}

void Daemon::RestoreVolumeMountsLocked() {
  for (const auto& [id, container] : containers_)
    if (container->Running()) (void)MountVolumesLocked(*container);
  for (const auto& [name, volume] : volumes_) {
    if (!NeedsMount(Member(volume, "Options")) || volume_mount_users_.count(name)) continue;
    if (absl::Status unmounted = UnmountAll(volume.value("Mountpoint", "")); !unmounted.ok())
      LogWarn("volume {}: {}", name, unmounted);
  }
}

absl::Status Daemon::RemoveVolume(const std::string& name, bool force) {
  std::lock_guard lock(mu_);
  return RemoveVolumeLocked(name, force);
}

absl::StatusOr<json> Daemon::ResolveVolumeMountsLocked(json& host_config, const json& config,
                                                       std::vector<VolumeCopyUp>* copy_up) {
  auto copy_into = [&](const json& volume, const std::string& destination) {
    if (!NeedsMount(Member(volume, "Options"))) copy_up->push_back({volume.value("Mountpoint", ""), destination});
  };
  json mounts = json::array();
  std::set<std::string> targets;
  json binds = json::array();
  for (const json& bind : host_config.value("Binds", json::array())) {
    if (!bind.is_string()) return absl::InvalidArgumentError("invalid Binds: not a list of strings");
    std::string text = bind.get<std::string>();
    std::vector<std::string> parts = absl::StrSplit(text, ':');
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty())
      return absl::InvalidArgumentError(fmt::format("invalid volume specification: '{}'", text));
    std::string mode = parts.size() == 3 ? parts[2] : "";
    bool readonly = absl::StrContains(mode, "ro");
    targets.insert(parts[1]);
    if (parts[0][0] == '/') {
      mounts.push_back({{"Type", "bind"}, {"Source", parts[0]}, {"Destination", parts[1]}, {"Mode", mode},
                        {"RW", !readonly}, {"Propagation", "rprivate"}});
      binds.push_back(text);
      continue;
    }
    LIMAN_ASSIGN_OR_RETURN(json volume, EnsureVolumeLocked(parts[0], json::object(), false));
    if (!absl::StrContains(mode, "nocopy")) copy_into(volume, parts[1]);
    std::string mountpoint = volume["Mountpoint"];
    mounts.push_back({{"Type", "volume"}, {"Name", parts[0]}, {"Source", mountpoint}, {"Destination", parts[1]},
                      {"Driver", "local"}, {"Mode", mode.empty() ? "z" : mode}, {"RW", !readonly}, {"Propagation", ""}});
    binds.push_back(mountpoint + ":" + parts[1] + (mode.empty() ? "" : ":" + mode));
  }
  json other_mounts = json::array();
  for (const json& mount : host_config.value("Mounts", json::array())) {
    if (!mount.is_object() || mount.value("Type", "") != "volume") {
      other_mounts.push_back(mount);
      continue;
    }
    std::string target = mount.value("Target", "");
    // --mount volume-opt=…: the options of a volume made here.
    json volume_options = mount.value("VolumeOptions", json::object());
    json driver_config = volume_options.is_object() ? volume_options.value("DriverConfig", json::object()) : json::object();
    LIMAN_ASSIGN_OR_RETURN(json driver_options, ValidateLocalDriverOptions(
                                                    driver_config.is_object() ? driver_config.value("Options", json()) : json()));
    LIMAN_ASSIGN_OR_RETURN(json volume, EnsureVolumeLocked(mount.value("Source", ""), json::object(),
                                                           mount.value("Source", "").empty(), driver_options));
    if (!(volume_options.is_object() && volume_options.value("NoCopy", false))) copy_into(volume, target);
    bool readonly = mount.value("ReadOnly", false);
    targets.insert(target);
    mounts.push_back({{"Type", "volume"}, {"Name", volume["Name"]}, {"Source", volume["Mountpoint"]}, {"Destination", target},
                      {"Driver", "local"}, {"Mode", "z"}, {"RW", !readonly}, {"Propagation", ""}});
    binds.push_back(volume["Mountpoint"].get<std::string>() + ":" + target + (readonly ? ":ro" : ""));
  }
  // --volumes-from NAME[:ro|rw]: that container's volumes and binds at the same places (moby's
  // parseVolumesFrom), read-only or writable as the suffix says, else as they are there.
  for (const json& entry : host_config.value("VolumesFrom", json::array())) {
    if (!entry.is_string()) return absl::InvalidArgumentError("invalid VolumesFrom: not a list of strings");
    std::string text = entry.get<std::string>();
    std::string ref = text.substr(0, text.find(':'));
    std::string mode = text.find(':') == std::string::npos ? "" : text.substr(text.find(':') + 1);
    if (mode != "" && mode != "ro" && mode != "rw")
      return absl::InvalidArgumentError(fmt::format("invalid mode for volumes-from: {}", mode));
    LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> source, FindLocked(ref));
    for (const json& mount : source->record.value("Mounts", json::array())) {
      std::string type = mount.value("Type", ""), target = mount.value("Destination", "");
      if ((type != "volume" && type != "bind") || targets.count(target)) continue;
      bool writable = mode.empty() ? mount.value("RW", true) : mode == "rw";
      json copied = mount;
      copied["RW"] = writable;
      if (!mode.empty()) copied["Mode"] = mode;
      mounts.push_back(copied);
      targets.insert(target);
      binds.push_back(mount.value("Source", "") + ":" + target + (writable ? "" : ":ro"));
    }
  }
  // Config.Volumes without a bind or mount of their own get anonymous volumes.
  if (config.contains("Volumes") && config["Volumes"].is_object()) {
    for (const auto& [target, unused] : config["Volumes"].items()) {
      if (targets.count(target)) continue;
      LIMAN_ASSIGN_OR_RETURN(json volume, EnsureVolumeLocked("", json::object(), true));
      copy_into(volume, target);
      mounts.push_back({{"Type", "volume"}, {"Name", volume["Name"]}, {"Source", volume["Mountpoint"]}, {"Destination", target},
                        {"Driver", "local"}, {"Mode", ""}, {"RW", true}, {"Propagation", ""}});
      binds.push_back(volume["Mountpoint"].get<std::string>() + ":" + target);
    }
  }
  // What the spec sees: every volume as a bind of its directory.
  host_config["Binds"] = binds;
  host_config["Mounts"] = other_mounts;
  return mounts;
}

void Daemon::RemoveAnonymousVolumesLocked(const Container& container) {
  for (const json& mount : container.record.value("Mounts", json::array())) {
    if (mount.value("Type", "") != "volume") continue;
    auto found = volumes_.find(mount.value("Name", ""));
    if (found == volumes_.end() || !found->second["Labels"].contains(kAnonymousLabel)) continue;
    (void)RemoveVolumeLocked(found->first, false);
  }
}

}  // namespace liman::engine
