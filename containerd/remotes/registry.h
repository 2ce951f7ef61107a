// A client for one repository of an OCI distribution (Docker registry v2) server: resolves
// references to descriptors and fetches manifests and blobs, authenticating as registries ask
// (Bearer token from the challenge's realm, with basic credentials when we have some, or Basic).
//
// Transport: https by default. Loopback hosts (127.0.0.0/8, ::1, localhost) and hosts listed
// as insecure are tried over https without certificate verification first and over plain http
// when TLS fails, as Docker does for insecure registries.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/remotes/auth.h"
#include "containerd/remotes/http_client.h"
#include "containerd/remotes/image_spec.h"
#include "containerd/remotes/reference.h"

namespace liman::containerd::remotes {

struct RegistryOptions {
  // host[:port] entries (a bare host matches every port) that may be reached over plain http,
  // like ctr's --plain-http or dockerd's insecure-registries.
  std::vector<std::string> insecure_hosts;
  // Used as given when set; otherwise looked up for the registry in `docker_config`.
  std::optional<Credentials> credentials;
  // A Docker config.json; empty: DefaultDockerConfigPath().
  std::string docker_config;
  std::string user_agent = "liman-containerd";
  // Tokens are asked for pushing too ("repository:<path>:pull,push"), and denials say push.
  bool push = false;
};

// Whether `host` ("host[:port]") may use plain http: loopback, or listed in `insecure_hosts`.
bool IsPlainHttpAllowed(std::string_view host, const std::vector<std::string>& insecure_hosts);

class RegistryClient {
 public:
  // A client for ref.domain/ref.path. Reads credentials now (errors name the config file);
  // contacts the registry only when first used. `http` may be shared between clients.
  static absl::StatusOr<std::unique_ptr<RegistryClient>> Create(const Reference& ref, const RegistryOptions& options,
                                                                std::shared_ptr<HttpClient> http = nullptr);

  const Reference& reference() const { return ref_; }

  // The descriptor `object` (tag or digest) names: HEAD on the manifest, falling back to GET
  // when the registry sends no digest or length.
  absl::StatusOr<Descriptor> Resolve(std::string_view object);

  struct FetchedManifest {
    Descriptor descriptor;  // digest computed from the body; media type from Content-Type (or the body)
    std::string body;
  };
  // GETs the manifest (or index) `object` names. When `object` is a digest the body must hash
  // to it (kDataLoss otherwise). Errors carry the registry's words: "manifest unknown"
  // (kNotFound), "pull access denied, …" (kPermissionDenied/kUnauthenticated).
  absl::StatusOr<FetchedManifest> GetManifest(std::string_view object);

  // The whole content of `desc` (from manifests/ for index and manifest media types, blobs/
  // otherwise), checked against its size and digest; at most `limit` bytes.
  absl::StatusOr<std::string> FetchVerified(const Descriptor& desc, int64_t limit);

  // Streams blob `desc` to `sink` as it arrives; every byte reaches the sink once, in order.
  // A connection that breaks mid-way is resumed with a Range request (up to 3 times). Checks
  // the size (more bytes than desc.size is kDataLoss at once), not the digest: the caller hashes
  // what it consumes. `cancelled` (may be null) aborts with kCancelled.
  absl::Status FetchBlob(const Descriptor& desc, const std::function<absl::Status(std::string_view)>& sink,
                         const std::atomic<bool>* cancelled = nullptr);

  // Pushing (the distribution spec's "push" section).
  using BodyWriter = std::function<absl::Status(const std::function<absl::Status(std::string_view)>& write)>;
  // Whether the repository has blob `desc` (HEAD on it).
  absl::StatusOr<bool> HasBlob(const Descriptor& desc);
  enum class BlobPush { kUploaded, kMounted };
  // Puts blob `desc` into the repository. With `mount_from` (a repository path on the same
  // registry that has it), asks for a cross-repository mount first; else, or when the registry
  // declines, uploads it in one PUT (POST for an upload location, then PUT ?digest=): the
  // registry checks the digest. `write_body` hands over the blob's bytes and may be called again
  // when the PUT must go again.
  absl::StatusOr<BlobPush> PushBlob(const Descriptor& desc, const BodyWriter& write_body,
                                    const std::string& mount_from = "");
  // PUTs `body` (desc's document) as the manifest `object` (a tag or desc's digest) with
  // desc.media_type. A Docker-Content-Digest answered that is not desc's is kDataLoss.
  absl::Status PushManifest(std::string_view object, const Descriptor& desc, std::string_view body);

  // docker login's check (moby's loginV2): the registry's /v2/ with the credentials, a token
  // fetched with them when it asks for one. OK when /v2/ then answers 200 (also for a registry
  // that asks for nothing); kUnauthenticated "login attempt to <url> failed with status: 401
  // Unauthorized" when it does not. A client for the registry alone: its reference's path is
  // empty, and tokens are asked for without a scope.
  absl::Status CheckLogin();

 private:
  RegistryClient(Reference ref, RegistryOptions options, std::optional<Credentials> credentials,
                 std::shared_ptr<HttpClient> http);

  // Picks https or http (see the file comment) with a GET /v2/ ping, once; a 401 ping is
  // answered right away so that the first real request carries credentials.
  absl::Status EnsureEndpoint();
  // Sends `request` to the registry with our Authorization; a 401 is answered (token fetched)
  // and the request retried once.
  absl::StatusOr<HttpResponse> Send(HttpRequest request);
  // Updates the Authorization for the challenges of a 401 `response` to a request that was sent
  // with `sent_authorization`.
  absl::Status Authenticate(const HttpResponse& response, const std::string& sent_authorization);
  absl::StatusOr<std::string> FetchToken(const AuthChallenge& challenge);

  std::string RepositoryUrl(std::string_view kind, std::string_view object) const;
  // A Location header's URL, absolute (relative ones are on the registry's origin).
  std::string AbsoluteLocation(std::string_view location) const;
  // The error for a failed response: the registry's error messages, with a code for their kind.
  absl::Status ResponseError(const HttpResponse& response, std::string_view context) const;

  Reference ref_;
  RegistryOptions options_;
  std::optional<Credentials> credentials_;
  std::shared_ptr<HttpClient> http_;
  bool plain_allowed_ = false;

  std::mutex endpoint_mutex_;
  std::optional<absl::Status> endpoint_status_;
  std::string base_url_;  // "https://host" or "http://host"
  bool verify_tls_ = true;

  std::mutex auth_mutex_;
  std::string authorization_;  // the Authorization header value, empty when anonymous
};

}  // namespace liman::containerd::remotes
