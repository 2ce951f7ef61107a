#include "containerd/remotes/tests/test_registry.h"

#include <archive.h>
#include <archive_entry.h>
#include <crypt.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/sha256.h"
#include "common/status.h"
#include "containerd/archive/compression.h"

namespace liman::containerd::remotes::testing {
namespace {

using nlohmann::json;

constexpr char kRegistryBinary[] = "/usr/bin/docker-registry";

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Digest(std::string_view data) { return "sha256:" + Sha256Hex(data); }

}  // namespace

int FreePort() {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
  return ntohs(address.sin_port);
}

TestRegistry::TestRegistry(const Options& options) {
  REQUIRE(access(kRegistryBinary, X_OK) == 0);
  absl::Status status;
  // The port is free when picked, but another process may take it before the registry binds:
  // the registry then exits and another port is tried.
  for (int attempt = 0; attempt < 5; ++attempt) {
    status = Start(options);
    if (status.ok()) return;
    Stop();
  }
  FAIL("start docker-registry: " << status.message());
}

TestRegistry::~TestRegistry() { Stop(); }

std::string TestRegistry::BlobDataPath(const std::string& digest) const {
  std::string hex = digest.substr(7);
  return fmt::format("{}/data/docker/registry/v2/blobs/sha256/{}/{}/data", dir_.path(), hex.substr(0, 2), hex);
}

absl::Status TestRegistry::Start(const Options& options) {
  int port = FreePort();
  addr_ = fmt::format("127.0.0.1:{}", port);
  std::string config = fmt::format(
      "version: 0.1\n"
      "log:\n  level: info\n"
      "storage:\n  filesystem:\n    rootdirectory: '{}/data'\n  delete:\n    enabled: true\n"
      "http:\n  addr: {}\n",
      dir_.path(), addr_);
  if (!options.users.empty()) {
    std::string htpasswd;
    for (const auto& [user, password] : options.users) {
      crypt_data data{};
      const char* hash = crypt_r(password.c_str(), "$2y$05$abcdefghijklmnopqrstuv", &data);
      REQUIRE(hash != nullptr);
      REQUIRE(hash[0] == '$');
      htpasswd += fmt::format("{}:{}\n", user, hash);
    }
    LIMAN_RETURN_IF_ERROR(WriteFileAtomic(JoinPath(dir_.path(), "htpasswd"), htpasswd));
    config += fmt::format("auth:\n  htpasswd:\n    realm: liman-test\n    path: '{}/htpasswd'\n", dir_.path());
  }
  std::string config_path = JoinPath(dir_.path(), "config.yml");
  LIMAN_RETURN_IF_ERROR(WriteFileAtomic(config_path, config));

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  pid_t pid = fork();
  if (pid < 0) return ErrnoError("fork");
  if (pid == 0) {
    // The registry must not outlive the test process, even a crashed one.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(write_end.get(), 2);
    const char* argv[] = {kRegistryBinary, "serve", config_path.c_str(), nullptr};
    const char* envp[] = {"PATH=/usr/bin:/bin", nullptr};  // no REGISTRY_* overrides from outside
    execve(kRegistryBinary, const_cast<char* const*>(argv), const_cast<char* const*>(envp));
    _exit(127);
  }
  pid_ = pid;
  write_end.reset();

  // Ready once it logs that it listens; it exits (end of its stderr) when the port was taken.
  std::string log;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (log.find("listening on") == std::string::npos) {
    int remaining = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (remaining <= 0) return absl::DeadlineExceededError("docker-registry did not start: " + log);
    pollfd fd{.fd = read_end.get(), .events = POLLIN};
    if (poll(&fd, 1, remaining) <= 0) continue;
    char buffer[4096];
    ssize_t n = read(read_end.get(), buffer, sizeof buffer);
    if (n <= 0) return absl::UnavailableError("docker-registry exited: " + log);
    log.append(buffer, static_cast<size_t>(n));
  }
  // Keep reading its log so that it never blocks on a full pipe.
  log_ = std::move(read_end);
  int fd = log_.get();
  log_drain_ = std::thread([fd] {
    char buffer[4096];
    while (read(fd, buffer, sizeof buffer) > 0) {
    }
  });
  return absl::OkStatus();
}

void TestRegistry::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  if (log_drain_.joinable()) log_drain_.join();  // the pipe's writer is gone: read sees EOF
  log_.reset();
}

FakeHttpServer::FakeHttpServer(std::function<Response(const Request&)> handler) : handler_(std::move(handler)) {
  listener_ = UniqueFd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(listener_.valid());
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(listen(listener_.get(), 64) == 0);
  socklen_t length = sizeof address;
  REQUIRE(getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

FakeHttpServer::~FakeHttpServer() {
  stopping_ = true;
  shutdown(listener_.get(), SHUT_RDWR);  // wakes accept(2)
  thread_.join();
}

std::vector<FakeHttpServer::Request> FakeHttpServer::requests() {
  std::lock_guard lock(mutex_);
  return requests_;
}

void FakeHttpServer::Serve() {
  while (!stopping_) {
    UniqueFd connection(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection.valid()) {
      if (stopping_ || errno == EINVAL) return;
      continue;
    }
    std::string head;
    char buffer[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = read(connection.get(), buffer, sizeof buffer);
      if (n <= 0) break;
      head.append(buffer, static_cast<size_t>(n));
      // A TLS handshake record: answer as Go's http server does, so that a client trying
      // https first learns at once that this is plain http.
      if (head[0] == 0x16) {
        WriteAll(connection.get(), "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n");
        break;
      }
    }
    size_t end = head.find("\r\n\r\n");
    if (end == std::string::npos) continue;
    Request request;
    size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    size_t space1 = request_line.find(' '), space2 = request_line.rfind(' ');
    request.method = request_line.substr(0, space1);
    request.target = request_line.substr(space1 + 1, space2 - space1 - 1);
    for (size_t pos = line_end + 2; pos < end;) {
      size_t next = head.find("\r\n", pos);
      std::string line = head.substr(pos, next - pos);
      if (size_t colon = line.find(':'); colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        request.headers[Lower(line.substr(0, colon))] = value;
      }
      pos = next + 2;
    }
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    Response response = handler_(request);
    std::string out = fmt::format("HTTP/1.1 {} X\r\nConnection: close\r\nContent-Length: {}\r\n", response.status,
                                  response.body.size());
    for (const auto& [name, value] : response.headers) out += fmt::format("{}: {}\r\n", name, value);
    out += "\r\n";
    if (request.method != "HEAD") out += response.body.substr(0, response.send_bytes);
    WriteAll(connection.get(), out);
  }
}

absl::StatusOr<HttpResult> HttpCall(const std::string& method, const std::string& url,
                                    const std::vector<std::string>& headers, const std::string& body) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init");
  HttpResult result;
  curl_slist* list = nullptr;
  for (const std::string& header : headers) list = curl_slist_append(list, header.c_str());
  auto on_body = +[](char* data, size_t size, size_t count, void* user) {
    static_cast<HttpResult*>(user)->body.append(data, size * count);
    return size * count;
  };
  auto on_header = +[](char* data, size_t size, size_t count, void* user) {
    std::string line(data, size * count);
    if (size_t colon = line.find(':'); colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
      static_cast<HttpResult*>(user)->headers[Lower(line.substr(0, colon))] = value;
    }
    return size * count;
  };
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result);
  CURLcode code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) return absl::UnavailableError(fmt::format("{} {}: {}", method, url, curl_easy_strerror(code)));
  return result;
}

TestBlob MakeBlob(std::string data, std::string media_type) {
  TestBlob blob{.data = std::move(data), .media_type = std::move(media_type)};
  blob.digest = Digest(blob.data);
  return blob;
}

std::string MakeTar(const std::vector<TarEntry>& entries) {
  std::string tar;
  ::archive* writer = archive_write_new();
  REQUIRE(writer != nullptr);
  REQUIRE(archive_write_set_format_pax_restricted(writer) == ARCHIVE_OK);
  auto on_write = +[](::archive*, void* user, const void* data, size_t size) -> la_ssize_t {
    static_cast<std::string*>(user)->append(static_cast<const char*>(data), size);
    return static_cast<la_ssize_t>(size);
  };
  REQUIRE(archive_write_open(writer, &tar, nullptr, on_write, nullptr) == ARCHIVE_OK);
  for (const TarEntry& e : entries) {
    ::archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    archive_entry_set_mtime(entry, 1700000000, 0);
    archive_entry_set_perm(entry, static_cast<mode_t>(e.mode));
    switch (e.type) {
      case TarEntry::Type::kFile:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, static_cast<la_int64_t>(e.data.size()));
        break;
      case TarEntry::Type::kDir:
        archive_entry_set_filetype(entry, AE_IFDIR);
        break;
      case TarEntry::Type::kSymlink:
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_set_symlink(entry, e.data.c_str());
        break;
      case TarEntry::Type::kHardlink:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_hardlink(entry, e.data.c_str());
        break;
    }
    REQUIRE(archive_write_header(writer, entry) == ARCHIVE_OK);
    if (e.type == TarEntry::Type::kFile && !e.data.empty()) {
      REQUIRE(archive_write_data(writer, e.data.data(), e.data.size()) == static_cast<la_ssize_t>(e.data.size()));
    }
    archive_entry_free(entry);
  }
  REQUIRE(archive_write_close(writer) == ARCHIVE_OK);
  archive_write_free(writer);
  return tar;
}

TestLayer MakeLayer(const std::vector<TarEntry>& entries) {
  std::string tar = MakeTar(entries);
  std::string gz;
  std::unique_ptr<archive::Compressor> compressor =
      archive::NewCompressor(archive::Compression::kGzip, [&](std::string_view chunk) {
        gz.append(chunk);
        return absl::OkStatus();
      });
  REQUIRE(compressor->Write(tar).ok());
  REQUIRE(compressor->Finish().ok());
  return TestLayer{.blob = MakeBlob(std::move(gz), "application/vnd.oci.image.layer.v1.tar+gzip"),
                   .diff_id = Digest(tar)};
}

TestBlob MakeConfig(const std::vector<std::string>& diff_ids, const std::string& arch) {
  json config = {{"architecture", arch},
                 {"os", "linux"},
                 {"config", {{"Cmd", json::array({"/bin/sh"})}}},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  return MakeBlob(config.dump(), "application/vnd.oci.image.config.v1+json");
}

TestBlob MakeManifest(const TestBlob& config, const std::vector<TestLayer>& layers, const std::string& media_type) {
  bool docker = media_type == "application/vnd.docker.distribution.manifest.v2+json";
  json layer_list = json::array();
  for (const TestLayer& layer : layers) {
    layer_list.push_back(
        {{"mediaType", docker ? "application/vnd.docker.image.rootfs.diff.tar.gzip" : layer.blob.media_type},
         {"digest", layer.blob.digest},
         {"size", layer.blob.size()}});
  }
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", media_type},
                   {"config",
                    {{"mediaType", docker ? "application/vnd.docker.container.image.v1+json" : config.media_type},
                     {"digest", config.digest},
                     {"size", config.size()}}},
                   {"layers", layer_list}};
  return MakeBlob(manifest.dump(), media_type);
}

TestBlob MakeIndex(const std::vector<std::pair<TestBlob, std::string>>& manifests, const std::string& media_type) {
  json list = json::array();
  for (const auto& [manifest, platform] : manifests) {
    size_t slash = platform.find('/');
    list.push_back({{"mediaType", manifest.media_type},
                    {"digest", manifest.digest},
                    {"size", manifest.size()},
                    {"platform", {{"os", platform.substr(0, slash)}, {"architecture", platform.substr(slash + 1)}}}});
  }
  json index = {{"schemaVersion", 2}, {"mediaType", media_type}, {"manifests", list}};
  return MakeBlob(index.dump(), media_type);
}

absl::Status PushBlob(const std::string& registry, const std::string& repo, const TestBlob& blob,
                      const std::vector<std::string>& headers) {
  LIMAN_ASSIGN_OR_RETURN(HttpResult start,
                         HttpCall("POST", fmt::format("http://{}/v2/{}/blobs/uploads/", registry, repo), headers));
  if (start.status != 202) return absl::InternalError(fmt::format("start upload: {} {}", start.status, start.body));
  std::string location = start.headers["location"];
  if (location.rfind("http", 0) != 0) location = fmt::format("http://{}{}", registry, location);
  location += (location.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + blob.digest;
  std::vector<std::string> put_headers = headers;
  put_headers.push_back("Content-Type: application/octet-stream");
  LIMAN_ASSIGN_OR_RETURN(HttpResult put, HttpCall("PUT", location, put_headers, blob.data));
  if (put.status != 201) return absl::InternalError(fmt::format("finish upload: {} {}", put.status, put.body));
  return absl::OkStatus();
}

absl::Status PushManifest(const std::string& registry, const std::string& repo, const std::string& tag,
                          const TestBlob& manifest, const std::vector<std::string>& headers) {
  std::vector<std::string> put_headers = headers;
  put_headers.push_back("Content-Type: " + manifest.media_type);
  LIMAN_ASSIGN_OR_RETURN(
      HttpResult put,
      HttpCall("PUT", fmt::format("http://{}/v2/{}/manifests/{}", registry, repo, tag), put_headers, manifest.data));
  if (put.status != 201) return absl::InternalError(fmt::format("put manifest: {} {}", put.status, put.body));
  return absl::OkStatus();
}

absl::Status PushImage(const std::string& registry, const std::string& repo, const std::string& tag,
                       const std::vector<TestLayer>& layers, const TestBlob& config, const TestBlob& manifest) {
  for (const TestLayer& layer : layers) LIMAN_RETURN_IF_ERROR(PushBlob(registry, repo, layer.blob));
  LIMAN_RETURN_IF_ERROR(PushBlob(registry, repo, config));
  return PushManifest(registry, repo, tag, manifest);
}

}  // namespace liman::containerd::remotes::testing
