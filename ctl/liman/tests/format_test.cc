#include <catch2/catch.hpp>

#include "ctl/liman/format.h"

using liman::cli::Ellipsis;
using liman::cli::FormatRows;
using liman::cli::GoQuote;
using liman::cli::GoTemplate;
using nlohmann::json;

TEST_CASE("templates render field paths, json, join, index and Go's value printing") {
  json inspect = {{"Id", "abc"},
                  {"State", {{"Pid", 42}, {"Running", true}, {"Error", ""}}},
                  {"Config", {{"Env", {"A=1", "B=2"}}, {"Labels", {{"k", "v"}}}}},
                  {"Mounts", nullptr}};
  auto render = [&](const char* text) {
    auto tmpl = GoTemplate::Parse(text);
    REQUIRE(tmpl.ok());
    auto out = tmpl->Render(inspect);
    REQUIRE(out.ok());
    return *out;
  };
  CHECK(render("{{.State.Pid}}") == "42");
  CHECK(render("{{.Id}} {{.State.Running}}") == "abc true");
  CHECK(render("{{json .Config.Env}}") == R"(["A=1","B=2"])");
  CHECK(render("{{join .Config.Env \",\"}}") == "A=1,B=2");
  CHECK(render("{{index .Config.Labels \"k\"}}") == "v");
  CHECK(render("{{.Config.Env}}") == "[A=1 B=2]");
  CHECK(render("{{.Config.Labels}}") == "map[k:v]");
  CHECK(render("{{.Mounts}}") == "<nil>");
  CHECK(render("{{.Nope}}") == "<no value>");
  CHECK(render("{{upper .Id}}") == "ABC");
  CHECK(render("x\\ty") == "x\ty");
}

TEST_CASE("malformed templates are errors that say so") {
  CHECK_FALSE(GoTemplate::Parse("{{.Id").ok());
  CHECK_FALSE(GoTemplate::Parse("{{}}").ok());
  auto unknown = GoTemplate::Parse("{{frobnicate .Id}}");
  REQUIRE_FALSE(unknown.ok());
  CHECK(std::string(unknown.status().message()).find("\"frobnicate\" not defined") != std::string::npos);
  auto arity = GoTemplate::Parse("{{json .A .B}}");
  REQUIRE(arity.ok());
  CHECK_FALSE(arity->Render(json::object()).ok());
}

TEST_CASE("tables: docker's header names and tabwriter columns") {
  std::vector<json> rows = {{{"ID", "0123456789ab"}, {"Names", "web"}}, {{"ID", "ba9876543210"}, {"Names", "a-much-longer-name"}}};
  auto text = FormatRows("", "{{.ID}}\t{{.Names}}", rows, {{"ID", "CONTAINER ID"}});
  REQUIRE(text.ok());
  CHECK(*text ==
        "CONTAINER ID   NAMES\n"
        "0123456789ab   web\n"
        "ba9876543210   a-much-longer-name\n");
  auto plain = FormatRows("{{.Names}}", "", rows, {});
  REQUIRE(plain.ok());
  CHECK(*plain == "web\na-much-longer-name\n");
  auto lines = FormatRows("json", "", rows, {});
  REQUIRE(lines.ok());
  CHECK(*lines == "{\"ID\":\"0123456789ab\",\"Names\":\"web\"}\n{\"ID\":\"ba9876543210\",\"Names\":\"a-much-longer-name\"}\n");
}

TEST_CASE("docker ps command column: cut to 20 code points and quoted") {
  CHECK(GoQuote(Ellipsis("sh -c 'while true; do echo hi; done'", 20)) == "\"sh -c 'while true; …\"");
  CHECK(GoQuote(Ellipsis("true", 20)) == "\"true\"");
  CHECK(GoQuote("a\"b\\c\n") == "\"a\\\"b\\\\c\\n\"");
}
