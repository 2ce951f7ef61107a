// `events`: ctr events' lines: "<time> <namespace> <topic> <event as JSON>".
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>

#include "common/status.h"
#include "containerd/events/container.pb.h"
#include "containerd/events/content.pb.h"
#include "containerd/events/image.pb.h"
#include "containerd/events/namespace.pb.h"
#include "containerd/events/snapshot.pb.h"
#include "containerd/events/task.pb.h"
#include "ctl/liman-ctr/command.h"
#include "ctl/liman-ctr/table.h"
#include "fmt/format.h"

namespace liman::ctr {
namespace {

namespace events = ::containerd::services::events::v1;

// Pulls every event file's generated code into the binary (a static library's object is linked
// only when referenced), so their types are in the generated pool for decoding.
void LinkEventTypes() {
  (void)::containerd::events::ContainerCreate::descriptor();
  (void)::containerd::events::ContentDelete::descriptor();
  (void)::containerd::services::images::v1::ImageCreate::descriptor();
  (void)::containerd::events::NamespaceCreate::descriptor();
  (void)::containerd::events::SnapshotPrepare::descriptor();
  (void)::containerd::events::TaskExit::descriptor();
}

// The event as JSON with the proto field names (Go's json tags of containerd's types), or ""
// when its type is unknown.
std::string EventJson(const google::protobuf::Any& any) {
  std::string_view type = any.type_url();
  size_t slash = type.rfind('/');
  std::string name(slash == std::string_view::npos ? type : type.substr(slash + 1));
  const auto* descriptor = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(name);
  if (descriptor == nullptr) return "";
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor);
  std::unique_ptr<google::protobuf::Message> message(prototype->New());
  if (!message->ParseFromString(any.value())) return "";
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(*message, &json, options).ok()) return "";
  return json;
}

}  // namespace

void AddEventsCommand(CLI::App& app, CommandLine& line) {
  auto filters = std::make_shared<std::vector<std::string>>();
  CLI::App* command = app.add_subcommand("events", "display daemon events")->alias("event");
  command->add_option("filters", *filters, "filters (containerd syntax, e.g. topic==\"/tasks/exit\")");
  OnRun(command, line, [filters](Client& client) -> absl::StatusOr<int> {
    LinkEventTypes();
    events::SubscribeRequest request;
    for (const auto& filter : *filters) request.add_filters(filter);
    auto context = client.Context(std::nullopt, /*no_deadline=*/true);
    auto reader = client.Events().Subscribe(context.get(), request);
    events::Envelope envelope;
    while (reader->Read(&envelope)) {
      std::string json = envelope.has_event() ? EventJson(envelope.event()) : "";
      WriteOut(fmt::format("{} {} {} {}\n", GoTimeString(envelope.timestamp().seconds(), envelope.timestamp().nanos()),
                           envelope.namespace_(), envelope.topic(), json));
    }
    grpc::Status status = reader->Finish();
    if (!status.ok()) return CallError(status, "subscribe to events");
    return 0;
  });
}

}  // namespace liman::ctr
