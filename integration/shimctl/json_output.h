// Protobuf messages as JSON for tests to read with jq: proto3 JSON mapping with proto field names
// (exit_status, not exitStatus) and zero values printed (an exit status of 0 is an answer, not an
// absence). google.protobuf.Any values are decoded by their type name, which containerd writes
// without the type.googleapis.com/ prefix protobuf's own printer insists on.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"

namespace liman::shimctl {

// Makes every message type a shim may send inside an Any findable by name. libprotobuf is linked
// statically: a generated file nothing refers to is dropped by the linker, and its types would be
// missing from the generated descriptor pool.
void RegisterKnownAnyTypes();

absl::StatusOr<nlohmann::json> ToJson(const google::protobuf::Message& message);

// {"@type": URL, ...fields} for a known protobuf type; for containerd's JSON-encoded types
// (types.containerd.io/opencontainers/runtime-spec/1/Process…) {"@type": URL, "value": JSON};
// otherwise {"@type": URL, "value_base64": …}.
nlohmann::json DecodeAny(const google::protobuf::Any& any);

// Prints `json` on one line, or only its top-level `field` when that is not empty (strings
// unquoted). A missing field is kNotFound.
absl::Status PrintJson(const nlohmann::json& json, const std::string& field);

// ToJson + PrintJson.
absl::Status PrintMessage(const google::protobuf::Message& message, const std::string& field);

}  // namespace liman::shimctl
