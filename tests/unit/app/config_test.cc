#include "app/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace citadel::app {
namespace {

std::string writeTemp(const std::string& text) {
  char path[] = "/tmp/citadel-config-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

TEST(Config, ReadsEveryEntry) {
  Config c;
  auto p = writeTemp(R"({"listen":"0.0.0.0:0","data_dir":"/d","region":"eu-west-1",
    "account_id":"123456789012","threads":3,"tls":{"cert":"c.pem","key":"k.pem"},
    "limits":{"max_body_bytes":1024,"header_timeout_ms":500},
    "throttling":{"cloudtrail":true,"sts":{"GetCallerIdentity":5}}})");
  loadConfigFile(p, c);
  EXPECT_EQ(c.listen, "0.0.0.0:0");
  EXPECT_EQ(c.data_dir, "/d");
  EXPECT_EQ(c.region, "eu-west-1");
  EXPECT_EQ(c.account_id, "123456789012");
  EXPECT_EQ(c.threads, 3u);
  EXPECT_EQ(c.tls_cert, "c.pem");
  EXPECT_EQ(c.limits.max_body_bytes, 1024u);
  EXPECT_EQ(c.limits.header_timeout, std::chrono::milliseconds(500));
  EXPECT_TRUE(c.throttling.count("cloudtrail"));
  EXPECT_EQ(c.throttling["sts"]["GetCallerIdentity"], 5);
  unlink(p.c_str());
}

TEST(Config, UnknownEntriesAreNamed) {
  Config c;
  auto p = writeTemp(R"({"limits":{"max_bodybytes":1}})");
  try {
    loadConfigFile(p, c);
    FAIL() << "accepted an unknown entry";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("limits.max_bodybytes"), std::string::npos);
  }
  unlink(p.c_str());
}

TEST(Config, EncodeAuthorizationMessages) {
  Config c;
  EXPECT_TRUE(c.encode_authorization_messages.empty());  // off by default
  auto p = writeTemp(R"({"encode_authorization_messages":["kms","IAM"]})");
  loadConfigFile(p, c);
  EXPECT_EQ(c.encode_authorization_messages, (std::vector<std::string>{"kms", "iam"}));
  unlink(p.c_str());
  p = writeTemp(R"({"encode_authorization_messages":"all"})");
  loadConfigFile(p, c);
  EXPECT_EQ(c.encode_authorization_messages, (std::vector<std::string>{"all"}));
  unlink(p.c_str());
  EXPECT_EQ(parseServiceList(" kms, secretsmanager ,", "--x"),
            (std::vector<std::string>{"kms", "secretsmanager"}));
  EXPECT_THROW(parseServiceList("kms:CreateKey", "--x"), std::runtime_error);
  p = writeTemp(R"({"encode_authorization_messages":true})");
  EXPECT_THROW(loadConfigFile(p, c), std::runtime_error);
  unlink(p.c_str());
}

TEST(Config, SplitListen) {
  EXPECT_EQ(splitListen("127.0.0.1:4566"), std::make_pair(std::string("127.0.0.1"), uint16_t(4566)));
  EXPECT_EQ(splitListen("[::1]:0"), std::make_pair(std::string("::1"), uint16_t(0)));
  EXPECT_THROW(splitListen("localhost"), std::runtime_error);
  EXPECT_THROW(splitListen("h:99999"), std::runtime_error);
}

}  // namespace
}  // namespace citadel::app
