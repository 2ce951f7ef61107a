#include "ctl/liman/go_template.h"

#include <catch2/catch.hpp>
#include <string>

using liman::cli::GoTemplate;
using nlohmann::json;

namespace {

const json kInspect = {
    {"Id", "abc"},
    {"Name", "/web"},
    {"State", {{"Pid", 42}, {"Running", true}, {"ExitCode", 0}, {"Health", nullptr}}},
    {"Config", {{"Env", {"A=1", "B=2"}}, {"Labels", {{"k", "v"}, {"tier", "db"}}}, {"Cmd", json::array()}}},
    {"NetworkSettings",
     {{"Networks", {{"bridge", {{"IPAddress", "172.17.0.2"}}}, {"mynet", {{"IPAddress", "10.0.0.5"}, {"Aliases", {"w1", "w2"}}}}}},
      {"Ports", {{"80/tcp", {{{"HostIp", "0.0.0.0"}, {"HostPort", "8080"}}}}}}}}};

std::string Render(const std::string& text, const json& dot = kInspect) {
  auto tmpl = GoTemplate::Parse(text);
  INFO(text);
  REQUIRE(tmpl.ok());
  auto out = tmpl->Render(dot);
  if (!out.ok()) FAIL(out.status().message());
  return *out;
}

std::string RenderError(const std::string& text) {
  auto tmpl = GoTemplate::Parse(text);
  if (!tmpl.ok()) return std::string(tmpl.status().message());
  auto out = tmpl->Render(kInspect);
  INFO(text);
  REQUIRE_FALSE(out.ok());
  return std::string(out.status().message());
}

}  // namespace

TEST_CASE("range over a map in key order, with and without variables, and its else") {
  CHECK(Render("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}") == "172.17.0.2 10.0.0.5 ");
  CHECK(Render("{{range $name, $net := .NetworkSettings.Networks}}{{$name}}={{$net.IPAddress}};{{end}}") ==
        "bridge=172.17.0.2;mynet=10.0.0.5;");
  CHECK(Render("{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}") == "0:A=1 1:B=2 ");
  CHECK(Render("{{range .Config.Cmd}}x{{else}}empty{{end}}") == "empty");
  CHECK(Render("{{range .Nope}}x{{else}}none{{end}}") == "none");
  CHECK(Render("{{range $p, $b := .NetworkSettings.Ports}}{{$p}} -> {{(index $b 0).HostPort}}{{end}}") == "80/tcp -> 8080");
  // $ is the template's own dot, inside a range too.
  CHECK(Render("{{range .Config.Env}}{{$.Id}}{{end}}") == "abcabc");
}

TEST_CASE("if, else if, else and with; Go's truth") {
  CHECK(Render("{{if .State.Running}}up{{else}}down{{end}}") == "up");
  CHECK(Render("{{if .State.ExitCode}}failed{{else if .State.Running}}running{{else}}ok{{end}}") == "running");
  CHECK(Render("{{if .State.Health}}h{{else}}no health{{end}}") == "no health");
  CHECK(Render("{{if .Config.Cmd}}cmd{{end}}|{{if .Config.Env}}env{{end}}") == "|env");
  CHECK(Render("{{with .Config.Labels}}{{.tier}}{{end}}") == "db");
  CHECK(Render("{{with .Nope}}x{{else}}without{{end}}") == "without");
  CHECK(Render("{{if and .State.Running (eq .State.Pid 42)}}yes{{end}}") == "yes");
  CHECK(Render("{{if or .Nope (not .State.Running)}}a{{else}}b{{end}}") == "b");
  CHECK(Render("{{if ne .Name \"/db\"}}{{if gt .State.Pid 40}}{{if lt .Id \"b\"}}ok{{end}}{{end}}{{end}}") == "ok");
  CHECK(Render("{{eq .Id \"x\" \"y\" \"abc\"}}") == "true");
}

TEST_CASE("pipelines, parentheses, variables and functions") {
  CHECK(Render("{{.Name | printf \"%s!\"}}") == "/web!");
  CHECK(Render("{{printf \"%-6s|%5d|%q\" .Id .State.Pid .Name}}") == "abc   |   42|\"/web\"");
  CHECK(Render("{{len .Config.Env}} {{len .Id}} {{len .Config.Labels}}") == "2 3 2");
  CHECK(Render("{{index .Config.Env 1}} {{index .NetworkSettings.Networks \"mynet\" \"Aliases\" 0}}") == "B=2 w1");
  CHECK(Render("{{$ip := (index .NetworkSettings.Networks \"bridge\").IPAddress}}[{{$ip}}]") == "[172.17.0.2]");
  CHECK(Render("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}") == "2");
  CHECK(Render("{{join (split \"a:b:c\" \":\") \",\"}}") == "a,b,c");
  CHECK(Render("{{slice .Id 1}} {{slice .Config.Env 0 1}}") == "bc [A=1]");
  CHECK(Render("{{title \"hello world\"}} {{upper .Id | lower}}") == "Hello World abc");
  CHECK(Render("{{pad .Id 2 1}}|{{truncate .Name 3}}") == "  abc |/we");
  CHECK(Render("{{print 1 2 \"x\" 3}}") == "1 2x3");
  CHECK(Render("{{println .Id .State.Pid}}") == "abc 42\n");
  CHECK(Render("{{json .NetworkSettings.Networks.mynet.Aliases}}") == R"(["w1","w2"])");
  CHECK(Render("{{`raw \"q\"`}}") == "raw \"q\"");
}

TEST_CASE("trim markers and comments") {
  CHECK(Render("a  {{- .Id -}}  b") == "aabcb");
  CHECK(Render("{{range .Config.Env}}\n  {{- . }}\n{{- end}}") == "A=1B=2");
  CHECK(Render("x{{/* a comment */}}y{{- /* trimmed */ -}} z") == "xyz");
}

TEST_CASE("template errors say what is wrong") {
  CHECK(RenderError("{{if .Id}}x") .find("unexpected EOF") != std::string::npos);
  CHECK(RenderError("{{end}}").find("unexpected {{end}}") != std::string::npos);
  CHECK(RenderError("{{range .Id}}x{{end}}").find("range can't iterate over abc") != std::string::npos);
  CHECK(RenderError("{{.Id.Foo}}").find("can't evaluate field Foo in type string") != std::string::npos);
  CHECK(RenderError("{{$nope}}").find("undefined variable: $nope") != std::string::npos);
  CHECK(RenderError("{{.Id | .Name}}").find("can't give argument to non-function") != std::string::npos);
  CHECK(RenderError("{{index .Config.Env 5}}").find("index out of range: 5") != std::string::npos);
  CHECK(RenderError("{{lt .Id 3}}").find("incompatible types for comparison") != std::string::npos);
  CHECK(RenderError("{{(.Id}}").find("unclosed left paren") != std::string::npos);
  CHECK(RenderError("{{\"abc}}").find("unclosed action") != std::string::npos);
  CHECK(RenderError("{{define \"x\"}}{{end}}").find("not supported") != std::string::npos);
}

TEST_CASE("a table template's header names the last field of each action") {
  auto tmpl = GoTemplate::Parse("table {{.ID}}\\t{{json .Names}}\\t{{(index .Ports 0).Host}}");
  REQUIRE(tmpl.ok());
  CHECK(tmpl->is_table());
  CHECK(tmpl->Header({{"ID", "CONTAINER ID"}}) == "CONTAINER ID\tNAMES\tHOST");
}
