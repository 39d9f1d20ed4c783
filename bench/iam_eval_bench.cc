// Micro-benchmark of the IAM policy engine (Google Benchmark).
//
//   BM_EvaluateTypicalRequest   one evaluate() of a typical request against 10 attached
//                               identity policies (30 statements, conditions included);
//                               policies compiled once, context built once, outside the loop.
//   BM_AuthorizationStep        the same plus what runtime::IamAuthorizer::authorize does per
//                               request: the ContextKeys (global keys, principal keys) and the
//                               EvalRequest are built inside the loop.
//   BM_CompilePolicy            parse + validate + compile one 3-statement policy (reference:
//                               happens once per policy version thanks to PolicyCache).
//
// Run: build/iam_eval_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/time.h"
#include "iam/compiled.h"
#include "iam/context_keys.h"
#include "iam/evaluator.h"

namespace {
using namespace citadel;
using namespace citadel::iam;

// Ten policies of three statements each. Every statement carries a condition; the request
// below is allowed by statements of policy 0, and every Deny is looked at (AWS evaluates all
// statements for an explicit deny before any allow), so every statement is tested.
const char* const kPolicies[10] = {
    // 0: the statement that allows the request (tag + IP + time), plus two neighbours.
    R"({"Version":"2012-10-17","Statement":[
      {"Sid":"ReadTeamData","Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion"],
       "Resource":"arn:aws:s3:::analytics-data/${aws:PrincipalTag/team}/*",
       "Condition":{"StringEquals":{"aws:PrincipalTag/department":"Data"},
                    "IpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]},
                    "DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}},
      {"Sid":"ListTeamPrefix","Effect":"Allow","Action":"s3:ListBucket",
       "Resource":"arn:aws:s3:::analytics-data",
       "Condition":{"StringLike":{"s3:prefix":["${aws:PrincipalTag/team}/*"]}}},
      {"Sid":"WriteOwnPrefix","Effect":"Allow","Action":"s3:PutObject",
       "Resource":"arn:aws:s3:::analytics-data/home/${aws:username}/*",
       "Condition":{"StringEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}}]})",
    // 1: region guard and MFA guard (denies that do not apply to this request).
    R"({"Version":"2012-10-17","Statement":[
      {"Sid":"DenyOtherRegions","Effect":"Deny","NotAction":["iam:*","sts:*","organizations:*"],
       "Resource":"*",
       "Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","us-west-2"]}}},
      {"Sid":"DenyStopWithoutMfa","Effect":"Deny",
       "Action":["ec2:StopInstances","ec2:TerminateInstances"],"Resource":"*",
       "Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}},
      {"Sid":"DenyOutsideNetwork","Effect":"Deny","Action":"*","Resource":"*",
       "Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]},
                    "Bool":{"aws:ViaAWSService":"false"}}}]})",
    // 2: EC2 by tags.
    R"({"Version":"2012-10-17","Statement":[
      {"Sid":"StartStopProject","Effect":"Allow",
       "Action":["ec2:StartInstances","ec2:StopInstances"],
       "Resource":"arn:aws:ec2:*:111122223333:instance/*",
       "Condition":{"StringEquals":{"ec2:ResourceTag/Project":"DataAnalytics",
                                    "aws:PrincipalTag/department":"Data"}}},
      {"Sid":"DescribeAll","Effect":"Allow","Action":"ec2:Describe*","Resource":"*",
       "Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}},
      {"Sid":"TagOnCreate","Effect":"Allow","Action":"ec2:CreateTags",
       "Resource":"arn:aws:ec2:*:*:instance/*",
       "Condition":{"StringEquals":{"ec2:CreateAction":"RunInstances"}}}]})",
    // 3: KMS use through S3 only.
    R"({"Version":"2012-10-17","Statement":[
      {"Sid":"UseKeyViaS3","Effect":"Allow","Action":["kms:Decrypt","kms:GenerateDataKey*"],
       "Resource":"arn:aws:kms:us-east-1:111122223333:key/*",
       "Condition":{"StringLike":{"kms:ViaService":"s3.*.amazonaws.com"}}},
      {"Sid":"DescribeKeys","Effect":"Allow","Action":"kms:DescribeKey",
       "Resource":"arn:aws:kms:*:111122223333:key/*",
       "Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/*"}}},
      {"Sid":"NoKeyDeletion","Effect":"Deny",
       "Action":["kms:ScheduleKeyDeletion","kms:DisableKey"],"Resource":"*",
       "Condition":{"StringNotEquals":{"aws:PrincipalTag/role":"security-admin"}}}]})",
    // 4: own credentials.
    R"({"Version":"2012-10-17","Statement":[
      {"Sid":"OwnAccessKeys","Effect":"Allow",
       "Action":["iam:CreateAccessKey","iam:DeleteAccessKey","iam:ListAccessKeys"],
       "Resource":"arn:aws:iam::*:user/${aws:username}",
       "Condition":{"Bool":{"aws:SecureTransport":"true"}}},
      {"Sid":"OwnMfa","Effect":"Allow",
       "Action":["iam:CreateVirtualMFADevice","iam:EnableMFADevice"],
       "Resource":"arn:aws:iam::*:mfa/${aws:username}",
       "Condition":{"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}},
      {"Sid":"GetSelf","Effect":"Allow","Action":"iam:GetUser",
       "Resource":"arn:aws:iam::*:user/${aws:username}",
       "Condition":{"Null":{"aws:PrincipalTag/team":"false"}}}]})",
    // 5: DynamoDB leading keys.
    R"({"Version":"2012-10-17","Statement":[
      {"Sid":"OwnItems","Effect":"Allow",
       "Action":["dynamodb:GetItem","dynamodb:PutItem","dynamodb:Query"],
       "Resource":"arn:aws:dynamodb:us-east-1:111122223333:table/Sessions",
       "Condition":{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["${aws:userid}"]}}},
      {"Sid":"DescribeTables","Effect":"Allow","Action":"dynamodb:Describe*",
       "Resource":"arn:aws:dynamodb:*:111122223333:table/*",
       "Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/*"}}},
      {"Sid":"NoDeleteTable","Effect":"Deny","Action":"dynamodb:DeleteTable","Resource":"*",
       "Condition":{"StringNotEqualsIfExists":{"aws:ResourceTag/env":"dev"}}}]})",
    // 6: secrets by tag.
    R"({"Version":"2012-10-17","Statement":[
      {"Sid":"TeamSecrets","Effect":"Allow","Action":"secretsmanager:GetSecretValue",
       "Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:*",
       "Condition":{"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}}},
      {"Sid":"ListSecrets","Effect":"Allow","Action":"secretsmanager:ListSecrets","Resource":"*",
       "Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}},
      {"Sid":"NoSecretDelete","Effect":"Deny","Action":"secretsmanager:DeleteSecret",
       "Resource":"*",
       "Condition":{"StringNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Admin*"}}}]})",
    // 7: logs and CloudWatch.
    R"({"Version":"2012-10-17","Statement":[
      {"Sid":"Logs","Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],
       "Resource":"arn:aws:logs:*:111122223333:log-group:/app/*",
       "Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1","us-west-2"]}}},
      {"Sid":"Metrics","Effect":"Allow","Action":"cloudwatch:PutMetricData","Resource":"*",
       "Condition":{"StringLike":{"cloudwatch:namespace":"App/*"}}},
      {"Sid":"ReadDashboards","Effect":"Allow","Action":"cloudwatch:Get*","Resource":"*",
       "Condition":{"DateLessThan":{"aws:CurrentTime":"2031-01-01T00:00:00Z"}}}]})",
    // 8: S3 hygiene denies (do not apply to this request).
    R"({"Version":"2012-10-17","Statement":[
      {"Sid":"DenyUnencryptedPut","Effect":"Deny","Action":"s3:PutObject",
       "Resource":"arn:aws:s3:::*/*",
       "Condition":{"Null":{"s3:x-amz-server-side-encryption":"true"}}},
      {"Sid":"DenyInsecureTransport","Effect":"Deny","Action":"s3:*",
       "Resource":"arn:aws:s3:::*",
       "Condition":{"Bool":{"aws:SecureTransport":"false"}}},
      {"Sid":"DenyAclChanges","Effect":"Deny","Action":["s3:PutBucketAcl","s3:PutObjectAcl"],
       "Resource":"*",
       "Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/Storage*"}}}]})",
    // 9: SQS / SNS by source ARN.
    R"({"Version":"2012-10-17","Statement":[
      {"Sid":"SendFromApp","Effect":"Allow","Action":"sqs:SendMessage",
       "Resource":"arn:aws:sqs:us-east-1:111122223333:app-*",
       "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:sns:us-east-1:111122223333:app-*"}}},
      {"Sid":"Publish","Effect":"Allow","Action":"sns:Publish",
       "Resource":"arn:aws:sns:us-east-1:111122223333:app-*",
       "Condition":{"StringEquals":{"aws:PrincipalTag/team":["analytics","platform"]}}},
      {"Sid":"Consume","Effect":"Allow",
       "Action":["sqs:ReceiveMessage","sqs:DeleteMessage","sqs:ChangeMessageVisibility"],
       "Resource":"arn:aws:sqs:*:111122223333:*",
       "Condition":{"NumericLessThanEquals":{"sqs:MaxNumberOfMessages":"10"}}}]})",
};

constexpr const char* kUserArn = "arn:aws:iam::111122223333:user/alice";
constexpr const char* kAction = "s3:GetObject";
constexpr const char* kResource = "arn:aws:s3:::analytics-data/analytics/2026/q3/report.csv";

std::vector<std::shared_ptr<const CompiledPolicy>> compileAll() {
  std::vector<std::shared_ptr<const CompiledPolicy>> out;
  int i = 0;
  for (const char* doc : kPolicies) {
    auto r = CompiledPolicy::compile(doc, PolicyKind::kIdentity, "policy" + std::to_string(i++));
    if (!r.ok()) {
      std::fprintf(stderr, "policy %d does not compile: %s\n", i - 1, r.error().message.c_str());
      std::abort();
    }
    out.push_back(*r);
  }
  size_t statements = 0;
  for (const auto& p : out) statements += p->statements().size();
  if (out.size() != 10 || statements != 30) std::abort();
  return out;
}

PrincipalInfo principal() {
  PrincipalInfo p;
  p.type = PrincipalType::kUser;
  p.arn = kUserArn;
  p.account = "111122223333";
  p.tags = {{"department", "Data"}, {"team", "analytics"}, {"cost-center", "4711"}};
  return p;
}

// What runtime::IamAuthorizer::fillGlobalKeys sets for a long-term-key user over HTTPS.
void fillGlobalKeys(SysTime now, ContextKeys& keys) {
  keys.set("aws:SourceIp", "192.0.2.44");
  keys.set("aws:CurrentTime", formatIso8601(now));
  keys.set("aws:EpochTime", std::to_string(toEpochMillis(now) / 1000));
  keys.set("aws:RequestedRegion", "us-east-1");
  keys.set("aws:SecureTransport", "true");
  keys.set("aws:ViaAWSService", "false");
  keys.set("aws:userid", "AIDAEXAMPLEUSERID0001");
  keys.set("aws:UserAgent", "aws-cli/2.15.0 Python/3.11.7 Linux/6.1 exe/x86_64.debian.12");
}

void checkAllowed(const EvalResult& r) {
  if (r.decision != Decision::kAllow) {
    std::fprintf(stderr, "benchmark request is not allowed: %s\n", r.reason.c_str());
    std::abort();
  }
}

void BM_EvaluateTypicalRequest(benchmark::State& state) {
  auto policies = compileAll();
  ContextKeys keys;
  fillGlobalKeys(std::chrono::system_clock::now(), keys);
  EvalRequest req;
  req.principal = principal();
  addPrincipalKeys(req.principal, keys);
  req.action = kAction;
  req.resource = kResource;
  req.context = &keys;
  for (const auto& p : policies) req.identity_policies.push_back(p.get());
  checkAllowed(evaluate(req));
  for (auto _ : state) {
    EvalResult r = evaluate(req);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_EvaluateTypicalRequest);

void BM_AuthorizationStep(benchmark::State& state) {
  auto policies = compileAll();
  const std::string action = kAction;
  const std::vector<std::string> resources{kResource};
  // As the authorizer: principal fields and tags come from the (cached) principal record.
  const PrincipalInfo who = principal();
  {
    ContextKeys keys;
    fillGlobalKeys(std::chrono::system_clock::now(), keys);
    EvalRequest req;
    req.principal = who;
    addPrincipalKeys(req.principal, keys);
    req.action = action;
    req.resource = resources[0];
    req.context = &keys;
    for (const auto& p : policies) req.identity_policies.push_back(p.get());
    checkAllowed(evaluate(req));
  }
  for (auto _ : state) {
    EvalRequest req;
    req.principal.type = who.type;
    req.principal.arn = who.arn;
    req.principal.account = who.account;
    req.action = action;
    req.resource_account = std::string();
    req.principal.tags = who.tags;
    req.principal.role_arn = who.role_arn;
    for (const auto& p : policies) req.identity_policies.push_back(p.get());
    ContextKeys keys;
    fillGlobalKeys(std::chrono::system_clock::now(), keys);
    addPrincipalKeys(req.principal, keys);
    req.context = &keys;
    bool allowed = true;
    for (const auto& resource : resources) {
      req.resource = resource;
      EvalResult r = evaluate(req);
      if (r.decision != Decision::kAllow) {
        std::string message = accessDeniedMessage(req, r);
        benchmark::DoNotOptimize(message);
        allowed = false;
        break;
      }
    }
    benchmark::DoNotOptimize(allowed);
  }
}
BENCHMARK(BM_AuthorizationStep);

void BM_CompilePolicy(benchmark::State& state) {
  for (auto _ : state) {
    auto r = CompiledPolicy::compile(kPolicies[0], PolicyKind::kIdentity, "policy0");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_CompilePolicy);

}  // namespace

BENCHMARK_MAIN();
