// `images pull|import|export` through Liman's Transfer service (the daemon fetches, checks,
// unpacks and records; liman-ctr only streams bytes and shows progress).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ctl/liman-ctr/command.h"
#include "liman/services/transfer/v1/transfer.pb.h"

namespace liman::ctr {

void AddTransferCommands(CLI::App& images_group, CommandLine& line);

// The state of a pull as its progress messages tell it, one row per digest in first-seen order.
class PullView {
 public:
  // Takes in one progress message; returns the plain lines for rows whose status changed
  // ("<status> <digest>" and the size when known).
  std::string Update(const ::liman::services::transfer::v1::PullProgress& progress);
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
