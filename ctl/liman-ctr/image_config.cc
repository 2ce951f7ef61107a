#include "ctl/liman-ctr/image_config.h"

#include "common/sha256.h"
#include "common/status.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace liman::ctr {
namespace {

using nlohmann::json;

// Absent and null read as empty; any other type is an error naming the field.
absl::Status ReadString(const json& object, const char* key, const char* path, std::string* out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string())
    return absl::InvalidArgumentError(fmt::format("image config: {} is not a string", path));
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status ReadStrings(const json& object, const char* key, const char* path,
                         std::vector<std::string>* out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_array())
    return absl::InvalidArgumentError(fmt::format("image config: {} is not an array", path));
  for (const json& item : *it) {
    if (!item.is_string())
      return absl::InvalidArgumentError(fmt::format("image config: {} holds a non-string", path));
    out->push_back(item.get<std::string>());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ImageConfig> ParseImageConfig(std::string_view json_text) {
  json root = json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object())
    return absl::InvalidArgumentError("image config: not a JSON object");
  ImageConfig config;
  absl::Status status;
  auto check = [&status](absl::Status s) {
    if (status.ok()) status = std::move(s);
  };
  check(ReadString(root, "os", "os", &config.os));
  check(ReadString(root, "architecture", "architecture", &config.architecture));
  check(ReadString(root, "variant", "variant", &config.variant));
  if (auto it = root.find("config"); it != root.end() && !it->is_null()) {
    if (!it->is_object()) return absl::InvalidArgumentError("image config: config is not an object");
    const json& c = *it;
    check(ReadStrings(c, "Env", "config.Env", &config.env));
    check(ReadStrings(c, "Entrypoint", "config.Entrypoint", &config.entrypoint));
    check(ReadStrings(c, "Cmd", "config.Cmd", &config.cmd));
    check(ReadString(c, "WorkingDir", "config.WorkingDir", &config.working_dir));
    check(ReadString(c, "User", "config.User", &config.user));
    check(ReadString(c, "StopSignal", "config.StopSignal", &config.stop_signal));
    if (auto labels = c.find("Labels"); labels != c.end() && !labels->is_null()) {
      if (!labels->is_object())
        return absl::InvalidArgumentError("image config: config.Labels is not an object");
      for (const auto& [key, value] : labels->items()) {
        if (!value.is_string())
          return absl::InvalidArgumentError(
              fmt::format("image config: config.Labels[{}] is not a string", Quote(key)));
        config.labels[key] = value.get<std::string>();
      }
    }
    if (auto healthcheck = c.find("Healthcheck"); healthcheck != c.end() && !healthcheck->is_null()) {
      if (!healthcheck->is_object())
        return absl::InvalidArgumentError("image config: config.Healthcheck is not an object");
      config.healthcheck = *healthcheck;
    }
    if (auto exposed = c.find("ExposedPorts"); exposed != c.end() && !exposed->is_null()) {
      if (!exposed->is_object())
        return absl::InvalidArgumentError("image config: config.ExposedPorts is not an object");
      for (const auto& [port, unused] : exposed->items()) config.exposed_ports.push_back(port);
    }
  }
  if (auto it = root.find("rootfs"); it != root.end() && !it->is_null()) {
    if (!it->is_object()) return absl::InvalidArgumentError("image config: rootfs is not an object");
    check(ReadStrings(*it, "diff_ids", "rootfs.diff_ids", &config.diff_ids));
  }
  if (!status.ok()) return status;
  return config;
}

std::string ChainId(const std::vector<std::string>& diff_ids) {
  std::string chain;
  for (const std::string& diff_id : diff_ids)
    chain = chain.empty() ? diff_id : "sha256:" + Sha256Hex(chain + " " + diff_id);
  return chain;
}

}  // namespace liman::ctr
