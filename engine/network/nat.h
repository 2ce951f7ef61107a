// The bridge network's nftables rules (libnftables): its own table, `ip liman-<bridge>`, with
// masquerading for traffic leaving the bridge's subnet through another interface, as dockerd's
// POSTROUTING MASQUERADE rule. Removed with the table.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace liman::engine::network {

std::string NatTableName(const std::string& bridge);
absl::Status EnsureMasquerade(const std::string& bridge, const std::string& subnet_cidr);
absl::Status RemoveNatTable(const std::string& bridge);

}  // namespace liman::engine::network
