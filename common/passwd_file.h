// /etc/passwd and /etc/group as runc's libcontainer/user reads them (files only, no NSS): the
// engine resolves `--user` inside images with them, and liman-runtime names the state's owner.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace liman {

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

// Digits only (no sign, no spaces), within uint32.
std::optional<uint32_t> ParseId(std::string_view text);

// Blank lines, comments and lines with too few fields or non-numeric ids are skipped, as runc's
// parser does.
std::vector<PasswdEntry> ParsePasswd(std::string_view text);
std::vector<GroupEntry> ParseGroup(std::string_view text);

}  // namespace liman
