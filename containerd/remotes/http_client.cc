#include "containerd/remotes/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <mutex>

#include "absl/strings/cord.h"
#include "common/ascii.h"
#include "common/status.h"

namespace liman::containerd::remotes {
namespace {

constexpr char kCurlCodePayload[] = "type.liman.dev/curl-code";
// The largest receive buffer libcurl accepts (CURL_MAX_READ_SIZE): fewer, bigger write
// callbacks, so fewer queue hand-offs per layer.
constexpr long kReceiveBufferSize = 512 * 1024;
// Easy handles kept for reuse: each keeps its own connections alive (libcurl's shared
// connection cache is not safe across threads, see CURLSHOPT_SHARE).
constexpr size_t kIdleHandles = 8;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  const HttpRequest* request;
  HttpResponse* response;
  CURL* handle;
  absl::Status error;  // from on_body, the body limit or cancellation
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.substr(0, 5) == "HTTP/") {
    transfer->response->headers.clear();  // a new response (after a redirect or 100-continue)
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    transfer->response->headers.emplace_back(AsciiLower(Trim(line.substr(0, colon))),
                                             std::string(Trim(line.substr(colon + 1))));
  }
  return size * count;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const HttpRequest& request = *transfer->request;
  std::string_view chunk(data, size * count);
  if (request.cancelled != nullptr && request.cancelled->load(std::memory_order_relaxed)) {
    transfer->error = absl::CancelledError("transfer cancelled");
    return 0;
  }
  long status = 0;
  curl_easy_getinfo(transfer->handle, CURLINFO_RESPONSE_CODE, &status);
  bool success = status >= 200 && status < 300;
  if (success && request.on_body) {
    transfer->response->status = status;
    transfer->error = request.on_body(*transfer->response, chunk);
    return transfer->error.ok() ? chunk.size() : 0;
  }
  std::string& body = transfer->response->body;
  if (body.size() + chunk.size() > request.body_limit) {
    if (success) {
      transfer->error = absl::OutOfRangeError(fmt::format("{} {}: response body larger than {} bytes", request.method,
                                                          Quote(request.url), request.body_limit));
      return 0;
    }
    body.append(chunk.substr(0, request.body_limit - body.size()));
    return chunk.size();
  }
  body.append(chunk);
  return chunk.size();
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::atomic<bool>* cancelled = transfer->request->cancelled;
  return cancelled != nullptr && cancelled->load(std::memory_order_relaxed) ? 1 : 0;
}

struct CurlSlist {
  curl_slist* list = nullptr;
  ~CurlSlist() { curl_slist_free_all(list); }
};

}  // namespace

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::vector<std::string> HttpResponse::HeaderValues(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : headers) {
    if (key == name) values.push_back(value);
  }
  return values;
}

// DNS and TLS sessions shared by every handle (each data kind under its own lock), plus the
// idle easy handles whose connections stay open for the next request.
struct HttpClient::Share {
  CURLSH* share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;
  std::mutex pool_mutex;
  std::vector<CURL*> idle;

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Share*>(user)->locks[data].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) { static_cast<Share*>(user)->locks[data].unlock(); }

  CURL* Take() {
    {
      std::lock_guard lock(pool_mutex);
      if (!idle.empty()) {
        CURL* handle = idle.back();
        idle.pop_back();
        curl_easy_reset(handle);  // keeps the handle's live connections
        return handle;
      }
    }
    return curl_easy_init();
  }
  void Give(CURL* handle) {
    std::lock_guard lock(pool_mutex);
    if (idle.size() < kIdleHandles) {
      idle.push_back(handle);
      return;
    }
    curl_easy_cleanup(handle);
  }
};

HttpClient::HttpClient() : share_(std::make_unique<Share>()) {
  GlobalInit();
  share_->share = curl_share_init();
  if (share_->share != nullptr) {
    curl_share_setopt(share_->share, CURLSHOPT_LOCKFUNC, &Share::Lock);
    curl_share_setopt(share_->share, CURLSHOPT_UNLOCKFUNC, &Share::Unlock);
    curl_share_setopt(share_->share, CURLSHOPT_USERDATA, share_.get());
    curl_share_setopt(share_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
}

HttpClient::~HttpClient() {
  for (CURL* handle : share_->idle) curl_easy_cleanup(handle);
  if (share_->share != nullptr) curl_share_cleanup(share_->share);
}

absl::StatusOr<HttpResponse> HttpClient::Do(const HttpRequest& request) {
  CURL* handle = share_->Take();
  if (handle == nullptr) return absl::ResourceExhaustedError("curl_easy_init failed");

  HttpResponse response;
  Transfer transfer{.request = &request, .response = &response, .handle = handle};
  CurlSlist headers;
  for (const std::string& header : request.headers) headers.list = curl_slist_append(headers.list, header.c_str());
  char error_buffer[CURL_ERROR_SIZE] = {};

  if (share_->share != nullptr) curl_easy_setopt(handle, CURLOPT_SHARE, share_->share);
  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  if (request.method == "HEAD") {
    curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(handle, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_BUFFERSIZE, kReceiveBufferSize);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, 30L);
  // A transfer that delivers nothing for a minute is dead (the registry went away mid-blob).
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, request.verify_tls ? 1L : 0L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, request.verify_tls ? 2L : 0L);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
  if (request.cancelled != nullptr) {
    curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, &OnProgress);
    curl_easy_setopt(handle, CURLOPT_XFERINFODATA, &transfer);
    curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
  }

  CURLcode code = curl_easy_perform(handle);
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
  char* effective_url = nullptr;
  if (curl_easy_getinfo(handle, CURLINFO_EFFECTIVE_URL, &effective_url) == CURLE_OK && effective_url != nullptr) {
    response.url = effective_url;
  }
  // Unset the pointers into this frame before the handle outlives it in the pool.
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, nullptr);
  share_->Give(handle);

  if (!transfer.error.ok()) return transfer.error;
  if (code == CURLE_ABORTED_BY_CALLBACK) {
    return absl::CancelledError(fmt::format("{} {}: cancelled", request.method, Quote(request.url)));
  }
  if (code != CURLE_OK) {
    std::string cause = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
    if (!cause.empty()) cause[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(cause[0])));
    absl::Status status = absl::UnavailableError(fmt::format("{} {}: {}", request.method, Quote(request.url), cause));
    status.SetPayload(kCurlCodePayload, absl::Cord(std::to_string(static_cast<int>(code))));
    return status;
  }
  return response;
}

bool HttpClient::IsTlsFailure(const absl::Status& status) {
  auto payload = status.GetPayload(kCurlCodePayload);
  if (!payload) return false;
  int code = std::atoi(std::string(*payload).c_str());
  switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_USE_SSL_FAILED:
      return true;
    default:
      return false;
  }
}

std::string HttpClient::Escape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace liman::containerd::remotes
