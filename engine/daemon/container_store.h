// limand's container records in SQLite (WAL): one row a container, its name unique, the record
// the JSON `docker inspect` shows. A row is written in one transaction, so after a crash a
// container is either fully recorded or absent.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/sqlite.h"
#include "nlohmann/json.hpp"

namespace liman::engine {

struct StoredContainer {
  std::string id;
  std::string name;  // "/web"
  nlohmann::json record;
};

class ContainerStore {
 public:
  // Opens (creating) `<dir>/engine.db`.
  static absl::StatusOr<std::unique_ptr<ContainerStore>> Open(const std::string& path);

  // kAlreadyExists naming the container holding the name.
  absl::Status Insert(const StoredContainer& container);
  absl::Status Update(const StoredContainer& container);
  absl::Status Delete(const std::string& id);
  absl::StatusOr<std::vector<StoredContainer>> List();

 private:
  explicit ContainerStore(std::unique_ptr<sqlite::Pool> pool) : pool_(std::move(pool)) {}
  std::unique_ptr<sqlite::Pool> pool_;
};

}  // namespace liman::engine
