#include "shim/bundle_files.h"

#include <cctype>
#include <cerrno>
#include <limits>

#include "absl/time/time.h"
#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "shim/rfc3339.h"

namespace liman::shim {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxIdentifierLength = 76;  // containerd's identifiers.Validate

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool IsSeparator(char c) { return c == '.' || c == '_' || c == '-'; }

std::string ExitsDir(const std::string& bundle) { return JoinPath(bundle, "exits"); }

}  // namespace

absl::Status ValidateExecId(std::string_view exec_id) {
  if (exec_id.empty()) return absl::InvalidArgumentError("exec id must not be empty");
  if (exec_id.size() > kMaxIdentifierLength)
    return absl::InvalidArgumentError(
        fmt::format("exec id {}: longer than {} characters", Quote(exec_id), kMaxIdentifierLength));
  // ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$ : separators only between alphanumerics.
  bool previous_alnum = false;
  for (char c : exec_id) {
    if (IsAlnum(c)) {
      previous_alnum = true;
    } else if (IsSeparator(c) && previous_alnum) {
      previous_alnum = false;
    } else {
      previous_alnum = false;
      break;
    }
  }
  if (!previous_alnum)
    return absl::InvalidArgumentError(
        fmt::format("exec id {}: must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$", Quote(exec_id)));
  if (exec_id == kInitRecordName)
    return absl::InvalidArgumentError(fmt::format("exec id {}: reserved for the container's init", Quote(exec_id)));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ExitRecordPath(const std::string& bundle, std::string_view exec_id) {
  if (!exec_id.empty()) LIMAN_RETURN_IF_ERROR(ValidateExecId(exec_id));
  std::string_view name = exec_id.empty() ? kInitRecordName : exec_id;
  return JoinPath(ExitsDir(bundle), fmt::format("{}.json", name));
}

absl::Status WriteExitRecord(const std::string& bundle, const ExitRecord& record) {
  LIMAN_ASSIGN_OR_RETURN(std::string path, ExitRecordPath(bundle, record.exec_id));
  LIMAN_RETURN_IF_ERROR(MkdirAll(ExitsDir(bundle), 0700));
  json document = {{"exec_id", record.exec_id},
                   {"pid", record.pid},
                   {"exit_status", record.exit_status},
                   {"exited_at", FormatRfc3339Nano(record.exited_at)}};
  return Annotate(WriteFileAtomic(path, document.dump() + "\n", 0600), "write exit record");
}

absl::StatusOr<std::optional<ExitRecord>> ReadExitRecord(const std::string& bundle, std::string_view exec_id) {
  LIMAN_ASSIGN_OR_RETURN(std::string path, ExitRecordPath(bundle, exec_id));
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    if (StatusErrno(text.status()) == ENOENT) return std::optional<ExitRecord>();
    return Annotate(text.status(), "read exit record");
  }
  auto invalid = [&path](std::string_view why) {
    return absl::DataLossError(fmt::format("exit record {}: {}", Quote(path), why));
  };
  json document = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object()) return invalid("not a JSON object");
  auto exec = document.find("exec_id");
  auto pid = document.find("pid");
  auto status = document.find("exit_status");
  auto exited_at = document.find("exited_at");
  if (exec == document.end() || !exec->is_string()) return invalid("exec_id missing or not a string");
  for (auto field : {pid, status}) {
    if (field == document.end() || !field->is_number_unsigned() ||
        field->get<uint64_t>() > std::numeric_limits<uint32_t>::max())
      return invalid("pid or exit_status missing or not a 32-bit unsigned number");
  }
  if (exited_at == document.end() || !exited_at->is_string()) return invalid("exited_at missing or not a string");
  absl::StatusOr<absl::Time> time = ParseRfc3339(exited_at->get<std::string>());
  if (!time.ok()) return invalid(std::string(time.status().message()));
  ExitRecord record;
  record.exec_id = exec->get<std::string>();
  record.pid = pid->get<uint32_t>();
  record.exit_status = status->get<uint32_t>();
  record.exited_at = *time;
  return std::optional<ExitRecord>(std::move(record));
}

absl::StatusOr<pid_t> ReadPidFile(const std::string& path) {
  LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::string_view digits = text;
  if (!digits.empty() && digits.back() == '\n') digits.remove_suffix(1);
  if (digits.empty()) return absl::InvalidArgumentError(fmt::format("pid file {}: empty", Quote(path)));
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9' || value > static_cast<uint64_t>(std::numeric_limits<pid_t>::max()))
      return absl::InvalidArgumentError(fmt::format("pid file {}: invalid content {}", Quote(path), Quote(text)));
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value == 0 || value > static_cast<uint64_t>(std::numeric_limits<pid_t>::max()))
    return absl::InvalidArgumentError(fmt::format("pid file {}: invalid pid {}", Quote(path), Quote(digits)));
  return static_cast<pid_t>(value);
}

}  // namespace liman::shim
