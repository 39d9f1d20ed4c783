// Replays the data-driven policy decision corpus: every tests/conformance/iam/**/*.json (sub-
// folders included, e.g. key_policy/ for KMS key-policy semantics). The one runner of the corpus.
//
// A file holds {"cases": [...]}. A decision case gives the principal, action, resource,
// context and policies (as JSON objects), optionally "resource_account" and
// "resource_policy_required" (KMS key-policy semantics), and the expected decision ("Allow",
// "ExplicitDeny", "ImplicitDeny") with, optionally, the AccessDenied reason. A validation case
// gives "kind" + "policy" and the expected MalformedPolicyDocument "error" (or "OK").

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "iam/evaluator.h"

namespace citadel::iam {
namespace {
namespace json = boost::json;

struct Case {
  std::string file;
  json::object body;
};

std::vector<Case> loadCorpus() {
  std::vector<Case> out;
  std::filesystem::path dir = std::filesystem::path(CITADEL_SOURCE_DIR) / "tests/conformance/iam";
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    json::value v = json::parse(ss.str());
    for (const auto& c : v.at("cases").as_array()) {
      out.push_back({std::filesystem::relative(f, dir).generic_string(), c.as_object()});
    }
  }
  return out;
}

std::string str(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

PolicyKind kindOf(std::string_view s) {
  if (s == "resource") return PolicyKind::kResource;
  if (s == "trust") return PolicyKind::kTrust;
  if (s == "scp") return PolicyKind::kScp;
  if (s == "boundary") return PolicyKind::kBoundary;
  if (s == "session") return PolicyKind::kSession;
  return PolicyKind::kIdentity;
}

PrincipalType principalType(std::string_view s) {
  if (s == "root") return PrincipalType::kRoot;
  if (s == "assumed-role") return PrincipalType::kAssumedRole;
  if (s == "federated-user") return PrincipalType::kFederatedUser;
  if (s == "service") return PrincipalType::kService;
  if (s == "anonymous") return PrincipalType::kAnonymous;
  return PrincipalType::kUser;
}

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

void runValidation(const json::object& c, const std::string& name) {
  auto r = parsePolicy(json::serialize(c.at("policy")), kindOf(str(c, "kind")));
  std::string expected = str(c, "error");
  if (expected == "OK") {
    EXPECT_TRUE(r.ok()) << name << ": " << (r.ok() ? "" : r.error().message);
  } else {
    ASSERT_FALSE(r.ok()) << name << " should fail with " << expected;
    EXPECT_EQ(r.error().code, "MalformedPolicyDocument") << name;
    EXPECT_EQ(r.error().message, expected) << name;
  }
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
  if (const json::value* tags = p.if_contains("tags")) {
    for (const auto& kv : tags->as_object()) {
      req.principal.tags.emplace_back(std::string(kv.key()), std::string(kv.value().as_string()));
    }
  }
  std::string action = str(c, "action"), resource = str(c, "resource");
  req.action = action;
  req.resource = resource;
  req.resource_account = str(c, "resource_account");
  if (const json::value* v = c.if_contains("resource_policy_required")) {
    req.resource_policy_required = v->as_bool();
  }
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
    for (const auto& d : v->as_array()) {
      req.identity_policies.push_back(
          holder.add(d, PolicyKind::kIdentity, "identity" + std::to_string(i++)));
    }
  }
  if (const json::value* v = c.if_contains("resource_policy")) {
    std::string kind = str(c, "resource_policy_kind");
    req.resource_policy =
        holder.add(*v, kind.empty() ? PolicyKind::kResource : kindOf(kind), "resource");
  }
  if (const json::value* v = c.if_contains("boundary")) {
    req.permissions_boundary = holder.add(*v, PolicyKind::kBoundary, "boundary");
  }
  if (const json::value* v = c.if_contains("session")) {
    for (const auto& d : v->as_array()) {
      req.session_policies.push_back(holder.add(d, PolicyKind::kSession, "session"));
    }
  }
  if (const json::value* v = c.if_contains("scps")) {
    for (const auto& level : v->as_array()) {
      std::vector<const CompiledPolicy*> l;
      for (const auto& d : level.as_array()) l.push_back(holder.add(d, PolicyKind::kScp, "scp"));
      req.scp_levels.push_back(std::move(l));
    }
  }
  if (const json::value* v = c.if_contains("management_account")) {
    req.is_management_account = v->as_bool();
  }
  EvalResult r = evaluate(req);
  std::string got = r.decision == Decision::kAllow          ? "Allow"
                    : r.decision == Decision::kExplicitDeny ? "ExplicitDeny"
                                                            : "ImplicitDeny";
  EXPECT_EQ(got, str(c, "expect")) << name << " (reason: " << r.reason << ")";
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

TEST(IamConformance, Corpus) {
  auto cases = loadCorpus();
  ASSERT_GE(cases.size(), 60u);
  size_t key_policy_cases = 0;
  for (const auto& c : cases) {
    if (const json::value* r = c.body.if_contains("resource_policy_required")) {
      if (r->as_bool()) ++key_policy_cases;
    }
  }
  // The key_policy/ sub-folder is part of the corpus.
  EXPECT_GE(key_policy_cases, 30u);
  for (const auto& c : cases) {
    std::string name = c.file + ": " + str(c.body, "name");
    SCOPED_TRACE(name);
    if (c.body.contains("policy")) {
      runValidation(c.body, name);
    } else {
      runDecision(c.body, name);
    }
  }
}

}  // namespace
}  // namespace citadel::iam
