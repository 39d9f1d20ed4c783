// STS: GetCallerIdentity, GetSessionToken, AssumeRole (trust policy evaluation, session
// policies, session tags, source identity, role chaining) and DecodeAuthorizationMessage.
#include <boost/json.hpp>

#include "crypto/crypto.h"
#include "iam/evaluator.h"
#include "iam/policy.h"
#include "runtime/authorization_message.h"
#include "runtime/iam_authorizer.h"
#include "runtime/identity.h"
#include "runtime/registry.h"
#include "runtime/services.h"
#include "services/iam/internal.h"
#include "services/iam/provider.h"

namespace citadel::sts {
namespace json = boost::json;
using runtime::OperationSpec;
using runtime::RequestContext;

namespace {

Result<json::value> getCallerIdentity(RequestContext& ctx, const json::value&) {
  const auto& p = ctx.principal;
  json::object out;
  out["UserId"] = p.principal_id;
  out["Account"] = p.account_id;
  out["Arn"] = p.arn;
  return json::value(std::move(out));
}

// AWS: GetAccessKeyInfo names the account that owns an access key (long-term or temporary);
// it needs sts:GetAccessKeyInfo. AWS derives the account from the key id itself; citadel's
// key ids carry no account, so it looks the key up and refuses one it does not know.
Result<json::value> getAccessKeyInfo(RequestContext& ctx, const json::value& in) {
  std::string akid(in.as_object().at("AccessKeyId").as_string());
  auto cred = ctx.services->identity.lookup(akid);
  if (!cred)
    return AwsError{"InvalidParameterValue",
                    "The access key " + akid + " is not known to this citadel.", 400, true, {}};
  return json::value(json::object{{"Account", cred->principal.account_id}});
}

// AWS: DecodeAuthorizationMessage needs sts:DecodeAuthorizationMessage and decodes the
// encoded authorization failure message of a denial in the caller's own account.
// https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html
Result<json::value> decodeAuthorizationMessage(RequestContext& ctx, const json::value& in) {
  const json::string& token = in.as_object().at("EncodedMessage").as_string();
  TRY_ASSIGN(std::string doc,
             runtime::openAuthorizationMessage(ctx.services->barrier, ctx.principal.account_id,
                                               std::string_view(token.data(), token.size())));
  // Read-only: the decoded (privileged) details stay out of the CloudTrail record.
  return json::value(json::object{{"DecodedMessage", std::move(doc)}});
}

std::string member(const json::object& o, const char* name);

/// SerialNumber and TokenCode come together (AWS's ValidationError otherwise).
Result<void> checkMfaMembers(const json::object& o) {
  if (o.contains("SerialNumber") != o.contains("TokenCode"))
    return AwsError{"ValidationError",
                    o.contains("SerialNumber") ? "TokenCode is required when SerialNumber is set."
                                               : "SerialNumber is required when TokenCode is set.",
                    400,
                    true,
                    {}};
  return okResult();
}

// AWS: GetSessionToken lasts 900–129,600 s (default 43,200) for IAM users and at most
// 3,600 s for an account's root user; session credentials cannot call it again.
Result<json::value> getSessionToken(RequestContext& ctx, const json::value& in) {
  const auto& p = ctx.principal;
  if (!p.session_token.empty())
    return AwsError{
        "AccessDenied", "Cannot call GetSessionToken with session credentials", 403, true, {}};
  const json::object& o = in.as_object();
  const bool root = p.type == runtime::Principal::Type::kRoot;
  int64_t max = root ? 3600 : 129600;
  int64_t duration = root ? 3600 : 43200;
  if (auto* d = o.if_contains("DurationSeconds")) duration = d->to_number<int64_t>();
  if (duration > max)
    return AwsError{"ValidationError",
                    "1 validation error detected: Value '" + std::to_string(duration) +
                        "' at 'durationSeconds' failed to satisfy constraint: Member must have "
                        "value less than or equal to " +
                        std::to_string(max),
                    400,
                    true,
                    {}};
  // With SerialNumber and TokenCode, the code of the caller's own device makes an MFA session.
  std::optional<SysTime> mfa;
  TRY_VOID(checkMfaMembers(o));
  if (o.contains("SerialNumber")) {
    TRY_VOID(iamsvc::verifyMfaCode(ctx.tx(), ctx.services->barrier, p, member(o, "SerialNumber"),
                                   member(o, "TokenCode"), ctx.time));
    mfa = ctx.time;
  }
  TRY_ASSIGN(auto creds, ctx.services->identity.createSession(ctx.tx(), p,
                                                              std::chrono::seconds(duration), mfa));
  json::object c;
  c["AccessKeyId"] = creds.access_key_id;
  c["SecretAccessKey"] = creds.secret_access_key;
  c["SessionToken"] = creds.session_token;
  c["Expiration"] = toEpochSeconds(creds.expiration);
  return json::value(json::object{{"Credentials", std::move(c)}});
}

std::string member(const json::object& o, const char* name) {
  const json::value* v = o.if_contains(name);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

iam::PrincipalType engineType(runtime::Principal::Type t) {
  using T = runtime::Principal::Type;
  switch (t) {
    case T::kRoot:
      return iam::PrincipalType::kRoot;
    case T::kIamUser:
      return iam::PrincipalType::kUser;
    case T::kAssumedRole:
      return iam::PrincipalType::kAssumedRole;
    case T::kFederatedUser:
      return iam::PrincipalType::kFederatedUser;
    case T::kAwsService:
      return iam::PrincipalType::kService;
    case T::kAnonymous:
      return iam::PrincipalType::kAnonymous;
  }
  return iam::PrincipalType::kAnonymous;
}

AwsError notAuthorized(const runtime::Principal& caller, const std::string& action,
                       const std::string& role_arn) {
  return AwsError{"AccessDenied",
                  "User: " + caller.arn + " is not authorized to perform: " + action +
                      " on resource: " + role_arn,
                  403,
                  true,
                  {}};
}

AwsError validationError(std::string message) {
  return AwsError{"ValidationError", std::move(message), 400, true, {}};
}

/// AWS's [\w+=,.@-]* check with its validation message.
Result<void> checkNamePattern(const std::string& value, const char* member_name) {
  for (char c : value) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '=' ||
        c == ',' || c == '.' || c == '@' || c == '-')
      continue;
    return validationError("1 validation error detected: Value '" + value + "' at '" + member_name +
                           "' failed to satisfy constraint: Member must satisfy regular "
                           "expression pattern: [\\w+=,.@-]*");
  }
  return okResult();
}

bool equalsIgnoreCase(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// AWS: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
// The role's trust policy is the resource-based policy of sts:AssumeRole on the role, and the
// caller's identity policies the identity side (same account: a trust policy naming the
// caller is enough alone, naming the account delegates to identity policies; cross-account
// needs both). Passing tags also needs sts:TagSession, a source identity sts:SetSourceIdentity.
Result<json::value> assumeRole(RequestContext& ctx, const json::value& in) {
  const runtime::Principal& caller = ctx.principal;
  const json::object& o = in.as_object();
  runtime::Services& services = *ctx.services;
  const std::string role_arn = member(o, "RoleArn");
  const std::string session_name = member(o, "RoleSessionName");

  TRY_VOID(checkNamePattern(session_name, "roleSessionName"));
  TRY_VOID(checkNamePattern(member(o, "SourceIdentity"), "sourceIdentity"));
  if (caller.type == runtime::Principal::Type::kRoot)
    return AwsError{"AccessDenied", "Roles may not be assumed by root accounts.", 403, true, {}};
  if (caller.type != runtime::Principal::Type::kIamUser &&
      caller.type != runtime::Principal::Type::kAssumedRole)
    return notAuthorized(caller, "sts:AssumeRole", role_arn);
  TRY_VOID(checkMfaMembers(o));

  // The caller's side, read before the request's write transaction begins.
  runtime::PrincipalPolicies caller_policies = runtime::effectivePolicies(services, caller);
  if (!caller_policies.exists) return notAuthorized(caller, "sts:AssumeRole", role_arn);
  const bool chained = caller.type == runtime::Principal::Type::kAssumedRole;
  std::optional<runtime::SessionInfo> caller_session;
  if (chained) {
    if (auto cred = services.identity.lookup(caller.access_key_id)) caller_session = cred->session;
  }

  // Session tags, transitive keys and the source identity.
  runtime::SessionInfo session;
  std::vector<std::string> tag_keys;
  if (const json::value* tags = o.if_contains("Tags"); tags && tags->is_array()) {
    for (const auto& t : tags->as_array()) {
      std::string k = member(t.as_object(), "Key"), v = member(t.as_object(), "Value");
      for (const auto& seen : tag_keys)
        if (equalsIgnoreCase(seen, k))
          return AwsError{"InvalidParameterValue",
                          "Duplicate tag keys found. Please note that "
                          "Tag keys are case insensitive.",
                          400,
                          true,
                          {}};
      tag_keys.push_back(k);
      session.tags.emplace_back(std::move(k), std::move(v));
    }
  }
  if (const json::value* keys = o.if_contains("TransitiveTagKeys"); keys && keys->is_array()) {
    for (const auto& k : keys->as_array()) {
      std::string key(k.as_string());
      bool found = false;
      for (const auto& t : tag_keys) found = found || equalsIgnoreCase(t, key);
      if (!found)
        return AwsError{"InvalidParameterValue",
                        "The specified transitive tag key must be included in the requested tags.",
                        400,
                        true,
                        {}};
      session.transitive_keys.push_back(std::move(key));
    }
  }
  const std::string requested_source = member(o, "SourceIdentity");
  if (requested_source.rfind("aws:", 0) == 0)
    return validationError("SourceIdentity cannot start with the prefix 'aws:'.");
  session.source_identity = requested_source;
  if (caller_session) {
    // AWS: transitive tags pass to chained sessions and cannot be overridden there; the
    // source identity is kept and cannot be changed.
    for (const auto& key : caller_session->transitive_keys) {
      for (const auto& [k, v] : caller_session->tags) {
        if (!equalsIgnoreCase(k, key)) continue;
        for (const auto& t : tag_keys)
          if (equalsIgnoreCase(t, k))
            return AwsError{"InvalidParameterValue",
                            "One of the specified transitive tag keys can't be set because it "
                            "conflicts with a transitive tag key from the calling session.",
                            400,
                            true,
                            {}};
        session.tags.emplace_back(k, v);
        session.transitive_keys.push_back(k);
      }
    }
    if (!caller_session->source_identity.empty()) {
      if (!requested_source.empty() && requested_source != caller_session->source_identity)
        return AwsError{"AccessDenied",
                        "The source identity of the calling session cannot be changed.",
                        403,
                        true,
                        {}};
      session.source_identity = caller_session->source_identity;
    }
  }

  // Session policies.
  session.policy = member(o, "Policy");
  size_t packed_chars = 0;
  if (!session.policy.empty()) {
    auto parsed = iam::parsePolicy(session.policy, iam::PolicyKind::kSession);
    if (!parsed.ok()) return std::move(parsed).error();
    packed_chars += iam::policyCountedChars(session.policy);
  }
  if (const json::value* arns = o.if_contains("PolicyArns"); arns && arns->is_array()) {
    for (const auto& a : arns->as_array()) {
      std::string arn = member(a.as_object(), "arn");
      packed_chars += arn.size();
      session.policy_arns.push_back(std::move(arn));
    }
  }
  for (const auto& [k, v] : session.tags) packed_chars += k.size() + v.size();
  // AWS: policies and tags are packed into a space of 2,048 (compressed) units.
  const int64_t packed_percent = static_cast<int64_t>((packed_chars * 100 + 2047) / 2048);
  if (packed_percent > 100)
    return AwsError{"PackedPolicyTooLarge",
                    "Packed policy consumes " + std::to_string(packed_percent) +
                        "% of allotted space, please use smaller policy.",
                    400,
                    true,
                    {}};

  // The role and its trust policy (an unknown role is not revealed).
  auto& tx = ctx.tx();
  // MFA: the code of the caller's own device; the trust policy then sees
  // aws:MultiFactorAuthPresent true (age 0) and the session is MFA-authenticated.
  std::optional<SysTime> mfa;
  if (o.contains("SerialNumber")) {
    TRY_VOID(iamsvc::verifyMfaCode(tx, services.barrier, caller, member(o, "SerialNumber"),
                                   member(o, "TokenCode"), ctx.time));
    mfa = ctx.time;
  }
  auto role = iamsvc::findRoleForSts(tx, role_arn);
  if (!role) return notAuthorized(caller, "sts:AssumeRole", role_arn);
  auto trust = iamsvc::compiledTrustPolicy(*role);
  if (!trust.ok()) return notAuthorized(caller, "sts:AssumeRole", role_arn);
  for (const auto& arn : session.policy_arns)
    if (!iamsvc::managedPolicyExists(tx, role->account_id, arn))
      return AwsError{"InvalidParameterValue",
                      "The policy " + arn + " does not exist or is not attachable.",
                      400,
                      true,
                      {}};

  iam::EvalRequest req;
  req.principal.type = engineType(caller.type);
  req.principal.arn = caller.arn;
  req.principal.account = caller.account_id;
  req.principal.role_arn = caller_policies.role_arn;
  req.principal.tags = caller_policies.tags;
  for (const auto& p : caller_policies.identity) req.identity_policies.push_back(p.get());
  req.permissions_boundary = caller_policies.boundary.get();
  for (const auto& p : caller_policies.session) req.session_policies.push_back(p.get());
  req.resource_policy = trust.value().get();
  req.resource = role->arn;
  req.resource_account = role->account_id == caller.account_id ? std::string() : role->account_id;
  // SCPs of the caller's organization bind sts:AssumeRole like any other action.
  auto org = runtime::IamAuthorizer::addServiceControlPolicies(services, caller, req);

  iam::ContextKeys keys;
  runtime::IamAuthorizer::fillGlobalKeys(ctx, keys);
  runtime::IamAuthorizer::fillVpcKeys(ctx, services.config.source_vpc_header,
                                      services.config.source_vpce_header, keys);
  iam::addPrincipalKeys(req.principal, keys);
  if (mfa) {
    keys.set("aws:MultiFactorAuthPresent", "true");
    keys.set("aws:MultiFactorAuthAge", "0");
  }
  if (!caller_policies.source_identity.empty())
    keys.set("aws:SourceIdentity", caller_policies.source_identity);
  if (o.contains("ExternalId")) keys.set("sts:ExternalId", member(o, "ExternalId"));
  keys.set("sts:RoleSessionName", session_name);
  if (!session.source_identity.empty()) keys.set("sts:SourceIdentity", session.source_identity);
  if (!tag_keys.empty()) {
    for (const auto& [k, v] : session.tags) keys.set("aws:RequestTag/" + k, v);
    keys.setMulti("aws:TagKeys", tag_keys);
  }
  if (!session.transitive_keys.empty())
    keys.setMulti("sts:TransitiveTagKeys", session.transitive_keys);
  req.context = &keys;

  std::vector<std::string> actions{"sts:AssumeRole"};
  if (!tag_keys.empty()) actions.push_back("sts:TagSession");
  if (!requested_source.empty()) actions.push_back("sts:SetSourceIdentity");
  for (const auto& action : actions) {
    req.action = action;
    iam::EvalResult result = iam::evaluate(req);
    // INVARIANT: a role is assumed only when its trust policy allows it; identity policies
    // (or a root user's own-account access) alone never suffice.
    bool trusted = false;
    for (const auto& st : result.statements)
      trusted = trusted || st.type == iam::PolicyType::kResource;
    if (result.decision != iam::Decision::kAllow || !trusted)
      return notAuthorized(caller, action, role->arn);
  }

  // Duration: 900 s up to the role's maximum; one hour for role chaining.
  int64_t duration = 3600;
  if (const json::value* d = o.if_contains("DurationSeconds")) duration = d->to_number<int64_t>();
  if (chained && duration > 3600)
    return validationError(
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
        "role chaining.");
  if (duration > role->max_session)
    return validationError(
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");

  session.role_arn = role->arn;
  session.role_id = role->id;
  session.chained = chained;
  runtime::Principal assumed;
  assumed.type = runtime::Principal::Type::kAssumedRole;
  assumed.account_id = role->account_id;
  assumed.arn =
      "arn:aws:sts::" + role->account_id + ":assumed-role/" + role->name + "/" + session_name;
  assumed.principal_id = role->id + ":" + session_name;
  assumed.user_name = session_name;
  // The new session is MFA-authenticated only by its own SerialNumber/TokenCode, never by
  // inheriting the caller's MFA: conditions requiring MFA fail closed.
  TRY_ASSIGN(auto creds, services.identity.createSession(
                             tx, assumed, std::chrono::seconds(duration), mfa, session));
  ctx.resources.push_back({"AWS::IAM::Role", role->arn});

  json::object c;
  c["AccessKeyId"] = creds.access_key_id;
  c["SecretAccessKey"] = creds.secret_access_key;
  c["SessionToken"] = creds.session_token;
  c["Expiration"] = toEpochSeconds(creds.expiration);
  json::object out;
  out["Credentials"] = std::move(c);
  out["AssumedRoleUser"] =
      json::object{{"AssumedRoleId", assumed.principal_id}, {"Arn", assumed.arn}};
  if (session.hasSessionPolicies() || !session.tags.empty())
    out["PackedPolicySize"] = packed_percent;
  if (!session.source_identity.empty()) out["SourceIdentity"] = session.source_identity;
  return json::value(std::move(out));
}

runtime::ServiceSpec makeSts() {
  runtime::ServiceSpec s;
  s.model = "sts";
  s.event_source = "sts.amazonaws.com";
  s.iam_prefix = "sts";
  s.throttle_code = "Throttling";
  OperationSpec gci;
  gci.handler = getCallerIdentity;
  gci.read_only = true;
  gci.global = true;
  gci.authorize = false;  // AWS: no permissions are required, and a Deny cannot stop it
  s.operations["GetCallerIdentity"] = std::move(gci);
  OperationSpec gst;
  gst.handler = getSessionToken;
  gst.global = true;
  gst.authorize = false;  // AWS: policies cannot control authentication operations
  s.operations["GetSessionToken"] = std::move(gst);
  OperationSpec gaki;
  gaki.handler = getAccessKeyInfo;
  gaki.read_only = true;
  gaki.global = true;
  s.operations["GetAccessKeyInfo"] = std::move(gaki);
  OperationSpec dam;  // authorized as sts:DecodeAuthorizationMessage on "*"
  dam.handler = decodeAuthorizationMessage;
  dam.read_only = true;
  dam.global = true;
  s.operations["DecodeAuthorizationMessage"] = std::move(dam);
  OperationSpec ar;
  ar.handler = assumeRole;
  ar.global = true;
  // Authorized by the handler: the trust policy is the resource-based side (see assumeRole).
  ar.authorize = false;
  s.operations["AssumeRole"] = std::move(ar);
  // AWS: STS quotas are per account and region; GetCallerIdentity shares the 600/s default.
  s.quotas.push_back({"GetCallerIdentity", 600, {"GetCallerIdentity"}});
  // State reset (dev mode): every temporary credential (GetSessionToken, AssumeRole).
  s.reset = [](runtime::Services& services, store::Tx& tx) {
    tx.exec("DELETE FROM access_keys WHERE session_token_sha256 IS NOT NULL");
    tx.afterCommit([&services] { services.identity.invalidate(); });
  };
  return s;
}

}  // namespace

CITADEL_REGISTER_SERVICE(makeSts);

}  // namespace citadel::sts
