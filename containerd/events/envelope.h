// One event as the exchange carries it (containerd's events.Envelope): when, in which namespace,
// under which topic, and the event itself packed in an Any whose type URL is the message's full
// proto name ("containerd.events.TaskExit"), as containerd's typeurl writes it.
#pragma once

#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/message.h"

namespace liman::containerd::events {

struct Envelope {
  absl::Time timestamp;
  std::string namespace_name;
  std::string topic;
  google::protobuf::Any event;

  // The event's type as subscribers filter on it: the type URL without any "…/" prefix.
  std::string_view event_type() const {
    std::string_view url = event.type_url();
    size_t slash = url.rfind('/');
    return slash == std::string_view::npos ? url : url.substr(slash + 1);
  }
};

// Packs `event` the way containerd's typeurl.MarshalAny does for its own (gogo-registered)
// messages: the type URL is the bare full name, with no "type.googleapis.com/" prefix.
inline google::protobuf::Any PackEvent(const google::protobuf::Message& event) {
  google::protobuf::Any any;
  any.set_type_url(event.GetDescriptor()->full_name());
  any.set_value(event.SerializeAsString());
  return any;
}

// The reverse, for type URLs with or without a prefix (google::protobuf::Any::UnpackTo insists on
// a "…/" prefix, which containerd's own events do not have). False for another type or bad bytes.
inline bool UnpackEvent(const google::protobuf::Any& any, google::protobuf::Message* event) {
  std::string_view url = any.type_url();
  size_t slash = url.rfind('/');
  if (slash != std::string_view::npos) url.remove_prefix(slash + 1);
  return url == event->GetDescriptor()->full_name() && event->ParseFromString(any.value());
}

}  // namespace liman::containerd::events
