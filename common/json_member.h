// Lenient reads of JSON written by others (image configs, registry credentials, Docker requests):
// a member that is missing or of another type reads as empty, as Go's json.Unmarshal leaves it.
#pragma once

#include <cstdint>
#include <string>

#include "nlohmann/json.hpp"

namespace liman {

// The string member `key` of `object`; empty when `object` is not an object, or the member is
// missing or not a string.
inline std::string StringMember(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return std::string();
  auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

// The integer member `key` of `object`; 0 when `object` is not an object, or the member is
// missing or not an integer.
inline int64_t IntMember(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return 0;
  auto found = object.find(key);
  return found != object.end() && found->is_number_integer() ? found->get<int64_t>() : 0;
}

// The member `key` of `object`, or null when it is missing or `object` is no object
// (operator[] of a const json must not be used on a missing key).
inline const nlohmann::json& Member(const nlohmann::json& object, const char* key) {
  static const nlohmann::json kNull;
  return object.is_object() && object.contains(key) ? object[key] : kNull;
}

}  // namespace liman
