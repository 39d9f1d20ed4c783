#include "app/yaml_subset.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace citadel::app {
namespace {
namespace json = boost::json;

json::value parseOk(const std::string& text) {
  auto r = parseYamlSubset(text);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : json::value();
}

std::string parseError(const std::string& text) {
  auto r = parseYamlSubset(text);
  EXPECT_FALSE(r.ok()) << "parsed: " << (r.ok() ? json::serialize(*r) : "");
  return r.ok() ? "" : r.error().message;
}

TEST(YamlSubset, MappingsSequencesAndScalars) {
  auto v = parseOk(
      "---\n"
      "# comment\n"
      "accounts:\n"
      "  - id: \"000000000001\"   # quoted stays a string\n"
      "    plain: 000000000002\n"
      "iam:\n"
      "  users:\n"
      "  - name: alice\n"
      "    count: 42\n"
      "    on: true\n"
      "    off: false\n"
      "    none: ~\n"
      "    tags: [a, 'b c', \"d\\\"e\", 7]\n"
      "    empty: {}\n"
      "    'quoted key': it's # not a comment start\n"
      "  - bare\n");
  json::value want = json::parse(R"({
    "accounts": [{"id": "000000000001", "plain": "000000000002"}],
    "iam": {"users": [
      {"name": "alice", "count": 42, "on": true, "off": false, "none": null,
       "tags": ["a", "b c", "d\"e", 7], "empty": {}, "quoted key": "it's"},
      "bare"]}})");
  EXPECT_EQ(v, want) << json::serialize(v);
}

TEST(YamlSubset, LiteralBlocks) {
  auto v = parseOk(
      "doc: |\n"
      "  {\"a\": 1,\n"
      "   \"b\": 2}\n"
      "\n"
      "strip: |-\n"
      "  x\n"
      "next: 1\n");
  EXPECT_EQ(v.at("doc"), json::value("{\"a\": 1,\n \"b\": 2}\n"));
  EXPECT_EQ(v.at("strip"), json::value("x"));
  EXPECT_EQ(v.at("next"), json::value(1));
}

TEST(YamlSubset, NestedSequenceOfMappings) {
  auto v = parseOk(
      "users:\n"
      "  - name: a\n"
      "    keys:\n"
      "      - id: K1\n"
      "        secret: s1\n"
      "      - id: K2\n"
      "        secret: s2\n"
      "  - name: b\n");
  EXPECT_EQ(json::serialize(v),
            R"({"users":[{"name":"a","keys":[{"id":"K1","secret":"s1"},{"id":"K2","secret":"s2"}]},{"name":"b"}]})");
}

TEST(YamlSubset, ErrorsNameTheLine) {
  EXPECT_NE(parseError("a: 1\na: 2\n").find("line 2: duplicate key \"a\""), std::string::npos);
  EXPECT_NE(parseError("a: &x 1\n").find("line 1"), std::string::npos);
  EXPECT_NE(parseError("a: *x\n").find("line 1"), std::string::npos);
  EXPECT_NE(parseError("a: !!str 1\n").find("line 1"), std::string::npos);
  EXPECT_NE(parseError("a: {b: 1}\n").find("line 1"), std::string::npos);
  EXPECT_NE(parseError("a: 1\n---\nb: 2\n").find("several documents"), std::string::npos);
  EXPECT_NE(parseError("a:\n  b: 1\n    c: 2\n").find("line 3"), std::string::npos);
  EXPECT_NE(parseError("a: \"open\n").find("unterminated"), std::string::npos);
  EXPECT_NE(parseError("a:\n\tb: 1\n").find("tabs"), std::string::npos);
  EXPECT_NE(parseError("a: [x, [y]]\n").find("nested flow"), std::string::npos);
}

}  // namespace
}  // namespace citadel::app
