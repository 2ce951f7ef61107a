#include "integration/shimctl/process_spec.h"

#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace liman::shimctl {
namespace {

absl::StatusOr<nlohmann::json> ReadJsonObject(const std::string& path) {
  LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object())
    return absl::InvalidArgumentError(fmt::format("parse {}: not a JSON object", Quote(path)));
  return json;
}

google::protobuf::Any MakeAny(const std::string& type_url, const nlohmann::json& value) {
  google::protobuf::Any any;
  any.set_type_url(type_url);
  any.set_value(value.dump());
  return any;
}

}  // namespace

absl::StatusOr<google::protobuf::Any> ProcessFromConfig(const std::string& config_path,
                                                        const std::vector<std::string>& args, bool terminal) {
  LIMAN_ASSIGN_OR_RETURN(nlohmann::json config, ReadJsonObject(config_path));
  auto process = config.find("process");
  if (process == config.end() || !process->is_object())
    return absl::InvalidArgumentError(fmt::format("{}: no process object", Quote(config_path)));
  (*process)["args"] = args;
  (*process)["terminal"] = terminal;
  // The container's console size belongs to the init's terminal, not to this one.
  process->erase("consoleSize");
  return MakeAny(kProcessTypeUrl, *process);
}

absl::StatusOr<google::protobuf::Any> JsonFileAny(const std::string& path, const std::string& type_url) {
  LIMAN_ASSIGN_OR_RETURN(nlohmann::json json, ReadJsonObject(path));
  return MakeAny(type_url, json);
}

}  // namespace liman::shimctl
