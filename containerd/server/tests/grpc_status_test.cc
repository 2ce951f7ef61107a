#include "containerd/server/grpc_status.h"

#include <catch2/catch.hpp>

namespace liman::containerd::server {
namespace {

TEST_CASE("ToGrpcStatus keeps code and message, FromGrpcStatus restores them", "[grpc_status]") {
  for (int code = 1; code <= 16; ++code) {
    absl::Status original(static_cast<absl::StatusCode>(code), "create container \"a\": already exists");
    grpc::Status wire = ToGrpcStatus(original);
    CHECK(static_cast<int>(wire.error_code()) == code);
    CHECK(wire.error_message() == "create container \"a\": already exists");
    CHECK(FromGrpcStatus(wire) == original);
  }
}

TEST_CASE("ToGrpcStatus names gRPC's codes for absl's", "[grpc_status]") {
  CHECK(ToGrpcStatus(absl::NotFoundError("x")).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(ToGrpcStatus(absl::AlreadyExistsError("x")).error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK(ToGrpcStatus(absl::FailedPreconditionError("x")).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(ToGrpcStatus(absl::InvalidArgumentError("x")).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(ToGrpcStatus(absl::UnavailableError("x")).error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(ToGrpcStatus(absl::UnimplementedError("x")).error_code() == grpc::StatusCode::UNIMPLEMENTED);
}

TEST_CASE("OK maps to OK both ways", "[grpc_status]") {
  CHECK(ToGrpcStatus(absl::OkStatus()).ok());
  CHECK(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST_CASE("codes outside the canonical range become UNKNOWN", "[grpc_status]") {
  grpc::Status wire = ToGrpcStatus(absl::Status(static_cast<absl::StatusCode>(42), "odd"));
  CHECK(wire.error_code() == grpc::StatusCode::UNKNOWN);
  CHECK(wire.error_message() == "odd");
  absl::Status back = FromGrpcStatus(grpc::Status(static_cast<grpc::StatusCode>(99), "odd"));
  CHECK(back.code() == absl::StatusCode::kUnknown);
  CHECK(back.message() == "odd");
}

}  // namespace
}  // namespace liman::containerd::server
