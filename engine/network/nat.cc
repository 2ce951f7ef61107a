#include "engine/network/nat.h"

#include <nftables/libnftables.h>

#include <memory>

#include "common/status.h"
#include "fmt/format.h"

namespace liman::engine::network {

namespace {

absl::Status RunNft(const std::string& commands) {
  std::unique_ptr<nft_ctx, void (*)(nft_ctx*)> ctx(nft_ctx_new(NFT_CTX_DEFAULT), nft_ctx_free);
  if (!ctx) return absl::ResourceExhaustedError("nft_ctx_new");
  nft_ctx_buffer_error(ctx.get());
  if (nft_run_cmd_from_buffer(ctx.get(), commands.c_str()) != 0) {
    const char* error = nft_ctx_get_error_buffer(ctx.get());
    return absl::InternalError(fmt::format("nft: {}", error != nullptr ? error : "failed"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string NatTableName(const std::string& bridge) { return "liman-" + bridge; }

absl::Status EnsureMasquerade(const std::string& bridge, const std::string& subnet_cidr) {
  std::string table = NatTableName(bridge);
  // add is idempotent for tables and chains; the chain is flushed so the rule is there once.
  return RunNft(fmt::format(
      "add table ip {0}\n"
      "add chain ip {0} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}\n"
      "flush chain ip {0} postrouting\n"
      "add rule ip {0} postrouting ip saddr {1} oifname != \"{2}\" masquerade\n",
      table, subnet_cidr, bridge));
}

absl::Status RemoveNatTable(const std::string& bridge) {
  absl::Status removed = RunNft(fmt::format("delete table ip {}\n", NatTableName(bridge)));
  if (!removed.ok() && removed.message().find("No such file") != std::string_view::npos) return absl::OkStatus();
  return removed;
}

}  // namespace liman::engine::network
