#include "runtime/router.h"

#include <gtest/gtest.h>

namespace citadel::runtime {
namespace {

HttpRequest make(std::string target, std::vector<std::pair<std::string, std::string>> headers) {
  HttpRequest r;
  r.method = "POST";
  r.target = std::move(target);
  r.headers = std::move(headers);
  splitTarget(r);
  return r;
}

TEST(Router, XAmzTargetPicksTheJsonService) {
  auto r = routeRequest(make("/", {{"x-amz-target", "TrentService.Encrypt"}}), "");
  ASSERT_TRUE(r);
  EXPECT_STREQ(r->meta->name, "kms");
  r = routeRequest(make("/", {{"x-amz-target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"}}), "");
  ASSERT_TRUE(r);
  EXPECT_STREQ(r->meta->name, "cloudtrail");
}

TEST(Router, SmithyRpcV2PathPicksCloudWatch) {
  auto r = routeRequest(make("/service/GraniteServiceVersion20100801/operation/PutMetricData", {}), "");
  ASSERT_TRUE(r);
  EXPECT_STREQ(r->meta->name, "cloudwatch");
}

TEST(Router, CredentialScopeNamesTheService) {
  auto r = routeRequest(make("/", {{"host", "127.0.0.1:4566"}}), "sts");
  ASSERT_TRUE(r);
  EXPECT_STREQ(r->meta->name, "sts");
  r = routeRequest(make("/", {{"host", "127.0.0.1:4566"}}), "monitoring");
  ASSERT_TRUE(r);
  EXPECT_STREQ(r->meta->name, "cloudwatch");
  r = routeRequest(make("/v20180820/accesspoint/ap", {{"host", "127.0.0.1"}}), "s3");
  ASSERT_TRUE(r);
  EXPECT_STREQ(r->meta->name, "s3control");
}

TEST(Router, HostHeaderWithoutSignature) {
  auto r = routeRequest(make("/", {{"host", "kms.eu-west-1.amazonaws.com"}}), "");
  ASSERT_TRUE(r);
  EXPECT_STREQ(r->meta->name, "kms");
  EXPECT_FALSE(routeRequest(make("/", {{"host", "127.0.0.1:4566"}}), "").has_value());
}

TEST(Router, S3VirtualHostBecomesPathStyleAfterAuth) {
  auto req = make("/photos/cat.jpg?versionId=3", {{"host", "my-bucket.s3.localhost:4566"}});
  auto r = routeRequest(req, "s3");
  ASSERT_TRUE(r);
  EXPECT_STREQ(r->meta->name, "s3");
  EXPECT_EQ(r->virtual_host_bucket, "my-bucket");
  EXPECT_EQ(req.path, "/photos/cat.jpg");  // untouched until the signature is checked
  applyVirtualHost(*r, req);
  EXPECT_EQ(req.path, "/my-bucket/photos/cat.jpg");
  EXPECT_EQ(req.target, "/my-bucket/photos/cat.jpg?versionId=3");
}

}  // namespace
}  // namespace citadel::runtime
