#include "containerd/services/transfer/transfer_lease.h"

#include <cstdint>
#include <utility>

#include "absl/time/clock.h"
#include "common/fmt_absl.h"
#include "common/logging.h"
#include "common/random_bytes.h"
#include "common/status.h"

namespace liman::containerd::services {
namespace {

// containerd's client.WithLease: a day.
constexpr absl::Duration kLeaseExpiry = absl::Hours(24);

// Unique without coordination: time plus randomness, like containerd's leases.WithRandomID.
std::string NewLeaseId() {
  uint64_t random = 0;
  for (unsigned char byte : RandomBytes(8)) random = (random << 8) | byte;
  return fmt::format("liman-transfer-{}-{:016x}", absl::ToUnixNanos(absl::Now()), random);
}

}  // namespace

absl::StatusOr<TransferLease> TransferLease::Acquire(metadata::DB& db, std::string_view ns,
                                                     const std::optional<std::string>& call_lease) {
  if (call_lease && !call_lease->empty()) return TransferLease(&db, std::string(ns), *call_lease, false);
  metadata::Lease lease;
  lease.id = NewLeaseId();
  lease.labels[metadata::labels::kGcExpire] =
      absl::FormatTime(absl::RFC3339_sec, absl::Now() + kLeaseExpiry, absl::UTCTimeZone());
  absl::StatusOr<metadata::Lease> created = db.Leases().Create(ns, std::move(lease));
  if (!created.ok()) return Annotate(created.status(), "create the transfer's lease");
  return TransferLease(&db, std::string(ns), created->id, true);
}

TransferLease::TransferLease(TransferLease&& other) noexcept
    : db_(other.db_), ns_(std::move(other.ns_)), id_(std::move(other.id_)), owned_(std::exchange(other.owned_, false)) {}

TransferLease::~TransferLease() {
  if (!owned_) return;
  if (absl::Status status = db_->Leases().Delete(ns_, id_); !status.ok()) {
    // It expires on its own; the collector then takes it and what only it held.
    LogWarn("delete lease {} in namespace {}: {}", Quote(id_), Quote(ns_), status.ToString());
  }
}

}  // namespace liman::containerd::services
