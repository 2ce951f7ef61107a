#include "containerd/content/ingest_record.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::containerd::content {
namespace {

constexpr std::string_view kRefFile = "ref";
constexpr std::string_view kTotalFile = "total";
constexpr std::string_view kExpectedFile = "expected";
constexpr std::string_view kStartedAtFile = "startedat";
constexpr std::string_view kUpdatedAtFile = "updatedat";

// Metadata files are replaced without fsync: after a crash a lost record only means the
// ingest restarts from zero (see WriteIngestRecord), never that it resumes wrongly.
absl::Status PutFile(const std::string& dir, std::string_view name, std::string_view content) {
  return ReplaceFile(JoinPath(dir, name), content, 0644);
}

absl::Status RemoveFile(const std::string& dir, std::string_view name) {
  std::string path = JoinPath(dir, name);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError(fmt::format("remove {}", Quote(path)));
  return absl::OkStatus();
}

// The content of an optional file; "" when it does not exist.
absl::StatusOr<std::string> ReadOptional(const std::string& dir, std::string_view name) {
  auto content = ReadFile(JoinPath(dir, name));
  if (!content.ok() && absl::IsNotFound(content.status())) return std::string();
  return content;
}

absl::StatusOr<absl::Time> ReadTimestamp(const std::string& dir, std::string_view name) {
  LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFile(JoinPath(dir, name)));
  auto time = ParseTimestamp(text);
  if (!time.ok()) return Annotate(time.status(), fmt::format("ingest {}", Quote(dir)));
  return time;
}

}  // namespace

std::string FormatTimestamp(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", time, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseTimestamp(std::string_view text) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, absl::string_view(text.data(), text.size()), &time, &error))
    return absl::DataLossError(fmt::format("parse timestamp {}: {}", Quote(text), error));
  return time;
}

absl::StatusOr<IngestStatus> ReadIngestRecord(const std::string& dir) {
  IngestStatus status;
  std::string data = JoinPath(dir, kIngestDataFile);
  struct stat st;
  if (stat(data.c_str(), &st) != 0) return ErrnoError(fmt::format("stat {}", Quote(data)));
  status.offset = st.st_size;
  LIMAN_ASSIGN_OR_RETURN(status.ref, ReadFile(JoinPath(dir, kRefFile)));
  LIMAN_ASSIGN_OR_RETURN(std::string total, ReadOptional(dir, kTotalFile));
  if (!total.empty() && (!absl::SimpleAtoi(total, &status.total) || status.total < 0))
    return absl::DataLossError(fmt::format("ingest {}: bad total {}", Quote(dir), Quote(total)));
  LIMAN_ASSIGN_OR_RETURN(status.expected, ReadOptional(dir, kExpectedFile));
  LIMAN_ASSIGN_OR_RETURN(status.started_at, ReadTimestamp(dir, kStartedAtFile));
  LIMAN_ASSIGN_OR_RETURN(status.updated_at, ReadTimestamp(dir, kUpdatedAtFile));
  // updatedat is written when a writer closes; data's mtime is newer while one is writing.
  status.updated_at = std::max(status.updated_at, absl::TimeFromTimespec(st.st_mtim));
  return status;
}

absl::Status WriteIngestRecord(const std::string& dir, const IngestStatus& status) {
  if (status.total > 0) {
    LIMAN_RETURN_IF_ERROR(PutFile(dir, kTotalFile, fmt::format("{}", status.total)));
  } else {
    LIMAN_RETURN_IF_ERROR(RemoveFile(dir, kTotalFile));
  }
  if (!status.expected.empty()) {
    LIMAN_RETURN_IF_ERROR(PutFile(dir, kExpectedFile, status.expected));
  } else {
    LIMAN_RETURN_IF_ERROR(RemoveFile(dir, kExpectedFile));
  }
  LIMAN_RETURN_IF_ERROR(PutFile(dir, kStartedAtFile, FormatTimestamp(status.started_at)));
  LIMAN_RETURN_IF_ERROR(PutFile(dir, kUpdatedAtFile, FormatTimestamp(status.updated_at)));
  return PutFile(dir, kRefFile, status.ref);
}

absl::Status WriteIngestUpdatedAt(const std::string& dir, absl::Time updated_at) {
  return PutFile(dir, kUpdatedAtFile, FormatTimestamp(updated_at));
}

absl::Status InvalidateIngestRecord(const std::string& dir) { return RemoveFile(dir, kRefFile); }

}  // namespace liman::containerd::content
