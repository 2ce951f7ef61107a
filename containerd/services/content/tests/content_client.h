// A test client of the content service, as containerd's remote content store drives it:
// blobs written through the Write stream (optionally under a lease), read back through Read.
// Shared by the tests of the services that work with content (content, leases, namespaces).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/channel.h>

#include "containerd/services/content/v1/content.grpc.pb.h"

namespace liman::containerd::services::testing {

namespace content_api = ::containerd::services::content::v1;

// Where a Write call starts and how it goes on: the namespace and lease it is made in, and the
// size of its WRITE messages.
struct WriteOptions {
  std::string ns = "default";
  std::string lease;
  std::map<std::string, std::string> labels;  // given on COMMIT
  size_t chunk = 1 << 16;
};

class ContentClient {
 public:
  explicit ContentClient(std::shared_ptr<grpc::Channel> channel);

  content_api::Content::Stub& stub() { return *stub_; }

  // Writes `data` as ingest `ref` in WRITE messages of options.chunk bytes, then COMMITs it
  // with its size and digest. The status of the stream.
  grpc::Status WriteBlob(const std::string& ref, std::string_view data, const WriteOptions& options = {});
  // The same, committing with `expected` (any digest) and `total` instead of the right ones.
  grpc::Status WriteBlobExpecting(const std::string& ref, std::string_view data, const std::string& expected,
                                  int64_t total, const WriteOptions& options = {});
  // Writes `data` to ingest `ref` from its start without committing, then closes the stream
  // (the ingest stays, as after a dropped upload).
  grpc::Status WritePartial(const std::string& ref, std::string_view data, const WriteOptions& options = {});

  grpc::Status Info(const std::string& digest, content_api::Info* info = nullptr, const std::string& ns = "default");
  grpc::Status Status(const std::string& ref, content_api::Status* status = nullptr,
                      const std::string& ns = "default");
  grpc::Status Delete(const std::string& digest, const std::string& ns = "default");
  grpc::Status Abort(const std::string& ref, const std::string& ns = "default");
  // The Read answers for [offset, offset+size) of `digest`.
  grpc::Status Read(const std::string& digest, int64_t offset, int64_t size,
                    std::vector<content_api::ReadContentResponse>* chunks, const std::string& ns = "default");
  // The whole blob ("" when reading fails).
  std::string ReadAll(const std::string& digest, const std::string& ns = "default");
  // The digests List answers with `filters`, and how many messages it took.
  grpc::Status List(const std::vector<std::string>& filters, std::vector<std::string>* digests,
                    size_t* messages = nullptr, const std::string& ns = "default");

 private:
  std::unique_ptr<content_api::Content::Stub> stub_;
};

}  // namespace liman::containerd::services::testing
