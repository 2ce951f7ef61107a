// The fields an event subscription filters on (containerd's events.Envelope.Field and the
// Field methods its fieldpath protoc plugin generates for the event messages):
//   namespace, topic                 present when not empty
//   event.<field>[.<field>...]       a field of the event itself, found by its proto name:
//     string fields (present when not empty), bool fields ("true"/"false"), map<string,string>
//     fields such as labels (the rest of the path, joined with '.', is the key), nested
//     messages, and google.protobuf.Any fields (unpacked when their type is known here).
//     Numbers, enums, repeated fields and timestamps are not addressable, as in containerd.
// The event is unpacked through the generated descriptor pool: every containerd event type
// (containerd/events/*.proto) is known; other types expose only namespace and topic.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "containerd/events/envelope.h"
#include "containerd/filters/filters.h"
#include "google/protobuf/message.h"

namespace liman::containerd::services {

// The adaptor keeps a reference to `envelope` (it must outlive the Match calls) and unpacks the
// event at most once, on the first event.* lookup.
filters::Adaptor AdaptEnvelope(const events::Envelope& envelope);

// A field of `message` by field path, with the rules above.
std::optional<std::string> MessageField(const google::protobuf::Message& message, std::span<const std::string> path);

// The message packed in `any`, if its type is in the generated pool and the bytes parse.
std::unique_ptr<google::protobuf::Message> UnpackKnownAny(const google::protobuf::Any& any);

}  // namespace liman::containerd::services
