// `images pull|push|import|export` through Liman's Transfer service (the daemon fetches, checks,
// unpacks, pushes and records; liman-ctr only streams bytes and shows progress).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#include "ctl/liman-ctr/command.h"
#include "liman/services/transfer/v1/transfer.pb.h"

namespace liman::ctr {

void AddTransferCommands(CLI::App& images_group, CommandLine& line);

// Streams an image archive (Transfer.Export) to `sink`, chunk by chunk; an error of the sink
// cancels the export and is returned as it is.
absl::Status ExportImageArchive(Client& client, const ::liman::services::transfer::v1::ExportRequest& request,
                                const std::function<absl::Status(std::string_view)>& sink);

// Imports an image archive (Transfer.Import) read from `source`: each call gives the next bytes,
// empty at the end; an error of the source cancels the import and is returned as it is.
absl::StatusOr<::liman::services::transfer::v1::ImportResponse> ImportImageArchive(
    Client& client, const ::liman::services::transfer::v1::ImportOptions& options,
    const std::function<absl::StatusOr<std::string_view>()>& source);

// The state of a pull or push as its progress messages tell it, one row per digest in first-seen
// order.
class TransferView {
 public:
  // Takes in one progress message's entries; returns the plain lines for rows whose status
  // changed ("<status> <digest>" and the size when known).
  std::string Update(
      const google::protobuf::RepeatedPtrField<::liman::services::transfer::v1::ContentProgress>& progress);
  // The whole table for a terminal, each row "<digest>: <status> [bar] <done>/<total>".
  std::string Render(int width) const;
  size_t Rows() const { return order_.size(); }

 private:
  struct Row {
    std::string status;
    int64_t offset = 0;
    int64_t total = 0;
  };
  std::vector<std::string> order_;
  std::map<std::string, Row> rows_;
};

}  // namespace liman::ctr
