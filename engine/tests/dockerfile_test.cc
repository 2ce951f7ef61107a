// The Dockerfile parser, variable substitution and the config-only instructions, against what
// moby's legacy builder does with the same text.
#include "engine/daemon/dockerfile.h"

#include <catch2/catch.hpp>

using namespace liman::engine;
using nlohmann::json;

TEST_CASE("Dockerfile: keywords in any case, continuations, comments, flags and the exec form") {
  auto parsed = ParseDockerfile(
      "# a comment\n"
      "from busybox AS base\n"
      "\n"
      "RUN echo one \\\n"
      "# inside a continuation\n"
      "    two\r\n"
      "COPY --chown=1:2 a b /dest/\n"
      "CMD [\"sh\", \"-c\", \"echo hi\"]\n"
      "ENTRYPOINT [\"not json\n");
  REQUIRE(parsed.ok());
  REQUIRE(parsed->size() == 5);
  const auto& from = (*parsed)[0];
  CHECK(from.keyword == "FROM");
  CHECK(from.arguments == "busybox AS base");
  CHECK(from.line == 2);
  CHECK((*parsed)[1].arguments == "echo one     two");
  CHECK((*parsed)[1].line == 4);
  CHECK((*parsed)[2].flags == std::vector<std::string>{"chown=1:2"});
  CHECK((*parsed)[2].arguments == "a b /dest/");
  CHECK((*parsed)[2].Text() == "COPY --chown=1:2 a b /dest/");
  CHECK((*parsed)[3].exec_form == std::vector<std::string>{"sh", "-c", "echo hi"});
  CHECK(!(*parsed)[4].exec_form.has_value());

  CHECK(ParseDockerfile("FROM x\nFOO bar\n").status().message() == "dockerfile parse error line 2: unknown instruction: FOO");
  CHECK(ParseDockerfile("# nothing\n\n").status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("variables: $X, ${X}, ${X:-default}, ${X:+alt}, quotes and escapes") {
  VariableLookup lookup = [](const std::string& name) -> std::optional<std::string> {
    if (name == "A") return "alpha";
    if (name == "EMPTY") return "";
    return std::nullopt;
  };
  CHECK(ExpandVariables("$A/${A}x", lookup).value() == "alpha/alphax");
  CHECK(ExpandVariables("${NONE:-dflt} ${A:-dflt} ${EMPTY:-e}", lookup).value() == "dflt alpha e");
  CHECK(ExpandVariables("${A:+set}${NONE:+set}", lookup).value() == "set");
  CHECK(ExpandVariables("'$A' \"$A\" \\$A $", lookup).value() == "$A alpha $A $");
  CHECK(!ExpandVariables("${A", lookup).ok());
  CHECK(!ExpandVariables("\"open", lookup).ok());
  CHECK(SplitWords("a \"b c\"  d\\ e '$A'", lookup).value() == std::vector<std::string>{"a", "b c", "d e", "$A"});
}

TEST_CASE("config instructions: ENV both forms, LABEL, EXPOSE ranges, WORKDIR relative, ENTRYPOINT drops an inherited CMD") {
  json config = {{"Env", {"PATH=/bin", "A=1"}}, {"Cmd", {"sh"}}, {"WorkingDir", "/srv"}};
  bool cmd_set = false;
  auto apply = [&](const std::string& line) {
    auto parsed = ParseDockerfile(line);
    REQUIRE(parsed.ok());
    return ApplyConfigInstruction(parsed->front(), config, cmd_set);
  };
  REQUIRE(apply("ENV A=2 B=\"two words\" C=$A").ok());
  CHECK(config["Env"] == json({"PATH=/bin", "A=2", "B=two words", "C=1"}));
  REQUIRE(apply("ENV D the rest of it").ok());
  CHECK(config["Env"].back() == "D=the rest of it");
  REQUIRE(apply("LABEL version=1.0 \"com.example.x\"=\"y z\"").ok());
  CHECK(config["Labels"] == json({{"version", "1.0"}, {"com.example.x", "y z"}}));
  REQUIRE(apply("EXPOSE 80 53/udp 8000-8001").ok());
  CHECK(config["ExposedPorts"] == json({{"80/tcp", json::object()}, {"53/udp", json::object()},
                                        {"8000/tcp", json::object()}, {"8001/tcp", json::object()}}));
  CHECK(apply("EXPOSE 80/foo").message() == "Invalid containerPort: 80/foo");
  REQUIRE(apply("WORKDIR app/../www").ok());
  CHECK(config["WorkingDir"] == "/srv/www");
  REQUIRE(apply("WORKDIR /$A").ok());
  CHECK(config["WorkingDir"] == "/2");
  REQUIRE(apply("ENTRYPOINT [\"/bin/echo\"]").ok());
  CHECK(config["Cmd"].is_null());
  REQUIRE(apply("CMD echo $HOME").ok());
  CHECK(config["Cmd"] == json({"/bin/sh", "-c", "echo $HOME"}));
  REQUIRE(apply("ENTRYPOINT top -b").ok());
  CHECK(config["Cmd"] == json({"/bin/sh", "-c", "echo $HOME"}));  // a CMD came first: kept
  CHECK(config["Entrypoint"] == json({"/bin/sh", "-c", "top -b"}));
  REQUIRE(apply("VOLUME /data /logs").ok());
  CHECK(config["Volumes"] == json({{"/data", json::object()}, {"/logs", json::object()}}));
  REQUIRE(apply("USER nobody").ok());
  CHECK(config["User"] == "nobody");
  CHECK(apply("RUN true").message() == "RUN is not a valid change command");
  CHECK(apply("ENV X").message() == "ENV must have two arguments");
  CHECK(apply("LABEL a=1 b").message() ==
        "Syntax error - can't find = in \"b\". Must be of the form: name=value");
}

TEST_CASE("--change lines: one Dockerfile in order, a CMD in an earlier line holds against ENTRYPOINT") {
  json config = {{"Cmd", {"sh"}}, {"Env", {"A=1"}}};
  REQUIRE(ApplyConfigChanges({"CMD [\"cat\", \"/x\"]", "ENV B=$A", "ENTRYPOINT [\"/bin/env\"]"}, config).ok());
  CHECK(config["Cmd"] == json({"cat", "/x"}));
  CHECK(config["Entrypoint"] == json({"/bin/env"}));
  CHECK(config["Env"] == json({"A=1", "B=1"}));
  json inherited = {{"Cmd", {"sh"}}};
  REQUIRE(ApplyConfigChanges({"ENTRYPOINT top"}, inherited).ok());
  CHECK(inherited["Cmd"].is_null());
  CHECK(ApplyConfigChanges({"USER me", "COPY a b"}, inherited).message() == "COPY is not a valid change command");
}

TEST_CASE("HEALTHCHECK: NONE, the shell and exec forms, durations in nanoseconds, bad flags") {
  auto healthcheck = [](const std::string& line) {
    auto parsed = ParseDockerfile(line);
    REQUIRE(parsed.ok());
    return HealthcheckConfig(parsed->front());
  };
  CHECK(healthcheck("HEALTHCHECK NONE").value() == json({{"Test", {"NONE"}}}));
  CHECK(healthcheck("HEALTHCHECK --interval=1m30s --retries=3 CMD wget -q localhost || exit 1").value() ==
        json({{"Test", {"CMD-SHELL", "wget -q localhost || exit 1"}}, {"Interval", 90000000000LL}, {"Retries", 3}}));
  CHECK(healthcheck("HEALTHCHECK --timeout=2s cmd [\"/bin/check\", \"-v\"]").value() ==
        json({{"Test", {"CMD", "/bin/check", "-v"}}, {"Timeout", 2000000000LL}}));
  CHECK(healthcheck("HEALTHCHECK --interval=soon CMD true").status().message() ==
        "HEALTHCHECK --interval: invalid duration soon");
  CHECK(healthcheck("HEALTHCHECK --bogus=1 CMD true").status().message() == "HEALTHCHECK: unknown flag: --bogus");
  CHECK(healthcheck("HEALTHCHECK RUN true").status().code() == absl::StatusCode::kInvalidArgument);
}
