// Labels on the command line ("KEY=VALUE", ctr's commands.LabelArgs: a bare KEY gets "") and
// from protobuf maps.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <google/protobuf/map.h>

namespace liman::ctr {

inline std::map<std::string, std::string> ParseLabels(const std::vector<std::string>& args) {
  std::map<std::string, std::string> labels;
  for (const std::string& arg : args) {
    size_t equals = arg.find('=');
    labels[arg.substr(0, equals)] = equals == std::string::npos ? "" : arg.substr(equals + 1);
  }
  return labels;
}

inline std::map<std::string, std::string> ToMap(const google::protobuf::Map<std::string, std::string>& map) {
  return std::map<std::string, std::string>(map.begin(), map.end());
}

}  // namespace liman::ctr
