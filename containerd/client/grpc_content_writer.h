// One ingest written over a Write stream of containerd's content service. The stream is the
// writer's session: the server holds the ref's lock while it is open, so closing it (WritesDone,
// then reading the server's end) is what lets the next writer of the ref in.
#pragma once

#include <memory>
#include <string>

#include "containerd/client/call_scope.h"
#include "containerd/core/content.h"
#include "containerd/services/content/v1/content.grpc.pb.h"

namespace liman::containerd::client {

class GrpcContentWriter final : public ContentWriter {
 public:
  using Stub = ::containerd::services::content::v1::Content::Stub;

  // Opens or resumes the ingest `ref` with a STAT request, which is how the server learns the ref
  // and answers with where the ingest stands.
  static absl::StatusOr<std::unique_ptr<GrpcContentWriter>> Open(std::shared_ptr<Stub> stub, const CallScope& scope,
                                                                 std::string_view ref, int64_t total,
                                                                 std::string_view expected);
  ~GrpcContentWriter() override;

  absl::Status Write(std::string_view data) override;
  int64_t Offset() const override { return status_.offset; }
  absl::Status Truncate(int64_t offset) override;
  absl::Status Commit(int64_t size, std::string_view expected_digest, const Labels& labels) override;
  IngestStatus Status() const override { return status_; }
  std::string Digest() const override { return digest_; }

 private:
  using Stream = grpc::ClientReaderWriter<::containerd::services::content::v1::WriteContentRequest,
                                          ::containerd::services::content::v1::WriteContentResponse>;

  GrpcContentWriter(std::shared_ptr<Stub> stub, std::unique_ptr<grpc::ClientContext> context);
  // Sends one request and reads its answer into status_/digest_; on failure ends the session and
  // returns the server's status.
  absl::Status RoundTrip(const ::containerd::services::content::v1::WriteContentRequest& request);
  // Half-closes the stream, drains it and returns the server's final status.
  absl::Status Finish();
  absl::Status CheckOpen() const;

  std::shared_ptr<Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<Stream> stream_;  // null once the session ended
  absl::Status ended_;              // why it ended (OK after a commit)
  IngestStatus status_;
  std::string digest_;
};

}  // namespace liman::containerd::client
