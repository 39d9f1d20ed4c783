// The CBOR codec against RFC 8949 Appendix A examples, limits and truncation.

#include "protocol/cbor.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>

#include "core/encoding.h"

namespace citadel::protocol::cbor {
namespace {

namespace json = boost::json;

std::string str(const json::value& v) {
  EXPECT_TRUE(v.is_string());
  return v.is_string() ? std::string(v.get_string()) : std::string();
}

json::value dec(const std::string& hex) {
  auto bytes = hexDecode(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  std::string err;
  auto v = decode(*bytes, &err);
  EXPECT_TRUE(v.has_value()) << hex << ": " << err;
  return v ? *v : json::value();
}

bool rejects(const std::string& hex, const DecodeLimits& limits = {}) {
  auto bytes = hexDecode(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  std::string err;
  auto v = decode(*bytes, &err, limits);
  if (!v) {
    EXPECT_FALSE(err.empty());
  }
  return !v.has_value();
}

// RFC 8949 Appendix A.
TEST(CborTest, Integers) {
  EXPECT_EQ(dec("00"), 0);
  EXPECT_EQ(dec("17"), 23);
  EXPECT_EQ(dec("1818"), 24);
  EXPECT_EQ(dec("1903e8"), 1000);
  EXPECT_EQ(dec("1a000f4240"), 1000000);
  EXPECT_EQ(dec("1b000000e8d4a51000"), 1000000000000);
  EXPECT_EQ(dec("1bffffffffffffffff").as_uint64(), 18446744073709551615ULL);
  EXPECT_EQ(dec("20"), -1);
  EXPECT_EQ(dec("3863"), -100);
  EXPECT_EQ(dec("3903e7"), -1000);
  EXPECT_DOUBLE_EQ(dec("3bffffffffffffffff").as_double(), -18446744073709551616.0);
}

TEST(CborTest, Floats) {
  EXPECT_EQ(dec("f90000").as_double(), 0.0);
  EXPECT_TRUE(std::signbit(dec("f98000").as_double()));
  EXPECT_EQ(dec("f93c00").as_double(), 1.0);
  EXPECT_EQ(dec("fb3ff199999999999a").as_double(), 1.1);
  EXPECT_EQ(dec("f93e00").as_double(), 1.5);
  EXPECT_EQ(dec("f97bff").as_double(), 65504.0);
  EXPECT_EQ(dec("fa47c35000").as_double(), 100000.0);
  EXPECT_DOUBLE_EQ(dec("f90001").as_double(), 5.960464477539063e-8);
  EXPECT_EQ(dec("f9c400").as_double(), -4.0);
  EXPECT_TRUE(std::isinf(dec("f97c00").as_double()));
  EXPECT_TRUE(std::isnan(dec("f97e00").as_double()));
  EXPECT_TRUE(std::isinf(dec("fa7f800000").as_double()));
  EXPECT_LT(dec("fbfff0000000000000").as_double(), 0);
}

TEST(CborTest, SimpleValuesStringsAndTags) {
  EXPECT_EQ(dec("f4"), false);
  EXPECT_EQ(dec("f5"), true);
  EXPECT_TRUE(dec("f6").is_null());
  EXPECT_TRUE(dec("f7").is_null());
  EXPECT_EQ(dec("40"), "");
  EXPECT_EQ(str(dec("4401020304")), std::string("\x01\x02\x03\x04"));
  EXPECT_EQ(dec("6449455446"), "IETF");
  EXPECT_EQ(dec("62c3bc"), "\xc3\xbc");
  // tag 1 epoch time: integer and float forms become seconds.
  EXPECT_EQ(dec("c11a514b67b0").as_double(), 1363896240.0);
  EXPECT_EQ(dec("c1fb41d452d9ec200000").as_double(), 1363896240.5);
  // other tags yield their content
  EXPECT_EQ(str(dec("d74401020304")), std::string("\x01\x02\x03\x04"));
}

TEST(CborTest, ContainersDefiniteAndIndefinite) {
  EXPECT_EQ(dec("83010203"), json::parse("[1,2,3]"));
  EXPECT_EQ(dec("8301820203820405"), json::parse("[1,[2,3],[4,5]]"));
  EXPECT_EQ(dec("a26161016162820203"), json::parse(R"({"a":1,"b":[2,3]})"));
  EXPECT_EQ(str(dec("5f42010243030405ff")), std::string("\x01\x02\x03\x04\x05"));
  EXPECT_EQ(dec("7f657374726561646d696e67ff"), "streaming");
  EXPECT_EQ(dec("9f018202039f0405ffff"), json::parse("[1,[2,3],[4,5]]"));
  EXPECT_EQ(dec("bf61610161629f0203ffff"), json::parse(R"({"a":1,"b":[2,3]})"));
  EXPECT_EQ(dec("bf6346756ef563416d7421ff"), json::parse(R"({"Fun":true,"Amt":-2})"));
  EXPECT_EQ(dec("80"), json::array());
  EXPECT_EQ(dec("a0"), json::object());
}

TEST(CborTest, RejectsTruncatedAndMalformedInput) {
  EXPECT_TRUE(rejects(""));
  EXPECT_TRUE(rejects("18"));                 // missing 1-byte argument
  EXPECT_TRUE(rejects("1a0000"));             // short 4-byte argument
  EXPECT_TRUE(rejects("4401"));               // byte string shorter than its length
  EXPECT_TRUE(rejects("830102"));             // array missing an item
  EXPECT_TRUE(rejects("a16161"));             // map key without value
  EXPECT_TRUE(rejects("9f0102"));             // indefinite array without break
  EXPECT_TRUE(rejects("5f4101"));             // indefinite bytes without break
  EXPECT_TRUE(rejects("5f6161ff"));           // text chunk inside byte string
  EXPECT_TRUE(rejects("ff"));                 // lone break
  EXPECT_TRUE(rejects("1c"));                 // reserved additional info
  EXPECT_TRUE(rejects("a10102"));             // non-string map key
  EXPECT_TRUE(rejects("0101"));               // trailing bytes
  EXPECT_TRUE(rejects("9b00000000ffffffff"));  // huge declared length
  EXPECT_TRUE(rejects("c1"));                 // tag without content
  EXPECT_TRUE(rejects("c16161"));             // tag 1 on a string
}

TEST(CborTest, DepthAndItemLimits) {
  std::string deep(200, '\x81');
  deep.push_back('\x00');
  std::string err;
  EXPECT_FALSE(decode(deep, &err).has_value());
  EXPECT_NE(err.find("deep"), std::string::npos);
  DecodeLimits small;
  small.max_items = 3;
  EXPECT_FALSE(decode(std::string("\x83\x01\x02\x03", 4), nullptr, small).has_value());
  EXPECT_TRUE(decode(std::string("\x82\x01\x02", 3), nullptr, small).has_value());
}

TEST(CborTest, WriterRoundTrips) {
  json::value v = json::parse(
      R"({"s":"text","i":-25,"u":18446744073709551615,"d":1.25,"b":true,"n":null,
          "a":[1,[2,3],{"k":"v"}],"big":4294967296})");
  auto back = decode(encode(v));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, v);

  Writer w;
  w.beginMap(3);
  w.text("blob");
  w.bytes(std::string("\x00\xff", 2));
  w.text("when");
  w.timestamp(1700000000.5);
  w.text("nan");
  w.float64(std::nan(""));
  EXPECT_EQ(hexEncode(w.out()),
            "a364626c6f624200ff647768656ec1fb41d954fc40200000636e616ef97e00");
  auto d = decode(w.out());
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(str(d->at("blob")), std::string("\x00\xff", 2));
  EXPECT_EQ(d->at("when").as_double(), 1700000000.5);
  EXPECT_TRUE(std::isnan(d->at("nan").as_double()));

  Writer heads;
  heads.integer(23);
  heads.integer(24);
  heads.integer(-24);
  heads.integer(-25);
  heads.uint(65536);
  EXPECT_EQ(hexEncode(heads.out()), "1718183738181a00010000");
}

}  // namespace
}  // namespace citadel::protocol::cbor
