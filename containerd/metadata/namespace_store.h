// Namespaces (containerd's namespaces service over metadata/namespaces.go). A namespace also
// comes into being when anything is created in it.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/core/content.h"
#include "containerd/metadata/db_state.h"
#include "containerd/metadata/records.h"

namespace liman::containerd::metadata {

class NamespaceStore {
 public:
  explicit NamespaceStore(DbState& state) : state_(state) {}

  // kInvalidArgument for a bad name or labels, kAlreadyExists if it exists.
  absl::StatusOr<Namespace> Create(const Namespace& ns);
  // kNotFound if it does not exist.
  absl::StatusOr<Namespace> Get(std::string_view name);
  // Sorted by name.
  absl::StatusOr<std::vector<Namespace>> List();
  // `paths` empty or "labels": the labels become `ns.labels`; "labels.<key>": that label is set
  // from `ns.labels` (removed when absent or empty). Other paths: kInvalidArgument.
  absl::StatusOr<Namespace> Update(const Namespace& ns, const FieldPaths& paths);
  // kFailedPrecondition, naming what is left, unless the namespace has no images, content,
  // containers, leases or snapshots; its ingests go with it.
  absl::Status Delete(std::string_view name);

 private:
  DbState& state_;
};

}  // namespace liman::containerd::metadata
