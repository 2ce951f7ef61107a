// The Forward endpoint on a real unix socket, driven by a ttrpc client as a shim drives it.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "common/file_util.h"
#include "common/tests/temp_dir.h"
#include "common/ttrpc/client.h"
#include "containerd/events/task.pb.h"
#include "containerd/events/ttrpc_endpoint.h"
#include "containerd/services/ttrpc/events/v1/events.pb.h"
#include "google/protobuf/empty.pb.h"
#include "shim/proto_time.h"

using namespace liman;
using namespace liman::containerd::events;
namespace ttrpc_events = ::containerd::services::events::ttrpc::v1;
using liman::test_support::TempDir;

namespace {

constexpr char kService[] = "containerd.services.events.ttrpc.v1.Events";

ttrpc_events::ForwardRequest ExitEnvelope(const std::string& ns, const std::string& topic, uint32_t status) {
  ::containerd::events::TaskExit exit;
  exit.set_container_id("c1");
  exit.set_exit_status(status);
  ttrpc_events::ForwardRequest request;
  auto* envelope = request.mutable_envelope();
  *envelope->mutable_timestamp() = shim::ToProtoTimestamp(absl::FromUnixSeconds(1700000000));
  envelope->set_namespace_(ns);
  envelope->set_topic(topic);
  envelope->mutable_event()->set_type_url(exit.GetDescriptor()->full_name());
  envelope->mutable_event()->set_value(exit.SerializeAsString());
  return request;
}

}  // namespace

TEST_CASE("Forward delivers a shim's envelope into the exchange", "[ttrpc_endpoint]") {
  TempDir dir;
  Exchange exchange;
  auto subscription = exchange.Subscribe();
  std::string socket = JoinPath(dir.path(), "containerd.sock.ttrpc");
  absl::StatusOr<std::unique_ptr<TtrpcEndpoint>> endpoint = TtrpcEndpoint::Start(&exchange, socket);
  REQUIRE(endpoint.ok());
  struct stat st;
  REQUIRE(stat(socket.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);

  absl::StatusOr<ttrpc::Client> client = ttrpc::Client::Connect("unix://" + socket);
  REQUIRE(client.ok());
  google::protobuf::Empty empty;
  REQUIRE(client->Call(kService, "Forward", ExitEnvelope("default", "/tasks/exit", 7), &empty, absl::Seconds(10)).ok());

  absl::StatusOr<Envelope> got = subscription->Next(absl::Now() + absl::Seconds(10));
  REQUIRE(got.ok());
  CHECK(got->namespace_name == "default");
  CHECK(got->topic == "/tasks/exit");
  CHECK(got->timestamp == absl::FromUnixSeconds(1700000000));
  ::containerd::events::TaskExit exit;
  REQUIRE(UnpackEvent(got->event, &exit));
  CHECK(exit.exit_status() == 7);

  // A bad envelope is answered with the reason, and the connection stays usable.
  absl::Status bad = client->Call(kService, "Forward", ExitEnvelope("default", "tasks", 1), &empty, absl::Seconds(10));
  CHECK(bad.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(bad.message()).find("must start with '/'") != std::string::npos);
  absl::Status no_ns = client->Call(kService, "Forward", ExitEnvelope("", "/tasks/exit", 1), &empty, absl::Seconds(10));
  CHECK(no_ns.code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(client->Call(kService, "Forward", ExitEnvelope("k8s.io", "/tasks/exit", 2), &empty, absl::Seconds(10)).ok());
  got = subscription->Next(absl::Now() + absl::Seconds(10));
  REQUIRE(got.ok());
  CHECK(got->namespace_name == "k8s.io");

  endpoint->reset();
  CHECK(!PathExists(socket));
}

TEST_CASE("the endpoint replaces a stale socket file", "[ttrpc_endpoint]") {
  TempDir dir;
  Exchange exchange;
  std::string socket = JoinPath(dir.path(), "c.sock.ttrpc");
  {
    absl::StatusOr<std::unique_ptr<TtrpcEndpoint>> first = TtrpcEndpoint::Start(&exchange, socket);
    REQUIRE(first.ok());
  }
  REQUIRE(WriteFileAtomic(socket, "stale").ok());
  absl::StatusOr<std::unique_ptr<TtrpcEndpoint>> second = TtrpcEndpoint::Start(&exchange, socket);
  REQUIRE(second.ok());
  CHECK(ttrpc::Client::Connect(socket).ok());
}
