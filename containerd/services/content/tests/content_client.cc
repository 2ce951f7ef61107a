#include "containerd/services/content/tests/content_client.h"

#include <algorithm>

#include "containerd/content/digest.h"
#include "containerd/services/testing/service_fixture.h"

namespace liman::containerd::services::testing {
namespace {

using WriteStream = grpc::ClientReaderWriter<content_api::WriteContentRequest, content_api::WriteContentResponse>;

// Sends `data` in WRITE messages from offset 0; false when the stream broke.
bool SendData(WriteStream& stream, const std::string& ref, std::string_view data, size_t chunk) {
  int64_t offset = 0;
  bool first = true;
  do {
    content_api::WriteContentRequest request;
    request.set_action(content_api::WRITE);
    if (first) request.set_ref(ref);
    request.set_offset(offset);
    std::string_view part = data.substr(static_cast<size_t>(offset), chunk);
    request.set_data(std::string(part));
    content_api::WriteContentResponse response;
    if (!stream.Write(request) || !stream.Read(&response)) return false;
    offset += static_cast<int64_t>(part.size());
    if (response.offset() != offset) return false;
    first = false;
  } while (static_cast<size_t>(offset) < data.size());
  return true;
}

}  // namespace

ContentClient::ContentClient(std::shared_ptr<grpc::Channel> channel)
    : stub_(content_api::Content::NewStub(std::move(channel))) {}

grpc::Status ContentClient::WriteBlob(const std::string& ref, std::string_view data, const WriteOptions& options) {
  return WriteBlobExpecting(ref, data, content::Sha256Digest(data), static_cast<int64_t>(data.size()), options);
}

grpc::Status ContentClient::WriteBlobExpecting(const std::string& ref, std::string_view data,
                                               const std::string& expected, int64_t total,
                                               const WriteOptions& options) {
  auto context = ServiceFixture::Context(options.ns, options.lease);
  std::unique_ptr<WriteStream> stream = stub_->Write(context.get());
  if (SendData(*stream, ref, data, std::max<size_t>(options.chunk, 1))) {
    content_api::WriteContentRequest commit;
    commit.set_action(content_api::COMMIT);
    commit.set_offset(static_cast<int64_t>(data.size()));
    commit.set_total(total);
    commit.set_expected(expected);
    commit.mutable_labels()->insert(options.labels.begin(), options.labels.end());
    content_api::WriteContentResponse response;
    if (stream->Write(commit)) stream->Read(&response);
  }
  stream->WritesDone();
  return stream->Finish();
}

grpc::Status ContentClient::WritePartial(const std::string& ref, std::string_view data, const WriteOptions& options) {
  auto context = ServiceFixture::Context(options.ns, options.lease);
  std::unique_ptr<WriteStream> stream = stub_->Write(context.get());
  SendData(*stream, ref, data, std::max<size_t>(options.chunk, 1));
  stream->WritesDone();
  return stream->Finish();
}

grpc::Status ContentClient::Info(const std::string& digest, content_api::Info* info, const std::string& ns) {
  content_api::InfoRequest request;
  request.set_digest(digest);
  content_api::InfoResponse response;
  grpc::Status status = stub_->Info(ServiceFixture::Context(ns).get(), request, &response);
  if (info != nullptr) *info = response.info();
  return status;
}

grpc::Status ContentClient::Status(const std::string& ref, content_api::Status* out, const std::string& ns) {
  content_api::StatusRequest request;
  request.set_ref(ref);
  content_api::StatusResponse response;
  grpc::Status status = stub_->Status(ServiceFixture::Context(ns).get(), request, &response);
  if (out != nullptr) *out = response.status();
  return status;
}

grpc::Status ContentClient::Delete(const std::string& digest, const std::string& ns) {
  content_api::DeleteContentRequest request;
  request.set_digest(digest);
  google::protobuf::Empty response;
  return stub_->Delete(ServiceFixture::Context(ns).get(), request, &response);
}

grpc::Status ContentClient::Abort(const std::string& ref, const std::string& ns) {
  content_api::AbortRequest request;
  request.set_ref(ref);
  google::protobuf::Empty response;
  return stub_->Abort(ServiceFixture::Context(ns).get(), request, &response);
}

grpc::Status ContentClient::Read(const std::string& digest, int64_t offset, int64_t size,
                                 std::vector<content_api::ReadContentResponse>* chunks, const std::string& ns) {
  content_api::ReadContentRequest request;
  request.set_digest(digest);
  request.set_offset(offset);
  request.set_size(size);
  auto context = ServiceFixture::Context(ns);
  auto reader = stub_->Read(context.get(), request);
  content_api::ReadContentResponse chunk;
  while (reader->Read(&chunk)) chunks->push_back(chunk);
  return reader->Finish();
}

std::string ContentClient::ReadAll(const std::string& digest, const std::string& ns) {
  std::vector<content_api::ReadContentResponse> chunks;
  if (!Read(digest, 0, 0, &chunks, ns).ok()) return "";
  std::string data;
  for (const auto& chunk : chunks) data += chunk.data();
  return data;
}

grpc::Status ContentClient::List(const std::vector<std::string>& filters, std::vector<std::string>* digests,
                                 size_t* messages, const std::string& ns) {
  content_api::ListContentRequest request;
  for (const std::string& filter : filters) request.add_filters(filter);
  auto context = ServiceFixture::Context(ns);
  auto reader = stub_->List(context.get(), request);
  content_api::ListContentResponse response;
  size_t count = 0;
  while (reader->Read(&response)) {
    ++count;
    for (const auto& info : response.info()) digests->push_back(info.digest());
  }
  if (messages != nullptr) *messages = count;
  return reader->Finish();
}

}  // namespace liman::containerd::services::testing
