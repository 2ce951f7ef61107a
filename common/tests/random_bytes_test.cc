#include "common/random_bytes.h"

#include <catch2/catch.hpp>
#include <set>

TEST_CASE("RandomBytes gives the size asked for, and different bytes each time") {
  CHECK(liman::RandomBytes(0).empty());
  CHECK(liman::RandomBytes(1000).size() == 1000);
  std::set<std::string> drawn;
  for (int i = 0; i < 100; ++i) drawn.insert(liman::RandomBytes(16));
  CHECK(drawn.size() == 100);
  // Not all zero, or all one value: every byte value is about as likely.
  std::string many = liman::RandomBytes(4096);
  std::set<unsigned char> values(many.begin(), many.end());
  CHECK(values.size() > 200);
}

TEST_CASE("RandomHex gives two lower-case hex digits a byte") {
  std::string hex = liman::RandomHex(32);
  CHECK(hex.size() == 64);
  CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(liman::RandomHex(32) != hex);
}
