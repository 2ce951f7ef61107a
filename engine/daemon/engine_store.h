// limand's records in SQLite (WAL): containers (one row each, the name unique, the record the
// JSON `docker inspect` shows) and volumes. A row is written in one transaction, so after a
// crash a container or volume is either fully recorded or absent.
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

class EngineStore {
 public:
  // Opens (creating) `<dir>/engine.db`.
  static absl::StatusOr<std::unique_ptr<EngineStore>> Open(const std::string& path);

  // kAlreadyExists naming the container holding the name.
  absl::Status Insert(const StoredContainer& container);
  absl::Status Update(const StoredContainer& container);
  absl::Status Delete(const std::string& id);
  absl::StatusOr<std::vector<StoredContainer>> List();

  // Volumes by name: the record `docker volume inspect` shows.
  absl::Status PutVolume(const std::string& name, const nlohmann::json& record);
  absl::Status DeleteVolume(const std::string& name);
  absl::StatusOr<std::vector<nlohmann::json>> ListVolumes();

 private:
  explicit EngineStore(std::unique_ptr<sqlite::Pool> pool) : pool_(std::move(pool)) {}
  std::unique_ptr<sqlite::Pool> pool_;
};

}  // namespace liman::engine
