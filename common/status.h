// Errors for every layer of Liman: absl::Status carrying the operation, its arguments and the
// errno, worded the way Go tools word them (`open "/x/config.json": no such file or directory`),
// so messages read the same whether they come from liman-runtime or from runc.
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/fmt_absl.h"

namespace liman {

// The closest absl::StatusCode for an errno value (ENOENT -> kNotFound, EEXIST -> kAlreadyExists…).
absl::StatusCode ErrnoToStatusCode(int err);

// strerror(err) in lower case: "no such file or directory".
std::string ErrnoText(int err);

// `what: <errno text>`, with the errno kept as a payload so callers can test it.
absl::Status ErrnoError(int err, std::string_view what);
inline absl::Status ErrnoError(std::string_view what) { return ErrnoError(errno, what); }

// The errno an ErrnoError carries, if any (also through Annotate).
std::optional<int> StatusErrno(const absl::Status& status);

// Prefixes context on the way up: `create container "a": open "/x": no such file or directory`.
absl::Status Annotate(const absl::Status& status, std::string_view context);

// A path or name in double quotes, for messages.
std::string Quote(std::string_view text);

}  // namespace liman

#define LIMAN_STATUS_CONCAT_INNER_(a, b) a##b
#define LIMAN_STATUS_CONCAT_(a, b) LIMAN_STATUS_CONCAT_INNER_(a, b)

#define LIMAN_RETURN_IF_ERROR(expr)                  \
  do {                                               \
    if (absl::Status _liman_status = (expr); !_liman_status.ok()) \
      return _liman_status;                          \
  } while (0)

#define LIMAN_ASSIGN_OR_RETURN(lhs, expr) \
  LIMAN_ASSIGN_OR_RETURN_IMPL_(LIMAN_STATUS_CONCAT_(_liman_statusor_, __COUNTER__), lhs, expr)

#define LIMAN_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();     \
  lhs = std::move(tmp).value()
