#include "common/status.h"

#include <cctype>
#include <cstring>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "fmt/format.h"

namespace liman {
namespace {
constexpr std::string_view kErrnoPayload = "liman.errno";
}

absl::StatusCode ErrnoToStatusCode(int err) {
  switch (err) {
    case 0:
      return absl::StatusCode::kOk;
    case ENOENT:
    case ESRCH:
    case ENXIO:
      return absl::StatusCode::kNotFound;
    case EEXIST:
      return absl::StatusCode::kAlreadyExists;
    case EPERM:
    case EACCES:
    case EROFS:
      return absl::StatusCode::kPermissionDenied;
    case EINVAL:
    case ENOTDIR:
    case EISDIR:
    case ENAMETOOLONG:
    case ELOOP:
    case E2BIG:
    case EXDEV:
      return absl::StatusCode::kInvalidArgument;
    case EBUSY:
    case ENOTEMPTY:
    case ETXTBSY:
      return absl::StatusCode::kFailedPrecondition;
    case ENOSPC:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case EDQUOT:
    case EAGAIN:
      return absl::StatusCode::kResourceExhausted;
    case ENOSYS:
    case EOPNOTSUPP:
      return absl::StatusCode::kUnimplemented;
    case ETIMEDOUT:
      return absl::StatusCode::kDeadlineExceeded;
    case ECANCELED:
    case EINTR:
      return absl::StatusCode::kCancelled;
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
      return absl::StatusCode::kUnavailable;
    default:
      return absl::StatusCode::kUnknown;
  }
}

std::string ErrnoText(int err) {
  std::string text = strerror(err);
  if (!text.empty() && !(text.size() > 1 && std::isupper(static_cast<unsigned char>(text[1]))))
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

absl::Status ErrnoError(int err, std::string_view what) {
  absl::Status status(ErrnoToStatusCode(err), fmt::format("{}: {}", what, ErrnoText(err)));
  status.SetPayload(absl::string_view(kErrnoPayload.data(), kErrnoPayload.size()), absl::Cord(std::to_string(err)));
  return status;
}

std::optional<int> StatusErrno(const absl::Status& status) {
  auto payload = status.GetPayload(absl::string_view(kErrnoPayload.data(), kErrnoPayload.size()));
  int err = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &err)) return std::nullopt;
  return err;
}

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  absl::Status annotated(status.code(), fmt::format("{}: {}", context, std::string(status.message())));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    annotated.SetPayload(url, payload);
  });
  return annotated;
}

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace liman
