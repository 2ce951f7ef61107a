#include "containerd/services/events/envelope_adaptor.h"

#include <vector>

#include "absl/strings/str_join.h"
#include "containerd/events/container.pb.h"
#include "containerd/events/content.pb.h"
#include "containerd/events/image.pb.h"
#include "containerd/events/namespace.pb.h"
#include "containerd/events/snapshot.pb.h"
#include "containerd/events/task.pb.h"
#include "google/protobuf/descriptor.h"

namespace liman::containerd::services {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// The generated pool knows a message type only once its .pb.cc is linked in; naming one
// message of each event file here links them all, whoever else uses them or not.
void LinkEventTypes() {
  static const Descriptor* const kEventFiles[] = {
      ::containerd::events::ContainerCreate::descriptor(),  ::containerd::events::ContentDelete::descriptor(),
      ::containerd::services::images::v1::ImageCreate::descriptor(),
      ::containerd::events::NamespaceCreate::descriptor(),  ::containerd::events::SnapshotPrepare::descriptor(),
      ::containerd::events::TaskExit::descriptor(),
  };
  (void)kEventFiles;
}

std::optional<std::string> StringMapField(const Message& message, const FieldDescriptor* field,
                                          std::span<const std::string> rest) {
  const Descriptor* entry = field->message_type();
  const FieldDescriptor* key_field = entry->map_key();
  const FieldDescriptor* value_field = entry->map_value();
  if (key_field->type() != FieldDescriptor::TYPE_STRING || value_field->type() != FieldDescriptor::TYPE_STRING)
    return std::nullopt;
  const google::protobuf::Reflection* reflection = message.GetReflection();
  int size = reflection->FieldSize(message, field);
  if (size == 0) return std::nullopt;
  std::string key = absl::StrJoin(rest.begin(), rest.end(), ".");
  for (int i = 0; i < size; ++i) {
    const Message& item = reflection->GetRepeatedMessage(message, field, i);
    const google::protobuf::Reflection* item_reflection = item.GetReflection();
    if (item_reflection->GetString(item, key_field) == key) return item_reflection->GetString(item, value_field);
  }
  return std::nullopt;
}

}  // namespace

std::unique_ptr<Message> UnpackKnownAny(const google::protobuf::Any& any) {
  LinkEventTypes();
  std::string_view url = any.type_url();
  if (size_t slash = url.rfind('/'); slash != std::string_view::npos) url.remove_prefix(slash + 1);
  const Descriptor* type =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(std::string(url));
  if (type == nullptr) return nullptr;
  const Message* prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(type);
  if (prototype == nullptr) return nullptr;
  std::unique_ptr<Message> message(prototype->New());
  if (!message->ParseFromString(any.value())) return nullptr;
  return message;
}

std::optional<std::string> MessageField(const Message& message, std::span<const std::string> path) {
  if (path.empty()) return std::nullopt;
  const FieldDescriptor* field = message.GetDescriptor()->FindFieldByName(path[0]);
  if (field == nullptr) return std::nullopt;
  std::span<const std::string> rest = path.subspan(1);
  if (field->is_map()) return StringMapField(message, field, rest);
  if (field->is_repeated()) return std::nullopt;

  const google::protobuf::Reflection* reflection = message.GetReflection();
  switch (field->type()) {
    case FieldDescriptor::TYPE_STRING: {
      std::string value = reflection->GetString(message, field);
      if (value.empty()) return std::nullopt;
      return value;
    }
    case FieldDescriptor::TYPE_BOOL:
      return reflection->GetBool(message, field) ? "true" : "false";
    case FieldDescriptor::TYPE_MESSAGE: {
      if (!reflection->HasField(message, field)) return std::nullopt;
      const Message& nested = reflection->GetMessage(message, field);
      const std::string& type = nested.GetDescriptor()->full_name();
      if (type == google::protobuf::Any::descriptor()->full_name()) {
        std::unique_ptr<Message> unpacked =
            UnpackKnownAny(static_cast<const google::protobuf::Any&>(nested));
        if (unpacked == nullptr) return std::nullopt;
        return MessageField(*unpacked, rest);
      }
      // Well-known types (timestamps, durations...) have no fields to filter on in containerd.
      if (type.rfind("google.protobuf.", 0) == 0) return std::nullopt;
      return MessageField(nested, rest);
    }
    default:
      return std::nullopt;
  }
}

filters::Adaptor AdaptEnvelope(const events::Envelope& envelope) {
  // Unpacked on the first event.* lookup and kept for the other selectors of the same match.
  struct Unpacked {
    bool tried = false;
    std::unique_ptr<Message> event;
  };
  auto unpacked = std::make_shared<Unpacked>();
  return [&envelope, unpacked](const std::vector<std::string>& path) -> std::optional<std::string> {
    if (path.empty()) return std::nullopt;
    if (path[0] == "namespace") {
      if (envelope.namespace_name.empty()) return std::nullopt;
      return envelope.namespace_name;
    }
    if (path[0] == "topic") {
      if (envelope.topic.empty()) return std::nullopt;
      return envelope.topic;
    }
    if (path[0] == "event") {
      if (!unpacked->tried) {
        unpacked->tried = true;
        unpacked->event = UnpackKnownAny(envelope.event);
      }
      if (unpacked->event == nullptr) return std::nullopt;
      return MessageField(*unpacked->event, std::span<const std::string>(path).subspan(1));
    }
    return std::nullopt;
  };
}

}  // namespace liman::containerd::services
