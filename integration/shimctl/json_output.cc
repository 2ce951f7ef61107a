#include "integration/shimctl/json_output.h"

#include <cstdio>
#include <memory>
#include <set>
#include <vector>

#include "absl/strings/escaping.h"
#include "cgroups/v1/metrics.pb.h"
#include "cgroups/v2/metrics.pb.h"
#include "common/status.h"
#include "containerd/events/task.pb.h"
#include "containerd/runtime/v2/runc/options/oci.pb.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "containerd/services/ttrpc/events/v1/events.pb.h"
#include "fmt/format.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/status.pb.h"
#include "ttrpc/ttrpc.pb.h"

namespace liman::shimctl {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// containerd's typeurl marshals types that are not protobuf messages (the OCI spec's Process,
// LinuxResources) as JSON under this prefix.
constexpr std::string_view kJsonTypePrefix = "types.containerd.io/";

// Whether a message of type `descriptor` can hold an Any anywhere below it.
bool ContainsAny(const Descriptor* descriptor, std::set<const Descriptor*>& visiting) {
  if (descriptor == google::protobuf::Any::descriptor()) return true;
  if (!visiting.insert(descriptor).second) return false;  // recursive type: decided further up
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && ContainsAny(field->message_type(), visiting))
      return true;
  }
  return false;
}

bool ContainsAny(const Descriptor* descriptor) {
  std::set<const Descriptor*> visiting;
  return ContainsAny(descriptor, visiting);
}

}  // namespace

void RegisterKnownAnyTypes() {
  // Taking each descriptor is what keeps its file in the binary (see the header).
  [[maybe_unused]] const Descriptor* known[] = {
      containerd::events::TaskCreate::descriptor(),
      containerd::events::TaskStart::descriptor(),
      containerd::events::TaskDelete::descriptor(),
      containerd::events::TaskIO::descriptor(),
      containerd::events::TaskExit::descriptor(),
      containerd::events::TaskOOM::descriptor(),
      containerd::events::TaskExecAdded::descriptor(),
      containerd::events::TaskExecStarted::descriptor(),
      containerd::events::TaskPaused::descriptor(),
      containerd::events::TaskResumed::descriptor(),
      containerd::events::TaskCheckpointed::descriptor(),
      containerd::runc::v1::Options::descriptor(),
      containerd::task::v2::StateResponse::descriptor(),
      containerd::services::events::ttrpc::v1::Envelope::descriptor(),
      google::rpc::Status::descriptor(),
      ::ttrpc::Response::descriptor(),
      io::containerd::cgroups::v1::Metrics::descriptor(),
      io::containerd::cgroups::v2::Metrics::descriptor(),
  };
}

nlohmann::json DecodeAny(const google::protobuf::Any& any) {
  const std::string& url = any.type_url();
  nlohmann::json result = nlohmann::json::object();
  result["@type"] = url;
  if (url.compare(0, kJsonTypePrefix.size(), kJsonTypePrefix) == 0) {
    nlohmann::json value = nlohmann::json::parse(any.value(), nullptr, /*allow_exceptions=*/false);
    if (!value.is_discarded()) {
      result["value"] = std::move(value);
      return result;
    }
  }
  std::string name = url.substr(url.rfind('/') == std::string::npos ? 0 : url.rfind('/') + 1);
  const Descriptor* descriptor = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(name);
  if (descriptor != nullptr) {
    const Message* prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor);
    std::unique_ptr<Message> message(prototype->New());
    if (message->ParseFromString(any.value())) {
      absl::StatusOr<nlohmann::json> decoded = ToJson(*message);
      if (decoded.ok() && decoded->is_object()) {
        decoded->emplace("@type", url);
        return *std::move(decoded);
      }
    }
  }
  result["value_base64"] = absl::Base64Escape(any.value());
  return result;
}

absl::StatusOr<nlohmann::json> ToJson(const Message& message) {
  const Descriptor* descriptor = message.GetDescriptor();
  if (descriptor == google::protobuf::Any::descriptor()) {
    google::protobuf::Any any;
    any.CopyFrom(message);
    return DecodeAny(any);
  }
  // Fields that (may) hold an Any are converted here, recursively; protobuf's printer does the
  // rest of the message, with those fields cleared.
  std::unique_ptr<Message> rest(message.New());
  rest->CopyFrom(message);
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<std::pair<std::string, nlohmann::json>> converted;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || !ContainsAny(field->message_type())) continue;
    reflection->ClearField(rest.get(), field);
    if (field->is_repeated()) {
      nlohmann::json list = nlohmann::json::array();
      for (int j = 0; j < reflection->FieldSize(message, field); ++j) {
        LIMAN_ASSIGN_OR_RETURN(nlohmann::json element, ToJson(reflection->GetRepeatedMessage(message, field, j)));
        list.push_back(std::move(element));
      }
      converted.emplace_back(field->name(), std::move(list));
    } else if (reflection->HasField(message, field)) {
      LIMAN_ASSIGN_OR_RETURN(nlohmann::json value, ToJson(reflection->GetMessage(message, field)));
      converted.emplace_back(field->name(), std::move(value));
    }
  }

  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string text;
  auto printed = google::protobuf::util::MessageToJsonString(*rest, &text, options);
  if (!printed.ok()) {
    return absl::InternalError(fmt::format("print {} as JSON: {}", descriptor->full_name(), printed.ToString()));
  }
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return absl::InternalError(fmt::format("print {} as JSON: protobuf printed invalid JSON", descriptor->full_name()));
  }
  for (auto& [name, value] : converted) json[name] = std::move(value);
  return json;
}

absl::Status PrintJson(const nlohmann::json& json, const std::string& field) {
  std::string line;
  if (field.empty()) {
    line = json.dump();
  } else {
    if (!json.is_object() || !json.contains(field))
      return absl::NotFoundError(fmt::format("response has no field {}: {}", Quote(field), json.dump()));
    const nlohmann::json& value = json.at(field);
    line = value.is_string() ? value.get<std::string>() : value.dump();
  }
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  if (std::fflush(stdout) != 0) return ErrnoError(errno, "write stdout");
  return absl::OkStatus();
}

absl::Status PrintMessage(const Message& message, const std::string& field) {
  LIMAN_ASSIGN_OR_RETURN(nlohmann::json json, ToJson(message));
  return PrintJson(json, field);
}

}  // namespace liman::shimctl
