#include "containerd/remotes/registry.h"

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/sha256.h"
#include "common/status.h"

namespace liman::containerd::remotes {
namespace {

constexpr int kBlobAttempts = 4;  // the first try and three resumptions

std::string ManifestAccept() {
  return fmt::format("Accept: {}, {}, {}, {}, */*", media_type::kOciIndex, media_type::kOciManifest,
                     media_type::kDockerManifestList, media_type::kDockerManifest);
}

// "host:port" → "host"; "[::1]:5000" → "::1".
std::string_view HostWithoutPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(1, close - 1);
  }
  if (std::count(host.begin(), host.end(), ':') == 1) return host.substr(0, host.find(':'));
  return host;
}

// The media type of a Content-Type header value: without parameters, lower case.
std::string MediaTypeOf(std::string_view content_type) {
  std::string type(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  return type;
}

bool IsManifestLike(std::string_view mt) { return IsIndexType(mt) || IsManifestType(mt) || IsSchema1Type(mt); }

absl::StatusCode CodeForRegistryError(std::string_view code) {
  if (code == "BLOB_UNKNOWN" || code == "MANIFEST_UNKNOWN" || code == "NAME_UNKNOWN" ||
      code == "MANIFEST_BLOB_UNKNOWN" || code == "BLOB_UPLOAD_UNKNOWN") {
    return absl::StatusCode::kNotFound;
  }
  if (code == "UNAUTHORIZED") return absl::StatusCode::kUnauthenticated;
  if (code == "DENIED") return absl::StatusCode::kPermissionDenied;
  if (code == "TOOMANYREQUESTS") return absl::StatusCode::kResourceExhausted;
  if (code == "UNSUPPORTED") return absl::StatusCode::kUnimplemented;
  if (code == "DIGEST_INVALID" || code == "NAME_INVALID" || code == "TAG_INVALID" || code == "MANIFEST_INVALID" ||
      code == "SIZE_INVALID" || code == "MANIFEST_UNVERIFIED" || code == "RANGE_INVALID") {
    return absl::StatusCode::kInvalidArgument;
  }
  return absl::StatusCode::kUnknown;
}

absl::StatusCode CodeForHttpStatus(long status) {
  switch (status) {
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 405:
      return absl::StatusCode::kUnimplemented;
    case 416:
      return absl::StatusCode::kOutOfRange;
    case 429:
      return absl::StatusCode::kResourceExhausted;
    default:
      return status >= 500 ? absl::StatusCode::kUnavailable : absl::StatusCode::kUnknown;
  }
}

bool IsRetriableStatus(long status) { return status == 502 || status == 503 || status == 504; }

std::string Prefixed(std::string_view context, std::string_view message) {
  return context.empty() ? std::string(message) : fmt::format("{}: {}", context, message);
}

void Backoff(int attempt) { std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt)); }

}  // namespace

bool IsPlainHttpAllowed(std::string_view host, const std::vector<std::string>& insecure_hosts) {
  if (IsLoopbackHost(HostWithoutPort(host))) return true;
  std::string_view bare = HostWithoutPort(host);
  return std::any_of(insecure_hosts.begin(), insecure_hosts.end(),
                     [&](const std::string& entry) { return entry == host || entry == bare; });
}

absl::StatusOr<std::unique_ptr<RegistryClient>> RegistryClient::Create(const Reference& ref,
                                                                       const RegistryOptions& options,
                                                                       std::shared_ptr<HttpClient> http) {
  std::optional<Credentials> credentials = options.credentials;
  if (!credentials) {
    std::string path = options.docker_config.empty() ? DefaultDockerConfigPath() : options.docker_config;
    LIMAN_ASSIGN_OR_RETURN(credentials, LookupDockerConfigCredentials(path, ref.domain));
  }
  if (!http) http = std::make_shared<HttpClient>();
  return std::unique_ptr<RegistryClient>(new RegistryClient(ref, options, std::move(credentials), std::move(http)));
}

RegistryClient::RegistryClient(Reference ref, RegistryOptions options, std::optional<Credentials> credentials,
                               std::shared_ptr<HttpClient> http)
    : ref_(std::move(ref)),
      options_(std::move(options)),
      credentials_(std::move(credentials)),
      http_(std::move(http)),
      plain_allowed_(IsPlainHttpAllowed(ref_.RegistryHost(), options_.insecure_hosts)) {}

std::string RegistryClient::RepositoryUrl(std::string_view kind, std::string_view object) const {
  return fmt::format("{}/v2/{}/{}/{}", base_url_, ref_.path, kind, object);
}

absl::Status RegistryClient::EnsureEndpoint() {
  std::lock_guard lock(endpoint_mutex_);
  if (endpoint_status_) return *endpoint_status_;
  std::string host = ref_.RegistryHost();
  auto ping = [&](std::string scheme, bool verify) -> absl::StatusOr<HttpResponse> {
    HttpRequest request{.url = fmt::format("{}://{}/v2/", scheme, host), .verify_tls = verify, .body_limit = 64 << 10};
    request.headers.push_back("User-Agent: " + options_.user_agent);
    absl::StatusOr<HttpResponse> response = http_->Do(request);
    if (response.ok()) {
      base_url_ = fmt::format("{}://{}", scheme, host);
      verify_tls_ = verify;
    }
    return response;
  };
  absl::StatusOr<HttpResponse> response = ping("https", !plain_allowed_);
  if (!response.ok() && plain_allowed_) response = ping("http", false);
  absl::Status status = response.status();
  if (status.ok() && response->status == 401) {
    status = Authenticate(*response, "");
  }
  endpoint_status_ = status;
  return status;
}

absl::StatusOr<std::string> RegistryClient::FetchToken(const AuthChallenge& challenge) {
  auto realm = challenge.params.find("realm");
  if (realm == challenge.params.end() || realm->second.empty()) {
    return absl::UnauthenticatedError(fmt::format("registry {} sent a bearer challenge without realm", ref_.domain));
  }
  std::string url = realm->second;
  url += url.find('?') == std::string::npos ? '?' : '&';
  if (auto service = challenge.params.find("service"); service != challenge.params.end()) {
    url += "service=" + HttpClient::Escape(service->second) + "&";
  }
  std::string scope =
      ref_.path.empty() ? "" : fmt::format("repository:{}:{}", ref_.path, options_.push ? "pull,push" : "pull");
  if (!scope.empty()) url += "scope=" + HttpClient::Escape(scope);
  // A mount from another repository asks for that one's pull scope as well (the challenge says so).
  if (auto asked = challenge.params.find("scope"); asked != challenge.params.end())
    for (absl::string_view other : absl::StrSplit(asked->second, ' ', absl::SkipEmpty()))
      if (other != scope) url += "&scope=" + HttpClient::Escape(std::string_view(other.data(), other.size()));

  HttpRequest request{.url = url, .body_limit = 1 << 20};
  // The token service is a host of its own: verify it unless it is loopback or insecure too.
  std::string_view realm_host = realm->second;
  if (size_t scheme = realm_host.find("://"); scheme != std::string_view::npos) realm_host.remove_prefix(scheme + 3);
  realm_host = realm_host.substr(0, realm_host.find_first_of("/?"));
  request.verify_tls = !IsPlainHttpAllowed(realm_host, options_.insecure_hosts);
  request.headers.push_back("User-Agent: " + options_.user_agent);
  if (credentials_) {
    request.headers.push_back("Authorization: Basic " +
                              absl::Base64Escape(credentials_->username + ":" + credentials_->password));
  }
  std::string context = fmt::format("get token from {}", Quote(realm->second));
  LIMAN_ASSIGN_OR_RETURN(HttpResponse response, http_->Do(request));
  if (response.status != 200) return ResponseError(response, context);
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  for (const char* key : {"token", "access_token"}) {
    if (body.is_object() && body.contains(key) && body[key].is_string() && !body[key].get<std::string>().empty()) {
      return body[key].get<std::string>();
    }
  }
  return absl::UnauthenticatedError(fmt::format("{}: response has no token", context));
}

absl::Status RegistryClient::Authenticate(const HttpResponse& response, const std::string& sent_authorization) {
  std::lock_guard lock(auth_mutex_);
  // Another request already got a new token while this one waited: just retry with it.
  if (authorization_ != sent_authorization) return absl::OkStatus();

  std::vector<AuthChallenge> challenges;
  for (const std::string& value : response.HeaderValues("www-authenticate")) {
    for (AuthChallenge& challenge : ParseWwwAuthenticate(value)) challenges.push_back(std::move(challenge));
  }
  for (const AuthChallenge& challenge : challenges) {
    if (challenge.scheme == "bearer") {
      LIMAN_ASSIGN_OR_RETURN(std::string token, FetchToken(challenge));
      authorization_ = "Bearer " + token;
      return absl::OkStatus();
    }
  }
  for (const AuthChallenge& challenge : challenges) {
    if (challenge.scheme == "basic" && credentials_) {
      std::string basic = "Basic " + absl::Base64Escape(credentials_->username + ":" + credentials_->password);
      if (basic == sent_authorization) break;  // these credentials were refused already
      authorization_ = std::move(basic);
      return absl::OkStatus();
    }
  }
  if (challenges.empty()) return ResponseError(response, "");
  bool basic =
      std::any_of(challenges.begin(), challenges.end(), [](const AuthChallenge& c) { return c.scheme == "basic"; });
  if (basic && !credentials_) {
    return absl::UnauthenticatedError(
        fmt::format("registry {} requires basic authentication and no credentials were given", ref_.domain));
  }
  return ResponseError(response, "");
}

absl::StatusOr<HttpResponse> RegistryClient::Send(HttpRequest request) {
  LIMAN_RETURN_IF_ERROR(EnsureEndpoint());
  request.verify_tls = verify_tls_;
  request.headers.push_back("User-Agent: " + options_.user_agent);
  for (int attempt = 0;; ++attempt) {
    std::string sent;
    {
      std::lock_guard lock(auth_mutex_);
      sent = authorization_;
    }
    HttpRequest attempt_request = request;
    if (!sent.empty()) attempt_request.headers.push_back("Authorization: " + sent);
    LIMAN_ASSIGN_OR_RETURN(HttpResponse response, http_->Do(attempt_request));
    if (response.status != 401 || attempt > 0) return response;
    absl::Status auth = Authenticate(response, sent);
    if (!auth.ok()) return auth;
    {
      std::lock_guard lock(auth_mutex_);
      if (authorization_ == sent) return response;  // nothing new to try
    }
  }
}

absl::Status RegistryClient::ResponseError(const HttpResponse& response, std::string_view context) const {
  std::vector<std::string> messages;
  absl::StatusCode code = absl::StatusCode::kUnknown;
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body.contains("errors") && body["errors"].is_array()) {
    for (const nlohmann::json& error : body["errors"]) {
      if (!error.is_object()) continue;
      std::string error_code =
          error.contains("code") && error["code"].is_string() ? error["code"].get<std::string>() : "";
      std::string message =
          error.contains("message") && error["message"].is_string() ? error["message"].get<std::string>() : "";
      if (message.empty()) message = error_code;
      if (message.empty()) continue;
      messages.push_back(message);
      if (code == absl::StatusCode::kUnknown) code = CodeForRegistryError(error_code);
    }
  }
  if (code == absl::StatusCode::kUnknown) code = CodeForHttpStatus(response.status);
  std::string message;
  if (!messages.empty()) {
    for (const std::string& m : messages) message += (message.empty() ? "" : "; ") + m;
  } else {
    message = fmt::format("unexpected status {} from {}", response.status, Quote(response.url));
  }
  if (code == absl::StatusCode::kUnauthenticated || code == absl::StatusCode::kPermissionDenied) {
    message = fmt::format("{} access denied, repository does not exist or may require authorization: {}",
                          options_.push ? "push" : "pull", message);
  }
  return absl::Status(code, Prefixed(context, message));
}

absl::StatusOr<Descriptor> RegistryClient::Resolve(std::string_view object) {
  HttpRequest request{.method = "HEAD", .url = ""};
  LIMAN_RETURN_IF_ERROR(EnsureEndpoint());
  request.url = RepositoryUrl("manifests", object);
  request.headers.push_back(ManifestAccept());
  LIMAN_ASSIGN_OR_RETURN(HttpResponse response, Send(request));
  if (response.status == 200) {
    Descriptor desc;
    desc.media_type = MediaTypeOf(response.Header("content-type").value_or(""));
    desc.digest =
        IsValidSha256Digest(object) ? std::string(object) : response.Header("docker-content-digest").value_or("");
    std::optional<std::string> length = response.Header("content-length");
    if (IsValidSha256Digest(desc.digest) && length && IsManifestLike(desc.media_type) &&
        absl::SimpleAtoi(*length, &desc.size) && desc.size > 0) {
      return desc;
    }
  } else if (response.status != 405) {  // some registries refuse HEAD: GET below
    return ResponseError(response, "");
  }
  LIMAN_ASSIGN_OR_RETURN(FetchedManifest manifest, GetManifest(object));
  return manifest.descriptor;
}

absl::StatusOr<RegistryClient::FetchedManifest> RegistryClient::GetManifest(std::string_view object) {
  LIMAN_RETURN_IF_ERROR(EnsureEndpoint());
  HttpRequest request{.url = RepositoryUrl("manifests", object), .body_limit = kMaxManifestSize};
  request.headers.push_back(ManifestAccept());
  LIMAN_ASSIGN_OR_RETURN(HttpResponse response, Send(request));
  if (response.status != 200) return ResponseError(response, "");

  FetchedManifest manifest;
  manifest.body = std::move(response.body);
  manifest.descriptor.digest = "sha256:" + Sha256Hex(manifest.body);
  manifest.descriptor.size = static_cast<int64_t>(manifest.body.size());
  if (IsValidSha256Digest(object) && object != manifest.descriptor.digest) {
    return absl::DataLossError(
        fmt::format("manifest {}: registry sent content with digest {}", object, manifest.descriptor.digest));
  }
  if (std::optional<std::string> header = response.Header("docker-content-digest");
      header && header->substr(0, 7) == "sha256:" && *header != manifest.descriptor.digest) {
    return absl::DataLossError(fmt::format("manifest {}: Docker-Content-Digest {} does not match the content ({})",
                                           object, *header, manifest.descriptor.digest));
  }
  manifest.descriptor.media_type = MediaTypeOf(response.Header("content-type").value_or(""));
  if (!IsManifestLike(manifest.descriptor.media_type)) {
    manifest.descriptor.media_type = DetectManifestMediaType(manifest.body);
  }
  if (manifest.descriptor.media_type.empty()) {
    return absl::InvalidArgumentError(fmt::format("manifest {}: unrecognized media type {}", object,
                                                  Quote(response.Header("content-type").value_or(""))));
  }
  return manifest;
}

absl::StatusOr<std::string> RegistryClient::FetchVerified(const Descriptor& desc, int64_t limit) {
  if (desc.size > limit) {
    return absl::OutOfRangeError(
        fmt::format("fetch {}: size {} exceeds the limit of {} bytes", desc.digest, desc.size, limit));
  }
  LIMAN_RETURN_IF_ERROR(EnsureEndpoint());
  HttpRequest request{.url = RepositoryUrl(IsManifestLike(desc.media_type) ? "manifests" : "blobs", desc.digest),
                      .body_limit = static_cast<size_t>(desc.size) + 1};  // one more shows excess as such
  request.headers.push_back(fmt::format("Accept: {}, */*", desc.media_type));
  std::string context = fmt::format("fetch {}", desc.digest);
  LIMAN_ASSIGN_OR_RETURN(HttpResponse response, Send(request));
  if (response.status != 200) return ResponseError(response, context);
  if (static_cast<int64_t>(response.body.size()) != desc.size) {
    return absl::DataLossError(fmt::format("{}: got {} bytes, want {}", context, response.body.size(), desc.size));
  }
  if (std::string actual = "sha256:" + Sha256Hex(response.body); actual != desc.digest) {
    return absl::DataLossError(fmt::format("{}: content has digest {}", context, actual));
  }
  return std::move(response.body);
}

absl::Status RegistryClient::FetchBlob(const Descriptor& desc,
                                       const std::function<absl::Status(std::string_view)>& sink,
                                       const std::atomic<bool>* cancelled) {
  LIMAN_RETURN_IF_ERROR(EnsureEndpoint());
  std::string context = fmt::format("fetch blob {}", desc.digest);
  int64_t delivered = 0;
  absl::Status last_error;
  for (int attempt = 0; attempt < kBlobAttempts; ++attempt) {
    if (attempt > 0) Backoff(attempt - 1);
    HttpRequest request{.url = RepositoryUrl("blobs", desc.digest), .cancelled = cancelled};
    request.headers.push_back(fmt::format("Accept: {}, */*", desc.media_type));
    if (delivered > 0) request.headers.push_back(fmt::format("Range: bytes={}-", delivered));
    // Bytes of this response that the sink has already seen (a server ignoring Range resends
    // from 0).
    int64_t skip = -1;
    auto deliver = [&](const HttpResponse& head, std::string_view chunk) -> absl::Status {
      if (skip < 0) skip = (delivered > 0 && head.status == 200) ? delivered : 0;
      if (skip > 0) {
        size_t n = static_cast<size_t>(std::min<int64_t>(skip, static_cast<int64_t>(chunk.size())));
        chunk.remove_prefix(n);
        skip -= static_cast<int64_t>(n);
        if (chunk.empty()) return absl::OkStatus();
      }
      if (delivered + static_cast<int64_t>(chunk.size()) > desc.size) {
        return absl::DataLossError(
            fmt::format("{}: registry sent more than the {} bytes of the descriptor", context, desc.size));
      }
      delivered += static_cast<int64_t>(chunk.size());
      return sink(chunk);
    };
    absl::Status sink_status;  // failures of ours (sink, excess bytes) end the fetch: no retry
    request.on_body = [&](const HttpResponse& head, std::string_view chunk) {
      sink_status = deliver(head, chunk);
      return sink_status;
    };
    absl::StatusOr<HttpResponse> response = Send(request);
    if (!sink_status.ok()) return sink_status;
    if (!response.ok()) {
      // Only transport failures are worth another try.
      if (!absl::IsUnavailable(response.status())) return response.status();
      last_error = Annotate(response.status(), context);
      continue;
    }
    if (response->status != 200 && response->status != 206) {
      last_error = ResponseError(*response, context);
      if (IsRetriableStatus(response->status)) continue;
      return last_error;
    }
    if (delivered == desc.size) return absl::OkStatus();
    last_error =
        absl::DataLossError(fmt::format("{}: connection closed after {} of {} bytes", context, delivered, desc.size));
  }
  return last_error;
}

std::string RegistryClient::AbsoluteLocation(std::string_view location) const {
  if (location.find("://") != std::string_view::npos) return std::string(location);
  return fmt::format("{}{}{}", base_url_, location.starts_with('/') ? "" : "/", location);
}

absl::StatusOr<bool> RegistryClient::HasBlob(const Descriptor& desc) {
  LIMAN_RETURN_IF_ERROR(EnsureEndpoint());
  LIMAN_ASSIGN_OR_RETURN(HttpResponse response, Send(HttpRequest{.method = "HEAD", .url = RepositoryUrl("blobs", desc.digest)}));
  if (response.status == 200) return true;
  if (response.status == 404) return false;
  return ResponseError(response, fmt::format("look up blob {}", desc.digest));
}

absl::StatusOr<RegistryClient::BlobPush> RegistryClient::PushBlob(const Descriptor& desc, const BodyWriter& write_body,
                                                                  const std::string& mount_from) {
  LIMAN_RETURN_IF_ERROR(EnsureEndpoint());
  std::string context = fmt::format("push blob {}", desc.digest);
  std::string start = RepositoryUrl("blobs", "uploads/");
  if (!mount_from.empty() && mount_from != ref_.path)
    start += fmt::format("?mount={}&from={}", HttpClient::Escape(desc.digest), HttpClient::Escape(mount_from));
  LIMAN_ASSIGN_OR_RETURN(HttpResponse started, Send(HttpRequest{.method = "POST", .url = start, .body_size = 0}));
  if (started.status == 201) return BlobPush::kMounted;
  if (started.status != 202) return ResponseError(started, context);
  std::optional<std::string> location = started.Header("location");
  if (!location || location->empty())
    return absl::UnavailableError(fmt::format("{}: the registry gave no upload location", context));
  std::string url = AbsoluteLocation(*location);
  url += fmt::format("{}digest={}", url.find('?') == std::string::npos ? '?' : '&', HttpClient::Escape(desc.digest));
  HttpRequest put{.method = "PUT", .url = url, .body_size = desc.size, .write_body = write_body};
  put.headers.push_back("Content-Type: application/octet-stream");
  LIMAN_ASSIGN_OR_RETURN(HttpResponse done, Send(std::move(put)));
  if (done.status != 201 && done.status != 204) return ResponseError(done, context);
  return BlobPush::kUploaded;
}

absl::Status RegistryClient::PushManifest(std::string_view object, const Descriptor& desc, std::string_view body) {
  LIMAN_RETURN_IF_ERROR(EnsureEndpoint());
  std::string context = fmt::format("push manifest {}", desc.digest);
  HttpRequest put{.method = "PUT",
                  .url = RepositoryUrl("manifests", object),
                  .body_size = static_cast<int64_t>(body.size()),
                  .write_body = [body](const auto& write) { return write(body); }};
  put.headers.push_back("Content-Type: " + desc.media_type);
  LIMAN_ASSIGN_OR_RETURN(HttpResponse response, Send(std::move(put)));
  if (response.status != 201 && response.status != 200) return ResponseError(response, context);
  if (std::optional<std::string> digest = response.Header("docker-content-digest"); digest && *digest != desc.digest)
    return absl::DataLossError(fmt::format("{}: the registry stored it as {}", context, *digest));
  return absl::OkStatus();
}

absl::Status RegistryClient::CheckLogin() {
  // The ping answers a challenge with the credentials: a refused token request fails here.
  LIMAN_RETURN_IF_ERROR(EnsureEndpoint());
  std::string url = base_url_ + "/v2/";
  absl::StatusOr<HttpResponse> response = Send(HttpRequest{.url = url, .body_limit = 64 << 10});
  // Send answers a 401 once; the credentials refused again are its kUnauthenticated.
  if (absl::IsUnauthenticated(response.status()) || (response.ok() && response->status == 401))
    return absl::UnauthenticatedError(fmt::format("login attempt to {} failed with status: 401 Unauthorized", url));
  if (!response.ok()) return response.status();
  if (response->status == 200) return absl::OkStatus();
  return ResponseError(*response, fmt::format("login to {}", ref_.domain));
}

}  // namespace liman::containerd::remotes
