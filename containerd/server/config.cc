#include "containerd/server/config.h"

#include <sstream>

#include <toml.hpp>

#include "absl/strings/ascii.h"

#include "common/file_util.h"
#include "common/status.h"

namespace liman::containerd::server {
namespace {

// Sets `*out` from `table[key]` when the key is there; toml11 throws type_error when `table`
// is not a table or the value is not a string.
void ReadString(const toml::value& table, const char* key, std::string* out) {
  if (table.contains(key)) *out = toml::find<std::string>(table, key);
}

void ReadBool(const toml::value& table, const char* key, bool* out) {
  if (table.contains(key)) *out = toml::find<bool>(table, key);
}

void ReadStrings(const toml::value& table, const char* key, std::vector<std::string>* out) {
  if (table.contains(key)) *out = toml::find<std::vector<std::string>>(table, key);
}

absl::Status ValidateConfig(const DaemonConfig& config) {
  if (config.root.empty() || config.root[0] != '/')
    return absl::InvalidArgumentError(fmt::format("root {} must be an absolute path", Quote(config.root)));
  if (config.state.empty() || config.state[0] != '/')
    return absl::InvalidArgumentError(fmt::format("state {} must be an absolute path", Quote(config.state)));
  if (config.root == config.state) return absl::InvalidArgumentError("root and state must be different paths");
  if (config.grpc_address.empty()) return absl::InvalidArgumentError("grpc address cannot be empty");
  return ParseLogLevel(config.log_level).status();
}

}  // namespace

std::string DaemonConfig::TtrpcAddress() const {
  return ttrpc_address.empty() ? grpc_address + ".ttrpc" : ttrpc_address;
}

absl::Status ApplyConfigToml(std::string_view text, std::string_view source, DaemonConfig* config) {
  // toml11 reports both syntax and type errors by throwing, with the position in what().
  try {
    std::istringstream stream{std::string(text)};
    const toml::value document = toml::parse(stream, std::string(source));
    ReadString(document, "root", &config->root);
    ReadString(document, "state", &config->state);
    if (document.contains("grpc")) ReadString(toml::find(document, "grpc"), "address", &config->grpc_address);
    if (document.contains("ttrpc")) ReadString(toml::find(document, "ttrpc"), "address", &config->ttrpc_address);
    if (document.contains("debug")) ReadString(toml::find(document, "debug"), "level", &config->log_level);
    if (document.contains("liman")) {
      const toml::value& liman = toml::find(document, "liman");
      ReadBool(liman, "sync_fs", &config->sync_fs);
      ReadStrings(liman, "insecure_registries", &config->insecure_registries);
      ReadString(liman, "docker_config", &config->docker_config);
    }
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(fmt::format("load config {}: {}", Quote(source), e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<DaemonConfig> LoadDaemonConfig(const DaemonFlags& flags) {
  DaemonConfig config;
  if (flags.config_path && !flags.config_path->empty()) {
    absl::StatusOr<std::string> text = ReadFile(*flags.config_path);
    if (text.ok()) {
      LIMAN_RETURN_IF_ERROR(ApplyConfigToml(*text, *flags.config_path, &config));
    } else if (text.status().code() == absl::StatusCode::kNotFound) {
      LogInfo("config file {} not found, using defaults", Quote(*flags.config_path));
    } else {
      return Annotate(text.status(), "load config");
    }
  }
  if (flags.root) config.root = *flags.root;
  if (flags.state) config.state = *flags.state;
  if (flags.grpc_address) config.grpc_address = *flags.grpc_address;
  if (flags.log_level) config.log_level = *flags.log_level;
  LIMAN_RETURN_IF_ERROR(ValidateConfig(config));
  return config;
}

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name) {
  // logrus (which containerd's --log-level goes through) ignores case.
  const std::string level = absl::AsciiStrToLower(absl::string_view(name.data(), name.size()));
  if (level == "trace" || level == "debug") return LogLevel::kDebug;
  if (level == "info") return LogLevel::kInfo;
  if (level == "warn" || level == "warning") return LogLevel::kWarn;
  if (level == "error" || level == "fatal" || level == "panic") return LogLevel::kError;
  return absl::InvalidArgumentError(fmt::format("not a valid log level {}", Quote(name)));
}

}  // namespace liman::containerd::server
