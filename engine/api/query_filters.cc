// The `filters` query parameter the list endpoints share (containers, networks).
#include "engine/api/routes.h"

namespace liman::engine::api {

absl::StatusOr<nlohmann::json> QueryFilters(const http::Call& call) {
  nlohmann::json filters;
  if (std::optional<std::string> text = call.request.Query("filters"); text && !text->empty()) {
    filters = nlohmann::json::parse(*text, nullptr, false);
    if (filters.is_discarded()) return absl::InvalidArgumentError("invalid filter: the filters parameter is not JSON");
  }
  return filters;
}

}  // namespace liman::engine::api
