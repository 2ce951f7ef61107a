#include "shim/runtime_record.h"

#include "common/file_util.h"
#include "common/status.h"
#include "nlohmann/json.hpp"

namespace liman::shim {
namespace {

std::string RecordPath(const std::string& bundle) { return JoinPath(bundle, "runtime.json"); }

}  // namespace

absl::Status SaveRuntimeConfig(const std::string& bundle, const RuntimeConfig& config) {
  nlohmann::json record = {{"binary", config.binary}, {"root", config.root},
                           {"log", config.log_path}, {"systemd_cgroup", config.systemd_cgroup}};
  // Renamed into place but not fsynced: it lives beside `address` and `shim.pid` in the task's
  // state directory, which a reboot clears anyway, and an fsync here cost ~1 ms of every Create
  // (6-12 ms on a busy disk). A shim crash cannot leave it half-written.
  return ReplaceFile(RecordPath(bundle), record.dump(), 0600);
}

absl::StatusOr<RuntimeConfig> LoadRuntimeConfig(const std::string& bundle) {
  std::string path = RecordPath(bundle);
  LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  nlohmann::json record = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object() || !record["binary"].is_string() || !record["root"].is_string())
    return absl::DataLossError(fmt::format("parse {}: not a runtime record", Quote(path)));
  RuntimeConfig config;
  config.binary = record["binary"];
  config.root = record["root"];
  config.log_path = record.value("log", JoinPath(bundle, "log.json"));
  config.systemd_cgroup = record.value("systemd_cgroup", false);
  return config;
}

}  // namespace liman::shim
