// Argument parsing of the commands that take a command line of their own (run, containers
// create): options before IMAGE ID, everything after the command's first word belongs to it.
#include <catch2/catch.hpp>

#include "ctl/liman-ctr/labels.h"
#include "ctl/liman-ctr/run.h"
#include "ctl/liman-ctr/signals.h"

namespace liman::ctr {
namespace {

ContainerCreateOptions Parse(std::vector<std::string> args) {
  CLI::App app{"test"};
  ContainerCreateOptions options;
  CLI::App* run = app.add_subcommand("run");
  AddContainerCreateFlags(run, options);
  args.insert(args.begin(), "run");
  args = SeparateCommand(app, args);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  app.parse(reversed);
  return options;
}

TEST_CASE("run: flags, IMAGE, ID and a command with options of its own") {
  ContainerCreateOptions options =
      Parse({"-t", "--env", "A=1", "--env", "B=2", "--runtime", "io.containerd.runc.v2", "--cwd", "/tmp",
             "busybox", "c1", "sh", "-c", "echo hi; exit 3"});
  CHECK(options.tty);
  CHECK(options.env == std::vector<std::string>{"A=1", "B=2"});
  CHECK(options.runtime == "io.containerd.runc.v2");
  CHECK(options.cwd == "/tmp");
  CHECK(options.image == "busybox");
  CHECK(options.id == "c1");
  CHECK(options.args == std::vector<std::string>{"sh", "-c", "echo hi; exit 3"});
  CHECK(options.snapshotter == "overlayfs");
}

TEST_CASE("run: defaults and no command") {
  ContainerCreateOptions options = Parse({"docker.io/library/busybox:latest", "c2"});
  CHECK_FALSE(options.tty);
  CHECK(options.runtime == "io.containerd.liman.v2");
  CHECK(options.args.empty());
}

TEST_CASE("run: a flag before IMAGE takes no value, so the command keeps all its words") {
  ContainerCreateOptions options = Parse({"-t", "img", "c4", "echo", "a", "b"});
  CHECK(options.tty);
  CHECK(options.image == "img");
  CHECK(options.id == "c4");
  CHECK(options.args == std::vector<std::string>{"echo", "a", "b"});
}

TEST_CASE("run: a command whose words look like our flags stays the command's") {
  ContainerCreateOptions options = Parse({"img", "c3", "ls", "-t", "--env", "/"});
  CHECK_FALSE(options.tty);
  CHECK(options.env.empty());
  CHECK(options.args == std::vector<std::string>{"ls", "-t", "--env", "/"});
}

TEST_CASE("SeparateCommand skips option values and global options, stops at an existing --") {
  CLI::App app{"test"};
  std::string ns;
  app.add_option("--namespace,-n", ns);
  ContainerCreateOptions options;
  CLI::App* group = app.add_subcommand("containers")->alias("c");
  AddContainerCreateFlags(group->add_subcommand("create"), options);
  using V = std::vector<std::string>;
  CHECK(SeparateCommand(app, V{"-n", "x", "c", "create", "--env", "A=1", "--cwd=/", "img", "id", "ls", "-l"}) ==
        V{"-n", "x", "c", "create", "--env", "A=1", "--cwd=/", "img", "id", "--", "ls", "-l"});
  CHECK(SeparateCommand(app, V{"c", "create", "img", "id", "--", "ls"}) == V{"c", "create", "img", "id", "--", "ls"});
  CHECK(SeparateCommand(app, V{"c", "create", "img", "id"}) == V{"c", "create", "img", "id"});
  CHECK(SeparateCommand(app, V{"c", "create", "-t", "img"}) == V{"c", "create", "-t", "img"});
}

TEST_CASE("run: IMAGE and ID are required") {
  CLI::App app{"test"};
  ContainerCreateOptions options;
  AddContainerCreateFlags(app.add_subcommand("run"), options);
  CHECK_THROWS_AS(app.parse(std::vector<std::string>{"img", "run"}), CLI::RequiredError);
}

TEST_CASE("Signals parse by name, SIG-less name and number") {
  CHECK(ParseSignal("SIGKILL").value() == 9);
  CHECK(ParseSignal("kill").value() == 9);
  CHECK(ParseSignal("TERM").value() == 15);
  CHECK(ParseSignal("10").value() == 10);
  CHECK(ParseSignal("SIGNOPE").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ParseSignal("0").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ParseSignal("65").status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Labels on the command line: KEY=VALUE, KEY alone is empty") {
  auto labels = ParseLabels({"a=1", "b", "c=x=y"});
  CHECK(labels.at("a") == "1");
  CHECK(labels.at("b").empty());
  CHECK(labels.at("c") == "x=y");
}

}  // namespace
}  // namespace liman::ctr
