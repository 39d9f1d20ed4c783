// The kms.hsm.cloudhsm_clusters section of the configuration file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <string>

#include "app/config.h"

namespace citadel::app {
namespace {

std::string writeTemp(const std::string& text) {
  char path[] = "/tmp/citadel-config-kms-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

/// The message loadConfigFile throws for `text` ("" when it loads).
std::string loadError(const std::string& text) {
  Config c;
  auto p = writeTemp(text);
  std::string message;
  try {
    loadConfigFile(p, c);
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  unlink(p.c_str());
  return message;
}

TEST(ConfigKms, MapsCloudHsmClustersToTokens) {
  Config c;
  auto p = writeTemp(R"({"kms":{"hsm":{"cloudhsm_clusters":{
    "cluster-abcdefghijk":{"module":"/usr/lib/softhsm/libsofthsm2.so","token_label":"one"},
    "cluster-234567ABCDEFGHij":{"module":"/opt/p11.so","token_label":"two"}}}}})");
  loadConfigFile(p, c);
  unlink(p.c_str());
  ASSERT_EQ(c.cloudhsm_clusters.size(), 2u);
  EXPECT_EQ(c.cloudhsm_clusters["cluster-abcdefghijk"].module, "/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(c.cloudhsm_clusters["cluster-abcdefghijk"].token_label, "one");
  EXPECT_EQ(c.cloudhsm_clusters["cluster-234567ABCDEFGHij"].module, "/opt/p11.so");
  EXPECT_EQ(c.cloudhsm_clusters["cluster-234567ABCDEFGHij"].token_label, "two");
}

TEST(ConfigKms, RejectsMalformedEntries) {
  // AWS's cluster id pattern: cluster-[2-7a-zA-Z]{11,16}.
  EXPECT_NE(loadError(R"({"kms":{"hsm":{"cloudhsm_clusters":{
    "cluster-abc":{"module":"m.so","token_label":"t"}}}}})")
                .find("not a CloudHSM cluster id"),
            std::string::npos);
  EXPECT_NE(loadError(R"({"kms":{"hsm":{"cloudhsm_clusters":{
    "cluster-abcdefghij1":{"module":"m.so","token_label":"t"}}}}})"),
            "");
  EXPECT_NE(loadError(R"({"kms":{"hsm":{"cloudhsm_clusters":{
    "cluster-abcdefghijk":{"module":"m.so"}}}}})")
                .find("token_label"),
            std::string::npos);
  EXPECT_NE(loadError(R"({"kms":{"hsm":{"cloudhsm_clusters":{
    "cluster-abcdefghijk":{"module":"m.so","token_label":"t","pin":"1234"}}}}})")
                .find("kms.hsm.cloudhsm_clusters.cluster-abcdefghijk.pin"),
            std::string::npos);
  EXPECT_NE(loadError(R"({"kms":{"xks":{}}})").find("kms.xks"), std::string::npos);
  EXPECT_NE(loadError(R"({"kms":{"hsm":{"clusters":{}}}})").find("kms.hsm.clusters"),
            std::string::npos);
  EXPECT_EQ(loadError(R"({"kms":{"hsm":{"cloudhsm_clusters":{}}}})"), "");
}

}  // namespace
}  // namespace citadel::app
