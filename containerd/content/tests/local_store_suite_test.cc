#include "containerd/content/local_store.h"
#include "containerd/content/testsuite.h"

using namespace liman::containerd;
using namespace liman::containerd::content;
using namespace liman::containerd::content::testing;

TEST_CASE("LocalStore passes the content store suite") {
  RunContentStoreSuite([]() -> std::shared_ptr<ContentStore> {
    struct Fixture {
      TempDir dir;
      std::unique_ptr<LocalStore> store;
    };
    auto fixture = std::make_shared<Fixture>();
    auto store = LocalStore::Open(fixture->dir.path());
    LIMAN_REQUIRE_OK(store);
    fixture->store = *std::move(store);
    return std::shared_ptr<ContentStore>(fixture, fixture->store.get());
  });
}
