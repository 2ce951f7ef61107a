// Test fixtures for the registry client and pull: a temporary directory, Debian's real
// docker-registry on a free loopback port, a scriptable HTTP server for protocol corners the real
// registry cannot show (bearer tokens, redirects), and an image builder that pushes layers,
// configs, manifests and indexes with the registry HTTP API.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "containerd/remotes/image_spec.h"
#include "common/tests/temp_dir.h"

namespace liman::containerd::remotes::testing {

using TempDir = test_support::TempDir;

// docker-registry with filesystem storage in its own temp dir, on 127.0.0.1:<free port>;
// killed and reaped by the destructor.
class TestRegistry {
 public:
  struct Options {
    // user → password for htpasswd (Basic) authentication; empty: no authentication.
    std::map<std::string, std::string> users;
  };
  TestRegistry() : TestRegistry(Options{}) {}
  explicit TestRegistry(const Options& options);
  ~TestRegistry();

  const std::string& addr() const { return addr_; }  // "127.0.0.1:PORT"
  // Where the registry keeps blob `digest`'s bytes.
  std::string BlobDataPath(const std::string& digest) const;

 private:
  absl::Status Start(const Options& options);
  void Stop();

  TempDir dir_;
  std::string addr_;
  pid_t pid_ = -1;
  UniqueFd log_;
  std::thread log_drain_;
};

// A minimal HTTP/1.1 server (one request per connection) answering with `handler`.
class FakeHttpServer {
 public:
  struct Request {
    std::string method;
    std::string target;                          // path and query
    std::map<std::string, std::string> headers;  // names lower case
  };
  struct Response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    // Bytes of the body actually sent before the connection is closed (Content-Length still
    // announces all of it): a connection that breaks mid-body.
    size_t send_bytes = std::string::npos;
  };
  explicit FakeHttpServer(std::function<Response(const Request&)> handler);
  ~FakeHttpServer();

  int port() const { return port_; }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }
  // Every request served so far.
  std::vector<Request> requests();

 private:
  void Serve();

  std::function<Response(const Request&)> handler_;
  UniqueFd listener_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<Request> requests_;
  std::thread thread_;
};

// A free TCP port on 127.0.0.1 (bound to port 0 and released).
int FreePort();

struct HttpResult {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower case names
  std::string body;
};
// One HTTP request with libcurl (no redirects followed).
absl::StatusOr<HttpResult> HttpCall(const std::string& method, const std::string& url,
                                    const std::vector<std::string>& headers = {}, const std::string& body = "");

// Image building.
struct TarEntry {
  enum class Type { kFile, kDir, kSymlink, kHardlink };
  std::string path;
  Type type = Type::kFile;
  std::string data;  // file content or link target
  int mode = 0644;
};
struct TestBlob {
  std::string data;
  std::string digest;
  std::string media_type;
  int64_t size() const { return static_cast<int64_t>(data.size()); }
};
inline Descriptor DescriptorOf(const TestBlob& blob) {
  return Descriptor{.media_type = blob.media_type, .digest = blob.digest, .size = blob.size()};
}
struct TestLayer {
  TestBlob blob;        // tar+gzip
  std::string diff_id;  // of the tar
};
TestBlob MakeBlob(std::string data, std::string media_type);
// An uncompressed tar of `entries` (mtime fixed, owner 0:0).
std::string MakeTar(const std::vector<TarEntry>& entries);
TestLayer MakeLayer(const std::vector<TarEntry>& entries);
// An image config for `diff_ids` ("os"/"architecture" as given).
TestBlob MakeConfig(const std::vector<std::string>& diff_ids, const std::string& arch = "amd64");
TestBlob MakeManifest(const TestBlob& config, const std::vector<TestLayer>& layers,
                      const std::string& media_type = "application/vnd.oci.image.manifest.v1+json");
// An index of (manifest, "os/arch") entries.
TestBlob MakeIndex(const std::vector<std::pair<TestBlob, std::string>>& manifests,
                   const std::string& media_type = "application/vnd.oci.image.index.v1+json");

// Monolithic upload (POST then PUT ?digest=) and manifest PUT, on http://`registry`.
absl::Status PushBlob(const std::string& registry, const std::string& repo, const TestBlob& blob,
                      const std::vector<std::string>& headers = {});
absl::Status PushManifest(const std::string& registry, const std::string& repo, const std::string& tag,
                          const TestBlob& manifest, const std::vector<std::string>& headers = {});
// Pushes layers, config and manifest; tags the manifest as `tag`.
absl::Status PushImage(const std::string& registry, const std::string& repo, const std::string& tag,
                       const std::vector<TestLayer>& layers, const TestBlob& config, const TestBlob& manifest);

}  // namespace liman::containerd::remotes::testing
