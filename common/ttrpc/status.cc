#include "common/ttrpc/status.h"

#include <string>

namespace liman::ttrpc {

google::rpc::Status StatusToProto(const absl::Status& status) {
  google::rpc::Status proto;
  proto.set_code(static_cast<int32_t>(status.code()));
  proto.set_message(std::string(status.message()));
  return proto;
}

absl::Status StatusFromProto(const google::rpc::Status& status) {
  int32_t code = status.code();
  // 1…16 are the codes gRPC defines; 0 must not turn an error message into OK.
  if (code == 0) return absl::OkStatus();
  if (code < 0 || code > static_cast<int32_t>(absl::StatusCode::kUnauthenticated))
    return absl::UnknownError(status.message());
  return absl::Status(static_cast<absl::StatusCode>(code), status.message());
}

}  // namespace liman::ttrpc
