// Creating a task for a container and running it attached (or detached): `run` and `tasks start`.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ctl/liman-ctr/command_split.h"

#include "absl/status/statusor.h"
#include "ctl/liman-ctr/client.h"
#include "containerd/services/containers/v1/containers.pb.h"
#include "containerd/services/images/v1/images.pb.h"
#include "containerd/services/tasks/v1/tasks.pb.h"
#include "ctl/liman-ctr/image_config.h"
#include "ctl/liman-ctr/image_resolve.h"
#include "common/mount.h"
#include "nlohmann/json.hpp"

namespace liman::ctr {

inline constexpr char kDefaultRuntime[] = "io.containerd.liman.v2";

struct TaskRunOptions {
  bool detach = false;    // start and return; the task's stdio goes nowhere
  bool null_io = false;   // attached, but the process's stdio goes nowhere
  bool terminal = false;  // the spec's process.terminal
  std::string fifo_dir;
};

absl::StatusOr<::containerd::services::containers::v1::Container> GetContainer(Client& client,
                                                                               const std::string& id);
// Whether the container's spec asks for a terminal (process.terminal).
bool SpecWantsTerminal(const ::containerd::services::containers::v1::Container& container);

// Where a task's stdio goes: FIFO paths or URIs (file://, binary://, json-file://), "" for none.
struct TaskStdio {
  std::string stdin_uri;
  std::string stdout_uri;
  std::string stderr_uri;
  bool terminal = false;
};
// Tasks.Create for a container, its snapshot's mounts as the rootfs (like containerd's client).
absl::StatusOr<::containerd::services::tasks::v1::CreateTaskResponse> CreateTask(
    Client& client, const ::containerd::services::containers::v1::Container& container, const TaskStdio& stdio);

// Creates the container's task (its snapshot's mounts as rootfs, like containerd's client),
// starts it and, unless detached, copies stdio until it exits, deletes the task and returns its
// exit status.
absl::StatusOr<int> CreateAndRunTask(Client& client, const ::containerd::services::containers::v1::Container& container,
                                     const TaskRunOptions& options);

// What `run` and `containers create` take to make a container from an image.
struct ContainerCreateOptions {
  std::string image;
  std::string id;
  std::vector<std::string> args;
  bool tty = false;
  std::string runtime = kDefaultRuntime;
  std::vector<std::string> env;
  std::string cwd;
  std::string snapshotter = kDefaultSnapshotter;
  std::string platform;
  std::string cgroup;
  std::vector<std::string> labels;
};

// Adds the flags and positionals of ContainerCreateOptions to `command` (IMAGE ID [CMD...]).
void AddContainerCreateFlags(CLI::App* command, ContainerCreateOptions& options);


// ctr's container creation: the image's config for the platform, a snapshot prepared on the
// image's top chain id (key = id), the spec (spec.h), the container record; under a lease until
// the record holds the snapshot.
absl::StatusOr<::containerd::services::containers::v1::Container> CreateContainerFromImage(
    Client& client, const ContainerCreateOptions& options);

// An image record with its config for a platform (empty: the host's), checked to be unpacked in
// `snapshotter` (its top chain id has a snapshot).
struct LoadedImage {
  ::containerd::services::images::v1::Image image;
  ResolvedImage resolved;
  ImageConfig config;
  std::string chain_id;
};
absl::StatusOr<LoadedImage> LoadImage(Client& client, const std::string& name, const std::string& platform,
                                      const std::string& snapshotter);

struct ContainerRecordOptions {
  std::string id;
  std::string runtime = kDefaultRuntime;
  std::string snapshotter = kDefaultSnapshotter;
  std::map<std::string, std::string> labels;
  nlohmann::ordered_json spec;
  // Called with the prepared snapshot's mounts before the record is stored, to complete the
  // spec from the container's own files (containerd's SpecOpts that read the rootfs, such as
  // WithUsername). An error removes the snapshot and fails the create.
  std::function<absl::Status(const std::vector<MountDescriptor>& rootfs, nlohmann::ordered_json& spec)> complete_spec;
};
// A snapshot prepared on the image's top chain id (key = id) and the container record holding
// it and `spec`, under a lease until the record holds the snapshot.
absl::StatusOr<::containerd::services::containers::v1::Container> CreateContainerRecord(
    Client& client, const LoadedImage& image, const ContainerRecordOptions& options);

// Deletes a container record, then its snapshot (containerd's WithSnapshotCleanup).
absl::Status DeleteContainerAndSnapshot(Client& client, const std::string& id);
// The same for a caller that knows the snapshot (CreateContainerRecord's: key = id), without
// reading the record first; an empty key deletes the record alone.
absl::Status DeleteContainerAndSnapshot(Client& client, const std::string& id, const std::string& snapshotter,
                                        const std::string& snapshot_key);

}  // namespace liman::ctr
