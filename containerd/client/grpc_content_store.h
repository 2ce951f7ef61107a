// A ContentStore over containerd's content service (containerd.services.content.v1.Content):
// the client side of what liman-containerd and containerd serve, as containerd's content/proxy
// is. Blobs are read with Read streams, ingests written through one Write stream per writer
// (STAT to open or resume by ref, WRITE, COMMIT). Every call acts in the scope's namespace and
// lease; gRPC statuses come back as absl ones (server/grpc_status.h).
#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "containerd/client/call_scope.h"
#include "containerd/core/content.h"
#include "containerd/services/content/v1/content.grpc.pb.h"

namespace liman::containerd::client {

class GrpcContentStore final : public ContentStore {
 public:
  GrpcContentStore(const std::shared_ptr<grpc::Channel>& channel, CallScope scope);

  absl::StatusOr<ContentInfo> Info(std::string_view digest) override;
  absl::StatusOr<ContentInfo> Update(const ContentInfo& info, const FieldPaths& paths) override;
  absl::Status Walk(const std::vector<std::string>& filters,
                    const std::function<absl::Status(const ContentInfo&)>& fn) override;
  absl::Status Delete(std::string_view digest) override;
  absl::StatusOr<std::unique_ptr<ContentReader>> ReaderAt(std::string_view digest) override;
  absl::StatusOr<std::unique_ptr<ContentWriter>> Writer(std::string_view ref, int64_t total,
                                                        std::string_view expected) override;
  absl::StatusOr<IngestStatus> Status(std::string_view ref) override;
  absl::StatusOr<std::vector<IngestStatus>> ListStatuses(const std::vector<std::string>& filters) override;
  absl::Status Abort(std::string_view ref) override;

 private:
  // Shared with the readers and writers it hands out, which may outlive the store.
  std::shared_ptr<::containerd::services::content::v1::Content::Stub> stub_;
  CallScope scope_;
};

}  // namespace liman::containerd::client
