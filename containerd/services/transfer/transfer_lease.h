// The lease a transfer works under, as containerd's client.WithLease gives a pull or import:
// what the transfer writes (blobs, ingests, snapshots) is kept from garbage collection until the
// image record holds it. The call's own lease (containerd-lease metadata) is used as it is and
// left alone; otherwise a temporary lease is created, labelled containerd.io/gc.expire a day
// ahead (so that a daemon crash mid-transfer leaves nothing held forever), and deleted at the end.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "containerd/metadata/db.h"

namespace liman::containerd::services {

class TransferLease {
 public:
  static absl::StatusOr<TransferLease> Acquire(metadata::DB& db, std::string_view ns,
                                               const std::optional<std::string>& call_lease);
  TransferLease(TransferLease&& other) noexcept;
  TransferLease& operator=(TransferLease&&) = delete;
  TransferLease(const TransferLease&) = delete;
  ~TransferLease();  // deletes a temporary lease (what it alone held becomes collectable)

  const std::string& id() const { return id_; }

 private:
  TransferLease(metadata::DB* db, std::string ns, std::string id, bool owned)
      : db_(db), ns_(std::move(ns)), id_(std::move(id)), owned_(owned) {}

  metadata::DB* db_;
  std::string ns_;
  std::string id_;
  bool owned_;
};

}  // namespace liman::containerd::services
