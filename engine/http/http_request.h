// One HTTP/1.1 request as limand's handlers see it: method, the decoded path and query, headers
// by lower-case name, and the whole (de-chunked) body.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace liman::engine::http {

struct HttpRequest {
  std::string method;
  std::string target;  // as sent: "/v1.41/containers/json?all=1"
  std::string path;    // percent-decoded, without the query: "/v1.41/containers/json"
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::map<std::string, std::string> headers;               // lower-case names
  std::string body;
  bool upgrade = false;  // Connection: Upgrade was asked for (attach, exec start)

  // The header's value, "" when absent.
  std::string Header(std::string_view name) const;
  // The first value of a query parameter.
  std::optional<std::string> Query(std::string_view key) const;
  // Every value of a repeated query parameter.
  std::vector<std::string> QueryAll(std::string_view key) const;
  // Docker's boolean query values (httputils.BoolValue): anything but "", "0", "no", "false",
  // "none" is true.
  bool QueryBool(std::string_view key) const;
};

// Percent-decoding of a path segment or (`plus_is_space`) a query component.
absl::StatusOr<std::string> PercentDecode(std::string_view text, bool plus_is_space);
// Splits "a=1&b=x%20y" into decoded pairs; kInvalidArgument for a bad escape.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view text);

}  // namespace liman::engine::http
