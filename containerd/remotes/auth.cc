#include "containerd/remotes/auth.h"

#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "common/ascii.h"
#include "common/file_util.h"
#include "common/json_member.h"
#include "common/status.h"

namespace liman::containerd::remotes {
namespace {

// RFC 7230 tchar.
bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

class ChallengeParser {
 public:
  explicit ChallengeParser(std::string_view text) : text_(text) {}

  std::vector<AuthChallenge> Parse() {
    std::vector<AuthChallenge> challenges;
    while (true) {
      SkipSeparators();
      if (pos_ >= text_.size()) break;
      std::string_view token = Token();
      if (token.empty()) break;  // garbage: stop, keep what was understood
      size_t after_token = pos_;
      SkipSpaces();
      if (pos_ < text_.size() && text_[pos_] == '=' && !challenges.empty()) {
        ++pos_;
        SkipSpaces();
        challenges.back().params[AsciiLower(token)] = Value();
      } else {
        pos_ = after_token;
        challenges.push_back(AuthChallenge{.scheme = AsciiLower(token)});
      }
    }
    return challenges;
  }

 private:
  void SkipSpaces() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  void SkipSeparators() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == ',')) ++pos_;
  }
  std::string_view Token() {
    size_t start = pos_;
    while (pos_ < text_.size() && IsTokenChar(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  std::string Value() {
    std::string value;
    if (pos_ < text_.size() && text_[pos_] == '"') {
      for (++pos_; pos_ < text_.size() && text_[pos_] != '"'; ++pos_) {
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
        value.push_back(text_[pos_]);
      }
      if (pos_ < text_.size()) ++pos_;  // closing quote
      return value;
    }
    // RFC 7235 wants a token here; a bare URL (realm=https://…) is accepted up to the next
    // separator, like lenient registry clients do.
    size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != ' ' && text_[pos_] != '\t') ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// "https://index.docker.io/v1/" → "index.docker.io": how Docker matches config.json keys.
std::string HostOfKey(std::string_view key) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (key.substr(0, scheme.size()) == scheme) {
      key.remove_prefix(scheme.size());
      break;
    }
  }
  return std::string(key.substr(0, key.find('/')));
}

}  // namespace

std::vector<AuthChallenge> ParseWwwAuthenticate(std::string_view header) { return ChallengeParser(header).Parse(); }

std::string DefaultDockerConfigPath() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir != nullptr && *dir != '\0') {
    return JoinPath(dir, "config.json");
  }
  const char* home = std::getenv("HOME");
  return JoinPath(home != nullptr && *home != '\0' ? home : "/root", ".docker/config.json");
}

absl::StatusOr<std::optional<Credentials>> LookupDockerConfigCredentials(const std::string& path,
                                                                         std::string_view registry_host) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) return std::nullopt;
    return text.status();
  }
  nlohmann::json config = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) return absl::InvalidArgumentError(fmt::format("parse {}: invalid JSON", Quote(path)));
  auto auths = config.find("auths");
  if (auths == config.end() || !auths->is_object()) return std::nullopt;

  std::vector<std::string> wanted = {AsciiLower(registry_host)};
  if (wanted[0] == "docker.io" || wanted[0] == "index.docker.io" || wanted[0] == "registry-1.docker.io") {
    wanted = {"index.docker.io", "docker.io", "registry-1.docker.io"};
  }
  for (const std::string& host : wanted) {
    for (const auto& [key, entry] : auths->items()) {
      if (AsciiLower(HostOfKey(key)) != host || !entry.is_object()) continue;
      Credentials credentials;
      if (std::string encoded = StringMember(entry, "auth"); !encoded.empty()) {
        std::string decoded;
        if (!absl::Base64Unescape(encoded, &decoded)) {
          return absl::InvalidArgumentError(
              fmt::format("parse {}: auths.{}.auth is not valid base64", Quote(path), key));
        }
        size_t colon = decoded.find(':');
        if (colon == std::string::npos) {
          return absl::InvalidArgumentError(
              fmt::format("parse {}: auths.{}.auth is not \"username:password\"", Quote(path), key));
        }
        credentials.username = decoded.substr(0, colon);
        credentials.password = decoded.substr(colon + 1);
      } else {
        credentials.username = StringMember(entry, "username");
        credentials.password = StringMember(entry, "password");
      }
      if (credentials.username.empty() && credentials.password.empty()) continue;
      return credentials;
    }
  }
  return std::nullopt;
}

}  // namespace liman::containerd::remotes
