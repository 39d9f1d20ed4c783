// The evaluator's KMS key-policy mode (EvalRequest::resource_policy_required): the corpus in
// tests/conformance/iam/key_policy/*.json, replayed with each case's "resource_policy_required"
// flag, and unit tests of the rules it encodes.
//
// The corpus uses the format of tests/conformance/iam/*.json (see conformance_test.cc) plus
// "resource_policy_required": true|false. It lives in a sub-folder so that replays which do
// not know the flag never see it.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "iam/evaluator.h"

namespace citadel::iam {
namespace {
namespace json = boost::json;

std::string str(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

PrincipalType principalType(std::string_view s) {
  if (s == "root") return PrincipalType::kRoot;
  if (s == "assumed-role") return PrincipalType::kAssumedRole;
  if (s == "federated-user") return PrincipalType::kFederatedUser;
  if (s == "service") return PrincipalType::kService;
  if (s == "anonymous") return PrincipalType::kAnonymous;
  return PrincipalType::kUser;
}

/// Compiled policies of one case, alive while its EvalRequest is evaluated.
class Holder {
 public:
  const CompiledPolicy* add(const json::value& doc, PolicyKind kind, const std::string& name) {
    auto r = CompiledPolicy::compile(json::serialize(doc), kind, name);
    if (!r.ok()) {
      ADD_FAILURE() << name << ": " << r.error().message;
      return nullptr;
    }
    held_.push_back(*r);
    return held_.back().get();
  }

 private:
  std::vector<std::shared_ptr<const CompiledPolicy>> held_;
};

std::string decisionName(Decision d) {
  return d == Decision::kAllow          ? "Allow"
         : d == Decision::kExplicitDeny ? "ExplicitDeny"
                                        : "ImplicitDeny";
}

void runDecision(const json::object& c, const std::string& name) {
  Holder holder;
  EvalRequest req;
  const json::object& p = c.at("principal").as_object();
  req.principal.type = principalType(str(p, "type"));
  req.principal.arn = str(p, "arn");
  req.principal.account = str(p, "account");
  req.principal.role_arn = str(p, "role_arn");
  req.principal.service = str(p, "service");
  std::string action = str(c, "action"), resource = str(c, "resource");
  req.action = action;
  req.resource = resource;
  req.resource_account = str(c, "resource_account");
  if (const json::value* v = c.if_contains("resource_policy_required"))
    req.resource_policy_required = v->as_bool();
  ContextKeys ctx;
  addPrincipalKeys(req.principal, ctx);
  if (const json::value* cv = c.if_contains("context")) {
    for (const auto& kv : cv->as_object()) {
      if (kv.value().is_array()) {
        std::vector<std::string> vals;
        for (const auto& x : kv.value().as_array()) vals.emplace_back(x.as_string());
        ctx.setMulti(kv.key(), std::move(vals));
      } else {
        ctx.set(kv.key(), std::string(kv.value().as_string()));
      }
    }
  }
  req.context = &ctx;
  if (const json::value* v = c.if_contains("identity")) {
    int i = 0;
    for (const auto& d : v->as_array())
      req.identity_policies.push_back(
          holder.add(d, PolicyKind::kIdentity, "identity" + std::to_string(i++)));
  }
  if (const json::value* v = c.if_contains("resource_policy"))
    req.resource_policy = holder.add(*v, PolicyKind::kResource, "key-policy");
  if (const json::value* v = c.if_contains("boundary"))
    req.permissions_boundary = holder.add(*v, PolicyKind::kBoundary, "boundary");
  if (const json::value* v = c.if_contains("session")) {
    for (const auto& d : v->as_array())
      req.session_policies.push_back(holder.add(d, PolicyKind::kSession, "session"));
  }
  if (const json::value* v = c.if_contains("scps")) {
    for (const auto& level : v->as_array()) {
      std::vector<const CompiledPolicy*> l;
      for (const auto& d : level.as_array()) l.push_back(holder.add(d, PolicyKind::kScp, "scp"));
      req.scp_levels.push_back(std::move(l));
    }
  }
  if (const json::value* v = c.if_contains("management_account"))
    req.is_management_account = v->as_bool();

  EvalResult r = evaluate(req);
  EXPECT_EQ(decisionName(r.decision), str(c, "expect")) << name << " (reason: " << r.reason << ")";
  if (c.contains("reason")) {
    EXPECT_EQ(r.reason, str(c, "reason")) << name;
  }
  if (c.contains("message")) {
    EXPECT_EQ(accessDeniedMessage(req, r), str(c, "message")) << name;
  }
  if (const json::value* sids = c.if_contains("sids")) {
    std::vector<std::string> want, have;
    for (const auto& s : sids->as_array()) want.emplace_back(s.as_string());
    for (const auto& m : r.statements) have.push_back(m.sid());
    EXPECT_EQ(have, want) << name;
  }
}

TEST(EvaluatorKeyPolicy, Corpus) {
  std::filesystem::path dir =
      std::filesystem::path(CITADEL_SOURCE_DIR) / "tests/conformance/iam/key_policy";
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  size_t n = 0, required = 0;
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    json::value v = json::parse(ss.str());
    for (const auto& c : v.at("cases").as_array()) {
      const json::object& o = c.as_object();
      std::string name = f.filename().string() + ": " + str(o, "name");
      SCOPED_TRACE(name);
      runDecision(o, name);
      ++n;
      if (const json::value* r = o.if_contains("resource_policy_required")) {
        if (r->as_bool()) ++required;
      }
    }
  }
  EXPECT_GE(required, 30u);
  EXPECT_GE(n, required);
}

// Direct tests of the same rules, readable without the corpus.

constexpr const char* kKey = "arn:aws:kms:us-east-1:111122223333:key/k1";

std::shared_ptr<const CompiledPolicy> compile(const std::string& doc, PolicyKind kind) {
  auto r = CompiledPolicy::compile(doc, kind, "p");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : nullptr;
}

std::string keyPolicyFor(const std::string& principal) {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":")" +
         principal + R"("},"Action":"kms:*","Resource":"*"}]})";
}

struct KmsRequest {
  EvalRequest req;
  ContextKeys ctx;
  explicit KmsRequest(PrincipalType type, std::string arn) {
    req.principal.type = type;
    req.principal.arn = std::move(arn);
    req.principal.account = "111122223333";
    req.action = "kms:Decrypt";
    req.resource = kKey;
    req.resource_policy_required = true;
    addPrincipalKeys(req.principal, ctx);
    req.context = &ctx;
  }
};

TEST(EvaluatorKeyPolicy, IdentityPolicyAloneIsNotEnough) {
  auto admin = compile(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*",
                          "Resource":"*"}]})",
                       PolicyKind::kIdentity);
  KmsRequest k(PrincipalType::kUser, "arn:aws:iam::111122223333:user/alice");
  k.req.identity_policies.push_back(admin.get());
  EvalResult r = evaluate(k.req);
  EXPECT_EQ(r.decision, Decision::kImplicitDeny);
  EXPECT_EQ(r.deciding_type, PolicyType::kResource);
  EXPECT_EQ(accessDeniedMessage(k.req, r),
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: "
            "kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/k1 because no "
            "resource-based policy allows the kms:Decrypt action");
  k.req.resource_policy_required = false;  // the ordinary rules: identity policy suffices
  EXPECT_EQ(evaluate(k.req).decision, Decision::kAllow);
}

TEST(EvaluatorKeyPolicy, AccountDelegationNeedsIdentityPolicies) {
  auto kp = compile(keyPolicyFor("arn:aws:iam::111122223333:root"), PolicyKind::kResource);
  auto decrypt = compile(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
                            "Action":"kms:Decrypt","Resource":"*"}]})",
                         PolicyKind::kIdentity);
  KmsRequest k(PrincipalType::kUser, "arn:aws:iam::111122223333:user/alice");
  k.req.resource_policy = kp.get();
  EXPECT_EQ(evaluate(k.req).reason,
            "because no identity-based policy allows the kms:Decrypt action");
  k.req.identity_policies.push_back(decrypt.get());
  EXPECT_EQ(evaluate(k.req).decision, Decision::kAllow);
}

TEST(EvaluatorKeyPolicy, RootUserNeedsTheKeyPolicyToNameItsAccount) {
  auto to_alice =
      compile(keyPolicyFor("arn:aws:iam::111122223333:user/alice"), PolicyKind::kResource);
  auto to_root = compile(keyPolicyFor("arn:aws:iam::111122223333:root"), PolicyKind::kResource);
  KmsRequest k(PrincipalType::kRoot, "arn:aws:iam::111122223333:root");
  EXPECT_EQ(evaluate(k.req).decision, Decision::kImplicitDeny);  // no key policy
  k.req.resource_policy = to_alice.get();
  EXPECT_EQ(evaluate(k.req).decision, Decision::kImplicitDeny);
  k.req.resource_policy = to_root.get();
  EXPECT_EQ(evaluate(k.req).decision, Decision::kAllow);
}

TEST(EvaluatorKeyPolicy, CrossAccountNeedsBothSides) {
  auto kp = compile(keyPolicyFor("arn:aws:iam::444455556666:root"), PolicyKind::kResource);
  auto decrypt = compile(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
                            "Action":"kms:Decrypt","Resource":"*"}]})",
                         PolicyKind::kIdentity);
  KmsRequest k(PrincipalType::kUser, "arn:aws:iam::444455556666:user/carol");
  k.req.principal.account = "444455556666";
  k.req.resource_account = "111122223333";
  k.req.identity_policies.push_back(decrypt.get());
  EXPECT_EQ(evaluate(k.req).deciding_type, PolicyType::kResource);  // no key policy
  k.req.resource_policy = kp.get();
  EXPECT_EQ(evaluate(k.req).decision, Decision::kAllow);
  k.req.identity_policies.clear();
  EvalResult r = evaluate(k.req);
  EXPECT_EQ(r.decision, Decision::kImplicitDeny);
  EXPECT_EQ(r.deciding_type, PolicyType::kIdentity);
}

}  // namespace
}  // namespace citadel::iam
