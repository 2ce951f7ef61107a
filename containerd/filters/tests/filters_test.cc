#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "containerd/filters/filters.h"

using liman::containerd::filters::Adaptor;
using liman::containerd::filters::Filter;
using liman::containerd::filters::MapField;
using liman::containerd::filters::Operator;
using liman::containerd::filters::Parse;

namespace {

// A small object with the shape containerd's list calls filter: a name, an optional other
// field and labels.
struct Item {
  std::string name;
  std::string other;
  std::map<std::string, std::string> labels;
};

Adaptor Adapt(const Item& item) {
  return [&item](const std::vector<std::string>& path) -> std::optional<std::string> {
    if (path.empty()) return std::nullopt;
    if (path[0] == "name" && !item.name.empty()) return item.name;
    if (path[0] == "other" && !item.other.empty()) return item.other;
    if (path[0] == "labels") return MapField(item.labels, std::span(path).subspan(1));
    return std::nullopt;
  };
}

const std::vector<Item>& Corpus() {
  static const std::vector<Item> corpus = {
      {"foo", "", {{"foo", "true"}}},                                            // 0
      {"bar", "", {}},                                                           // 1
      {"foo", "", {{"foo", "present"}, {"more complex label", "present"}}},       // 2
      {"bar", "", {{"bar", "true"}}},                                            // 3
      {"fooer", "", {{"more complex label with \\ and \"", "present"}}},          // 4
      {"fooer", "", {{"more complex label with \\ and \".post", "present"}}},     // 5
      {"baz", "too complex, yo", {}},                                            // 6
      {"bazo", "abc", {}},                                                       // 7
      {"compound", "", {{"foo", "omg_asdf.asdf-qwer"}}},                         // 8
      {"unicode", "naïve café", {{"com.example/tier", "web"}, {"a.b", "dotted"}}},  // 9
  };
  return corpus;
}

// Indexes of the corpus items the filters select.
std::vector<int> Select(const std::vector<std::string>& filters) {
  auto filter = Parse(filters);
  INFO(filter.status().message());
  REQUIRE(filter.ok());
  std::vector<int> selected;
  for (size_t i = 0; i < Corpus().size(); ++i)
    if (filter->Match(Adapt(Corpus()[i]))) selected.push_back(static_cast<int>(i));
  return selected;
}

std::vector<int> Select(const std::string& filter) { return Select(std::vector<std::string>{filter}); }

std::vector<int> All() {
  std::vector<int> all;
  for (size_t i = 0; i < Corpus().size(); ++i) all.push_back(static_cast<int>(i));
  return all;
}

std::string ParseError(const std::string& filter) {
  auto parsed = Parse({filter});
  REQUIRE(!parsed.ok());
  CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

}  // namespace

TEST_CASE("no filters, an empty filter or a blank one match everything") {
  CHECK(Select(std::vector<std::string>{}) == All());
  CHECK(Select("") == All());
  CHECK(Select("   ") == All());
  CHECK(Select(std::vector<std::string>{"name==nothing", ""}) == All());
  CHECK(Filter().Match([](const std::vector<std::string>&) { return std::nullopt; }));
  CHECK(Parse({})->MatchesEverything());
  CHECK(!Parse({"name"})->MatchesEverything());
}

TEST_CASE("a bare field path selects objects that have the field") {
  CHECK(Select("name") == All());
  CHECK(Select("other") == std::vector<int>{6, 7, 9});
  CHECK(Select("labels.foo") == std::vector<int>{0, 2, 8});
  CHECK(Select("labels.foo,name") == std::vector<int>{0, 2, 8});
  CHECK(Select("missing").empty());
}

TEST_CASE("== and != compare values; != also selects objects without the field") {
  CHECK(Select("labels.foo==true") == std::vector<int>{0});
  CHECK(Select("labels.foo==omg_asdf.asdf-qwer") == std::vector<int>{8});
  CHECK(Select("name==bar") == std::vector<int>{1, 3});
  CHECK(Select("name!=bar") == std::vector<int>{0, 2, 4, 5, 6, 7, 8, 9});
  CHECK(Select("labels.foo!=true") == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(Select("name==bar,labels.bar") == std::vector<int>{3});
  CHECK(Select("name==bar,labels.bar==true") == std::vector<int>{3});
  CHECK(Select("name==bar,labels.bar==wrong").empty());
}

TEST_CASE("quoted values may hold commas, spaces and escapes") {
  CHECK(Select(R"(other=="too complex, yo")") == std::vector<int>{6});
  CHECK(Select(R"(other=="too\x20complex,\u0020yo")") == std::vector<int>{6});
  CHECK(Select(R"(other=="na\u00efve caf\xc3\xa9")") == std::vector<int>{9});
  CHECK(Select(R"(other=="na\303\257ve café")") == std::vector<int>{9});
  CHECK(Select(R"(name=="")").empty());
  CHECK(Select(R"(other!="")") == std::vector<int>{6, 7, 9});
}

TEST_CASE("unquoted values run to the next comma or space and may hold non-ASCII text") {
  CHECK(Select("labels.\"com.example/tier\"==web") == std::vector<int>{9});
  CHECK(Select("other~=café") == std::vector<int>{9});
  CHECK(Select("name==foo=bar").empty());  // '=' inside a value is just a character
  auto filter = Parse({"name==a/b:c@d!e~f"});
  REQUIRE(filter.ok());
  CHECK(filter->any_of()[0][0].value == "a/b:c@d!e~f");
}

TEST_CASE("quoted field path segments name arbitrary label keys") {
  CHECK(Select(R"(name==foo,labels."more complex label")") == std::vector<int>{2});
  CHECK(Select(R"(labels."more complex label with \\ and \""==present)") == std::vector<int>{4});
  CHECK(Select(R"(labels."more complex label with \\ and \"".post==present)") == std::vector<int>{5});
  // Segments are joined with '.', so a dotted key is reachable quoted or not.
  CHECK(Select(R"(labels."a.b"==dotted)") == std::vector<int>{9});
  CHECK(Select("labels.a.b==dotted") == std::vector<int>{9});
  CHECK(Select(R"(labels."com.example/tier")") == std::vector<int>{9});
}

TEST_CASE("~= is an unanchored Go (RE2) regexp search, unquoted or in / or | quotes") {
  CHECK(Select("other~=[abc]+,name!=foo") == std::vector<int>{6, 7, 9});
  CHECK(Select("other~=/[abc]+/,name!=foo") == std::vector<int>{6, 7, 9});
  CHECK(Select("other~=/[abc]{1,2}/,name!=foo") == std::vector<int>{6, 7, 9});
  CHECK(Select("other~=|[abc]{1,2}|") == std::vector<int>{6, 7, 9});
  CHECK(Select(R"(other~=/[abc]{0,1}"\//,name!=foo)").empty());  // valid, matches nothing
  CHECK(Select("name~=^ba") == std::vector<int>{1, 3, 6, 7});
  CHECK(Select("name~=^ba.$") == std::vector<int>{1, 3, 6});
  CHECK(Select("name~=(?i)^FOO$") == std::vector<int>{0, 2});
  CHECK(Select(R"(name~="^(foo|bar)$")") == std::vector<int>{0, 1, 2, 3});
  // An absent field is matched as the empty string.
  CHECK(Select("other~=^$") == std::vector<int>{0, 1, 2, 3, 4, 5, 8});
}

TEST_CASE("several filter strings are OR-ed, selectors within one are AND-ed") {
  CHECK(Select(std::vector<std::string>{"name==bar", "labels.foo==true"}) == std::vector<int>{0, 1, 3});
  CHECK(Select(std::vector<std::string>{"name==bar,labels.bar", "name==bazo"}) == std::vector<int>{3, 7});
  CHECK(Select(std::vector<std::string>{"name==x", "name==y"}).empty());
}

TEST_CASE("whitespace between tokens is ignored") {
  CHECK(Select("  name == bar ") == std::vector<int>{1, 3});
  CHECK(Select("name==bar , labels . bar") == std::vector<int>{3});
  CHECK(Select("\tlabels.foo\t==\ttrue\n") == std::vector<int>{0});
  CHECK(Select("name ~= ^ba , other") == std::vector<int>{6, 7});
}

TEST_CASE("parsed selectors keep the field path, operator and value") {
  auto filter = Parse({R"(labels."a b".c!=x,name,other~=/y/)"});
  REQUIRE(filter.ok());
  REQUIRE(filter->any_of().size() == 1);
  const auto& selectors = filter->any_of()[0];
  REQUIRE(selectors.size() == 3);
  CHECK(selectors[0].fieldpath == std::vector<std::string>{"labels", "a b", "c"});
  CHECK(selectors[0].op == Operator::kNotEqual);
  CHECK(selectors[0].value == "x");
  CHECK(selectors[1].fieldpath == std::vector<std::string>{"name"});
  CHECK(selectors[1].op == Operator::kPresent);
  CHECK(selectors[2].op == Operator::kMatches);
  CHECK(selectors[2].value == "y");
  CHECK(selectors[2].regexp != nullptr);
}

TEST_CASE("syntax errors are invalid arguments that mark where the input went wrong") {
  CHECK(ParseError("labels.|foo|==omg_asdf.asdf-qwer") ==
        "filters: parse error: [labels. >|||< foo|==omg_asdf.asdf-qwer]: invalid quote encountered");
  CHECK(ParseError(R"(labels.?"more complex label with \\ and \"".post==present)") ==
        R"(filters: parse error: [labels. >|?|< "more complex label with \\ and \"".post==present]: expected field or quoted)");
  CHECK(ParseError("name==foo,") == "filters: parse error: [name==foo,]: expected field or quoted");
  CHECK(ParseError("labels.") == "filters: parse error: [labels.]: expected field or quoted");
  CHECK(ParseError("image~=,id?=?fbaq") ==
        "filters: parse error: [image~= >|,|< id?=?fbaq]: expected value or quoted");
  CHECK(ParseError("labels.ns/key==value") ==
        "filters: parse error: [labels.ns >|/|< key==value]: quoted literal not terminated");
  CHECK(ParseError("labels.key==/value") ==
        "filters: parse error: [labels.key== >|/|< value]: quoted literal not terminated");
}

TEST_CASE("operator errors") {
  CHECK(ParseError("name-foo") == R"(filters: parse error: [name >|-|< foo]: expected an operator ("=="|"!="|"~="))");
  CHECK(ParseError("name===foo") == R"(filters: parse error: [name >|=|< ==foo]: unsupported operator "===")");
  CHECK(ParseError("name=foo") == R"(filters: parse error: [name >|=|< foo]: unsupported operator "=")");
  CHECK(ParseError("name!~foo") == R"(filters: parse error: [name >|!|< ~foo]: unsupported operator "!~")");
  CHECK(ParseError(R"(name"x"==y)") == R"(filters: parse error: [name >|"|< x"==y]: expected an operator ("=="|"!="|"~="))");
}

TEST_CASE("value errors") {
  CHECK(ParseError("name==") == "filters: parse error: [name==]: expected value or quoted");
  CHECK(ParseError("name==  ") == "filters: parse error: [name==  ]: expected value or quoted");
  CHECK(ParseError("name==.x") == "filters: parse error: [name== >|.|< x]: expected value or quoted");
  CHECK(ParseError("name==/x/") == "filters: parse error: [name== >|/|< x/]: invalid quote encountered");
  CHECK(ParseError("name!=|x|") == "filters: parse error: [name!= >|||< x|]: invalid quote encountered");
  CHECK(ParseError("name==\x01") == "filters: parse error: [name== >|\x01|< ]: expected value or quoted");
  CHECK(ParseError("name==a b") == "filters: parse error: [name==a  >|b|< ]: unexpected input: b");
  CHECK(ParseError("name==a,,b") == "filters: parse error: [name==a, >|,|< b]: expected field or quoted");
  CHECK(ParseError(",name") == "filters: parse error: [ >|,|< name]: expected field or quoted");
}

TEST_CASE("quoted literal errors") {
  CHECK(ParseError(R"(labels."a\qb")") == R"(filters: parse error: [labels. >|"|< a\qb"]: illegal escape sequence)");
  CHECK(ParseError(R"(labels."a\'b")") == R"(filters: parse error: [labels. >|"|< a\'b"]: illegal escape sequence)");
  CHECK(ParseError(R"(labels."a\xzz")") ==
        R"(filters: parse error: [labels. >|"|< a\xzz"]: illegal numeric escape sequence)");
  CHECK(ParseError(R"(labels."\u12")") == R"(filters: parse error: [labels. >|"|< \u12"]: illegal numeric escape sequence)");
  CHECK(ParseError(R"(labels."\777")") == R"(filters: parse error: [labels. >|"|< \777"]: unquoting failed: quote syntax error)");
  CHECK(ParseError(R"(labels."\U00110000")") ==
        R"(filters: parse error: [labels. >|"|< \U00110000"]: unquoting failed: quote syntax error)");
  CHECK(ParseError("labels.\"a\nb\"") == "filters: parse error: [labels. >|\"|< a\nb\"]: quoted literal not terminated");
  CHECK(ParseError(R"(labels."abc\)") == R"(filters: parse error: [labels. >|"|< abc\]: quoted literal not terminated)");
  // A regexp in /…/ may escape its own quote but not others.
  CHECK(ParseError(R"(name~=/a\"b/)") == R"(filters: parse error: [name~= >|/|< a\"b/]: illegal escape sequence)");
}

TEST_CASE("encoding errors and bad regexps") {
  CHECK(ParseError(std::string("name==a\0b", 9)) ==
        std::string("filters: parse error: [name==a >|") + '\0' + "|< b]: unexpected null");
  CHECK(ParseError("name==\xff") == "filters: parse error: [name== >|\xff|< ]: invalid UTF-8");
  CHECK(ParseError("name==\xc0\x80") == "filters: parse error: [name== >|\xc0|< \x80]: invalid UTF-8");
  CHECK(ParseError("name~=[abc") == "filters: parse error: [name~= >|[|< abc]: invalid regexp \"[abc\": missing ]: [abc");
  CHECK(ParseError("name~=a(?<x)") .find("invalid regexp") != std::string::npos);
}

TEST_CASE("the first bad string of several is reported") {
  auto parsed = Parse({"name==ok", "name==", "labels."});
  REQUIRE(!parsed.ok());
  CHECK(parsed.status().message() == "filters: parse error: [name==]: expected value or quoted");
}

TEST_CASE("MapField joins the rest of the path with dots") {
  std::map<std::string, std::string> labels = {{"a", "1"}, {"a.b", "2"}, {"", "empty"}};
  std::vector<std::string> path = {"labels", "a", "b"};
  CHECK(MapField(labels, std::span(path).subspan(1)) == "2");
  CHECK(MapField(labels, std::span(path).subspan(1, 1)) == "1");
  CHECK(MapField(labels, std::span(path).subspan(3)) == std::nullopt);
  CHECK(MapField({}, std::span(path).subspan(1)) == std::nullopt);
}
