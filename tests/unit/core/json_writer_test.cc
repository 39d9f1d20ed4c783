#include "core/json_writer.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace citadel {
namespace {

TEST(JsonWriter, EscapesAndParsesBack) {
  std::string out;
  JsonObjectWriter w(out);
  w.string("a", "quote\" back\\ nl\n tab\t ctl\x01 \xc3\xa9");
  w.boolean("b", true);
  w.raw("c", "null");
  w.close();
  auto v = boost::json::parse(out);
  EXPECT_EQ(v.at("a").as_string(), "quote\" back\\ nl\n tab\t ctl\x01 \xc3\xa9");
  EXPECT_TRUE(v.at("b").as_bool());
  EXPECT_TRUE(v.at("c").is_null());
}

TEST(JsonWriter, InvalidUtf8StaysValidJson) {
  std::string out;
  appendJsonString(out, "ab\xff\xfe");
  EXPECT_EQ(out, "\"ab\\u00ff\\u00fe\"");
  EXPECT_NO_THROW(boost::json::parse(out));
}

TEST(JsonWriter, EveryByteRoundTripsThroughAParser) {
  // Each single byte, alone and between plain text, parses back to itself (bytes >= 0x80
  // alone are not UTF-8 and come back as the code point of the same number).
  for (int c = 0; c < 256; ++c) {
    std::string framed = "plain ";
    framed.push_back(static_cast<char>(c));
    framed.append(" text");
    for (const std::string& s : {std::string(1, static_cast<char>(c)), framed}) {
      std::string out;
      appendJsonString(out, s);
      auto v = boost::json::parse(out);
      std::string expect;
      for (char ch : s) {
        if (static_cast<unsigned char>(ch) < 0x80) {
          expect.push_back(ch);
        } else {  // U+0080..U+00FF in UTF-8
          expect.push_back(c < 0xc0 ? '\xc2' : '\xc3');
          expect.push_back(static_cast<char>(c < 0xc0 ? c : c - 0x40));
        }
      }
      EXPECT_EQ(std::string(v.as_string()), expect) << c;
    }
  }
  std::string out = "x";
  appendJsonString(out, "");
  EXPECT_EQ(out, "x\"\"");
}

}  // namespace
}  // namespace citadel
