// Leases: named sets of resources kept from garbage collection while the lease lives
// (containerd's metadata/leases.go). A lease labelled containerd.io/gc.expire stops
// protecting anything after that time and is then collected itself.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/metadata/db_state.h"
#include "containerd/metadata/records.h"

namespace liman::containerd::metadata {

class LeaseStore {
 public:
  explicit LeaseStore(DbState& state) : state_(state) {}

  // Sets created_at. kInvalidArgument without an id or with bad labels; kAlreadyExists.
  absl::StatusOr<Lease> Create(std::string_view ns, Lease lease);
  // What only the lease held becomes collectable; `sync` collects before returning.
  absl::Status Delete(std::string_view ns, std::string_view id, bool sync = false);
  // Sorted by id; `filters` on id and labels.
  absl::StatusOr<std::vector<Lease>> List(std::string_view ns, const std::vector<std::string>& filters);
  // kNotFound for a missing lease; kInvalidArgument for a content id that is not a digest or
  // a malformed type; kUnimplemented for an unknown type. Adding twice is fine.
  absl::Status AddResource(std::string_view ns, std::string_view lease, const LeaseResource& resource);
  // Removing what the lease does not hold is fine.
  absl::Status DeleteResource(std::string_view ns, std::string_view lease, const LeaseResource& resource);
  // Content, then ingests, then snapshots (by snapshotter), each sorted by id.
  absl::StatusOr<std::vector<LeaseResource>> ListResources(std::string_view ns, std::string_view lease);

 private:
  DbState& state_;
};

}  // namespace liman::containerd::metadata
