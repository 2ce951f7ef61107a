// limand's records in SQLite (WAL): containers (one row each, the name unique, the record the
// JSON `docker inspect` shows), volumes and networks. A row is written in one transaction, so after a
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
  // Docker's HasBeenManuallyStopped: kept beside the record because inspect does not show it.
  bool manually_stopped = false;
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
  absl::Status PutVolume(const std::string& name, const nlohmann::json& record) { return PutRecord(kVolumes, name, record); }
  absl::Status DeleteVolume(const std::string& name) { return DeleteRecord(kVolumes, name); }
  absl::StatusOr<std::vector<nlohmann::json>> ListVolumes() { return ListRecords(kVolumes); }

  // Networks by id: the record `docker network inspect` shows (without its Containers).
  absl::Status PutNetwork(const std::string& id, const nlohmann::json& record) { return PutRecord(kNetworks, id, record); }
  absl::Status DeleteNetwork(const std::string& id) { return DeleteRecord(kNetworks, id); }
  absl::StatusOr<std::vector<nlohmann::json>> ListNetworks() { return ListRecords(kNetworks); }

 private:
  // A table of JSON records by one key column.
  struct Table {
    const char* name;
    const char* key;
    const char* what;  // for errors: "volume", "network"
  };
  static constexpr Table kVolumes{"volumes", "name", "volume"};
  static constexpr Table kNetworks{"networks", "id", "network"};
  absl::Status PutRecord(const Table& table, const std::string& key, const nlohmann::json& record);
  absl::Status DeleteRecord(const Table& table, const std::string& key);
  absl::StatusOr<std::vector<nlohmann::json>> ListRecords(const Table& table);

  explicit EngineStore(std::unique_ptr<sqlite::Pool> pool) : pool_(std::move(pool)) {}
  std::unique_ptr<sqlite::Pool> pool_;
};

}  // namespace liman::engine
