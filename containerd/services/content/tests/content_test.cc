// The content service over real gRPC: the fixture's local store through the metadata DB's
// namespaced views, written and read as containerd's remote content store does.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "containerd/content/digest.h"
#include "containerd/events/content.pb.h"
#include "containerd/services/content/content_service.h"
#include "containerd/services/content/tests/content_client.h"
#include "containerd/services/testing/service_fixture.h"

namespace liman::containerd::services {
namespace {

namespace api = ::containerd::services::content::v1;
using testing::ContentClient;
using testing::ServiceFixture;
using testing::WriteOptions;
using WriteStream = grpc::ClientReaderWriter<api::WriteContentRequest, api::WriteContentResponse>;

// Deterministic bytes of any length.
std::string Pattern(size_t size, char seed = 'a') {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>(seed + (i * 7 + i / 251) % 26);
  return data;
}

std::string Digest(std::string_view data) { return content::Sha256Digest(data); }

class ContentTest {
 public:
  ContentTest() {
    fixture_.Serve(MakeContentService);
    fixture_.Start();
    client_ = std::make_unique<ContentClient>(fixture_.channel());
  }
  ServiceFixture& fixture() { return fixture_; }
  ContentClient& client() { return *client_; }

 private:
  ServiceFixture fixture_;
  std::unique_ptr<ContentClient> client_;
};

api::WriteContentResponse Roundtrip(WriteStream& stream, const api::WriteContentRequest& request) {
  REQUIRE(stream.Write(request));
  api::WriteContentResponse response;
  REQUIRE(stream.Read(&response));
  return response;
}

api::WriteContentRequest Request(api::WriteAction action, const std::string& ref = "", int64_t offset = 0,
                                 const std::string& data = "") {
  api::WriteContentRequest request;
  request.set_action(action);
  request.set_ref(ref);
  request.set_offset(offset);
  request.set_data(data);
  return request;
}

TEST_CASE("content service: a blob written in several messages is committed and read back") {
  ContentTest test;
  const std::string data = Pattern(300000);
  WriteOptions options;
  options.chunk = 70000;  // five WRITE messages
  options.labels = {{"origin", "test"}};
  grpc::Status written = test.client().WriteBlob("upload-1", data, options);
  INFO(written.error_message());
  REQUIRE(written.ok());

  api::Info info;
  REQUIRE(test.client().Info(Digest(data), &info).ok());
  CHECK(info.digest() == Digest(data));
  CHECK(info.size() == static_cast<int64_t>(data.size()));
  CHECK(info.labels().at("origin") == "test");
  CHECK(info.created_at().seconds() > 0);
  CHECK(test.client().ReadAll(Digest(data)) == data);
  // The ingest is gone once committed.
  CHECK(test.client().Status("upload-1").error_code() == grpc::StatusCode::NOT_FOUND);
  // The blob is in the fixture's backend store too.
  CHECK(test.fixture().content().Info(Digest(data)).ok());
}

TEST_CASE("content service: the Write stream answers STAT, WRITE and COMMIT as containerd") {
  ContentTest test;
  const std::string data = Pattern(1000);
  auto context = ServiceFixture::Context();
  std::unique_ptr<WriteStream> stream = test.client().stub().Write(context.get());

  api::WriteContentRequest stat = Request(api::STAT, "stream-1");
  stat.set_total(1000);
  stat.set_expected(Digest(data));
  api::WriteContentResponse response = Roundtrip(*stream, stat);
  CHECK(response.action() == api::STAT);
  CHECK(response.offset() == 0);
  CHECK(response.total() == 1000);
  CHECK(response.digest() == Digest(""));
  CHECK(response.started_at().seconds() > 0);

  response = Roundtrip(*stream, Request(api::WRITE, "", 0, data.substr(0, 400)));
  CHECK(response.action() == api::WRITE);
  CHECK(response.offset() == 400);
  CHECK(response.digest() == Digest(data.substr(0, 400)));
  // Offset 0 once data was written restarts the ingest (containerd truncates it).
  response = Roundtrip(*stream, Request(api::WRITE, "", 0, ""));
  CHECK(response.offset() == 0);
  response = Roundtrip(*stream, Request(api::WRITE, "", 0, data.substr(0, 600)));
  CHECK(response.offset() == 600);

  // The declared total and expected digest from the first message apply to the commit.
  response = Roundtrip(*stream, Request(api::COMMIT, "", 600, data.substr(600)));
  CHECK(response.action() == api::COMMIT);
  CHECK(response.offset() == 1000);
  CHECK(response.digest() == Digest(data));
  stream->WritesDone();
  grpc::Status finished = stream->Finish();
  INFO(finished.error_message());
  CHECK(finished.ok());
  CHECK(test.client().ReadAll(Digest(data)) == data);
}

TEST_CASE("content service: an upload resumes after a dropped stream from the offset STAT reports") {
  ContentTest test;
  const std::string data = Pattern(200000, 'k');
  const std::string ref = "resumable";
  REQUIRE(test.client().WritePartial(ref, std::string_view(data).substr(0, 120000)).ok());

  api::Status status;
  REQUIRE(test.client().Status(ref, &status).ok());
  CHECK(status.ref() == ref);
  CHECK(status.offset() == 120000);

  auto context = ServiceFixture::Context();
  std::unique_ptr<WriteStream> stream = test.client().stub().Write(context.get());
  api::WriteContentRequest stat = Request(api::STAT, ref);
  stat.set_total(static_cast<int64_t>(data.size()));
  api::WriteContentResponse response = Roundtrip(*stream, stat);
  REQUIRE(response.offset() == 120000);
  CHECK(response.digest() == Digest(data.substr(0, 120000)));

  // A write anywhere but the current offset is refused.
  SECTION("a write at the wrong offset is out of range") {
    REQUIRE(stream->Write(Request(api::WRITE, "", 5, "xyz")));
    api::WriteContentResponse ignored;
    CHECK_FALSE(stream->Read(&ignored));
    grpc::Status finished = stream->Finish();
    CHECK(finished.error_code() == grpc::StatusCode::OUT_OF_RANGE);
    CHECK(finished.error_message().find("must occur at current offset 120000") != std::string::npos);
    // The ingest is untouched.
    REQUIRE(test.client().Status(ref, &status).ok());
    CHECK(status.offset() == 120000);
  }
  SECTION("the rest is written from there and committed") {
    api::WriteContentRequest commit = Request(api::COMMIT, "", response.offset(), data.substr(120000));
    commit.set_expected(Digest(data));
    response = Roundtrip(*stream, commit);
    CHECK(response.offset() == static_cast<int64_t>(data.size()));
    stream->WritesDone();
    REQUIRE(stream->Finish().ok());
    CHECK(test.client().ReadAll(Digest(data)) == data);
  }
}

TEST_CASE("content service: a commit with the wrong digest or size fails and leaves the ingest") {
  ContentTest test;
  const std::string data = Pattern(5000);
  const std::string wrong = Digest("something else");

  grpc::Status status = test.client().WriteBlobExpecting("bad", data, wrong, static_cast<int64_t>(data.size()));
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(status.error_message().find("unexpected commit digest") != std::string::npos);
  status = test.client().WriteBlobExpecting("bad-size", data, Digest(data), 4999);
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(status.error_message().find("unexpected commit size") != std::string::npos);

  // Nothing became visible.
  CHECK(test.client().Info(Digest(data)).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(test.client().Info(wrong).error_code() == grpc::StatusCode::NOT_FOUND);
  std::vector<std::string> digests;
  REQUIRE(test.client().List({}, &digests).ok());
  CHECK(digests.empty());

  // The ingests are still there, to resume or abort.
  api::Status ingest;
  REQUIRE(test.client().Status("bad", &ingest).ok());
  CHECK(ingest.offset() == 5000);
  REQUIRE(test.client().Abort("bad").ok());
  CHECK(test.client().Status("bad").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(test.client().Abort("bad").error_code() == grpc::StatusCode::NOT_FOUND);

  // The other one commits once given the right size.
  REQUIRE(test.client().WriteBlob("bad-size", data).ok());
  CHECK(test.client().Info(Digest(data)).ok());
}

TEST_CASE("content service: writing content that exists answers AlreadyExists") {
  ContentTest test;
  const std::string data = Pattern(100);
  REQUIRE(test.client().WriteBlob("first", data).ok());

  SECTION("declared in the first message") {
    auto context = ServiceFixture::Context();
    std::unique_ptr<WriteStream> stream = test.client().stub().Write(context.get());
    api::WriteContentRequest stat = Request(api::STAT, "second");
    stat.set_expected(Digest(data));
    REQUIRE(stream->Write(stat));
    api::WriteContentResponse ignored;
    CHECK_FALSE(stream->Read(&ignored));
    CHECK(stream->Finish().error_code() == grpc::StatusCode::ALREADY_EXISTS);
  }
  SECTION("declared on commit: the ingest is aborted") {
    grpc::Status status = test.client().WriteBlob("second", data);
    CHECK(status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
    CHECK(test.client().Status("second").error_code() == grpc::StatusCode::NOT_FOUND);
  }
}

TEST_CASE("content service: Read honours offset and size and sends 1 MiB chunks") {
  ContentTest test;
  const std::string data = Pattern(2621440 + 17, 'm');  // 2.5 MiB and a bit
  REQUIRE(test.client().WriteBlob("big", data, {.chunk = 1 << 20}).ok());
  const std::string digest = Digest(data);

  std::vector<api::ReadContentResponse> chunks;
  REQUIRE(test.client().Read(digest, 0, 0, &chunks).ok());
  REQUIRE(chunks.size() == 3);
  CHECK(chunks[0].offset() == 0);
  CHECK(chunks[0].data().size() == 1 << 20);
  CHECK(chunks[1].offset() == 1 << 20);
  CHECK(chunks[2].offset() == 2 << 20);
  CHECK(chunks[0].data() + chunks[1].data() + chunks[2].data() == data);

  chunks.clear();
  REQUIRE(test.client().Read(digest, 1000, 5000, &chunks).ok());
  REQUIRE(chunks.size() == 1);
  CHECK(chunks[0].offset() == 1000);
  CHECK(chunks[0].data() == data.substr(1000, 5000));

  // A size past the end is cut there; a negative offset reads from the start.
  chunks.clear();
  REQUIRE(test.client().Read(digest, static_cast<int64_t>(data.size()) - 10, 1 << 30, &chunks).ok());
  REQUIRE(chunks.size() == 1);
  CHECK(chunks[0].data() == data.substr(data.size() - 10));
  chunks.clear();
  REQUIRE(test.client().Read(digest, -5, 3, &chunks).ok());
  REQUIRE(chunks.size() == 1);
  CHECK(chunks[0].data() == data.substr(0, 3));
  // At the end: nothing; past it: out of range.
  chunks.clear();
  REQUIRE(test.client().Read(digest, static_cast<int64_t>(data.size()), 0, &chunks).ok());
  CHECK(chunks.empty());
  grpc::Status past = test.client().Read(digest, static_cast<int64_t>(data.size()) + 1, 0, &chunks);
  CHECK(past.error_code() == grpc::StatusCode::OUT_OF_RANGE);
  CHECK(past.error_message().find("read past object length") != std::string::npos);
  CHECK(test.client().Read(Digest("absent"), 0, 0, &chunks).error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("content service: List filters and sends blocks of 100") {
  ContentTest test;
  std::set<std::string> tagged;
  for (int i = 0; i < 130; ++i) {
    std::string data = "blob " + std::to_string(i);
    WriteOptions options;
    if (i % 10 == 0) {
      options.labels = {{"kind", "tenth"}};
      tagged.insert(Digest(data));
    }
    REQUIRE(test.client().WriteBlob("list-" + std::to_string(i), data, options).ok());
  }
  std::vector<std::string> digests;
  size_t messages = 0;
  REQUIRE(test.client().List({}, &digests, &messages).ok());
  CHECK(digests.size() == 130);
  CHECK(messages == 2);

  digests.clear();
  REQUIRE(test.client().List({"labels.kind==tenth"}, &digests, &messages).ok());
  CHECK(std::set<std::string>(digests.begin(), digests.end()) == tagged);
  CHECK(messages == 1);

  digests.clear();
  REQUIRE(test.client().List({"digest==" + Digest("blob 7"), "labels.kind==tenth"}, &digests).ok());
  CHECK(digests.size() == 14);  // either filter: 13 tagged and blob 7

  digests.clear();
  REQUIRE(test.client().List({"labels.kind==none"}, &digests, &messages).ok());
  CHECK(digests.empty());
  CHECK(messages == 0);
  CHECK(test.client().List({"!!!"}, &digests).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("content service: Update changes labels by field mask") {
  ContentTest test;
  const std::string data = "labelled";
  REQUIRE(test.client().WriteBlob("labelled", data, {.labels = {{"a", "1"}, {"b", "2"}}}).ok());

  auto update = [&](std::map<std::string, std::string> labels, std::vector<std::string> paths, api::Info* out) {
    api::UpdateRequest request;
    request.mutable_info()->set_digest(Digest(data));
    request.mutable_info()->mutable_labels()->insert(labels.begin(), labels.end());
    for (const std::string& path : paths) request.mutable_update_mask()->add_paths(path);
    api::UpdateResponse response;
    grpc::Status status = test.client().stub().Update(ServiceFixture::Context().get(), request, &response);
    *out = response.info();
    return status;
  };
  using Map = std::map<std::string, std::string>;
  auto labels = [](const api::Info& info) { return Map(info.labels().begin(), info.labels().end()); };

  api::Info info;
  REQUIRE(update({{"a", "10"}, {"c", "3"}}, {"labels.a"}, &info).ok());
  CHECK(labels(info) == Map{{"a", "10"}, {"b", "2"}});
  REQUIRE(update({}, {"labels.b"}, &info).ok());
  CHECK(labels(info) == Map{{"a", "10"}});
  REQUIRE(update({{"x", "y"}}, {"labels"}, &info).ok());
  CHECK(labels(info) == Map{{"x", "y"}});
  REQUIRE(update({{"z", "0"}}, {}, &info).ok());
  CHECK(labels(info) == Map{{"z", "0"}});
  CHECK(info.size() == static_cast<int64_t>(data.size()));

  api::Info stored;
  REQUIRE(test.client().Info(Digest(data), &stored).ok());
  CHECK(labels(stored) == Map{{"z", "0"}});
  CHECK(update({}, {"size"}, &info).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(update({{std::string(5000, 'k'), "v"}}, {}, &info).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("content service: content and ingests are per namespace") {
  ContentTest test;
  const std::string data = Pattern(4096, 'q');
  REQUIRE(test.client().WriteBlob("shared-ref", data, {.ns = "a"}).ok());
  REQUIRE(test.client().WritePartial("ingest-a", "partial", {.ns = "a"}).ok());

  CHECK(test.client().Info(Digest(data), nullptr, "a").ok());
  CHECK(test.client().Info(Digest(data), nullptr, "b").error_code() == grpc::StatusCode::NOT_FOUND);
  std::vector<api::ReadContentResponse> chunks;
  CHECK(test.client().Read(Digest(data), 0, 0, &chunks, "b").error_code() == grpc::StatusCode::NOT_FOUND);
  std::vector<std::string> digests;
  REQUIRE(test.client().List({}, &digests, nullptr, "b").ok());
  CHECK(digests.empty());
  CHECK(test.client().Status("ingest-a", nullptr, "b").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(test.client().Delete(Digest(data), "b").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(test.client().Abort("ingest-a", "b").error_code() == grpc::StatusCode::NOT_FOUND);

  // Namespace b gets its own record of the blob when it writes it.
  REQUIRE(test.client().WriteBlob("shared-ref", data, {.ns = "b", .labels = {{"in", "b"}}}).ok());
  api::Info info;
  REQUIRE(test.client().Info(Digest(data), &info, "b").ok());
  CHECK(info.labels().at("in") == "b");
  REQUIRE(test.client().Info(Digest(data), &info, "a").ok());
  CHECK(info.labels().empty());
  REQUIRE(test.client().Delete(Digest(data), "b").ok());
  CHECK(test.client().ReadAll(Digest(data), "a") == data);
}

TEST_CASE("content service: Status and ListStatuses report ingests") {
  ContentTest test;
  REQUIRE(test.client().WritePartial("pull-layer-1", "12345").ok());
  REQUIRE(test.client().WritePartial("pull-layer-2", "1234567").ok());
  REQUIRE(test.client().WritePartial("push-config", "1").ok());

  api::ListStatusesRequest request;
  api::ListStatusesResponse response;
  REQUIRE(test.client().stub().ListStatuses(ServiceFixture::Context().get(), request, &response).ok());
  CHECK(response.statuses_size() == 3);

  request.add_filters("ref~=^pull-");
  response.Clear();
  REQUIRE(test.client().stub().ListStatuses(ServiceFixture::Context().get(), request, &response).ok());
  std::map<std::string, int64_t> offsets;
  for (const auto& status : response.statuses()) offsets[status.ref()] = status.offset();
  CHECK(offsets == std::map<std::string, int64_t>{{"pull-layer-1", 5}, {"pull-layer-2", 7}});

  grpc::Status missing = test.client().Status("nope");
  CHECK(missing.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(missing.error_message().find("could not get status for ref \"nope\"") != std::string::npos);
}

TEST_CASE("content service: Delete removes the blob and publishes /content/delete") {
  ContentTest test;
  const std::string data = "to delete";
  REQUIRE(test.client().WriteBlob("del", data, {.ns = "events"}).ok());
  auto subscription = test.fixture().deps().events->Subscribe();
  REQUIRE(test.client().Delete(Digest(data), "events").ok());

  auto envelope = subscription->Next(absl::Now() + absl::Seconds(30));
  REQUIRE(envelope.ok());
  CHECK(envelope->topic == "/content/delete");
  CHECK(envelope->namespace_name == "events");
  ::containerd::events::ContentDelete event;
  REQUIRE(events::UnpackEvent(envelope->event, &event));
  CHECK(event.digest() == Digest(data));

  CHECK(test.client().Info(Digest(data), nullptr, "events").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(test.client().Delete(Digest(data), "events").error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("content service: malformed requests get a clear status") {
  ContentTest test;
  SECTION("no namespace") {
    grpc::Status status = test.client().Info(Digest("x"), nullptr, "");
    CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(status.error_message().find("namespace is required") != std::string::npos);
    CHECK(test.client().WriteBlob("r", "x", {.ns = ""}).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    std::vector<std::string> digests;
    CHECK(test.client().List({}, &digests, nullptr, "").error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  }
  SECTION("a bad namespace name") {
    CHECK(test.client().Info(Digest("x"), nullptr, "-bad-").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SECTION("bad digests") {
    for (const std::string& digest : {std::string(""), std::string("sha256:xyz"), std::string("nodigest"),
                                      "sha256:" + std::string(64, 'A'), std::string("md5:abcd")}) {
      INFO(digest);
      CHECK(test.client().Info(digest).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK(test.client().Delete(digest).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      std::vector<api::ReadContentResponse> chunks;
      CHECK(test.client().Read(digest, 0, 0, &chunks).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    }
    api::UpdateRequest update;
    update.mutable_info()->set_digest("../../etc/passwd");
    api::UpdateResponse response;
    CHECK(test.client().stub().Update(ServiceFixture::Context().get(), update, &response).error_code() ==
          grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(test.client().WriteBlobExpecting("r", "x", "sha256:nothex", 1).error_code() ==
          grpc::StatusCode::INVALID_ARGUMENT);
  }
  SECTION("a Write without a ref") {
    auto context = ServiceFixture::Context();
    std::unique_ptr<WriteStream> stream = test.client().stub().Write(context.get());
    REQUIRE(stream->Write(Request(api::WRITE, "", 0, "data")));
    api::WriteContentResponse ignored;
    CHECK_FALSE(stream->Read(&ignored));
    grpc::Status status = stream->Finish();
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(status.error_message() == "first message must have a reference");
  }
  SECTION("a Write closed before its first message") {
    auto context = ServiceFixture::Context();
    std::unique_ptr<WriteStream> stream = test.client().stub().Write(context.get());
    stream->WritesDone();
    CHECK(stream->Finish().error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SECTION("an unknown write action") {
    auto context = ServiceFixture::Context();
    std::unique_ptr<WriteStream> stream = test.client().stub().Write(context.get());
    REQUIRE(stream->Write(Request(static_cast<api::WriteAction>(7), "odd")));
    api::WriteContentResponse ignored;
    CHECK_FALSE(stream->Read(&ignored));
    CHECK(stream->Finish().error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SECTION("a second writer on the same ref is unavailable") {
    auto context = ServiceFixture::Context();
    std::unique_ptr<WriteStream> stream = test.client().stub().Write(context.get());
    Roundtrip(*stream, Request(api::STAT, "locked"));
    CHECK(test.client().WriteBlob("locked", "x").error_code() == grpc::StatusCode::UNAVAILABLE);
    stream->WritesDone();
    CHECK(stream->Finish().ok());
    CHECK(test.client().WriteBlob("locked", "x").ok());
  }
}

}  // namespace
}  // namespace liman::containerd::services
