// Authorization with AuthInputs (condition keys, resource policy, key-policy mode, grants),
// the request's tag keys from the model, and audited service-to-service calls (invokeAs),
// with a tiny test service under the "kms" model (unit_runtime links no real service).

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>

#include "../temp_dir.h"
#include "audit/audit.h"
#include "crypto/barrier.h"
#include "iam/compiled.h"
#include "protocol/model.h"
#include "runtime/iam_authorizer.h"
#include "runtime/identity.h"
#include "runtime/invoke.h"
#include "runtime/services.h"

namespace citadel::runtime {
namespace {
namespace json = boost::json;

constexpr const char* kAccount = "111122223333";
constexpr const char* kAlice = "arn:aws:iam::111122223333:user/alice";
constexpr const char* kKeyArn =
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

std::shared_ptr<const iam::CompiledPolicy> compile(const std::string& doc, iam::PolicyKind kind) {
  auto r = iam::CompiledPolicy::compile(doc, kind, "test");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : nullptr;
}

std::string allowDoc(const std::string& action, const std::string& condition = "") {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":")" + action +
         R"(","Resource":"*")" + (condition.empty() ? "" : ",\"Condition\":" + condition) + "}]}";
}

std::string keyPolicy(const std::string& principal, const std::string& condition = "") {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":")" +
         principal + R"("},"Action":"kms:*","Resource":"*")" +
         (condition.empty() ? "" : ",\"Condition\":" + condition) + "}]}";
}

/// Identity policies by principal ARN.
class FakePolicies : public PolicyProvider {
 public:
  std::map<std::string, std::vector<std::shared_ptr<const iam::CompiledPolicy>>> by_arn;
  PrincipalPolicies policiesFor(const Principal& p) override {
    PrincipalPolicies out;
    if (auto it = by_arn.find(p.arn); it != by_arn.end()) out.identity = it->second;
    return out;
  }
  std::vector<std::shared_ptr<const iam::CompiledPolicy>> sessionPolicies(
      const std::string&, const std::string&, const std::string&,
      const std::vector<std::string>&) override {
    return {};
  }
};

// --- the test service: "kms" Decrypt (read-only) and CreateAlias (mutating) -----------------

/// What the test service's operations see and do, set by each test.
struct TestKms {
  std::shared_ptr<const iam::CompiledPolicy> key_policy;
  std::string last_via_service;    ///< ctx.via_service seen by auth_inputs
  bool fail_create_alias = false;  ///< CreateAlias writes, then fails
  int auth_inputs_calls = 0;
};
TestKms& testKms() {
  static TestKms t;
  return t;
}

ServiceSpec makeTestKms() {
  ServiceSpec s;
  s.model = "kms";
  s.event_source = "kms.amazonaws.com";
  s.iam_prefix = "kms";
  s.migrations.push_back({"test_kms", 1, "CREATE TABLE test_kms_aliases (name TEXT NOT NULL);"});
  AuthInputsFn key_inputs = [](const RequestContext& ctx, const json::value& in) {
    TestKms& t = testKms();
    ++t.auth_inputs_calls;
    t.last_via_service = ctx.via_service;
    const json::value* key = in.as_object().if_contains("KeyId");
    if (key && key->as_string() == "missing")
      return Result<AuthInputs>(
          AwsError{"NotFoundException", "Key 'missing' does not exist", 400, true, {}});
    AuthInputs a;
    a.resource_policy = t.key_policy;
    a.resource_policy_required = true;
    if (!ctx.via_service.empty()) a.condition_keys.push_back({"kms:ViaService", {ctx.via_service}});
    return Result<AuthInputs>(std::move(a));
  };
  OperationSpec decrypt;
  decrypt.read_only = true;
  decrypt.resources = [](const RequestContext&, const json::value&) {
    return std::vector<std::string>{kKeyArn};
  };
  decrypt.auth_inputs = key_inputs;
  decrypt.handler = [](RequestContext&, const json::value&) -> Result<json::value> {
    return json::value(json::object{{"KeyId", kKeyArn}});
  };
  s.operations["Decrypt"] = decrypt;

  OperationSpec alias;
  alias.resources = decrypt.resources;
  alias.auth_inputs = key_inputs;
  alias.handler = [](RequestContext& ctx, const json::value& in) -> Result<json::value> {
    ctx.tx().exec("INSERT INTO test_kms_aliases (name) VALUES (?)",
                  {std::string(in.at("AliasName").as_string())});
    if (testKms().fail_create_alias)
      return AwsError{"AlreadyExistsException", "An alias with the name exists", 400, true, {}};
    return json::value(nullptr);
  };
  s.operations["CreateAlias"] = alias;
  return s;
}
CITADEL_REGISTER_SERVICE(makeTestKms);

struct World {
  testing::TempDir dir;
  std::unique_ptr<store::Store> db = store::openSqlite(dir.file("db.sqlite"));
  crypto::Barrier barrier{std::string(32, 'k')};
  audit::EventStore events{*db};
  Identity identity{*db, barrier};
  Services services{*db, barrier, events, identity, RuntimeConfig{}};
  FakePolicies* policies = nullptr;

  World() {
    db->migrate(services.migrations());
    auto p = std::make_unique<FakePolicies>();
    policies = p.get();
    services.policies = std::move(p);
    testKms() = TestKms{};
  }

  RequestContext caller(bool read_only) {
    RequestContext ctx;
    ctx.request_id = "caller-request";
    ctx.time = Clock::now();
    ctx.services = &services;
    ctx.service = "secretsmanager";
    ctx.event_source = "secretsmanager.amazonaws.com";
    ctx.operation = read_only ? "GetSecretValue" : "CreateSecret";
    ctx.region = "us-east-1";
    ctx.account_id = kAccount;
    ctx.principal.type = Principal::Type::kIamUser;
    ctx.principal.arn = kAlice;
    ctx.principal.account_id = kAccount;
    ctx.principal.principal_id = "AIDAALICE";
    ctx.principal.user_name = "alice";
    ctx.principal.access_key_id = "AKIAALICE";
    ctx.source_ip = "198.51.100.7";
    ctx.user_agent = "boto3/1.40";
    ctx.read_only = read_only;
    return ctx;
  }

  /// The CloudTrail records of the test "kms" service, newest first.
  std::vector<json::object> kmsEvents() {
    events.flush();
    audit::LookupQuery q;
    q.account_id = kAccount;
    q.region = "us-east-1";
    q.attribute_key = "EventSource";
    q.attribute_value = "kms.amazonaws.com";
    auto page = events.lookup(q);
    EXPECT_TRUE(page.ok());
    std::vector<json::object> out;
    if (page.ok())
      for (const auto& e : page->events) out.push_back(json::parse(e.record_json).as_object());
    return out;
  }

  int64_t aliases() {
    auto tx = db->begin(false);
    return tx->query("SELECT COUNT(*) FROM test_kms_aliases")[0].integer(0);
  }
};

std::string at(const json::object& o, std::initializer_list<const char*> path) {
  const json::value* v = nullptr;
  const json::object* cur = &o;
  for (const char* k : path) {
    v = cur->if_contains(k);
    if (!v) return "<absent>";
    if (v->is_object()) cur = &v->as_object();
  }
  return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

// --- IamAuthorizer with AuthInputs ------------------------------------------------------------

TEST(AuthorizerInputs, ConditionKeysAreMultiValued) {
  World w;
  w.policies->by_arn[kAlice] = {
      compile(allowDoc("kms:Decrypt",
                       R"({"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":"tenant"}})"),
              iam::PolicyKind::kIdentity)};
  RequestContext ctx = w.caller(true);
  AuthInputs in;
  in.condition_keys.push_back({"kms:EncryptionContextKeys", {"app", "tenant"}});
  EXPECT_TRUE(w.services.authorizer->authorize(ctx, "kms:Decrypt", {kKeyArn}, &in).ok());
  in.condition_keys[0].second = {"app"};
  EXPECT_FALSE(w.services.authorizer->authorize(ctx, "kms:Decrypt", {kKeyArn}, &in).ok());
  EXPECT_FALSE(w.services.authorizer->authorize(ctx, "kms:Decrypt", {kKeyArn}, nullptr).ok());
}

TEST(AuthorizerInputs, KeyPolicyModeAndAwsMessage) {
  World w;
  w.policies->by_arn[kAlice] = {compile(allowDoc("*"), iam::PolicyKind::kIdentity)};
  RequestContext ctx = w.caller(true);
  AuthInputs in;
  in.resource_policy_required = true;
  in.resource_policy =
      compile(keyPolicy("arn:aws:iam::111122223333:user/bob"), iam::PolicyKind::kResource);
  auto denied = w.services.authorizer->authorize(ctx, "kms:Decrypt", {kKeyArn}, &in);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, "AccessDenied");
  EXPECT_EQ(denied.error().message, std::string("User: ") + kAlice +
                                        " is not authorized to perform: kms:Decrypt on "
                                        "resource: " +
                                        kKeyArn +
                                        " because no resource-based policy allows the kms:Decrypt "
                                        "action");
  in.resource_policy =
      compile(keyPolicy("arn:aws:iam::111122223333:root"), iam::PolicyKind::kResource);
  EXPECT_TRUE(w.services.authorizer->authorize(ctx, "kms:Decrypt", {kKeyArn}, &in).ok());
}

TEST(AuthorizerInputs, ResourceAccountMakesTheRequestCrossAccount) {
  World w;
  w.policies->by_arn[kAlice] = {compile(allowDoc("kms:Decrypt"), iam::PolicyKind::kIdentity)};
  RequestContext ctx = w.caller(true);
  AuthInputs in;
  in.resource_account = "444455556666";  // another account's key, no key policy for alice
  auto denied = w.services.authorizer->authorize(ctx, "kms:Decrypt", {"*"}, &in);
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.error().message.find("no resource-based policy"), std::string::npos);
  in.resource_account = kAccount;  // the caller's own account: identity policy suffices
  EXPECT_TRUE(w.services.authorizer->authorize(ctx, "kms:Decrypt", {"*"}, &in).ok());
}

TEST(AuthorizerInputs, AlternativeAllowOnlyOverAnImplicitDeny) {
  World w;
  RequestContext ctx = w.caller(true);
  int asked = 0;
  AuthInputs in;
  in.resource_policy_required = true;
  in.resource_policy =
      compile(keyPolicy("arn:aws:iam::111122223333:user/bob"), iam::PolicyKind::kResource);
  in.alternative_allow = [&] {
    ++asked;
    return true;  // a grant
  };
  EXPECT_TRUE(w.services.authorizer->authorize(ctx, "kms:Decrypt", {kKeyArn}, &in).ok());
  EXPECT_EQ(asked, 1);
  // An explicit deny is never overridden, and the grant is not even consulted.
  w.policies->by_arn[kAlice] = {compile(
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:*","Resource":"*"}]})",
      iam::PolicyKind::kIdentity)};
  auto denied = w.services.authorizer->authorize(ctx, "kms:Decrypt", {kKeyArn}, &in);
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.error().message.find("explicit deny"), std::string::npos);
  EXPECT_EQ(asked, 1);
  // Nor consulted when the policies allow.
  w.policies->by_arn.clear();
  in.resource_policy = compile(keyPolicy(kAlice), iam::PolicyKind::kResource);
  EXPECT_TRUE(w.services.authorizer->authorize(ctx, "kms:Decrypt", {kKeyArn}, &in).ok());
  EXPECT_EQ(asked, 1);
}

// --- request tag keys from the model ----------------------------------------------------------

const protocol::Operation& modelOp(const char* service, const char* op) {
  const protocol::ServiceModel* m = protocol::Models::get(service);
  EXPECT_NE(m, nullptr) << service;
  const protocol::Operation* o = m ? m->findOperation(op) : nullptr;
  EXPECT_NE(o, nullptr) << service << " " << op;
  static protocol::Operation none;
  return o ? *o : none;
}

std::map<std::string, std::vector<std::string>> keysOf(const std::optional<AuthInputs>& in) {
  std::map<std::string, std::vector<std::string>> out;
  if (in)
    for (const auto& [k, v] : in->condition_keys) out[k] = v;
  return out;
}

using Keys = std::map<std::string, std::vector<std::string>>;

TEST(RequestTagKeys, ListOfKeyValue) {
  std::optional<AuthInputs> in;
  addRequestTagKeys(modelOp("iam", "CreateUser"),
                    json::parse(R"({"UserName":"u","Tags":[{"Key":"team","Value":"blue"},
                                   {"Key":"cost","Value":"7"}]})"),
                    in);
  EXPECT_EQ(keysOf(in), (Keys{{"aws:RequestTag/team", {"blue"}},
                              {"aws:RequestTag/cost", {"7"}},
                              {"aws:TagKeys", {"team", "cost"}}}));
}

TEST(RequestTagKeys, TagKeyTagValueAndServiceKeysWin) {
  std::optional<AuthInputs> in;
  in.emplace();
  in->condition_keys.push_back({"aws:RequestTag/team", {"from-service"}});
  addRequestTagKeys(modelOp("kms", "CreateKey"),
                    json::parse(R"({"Tags":[{"TagKey":"team","TagValue":"blue"}]})"), in);
  ASSERT_EQ(in->condition_keys.size(), 3u);
  EXPECT_EQ(in->condition_keys.back().second, std::vector<std::string>{"from-service"});
  EXPECT_EQ(in->condition_keys.front().first, "aws:RequestTag/team");
  EXPECT_EQ(in->condition_keys.front().second, std::vector<std::string>{"blue"});
}

TEST(RequestTagKeys, MapsKeyListsAndTagSpecifications) {
  std::optional<AuthInputs> in;
  addRequestTagKeys(modelOp("logs", "CreateLogGroup"),
                    json::parse(R"({"logGroupName":"g","tags":{"env":"prod"}})"), in);
  EXPECT_EQ(keysOf(in), (Keys{{"aws:RequestTag/env", {"prod"}}, {"aws:TagKeys", {"env"}}}));
  in.reset();
  addRequestTagKeys(modelOp("iam", "UntagUser"),
                    json::parse(R"({"UserName":"u","TagKeys":["a","b"]})"), in);
  EXPECT_EQ(keysOf(in), (Keys{{"aws:TagKeys", {"a", "b"}}}));
  in.reset();
  addRequestTagKeys(modelOp("ec2", "RunInstances"),
                    json::parse(R"({"TagSpecifications":[{"ResourceType":"instance",
                                   "Tags":[{"Key":"Name","Value":"web"}]}]})"),
                    in);
  EXPECT_EQ(keysOf(in), (Keys{{"aws:RequestTag/Name", {"web"}}, {"aws:TagKeys", {"Name"}}}));
}

TEST(RequestTagKeys, NothingWithoutTags) {
  std::optional<AuthInputs> in;
  addRequestTagKeys(modelOp("iam", "CreateUser"), json::parse(R"({"UserName":"u"})"), in);
  EXPECT_FALSE(in.has_value());
  addRequestTagKeys(modelOp("sts", "GetCallerIdentity"), json::parse("{}"), in);
  EXPECT_FALSE(in.has_value());
}

// --- authorizeOperation (the pipeline's step 6) -----------------------------------------------

TEST(AuthorizeOperation, AuthInputsErrorIsAnsweredAndSkippedWhenNotAuthorized) {
  World w;
  const OperationSpec& spec = w.services.service("kms")->operations.at("Decrypt");
  RequestContext ctx = w.caller(true);
  auto r = authorizeOperation(ctx, spec, nullptr, json::parse(R"({"KeyId":"missing"})"),
                              "kms:Decrypt", {kKeyArn});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "NotFoundException");
  OperationSpec unauthorized = spec;
  unauthorized.authorize = false;
  int before = testKms().auth_inputs_calls;
  EXPECT_TRUE(authorizeOperation(ctx, unauthorized, nullptr, json::parse(R"({"KeyId":"missing"})"),
                                 "kms:Decrypt", {kKeyArn})
                  .ok());
  EXPECT_EQ(testKms().auth_inputs_calls, before);
}

TEST(AuthorizeOperation, RequestTagsReachThePolicy) {
  World w;
  w.policies->by_arn[kAlice] = {
      compile(allowDoc("iam:CreateUser", R"({"StringEquals":{"aws:RequestTag/team":"blue"}})"),
              iam::PolicyKind::kIdentity)};
  OperationSpec spec;
  RequestContext ctx = w.caller(false);
  const auto& op = modelOp("iam", "CreateUser");
  EXPECT_TRUE(authorizeOperation(ctx, spec, &op,
                                 json::parse(R"({"UserName":"u","Tags":[{"Key":"team",
                                             "Value":"blue"}]})"),
                                 "iam:CreateUser", {})
                  .ok());
  EXPECT_FALSE(
      authorizeOperation(ctx, spec, &op, json::parse(R"({"UserName":"u"})"), "iam:CreateUser", {})
          .ok());
}

// --- invokeAs ---------------------------------------------------------------------------------

TEST(InvokeAs, RunsAsTheCallerViaTheServiceAndRecordsIt) {
  World w;
  w.policies->by_arn[kAlice] = {compile(allowDoc("kms:Decrypt"), iam::PolicyKind::kIdentity)};
  // The default key policy, narrowed to calls made through Secrets Manager.
  testKms().key_policy = compile(
      keyPolicy("arn:aws:iam::111122223333:root",
                R"({"StringEquals":{"kms:ViaService":"secretsmanager.us-east-1.amazonaws.com"},
                    "Bool":{"aws:ViaAWSService":"true"},
                    "ForAnyValue:StringEquals":{"aws:CalledVia":"secretsmanager.amazonaws.com"}})"),
      iam::PolicyKind::kResource);
  RequestContext caller = w.caller(true);
  auto out = invokeAs(caller, "kms", "Decrypt", json::parse(R"({"KeyId":"k"})"),
                      "secretsmanager.amazonaws.com");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->at("KeyId").as_string(), kKeyArn);
  EXPECT_EQ(testKms().last_via_service, "secretsmanager.us-east-1.amazonaws.com");
  EXPECT_TRUE(caller.principal.invoked_by.empty());  // the caller's context is unchanged

  auto events = w.kmsEvents();
  ASSERT_EQ(events.size(), 1u);
  const json::object& e = events[0];
  EXPECT_EQ(at(e, {"eventName"}), "Decrypt");
  EXPECT_EQ(at(e, {"userIdentity", "type"}), "IAMUser");
  EXPECT_EQ(at(e, {"userIdentity", "arn"}), kAlice);
  EXPECT_EQ(at(e, {"userIdentity", "accessKeyId"}), "AKIAALICE");
  EXPECT_EQ(at(e, {"userIdentity", "invokedBy"}), "secretsmanager.amazonaws.com");
  EXPECT_EQ(at(e, {"sourceIPAddress"}), "secretsmanager.amazonaws.com");
  EXPECT_EQ(at(e, {"userAgent"}), "secretsmanager.amazonaws.com");
  EXPECT_EQ(at(e, {"readOnly"}), "true");
  EXPECT_NE(at(e, {"requestID"}), "caller-request");

  // Called directly (no service in between), the same key policy does not allow.
  RequestContext direct = w.caller(true);
  EXPECT_FALSE(authorizeOperation(direct, w.services.service("kms")->operations.at("Decrypt"),
                                  nullptr, json::parse(R"({"KeyId":"k"})"), "kms:Decrypt",
                                  {kKeyArn})
                   .ok());
}

TEST(InvokeAs, InnerDenialIsTheCallersErrorAndIsRecorded) {
  World w;
  w.policies->by_arn[kAlice] = {compile(allowDoc("kms:*"), iam::PolicyKind::kIdentity)};
  testKms().key_policy =
      compile(keyPolicy("arn:aws:iam::111122223333:user/bob"), iam::PolicyKind::kResource);
  RequestContext caller = w.caller(true);
  auto out = invokeAs(caller, "kms", "Decrypt", json::parse(R"({"KeyId":"k"})"),
                      "secretsmanager.amazonaws.com");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "AccessDeniedException");  // kms speaks JSON
  EXPECT_EQ(out.error().http_status, 403);
  EXPECT_EQ(out.error().message, std::string("User: ") + kAlice +
                                     " is not authorized to perform: kms:Decrypt on "
                                     "resource: " +
                                     kKeyArn +
                                     " because no resource-based policy allows the kms:Decrypt "
                                     "action");
  auto events = w.kmsEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(at(events[0], {"errorCode"}), "AccessDeniedException");
  EXPECT_EQ(at(events[0], {"userIdentity", "invokedBy"}), "secretsmanager.amazonaws.com");
}

TEST(InvokeAs, MutatingCallerSharesItsTransaction) {
  World w;
  testKms().key_policy = compile(keyPolicy(kAlice), iam::PolicyKind::kResource);
  {
    RequestContext caller = w.caller(false);
    auto out = invokeAs(caller, "kms", "CreateAlias",
                        json::parse(R"({"AliasName":"alias/a","TargetKeyId":"k"})"),
                        "secretsmanager.amazonaws.com");
    ASSERT_TRUE(out.ok()) << out.error().message;
    ASSERT_TRUE(caller.tx_);    // handed back to the caller
    EXPECT_EQ(w.aliases(), 0);  // not visible before the caller commits
    caller.tx_->commit();
  }
  EXPECT_EQ(w.aliases(), 1);
  auto events = w.kmsEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(at(events[0], {"eventName"}), "CreateAlias");
  EXPECT_EQ(at(events[0], {"readOnly"}), "false");

  {  // The caller fails afterwards: the inner change and its record go with it.
    RequestContext caller = w.caller(false);
    ASSERT_TRUE(invokeAs(caller, "kms", "CreateAlias",
                         json::parse(R"({"AliasName":"alias/b","TargetKeyId":"k"})"),
                         "secretsmanager.amazonaws.com")
                    .ok());
    caller.tx_->rollback();
  }
  EXPECT_EQ(w.aliases(), 1);
  EXPECT_EQ(w.kmsEvents().size(), 1u);
}

TEST(InvokeAs, InnerErrorUndoesOnlyTheInnerWrites) {
  World w;
  testKms().key_policy = compile(keyPolicy(kAlice), iam::PolicyKind::kResource);
  RequestContext caller = w.caller(false);
  caller.tx().exec("INSERT INTO test_kms_aliases (name) VALUES ('caller-row')");
  testKms().fail_create_alias = true;
  auto out = invokeAs(caller, "kms", "CreateAlias",
                      json::parse(R"({"AliasName":"alias/c","TargetKeyId":"k"})"),
                      "secretsmanager.amazonaws.com");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "AlreadyExistsException");
  caller.tx_->commit();
  auto tx = w.db->begin(false);
  auto rows = tx->query("SELECT name FROM test_kms_aliases");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].text(0), "caller-row");
  tx.reset();
  auto events = w.kmsEvents();  // the failed inner call is still recorded
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(at(events[0], {"errorCode"}), "AlreadyExistsException");
}

TEST(InvokeAs, ReadOnlyCallerGetsAnInnerTransactionOfItsOwn) {
  World w;
  testKms().key_policy = compile(keyPolicy(kAlice), iam::PolicyKind::kResource);
  RequestContext caller = w.caller(true);
  caller.tx();  // the caller reads in its own snapshot meanwhile
  ASSERT_TRUE(invokeAs(caller, "kms", "CreateAlias",
                       json::parse(R"({"AliasName":"alias/d","TargetKeyId":"k"})"),
                       "secretsmanager.amazonaws.com")
                  .ok());
  EXPECT_FALSE(caller.tx_->writable());
  EXPECT_EQ(w.aliases(), 1);  // committed by the inner call
  EXPECT_EQ(w.kmsEvents().size(), 1u);
}

TEST(InvokeAs, UnknownOperationIsAnInternalFailure) {
  World w;
  RequestContext caller = w.caller(true);
  auto out = invokeAs(caller, "kms", "NoSuchOperation", json::object{}, "ssm.amazonaws.com");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "InternalFailure");
  EXPECT_EQ(viaServiceEndpoint("ssm.amazonaws.com", "eu-west-1"), "ssm.eu-west-1.amazonaws.com");
}

}  // namespace
}  // namespace citadel::runtime
