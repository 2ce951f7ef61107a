#include "runtime/seccomp_cache.h"

#include <seccomp.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::runtime {
namespace {

constexpr std::string_view kFileMagic = "LMSCBPF1";

// Length-prefixed fields: no two different profiles encode to the same bytes.
class KeyWriter {
 public:
  void Number(uint64_t value) { out_.append(reinterpret_cast<const char*>(&value), sizeof value); }
  void Text(std::string_view text) {
    Number(text.size());
    out_.append(text);
  }
  void Optional(const std::optional<unsigned>& value) {
    Number(value.has_value());
    Number(value.value_or(0));
  }
  void Texts(const std::vector<std::string>& texts) {
    Number(texts.size());
    for (const std::string& text : texts) Text(text);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// FNV-1a: only names the file; the key inside decides.
uint64_t Fnv1a(std::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char byte : bytes) hash = (hash ^ byte) * 0x100000001b3ULL;
  return hash;
}

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool Bytes(size_t size, std::string_view* out) {
    if (data_.size() < size) return false;
    *out = data_.substr(0, size);
    data_.remove_prefix(size);
    return true;
  }
  template <typename T>
  bool Value(T* out) {
    std::string_view bytes;
    if (!Bytes(sizeof(T), &bytes)) return false;
    memcpy(out, bytes.data(), sizeof(T));
    return true;
  }
  bool AtEnd() const { return data_.empty(); }

 private:
  std::string_view data_;
};

// The program in `file` if it was compiled from exactly `key`.
std::optional<SeccompProgram> Decode(std::string_view file, std::string_view key) {
  Reader reader(file);
  std::string_view magic, stored_key, instructions;
  uint64_t key_size = 0, count = 0;
  uint32_t flags = 0, uses_notify = 0;
  if (!reader.Bytes(kFileMagic.size(), &magic) || magic != kFileMagic) return std::nullopt;
  if (!reader.Value(&key_size) || !reader.Bytes(key_size, &stored_key) || stored_key != key) return std::nullopt;
  if (!reader.Value(&flags) || !reader.Value(&uses_notify) || !reader.Value(&count)) return std::nullopt;
  if (count > file.size() / sizeof(sock_filter) || !reader.Bytes(count * sizeof(sock_filter), &instructions) ||
      !reader.AtEnd())
    return std::nullopt;
  SeccompProgram program;
  program.flags = flags;
  program.uses_notify = uses_notify != 0;
  program.filter.resize(count);
  memcpy(program.filter.data(), instructions.data(), instructions.size());
  return program;
}

std::string Encode(const SeccompProgram& program, std::string_view key) {
  std::string file(kFileMagic);
  auto append = [&file](const auto& value) { file.append(reinterpret_cast<const char*>(&value), sizeof value); };
  append(uint64_t{key.size()});
  file.append(key);
  append(uint32_t{program.flags});
  append(uint32_t{program.uses_notify});
  append(uint64_t{program.filter.size()});
  file.append(reinterpret_cast<const char*>(program.filter.data()), program.filter.size() * sizeof(sock_filter));
  return file;
}

// Keeps the directory below kMaxEntries programs before one more is written: the oldest go.
void Evict(const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = ListDir(dir);
  if (!names.ok()) return;
  std::vector<std::pair<int64_t, std::string>> entries;
  for (const std::string& name : *names) {
    struct stat st;
    std::string path = JoinPath(dir, name);
    if (name.ends_with(".bpf") && stat(path.c_str(), &st) == 0)
      entries.emplace_back(int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec, path);
  }
  if (entries.size() < SeccompCache::kMaxEntries) return;
  std::sort(entries.begin(), entries.end());
  for (size_t i = 0; i + SeccompCache::kMaxEntries <= entries.size(); ++i) unlink(entries[i].second.c_str());
}

}  // namespace

std::string SeccompCacheKey(const oci::Seccomp& seccomp) {
  KeyWriter key;
  key.Text(fmt::format("libseccomp {}.{}.{} api {}", SCMP_VER_MAJOR, SCMP_VER_MINOR, SCMP_VER_MICRO, seccomp_api_get()));
  struct utsname host;
  if (uname(&host) == 0) {
    key.Text(host.release);
    key.Text(host.machine);
  }
  key.Text(seccomp.default_action);
  key.Optional(seccomp.default_errno_ret);
  key.Texts(seccomp.architectures);
  key.Texts(seccomp.flags);
  key.Text(seccomp.listener_path);
  key.Text(seccomp.listener_metadata);
  key.Number(seccomp.syscalls.size());
  for (const oci::SeccompSyscall& call : seccomp.syscalls) {
    key.Texts(call.names);
    key.Text(call.action);
    key.Optional(call.errno_ret);
    key.Number(call.args.size());
    for (const oci::SeccompArg& arg : call.args) {
      key.Number(arg.index);
      key.Number(arg.value);
      key.Number(arg.value_two);
      key.Text(arg.op);
    }
  }
  return key.Take();
}

absl::StatusOr<SeccompProgram> SeccompCache::Compile(const oci::Seccomp& seccomp) const {
  if (dir_.empty()) return CompileSeccomp(seccomp);
  std::string key = SeccompCacheKey(seccomp);
  std::string path = JoinPath(dir_, fmt::format("{:016x}.bpf", Fnv1a(key)));
  if (absl::StatusOr<std::string> file = ReadFile(path); file.ok()) {
    if (std::optional<SeccompProgram> cached = Decode(*file, key)) return std::move(*cached);
  }
  LIMAN_ASSIGN_OR_RETURN(SeccompProgram program, CompileSeccomp(seccomp));
  absl::Status stored = MkdirAll(dir_, 0700);
  if (stored.ok()) {
    Evict(dir_);
    stored = ReplaceFile(path, Encode(program, key), 0600);
  }
  if (!stored.ok()) LogDebug("seccomp cache: {}", stored.message());
  return program;
}

}  // namespace liman::runtime
