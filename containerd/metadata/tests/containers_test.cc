#include "containerd/metadata/tests/fixture.h"

namespace liman::containerd::metadata::testing {
namespace {

std::vector<std::string> Ids(DB& db, const std::vector<std::string>& filters) {
  std::vector<std::string> ids;
  for (const Container& container : Must(db.Containers().List("default", filters))) ids.push_back(container.id);
  return ids;
}

Container FullContainer(const std::string& id) {
  Container container = TestContainer(id);
  container.labels = {{"app", "web"}};
  container.image = "docker.io/library/nginx:latest";
  container.runtime.options =
      Any{.type_url = "containerd.runc.v1.Options", .value = std::string("\x08\x01\x00\xff", 4)};
  container.snapshotter = kOverlay;
  container.snapshot_key = id + "-snapshot";
  container.extensions = {{"ext", Any{.type_url = "type/x", .value = std::string("\x00\x01", 2)}}};
  container.sandbox_id = "sandbox-1";
  return container;
}

TEST_CASE("containers: create, get, list, delete") {
  Env env;
  ContainerStore& containers = env.db().Containers();
  Container container = FullContainer("web-1");
  Container created = Must(containers.Create("default", container));
  CHECK(created.created_at == env.clock().Now());

  Container got = Must(containers.Get("default", "web-1"));
  CHECK(got.id == "web-1");
  CHECK(got.labels == container.labels);
  CHECK(got.image == container.image);
  CHECK(got.runtime.name == "io.containerd.runc.v2");
  REQUIRE(got.runtime.options.has_value());
  CHECK(*got.runtime.options == *container.runtime.options);
  REQUIRE(got.spec.has_value());
  CHECK(*got.spec == *container.spec);
  CHECK(got.snapshotter == kOverlay);
  CHECK(got.snapshot_key == "web-1-snapshot");
  CHECK(got.extensions == container.extensions);
  CHECK(got.sandbox_id == "sandbox-1");
  CHECK(got.created_at == created.created_at);
  CHECK(got.updated_at == created.created_at);

  // Optional parts stay absent.
  Must(containers.Create("default", TestContainer("bare")));
  Container bare = Must(containers.Get("default", "bare"));
  CHECK(!bare.runtime.options.has_value());
  CHECK(bare.extensions.empty());
  CHECK(bare.snapshotter.empty());

  CHECK(CodeOf(containers.Create("default", container)) == absl::StatusCode::kAlreadyExists);
  CHECK(Ids(env.db(), {}) == std::vector<std::string>{"bare", "web-1"});
  Must(containers.Delete("default", "web-1"));
  CHECK(CodeOf(containers.Get("default", "web-1")) == absl::StatusCode::kNotFound);
  CHECK(CodeOf(containers.Delete("default", "web-1")) == absl::StatusCode::kNotFound);
  // Its extensions went with it: a new container of that id starts clean.
  Must(containers.Create("default", TestContainer("web-1")));
  CHECK(Must(containers.Get("default", "web-1")).extensions.empty());
}

TEST_CASE("containers: validation as containerd's") {
  Env env;
  ContainerStore& containers = env.db().Containers();
  auto refused = [&](const Container& container) {
    absl::Status status = containers.Create("default", container).status();
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    return MessageOf(status);
  };
  CHECK(refused(TestContainer("")) == "create container failed validation: container.ID: identifier must not be empty");
  refused(TestContainer("bad/id"));
  Container no_runtime = TestContainer("c");
  no_runtime.runtime.name.clear();
  CHECK(refused(no_runtime) == "create container failed validation: container.Runtime.Name must be set");
  Container no_spec = TestContainer("c");
  no_spec.spec.reset();
  CHECK(refused(no_spec) == "create container failed validation: container.Spec must be set");
  Container key_only = TestContainer("c");
  key_only.snapshot_key = "k";
  CHECK(refused(key_only) ==
        "create container failed validation: container.Snapshotter must be set if container.SnapshotKey is set");
  Container empty_extension = TestContainer("c");
  empty_extension.extensions[""] = Any{};
  refused(empty_extension);
  Container big_label = TestContainer("c");
  big_label.labels["k"] = std::string(4096, 'v');
  refused(big_label);
  CHECK(Ids(env.db(), {}).empty());
}

TEST_CASE("containers: list filters") {
  Env env;
  ContainerStore& containers = env.db().Containers();
  Container a = FullContainer("a");
  Container b = TestContainer("b");
  b.runtime.name = "io.containerd.liman.v2";
  b.labels = {{"app", "db"}};
  b.image = "docker.io/library/postgres:15";
  Container c = TestContainer("c");
  for (const Container& container : {a, b, c}) Must(containers.Create("default", container));
  using Ids_ = std::vector<std::string>;
  CHECK(Ids(env.db(), {"id==b"}) == Ids_{"b"});
  CHECK(Ids(env.db(), {"runtime.name==io.containerd.runc.v2"}) == Ids_{"a", "c"});
  CHECK(Ids(env.db(), {"image~=postgres"}) == Ids_{"b"});
  CHECK(Ids(env.db(), {"image"}) == Ids_{"a", "b"});
  CHECK(Ids(env.db(), {"snapshotter==overlayfs"}) == Ids_{"a"});
  CHECK(Ids(env.db(), {"labels.app==web", "labels.app==db"}) == Ids_{"a", "b"});
  CHECK(Ids(env.db(), {"labels.app!=web"}) == Ids_{"b", "c"});
  CHECK(CodeOf(containers.List("default", {"id=="})) == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("containers: update with field paths") {
  Env env;
  ContainerStore& containers = env.db().Containers();
  Container original = Must(containers.Create("default", FullContainer("c")));
  env.clock().Advance(absl::Seconds(1));
  Container update = FullContainer("c");
  update.labels = {{"app", "new"}, {"extra", "x"}};
  update.image = "new-image";
  update.spec = Any{.type_url = "spec", .value = "{\"new\":true}"};
  update.snapshot_key = "other-key";
  update.extensions = {{"other", Any{.type_url = "t", .value = "v"}}};

  SECTION("each mutable path") {
    Container updated = Must(containers.Update("default", update, {"labels.extra", "image", "spec"}));
    CHECK(updated.labels == Labels{{"app", "web"}, {"extra", "x"}});
    CHECK(updated.image == "new-image");
    CHECK(updated.spec->value == "{\"new\":true}");
    CHECK(updated.snapshot_key == "c-snapshot");
    CHECK(updated.created_at == original.created_at);
    CHECK(updated.updated_at == original.created_at + absl::Seconds(1));
    updated = Must(containers.Update("default", update, {"snapshotkey", "extensions.other", "extensions.ext"}));
    CHECK(updated.snapshot_key == "other-key");
    CHECK(updated.extensions == update.extensions);
    updated = Must(containers.Update("default", FullContainer("c"), {"extensions", "labels"}));
    CHECK(updated.extensions == FullContainer("c").extensions);
    CHECK(updated.labels == FullContainer("c").labels);
    Container got = Must(containers.Get("default", "c"));
    CHECK(got.extensions == updated.extensions);
    CHECK(got.snapshot_key == "other-key");
  }
  SECTION("no paths: the mutable fields; immutable ones must not differ") {
    Container updated = Must(containers.Update("default", update, {}));
    CHECK(updated.labels == update.labels);
    CHECK(updated.image == "new-image");
    CHECK(updated.snapshot_key == "other-key");
    CHECK(updated.extensions == update.extensions);
    Container other_runtime = update;
    other_runtime.runtime.name = "io.containerd.other.v1";
    CHECK(MessageOf(containers.Update("default", other_runtime, {})) == "container.Runtime.Name field is immutable");
    Container other_snapshotter = update;
    other_snapshotter.snapshotter = "native";
    CHECK(MessageOf(containers.Update("default", other_snapshotter, {})) == "container.Snapshotter field is immutable");
    Container other_sandbox = update;
    other_sandbox.sandbox_id = "sandbox-2";
    CHECK(CodeOf(containers.Update("default", other_sandbox, {})) == absl::StatusCode::kInvalidArgument);
  }
  SECTION("paths containerd does not allow") {
    for (const char* path : {"runtime", "runtime.name", "snapshotter", "id", "sandbox", "createdat"}) {
      INFO(path);
      CHECK(CodeOf(containers.Update("default", update, {path})) == absl::StatusCode::kInvalidArgument);
    }
    CHECK(MessageOf(containers.Update("default", update, {"runtime"})) == "cannot update \"runtime\" field on \"c\"");
    Container no_spec = update;
    no_spec.spec.reset();
    CHECK(CodeOf(containers.Update("default", no_spec, {"spec"})) == absl::StatusCode::kInvalidArgument);
    CHECK(CodeOf(containers.Update("default", TestContainer("nope"), {})) == absl::StatusCode::kNotFound);
    CHECK(Must(containers.Get("default", "c")).image == FullContainer("c").image);
  }
}

TEST_CASE("containers: namespaces do not see each other's") {
  Env env;
  ContainerStore& containers = env.db().Containers();
  Container one = TestContainer("c");
  one.image = "one";
  Container two = TestContainer("c");
  two.image = "two";
  Must(containers.Create("one", one));
  Must(containers.Create("two", two));
  CHECK(Must(containers.Get("one", "c")).image == "one");
  Must(containers.Update("two", Container{.id = "c", .image = "changed"}, {"image"}));
  CHECK(Must(containers.Get("one", "c")).image == "one");
  CHECK(Must(containers.Get("two", "c")).image == "changed");
  Must(containers.Delete("one", "c"));
  CHECK(Must(containers.Get("two", "c")).id == "c");
}

}  // namespace
}  // namespace liman::containerd::metadata::testing
