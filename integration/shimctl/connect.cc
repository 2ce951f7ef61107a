#include "integration/shimctl/connect.h"

#include <string>

#include "common/status.h"

namespace liman::shimctl {

absl::StatusOr<ttrpc::Client> ConnectShim(const Invocation& inv) {
  LIMAN_ASSIGN_OR_RETURN(std::string address, inv.Required("address"));
  absl::StatusOr<ttrpc::Client> client = ttrpc::Client::Connect(address);
  if (!client.ok()) return absl::UnavailableError(client.status().message());
  return client;
}

}  // namespace liman::shimctl
