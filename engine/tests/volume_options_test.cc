// The local volume driver's options, checked as moby's volume/local checks them.
#include <catch2/catch.hpp>

#include "engine/daemon/volume_options.h"

namespace liman::engine {
namespace {

using nlohmann::json;

std::string Refusal(const json& options) {
  absl::StatusOr<json> checked = ValidateLocalDriverOptions(options);
  return checked.ok() ? "" : std::string(checked.status().message());
}

TEST_CASE("local driver options: type, device and o, as moby takes them") {
  CHECK(ValidateLocalDriverOptions(json()).value() == json::object());
  json tmpfs = {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=1m,uid=1000"}};
  CHECK(ValidateLocalDriverOptions(tmpfs).value() == tmpfs);
  CHECK(NeedsMount(tmpfs));
  CHECK_FALSE(NeedsMount(json::object()));
  CHECK_FALSE(NeedsMount(json()));
  MountDescriptor mount = VolumeMount(tmpfs);
  CHECK(mount.type == "tmpfs");
  CHECK(mount.source == "tmpfs");
  CHECK(mount.target.empty());
  CHECK(mount.options == std::vector<std::string>{"size=1m", "uid=1000"});
  MountDescriptor bind = VolumeMount({{"type", "none"}, {"device", "/srv/data"}, {"o", "bind"}});
  CHECK(bind.source == "/srv/data");
  CHECK(bind.options == std::vector<std::string>{"bind"});
}

TEST_CASE("local driver options moby refuses") {
  CHECK(Refusal({{"colour", "blue"}}) == "invalid option: \"colour\"");
  CHECK(Refusal({{"type", "tmpfs"}}) == "missing required option: \"device\"");
  CHECK(Refusal({{"device", "tmpfs"}}) == "missing required option: \"type\"");
  CHECK(Refusal({{"o", "size=1m"}, {"type", "tmpfs"}}) == "missing required option: \"device\"");
  CHECK(Refusal({{"size", "10m"}}) == "quota size requested but no quota support");
  CHECK(Refusal({{"size", "0"}}).empty());
  CHECK(Refusal({{"type", 1}, {"device", "x"}}) == "invalid option \"type\": not a string");
  CHECK(Refusal(json::array()) == "invalid DriverOpts: not an object");
}

}  // namespace
}  // namespace liman::engine
