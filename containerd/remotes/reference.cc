#include "containerd/remotes/reference.h"

#include <algorithm>
#include <cctype>

#include "common/status.h"

namespace liman::containerd::remotes {
namespace {

constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
constexpr std::string_view kDefaultRegistryHost = "registry-1.docker.io";
constexpr std::string_view kOfficialRepoPrefix = "library/";
constexpr size_t kNameTotalLengthMax = 255;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool IsWordChar(char c) { return IsAlnum(c) || c == '_'; }
bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// distribution's path component: [a-z0-9]+ runs joined by one of ".", "_", "__" or dashes.
bool IsNameComponent(std::string_view s) {
  size_t i = 0;
  while (true) {
    size_t run = i;
    while (i < s.size() && IsLowerAlnum(s[i])) ++i;
    if (i == run) return false;  // every separator is followed by (and the name starts with) alnum
    if (i == s.size()) return true;
    if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      i += (i + 1 < s.size() && s[i + 1] == '_') ? 2 : 1;
    } else if (s[i] == '-') {
      while (i < s.size() && s[i] == '-') ++i;
    } else {
      return false;
    }
  }
}

bool IsDomainComponent(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAlnum(c) || c == '-'; });
}

// host[:port] where host is dot-separated DNS-like components or a bracketed IPv6 address.
bool IsDomain(std::string_view s) {
  std::string_view host = s;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close < 2) return false;
    std::string_view address = s.substr(1, close - 1);
    if (!std::all_of(address.begin(), address.end(), [](char c) { return IsHex(c) || c == ':'; })) return false;
    std::string_view rest = s.substr(close + 1);
    return rest.empty() || (rest.front() == ':' && IsDigits(rest.substr(1)));
  }
  if (size_t colon = s.rfind(':'); colon != std::string_view::npos) {
    if (!IsDigits(s.substr(colon + 1))) return false;
    host = s.substr(0, colon);
  }
  while (true) {
    size_t dot = host.find('.');
    if (!IsDomainComponent(host.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    host.remove_prefix(dot + 1);
  }
}

bool IsTag(std::string_view s) {
  if (s.empty() || s.size() > 128 || !IsWordChar(s.front())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsWordChar(c) || c == '.' || c == '-'; });
}

// distribution's DigestRegexp: algorithm components, ':', at least 32 hex digits.
bool IsDigestSyntax(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view algorithm = s.substr(0, colon), encoded = s.substr(colon + 1);
  bool expect_letter = true;
  for (char c : algorithm) {
    if (expect_letter) {
      if (!std::isalpha(static_cast<unsigned char>(c))) return false;
      expect_letter = false;
    } else if (c == '-' || c == '_' || c == '+' || c == '.') {
      expect_letter = true;
    } else if (!IsAlnum(c)) {
      return false;
    }
  }
  return !expect_letter && encoded.size() >= 32 && std::all_of(encoded.begin(), encoded.end(), IsHex);
}

bool IsHex64Lower(std::string_view s) {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

absl::Status Invalid(std::string_view ref, std::string_view cause) {
  return absl::InvalidArgumentError(fmt::format("parse reference {}: {}", Quote(ref), cause));
}

}  // namespace

bool IsValidSha256Digest(std::string_view digest) {
  return digest.size() == 71 && digest.substr(0, 7) == "sha256:" && IsHex64Lower(digest.substr(7));
}

std::string Reference::Name() const { return fmt::format("{}/{}", domain, path); }

std::string Reference::String() const {
  if (!digest.empty()) return fmt::format("{}@{}", Name(), digest);
  return fmt::format("{}:{}", Name(), tag);
}

std::string Reference::Object() const { return digest.empty() ? tag : digest; }

std::string Reference::RegistryHost() const {
  return domain == kDefaultDomain ? std::string(kDefaultRegistryHost) : domain;
}

std::string Reference::Hostname() const {
  std::string_view host = domain;
  if (!host.empty() && host.front() == '[') return std::string(host.substr(1, host.find(']') - 1));
  return std::string(host.substr(0, host.rfind(':')));
}

std::string FamiliarString(const Reference& ref) {
  std::string name = ref.Name();
  if (ref.domain == kDefaultDomain) {
    name = ref.path;
    if (name.substr(0, kOfficialRepoPrefix.size()) == kOfficialRepoPrefix &&
        name.find('/', kOfficialRepoPrefix.size()) == std::string::npos) {
      name = name.substr(kOfficialRepoPrefix.size());
    }
  }
  if (!ref.tag.empty()) name += ":" + ref.tag;
  if (!ref.digest.empty()) name += "@" + ref.digest;
  return name;
}

absl::StatusOr<Reference> ParseReference(std::string_view ref) {
  if (ref.empty()) return Invalid(ref, "repository name must have at least one component");
  if (IsHex64Lower(ref)) {
    return Invalid(ref, "cannot specify 64-byte hexadecimal strings (an image id is not a reference)");
  }

  // Split off "@digest" first: neither names nor tags contain '@'.
  std::string_view rest = ref;
  Reference result;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    if (!IsDigestSyntax(digest)) return Invalid(ref, "invalid reference format: invalid digest");
    if (digest.substr(0, 7) != "sha256:") return Invalid(ref, "unsupported digest algorithm (only sha256)");
    if (!IsValidSha256Digest(digest)) return Invalid(ref, "invalid checksum digest format");
    result.digest = std::string(digest);
    rest = rest.substr(0, at);
  }

  // The first component is a registry domain when it looks like one (has '.' or ':', or is
  // "localhost"); otherwise the image lives on Docker Hub.
  size_t slash = rest.find('/');
  std::string_view first = rest.substr(0, slash);
  if (slash != std::string_view::npos &&
      (first.find_first_of(".:") != std::string_view::npos || first == "localhost" || first.front() == '[')) {
    if (!IsDomain(first)) return Invalid(ref, "invalid reference format: invalid registry domain");
    result.domain = std::string(first);
    rest.remove_prefix(slash + 1);
  } else {
    result.domain = std::string(kDefaultDomain);
  }
  if (result.domain == kLegacyDefaultDomain) result.domain = std::string(kDefaultDomain);

  // A tag follows the last ':' of the path (a port's ':' belongs to the domain split off above).
  if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    std::string_view tag = rest.substr(colon + 1);
    if (!IsTag(tag)) return Invalid(ref, "invalid reference format: invalid tag");
    result.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }

  std::string path(rest);
  if (std::any_of(path.begin(), path.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return Invalid(ref, "invalid reference format: repository name must be lowercase");
  }
  if (path.empty()) return Invalid(ref, "repository name must have at least one component");
  for (std::string_view components = path;;) {
    size_t next = components.find('/');
    if (!IsNameComponent(components.substr(0, next))) {
      return Invalid(ref, "invalid reference format: invalid repository name component");
    }
    if (next == std::string_view::npos) break;
    components.remove_prefix(next + 1);
  }
  if (result.domain == kDefaultDomain && path.find('/') == std::string::npos) {
    path = std::string(kOfficialRepoPrefix) + path;
  }
  result.path = std::move(path);
  if (result.Name().size() > kNameTotalLengthMax) {
    return Invalid(ref, fmt::format("repository name must not be more than {} characters", kNameTotalLengthMax));
  }

  // containerd keeps only the digest of a tagged and digested reference; a bare name is :latest.
  if (!result.digest.empty()) {
    result.tag.clear();
  } else if (result.tag.empty()) {
    result.tag = "latest";
  }
  return result;
}

}  // namespace liman::containerd::remotes
