#include "runtime/iam_authorizer.h"

#include <gtest/gtest.h>

#include "iam/context_keys.h"
#include "runtime/context.h"

namespace citadel::runtime {
namespace {

TEST(IamAuthorizerKeys, GlobalKeysComeFromTheRequest) {
  HttpRequest http;
  http.tls = true;
  RequestContext ctx;
  ctx.http = &http;
  ctx.time = fromEpochMillis(1795881730000);
  ctx.source_ip = "10.1.2.3";
  ctx.region = "eu-west-1";
  ctx.user_agent = "aws-cli/1.45";
  ctx.principal.principal_id = "AIDAEXAMPLE";
  ctx.principal.session_token = "token";
  ctx.principal.mfa_authenticated = true;
  ctx.principal.mfa_time = ctx.time - std::chrono::seconds(120);
  iam::ContextKeys keys;
  IamAuthorizer::fillGlobalKeys(ctx, keys);
  auto one = [&](const char* k) {
    const auto* v = keys.find(k);
    return v && v->size() == 1 ? (*v)[0] : std::string("<absent>");
  };
  EXPECT_EQ(one("aws:SourceIp"), "10.1.2.3");
  EXPECT_EQ(one("aws:CurrentTime"), "2026-11-28T16:02:10Z");
  EXPECT_EQ(one("aws:EpochTime"), "1795881730");
  EXPECT_EQ(one("aws:RequestedRegion"), "eu-west-1");
  EXPECT_EQ(one("aws:SecureTransport"), "true");
  EXPECT_EQ(one("aws:userid"), "AIDAEXAMPLE");
  EXPECT_EQ(one("aws:MultiFactorAuthPresent"), "true");
  EXPECT_EQ(one("aws:MultiFactorAuthAge"), "120");
  EXPECT_EQ(one("aws:ViaAWSService"), "false");
}

TEST(IamAuthorizerKeys, LongTermKeysHaveNoMfaKey) {
  RequestContext ctx;
  iam::ContextKeys keys;
  IamAuthorizer::fillGlobalKeys(ctx, keys);
  EXPECT_EQ(keys.find("aws:MultiFactorAuthPresent"), nullptr);
  EXPECT_EQ(keys.find("aws:SecureTransport")->at(0), "false");
}

TEST(IamAuthorizerKeys, VpcKeysOnlyFromTrustedHeaders) {
  HttpRequest http;
  http.headers = {{"x-vpc", "vpc-111"}, {"x-vpce", "vpce-222"}};
  RequestContext ctx;
  ctx.http = &http;
  iam::ContextKeys keys;
  IamAuthorizer::fillVpcKeys(ctx, "", "", keys);
  EXPECT_EQ(keys.find("aws:SourceVpc"), nullptr);  // not configured: a client cannot claim it
  IamAuthorizer::fillVpcKeys(ctx, "x-vpc", "x-vpce", keys);
  EXPECT_EQ(keys.find("aws:SourceVpc")->at(0), "vpc-111");
  EXPECT_EQ(keys.find("aws:SourceVpce")->at(0), "vpce-222");
}

}  // namespace
}  // namespace citadel::runtime
