#include "common/passwd_file.h"

#include <charconv>

#include "common/text_split.h"

namespace liman {
namespace {

// Lines of name:x:… files; blank lines, comments and lines with too few fields are skipped, as
// runc's parser does.
std::vector<std::vector<std::string_view>> Records(std::string_view text, size_t min_fields) {
  std::vector<std::vector<std::string_view>> records;
  for (std::string_view line : SplitView(text, '\n')) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    std::vector<std::string_view> fields = SplitView(line, ':');
    if (fields.size() >= min_fields) records.push_back(std::move(fields));
  }
  return records;
}

}  // namespace

std::optional<uint32_t> ParseId(std::string_view text) {
  uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<PasswdEntry> ParsePasswd(std::string_view text) {
  std::vector<PasswdEntry> entries;
  for (const auto& fields : Records(text, 4)) {
    std::optional<uint32_t> uid = ParseId(fields[2]), gid = ParseId(fields[3]);
    if (!uid || !gid) continue;
    entries.push_back({std::string(fields[0]), *uid, *gid, fields.size() > 5 ? std::string(fields[5]) : ""});
  }
  return entries;
}

std::vector<GroupEntry> ParseGroup(std::string_view text) {
  std::vector<GroupEntry> entries;
  for (const auto& fields : Records(text, 3)) {
    std::optional<uint32_t> gid = ParseId(fields[2]);
    if (!gid) continue;
    GroupEntry entry{std::string(fields[0]), *gid, {}};
    if (fields.size() > 3)
      for (std::string_view member : SplitView(fields[3], ','))
        if (!member.empty()) entry.members.emplace_back(member);
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace liman
