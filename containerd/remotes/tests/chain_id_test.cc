#include <catch2/catch.hpp>

#include "containerd/remotes/pull.h"

namespace liman::containerd::remotes {
namespace {

TEST_CASE("chain ids follow the OCI image spec") {
  const std::string a = "sha256:" + std::string(64, 'a');
  const std::string b = "sha256:" + std::string(64, 'b');
  const std::string c = "sha256:" + std::string(64, 'c');
  // Values computed independently (Python hashlib) from chain(n) = sha256(chain(n-1) + " " + diff(n)).
  const std::string ab = "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c";
  const std::string abc = "sha256:c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588";

  CHECK(ChainId({}).empty());
  CHECK(ChainId({a}) == a);  // the bottom layer's chain id is its diff id
  CHECK(ChainId({a, b}) == ab);
  CHECK(ChainId({a, b, c}) == abc);
  CHECK(ChainIds({a, b, c}) == std::vector<std::string>{a, ab, abc});
  CHECK(ChainId({b, a}) != ab);  // order matters
}

}  // namespace
}  // namespace liman::containerd::remotes
