// Containers: the metadata of a container (its spec, runtime, snapshot), per namespace
// (containerd's metadata/containers.go).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/core/content.h"
#include "containerd/metadata/db_state.h"
#include "containerd/metadata/records.h"

namespace liman::containerd::metadata {

class ContainerStore {
 public:
  explicit ContainerStore(DbState& state) : state_(state) {}

  absl::StatusOr<Container> Get(std::string_view ns, std::string_view id);
  // Sorted by id; `filters` in containerd's syntax (see adaptors.h for the fields).
  absl::StatusOr<std::vector<Container>> List(std::string_view ns, const std::vector<std::string>& filters);
  // Sets created_at/updated_at. kInvalidArgument unless the id is an identifier, runtime.name
  // and spec are set, labels fit, extension names are not empty, and a snapshot key comes
  // with its snapshotter; kAlreadyExists.
  absl::StatusOr<Container> Create(std::string_view ns, Container container);
  // containerd's field paths: "labels", "labels.<k>", "extensions", "extensions.<k>", "image",
  // "spec", "snapshotkey". None: all of those, and then a different runtime name, snapshotter
  // or sandbox is kInvalidArgument (they are immutable). Other paths: kInvalidArgument.
  absl::StatusOr<Container> Update(std::string_view ns, const Container& container, const FieldPaths& paths);
  // The container's snapshot becomes collectable.
  absl::Status Delete(std::string_view ns, std::string_view id);

 private:
  DbState& state_;
};

}  // namespace liman::containerd::metadata
