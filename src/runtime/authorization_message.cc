#include "runtime/authorization_message.h"

#include <boost/json.hpp>

#include "core/encoding.h"
#include "crypto/barrier.h"
#include "iam/evaluator.h"

namespace citadel::runtime {
namespace json = boost::json;

namespace {

// DecodeAuthorizationMessage's EncodedMessage is at most 10,240 characters.
constexpr size_t kMaxTokenChars = 10240;

std::string aad(std::string_view account_id) {
  std::string a = "sts:authorization-message:";
  a += account_id;
  return a;
}

/// AWS's list form: {"items": [{"value": v}, ...]}.
json::object valueItems(const std::vector<std::string>& values) {
  json::array items;
  for (const auto& v : values) items.push_back(json::object{{"value", v}});
  return json::object{{"items", std::move(items)}};
}

/// Condition keys and values: {"items": [{"key", "values": {"items": [{"value"}]}}]}.
template <class Pairs>
json::object keyItems(const Pairs& pairs) {
  json::array items;
  for (const auto& [key, values] : pairs)
    items.push_back(json::object{{"key", key}, {"values", valueItems(values)}});
  return json::object{{"items", std::move(items)}};
}

/// The caller's unique id without a role session's name ("AROA...:session" -> "AROA...").
std::string holderId(std::string_view principal_id) {
  return std::string(principal_id.substr(0, principal_id.find(':')));
}

json::object matchedStatement(const iam::MatchedStatement& m, std::string_view principal_id) {
  const iam::Statement& st = m.policy->source(m.index);
  std::vector<std::string> principals;
  switch (m.type) {
    case iam::PolicyType::kResource:
      // A resource-based statement names its principals itself.
      if (st.principal.wildcard) principals.emplace_back("*");
      for (const auto& [type, value] : st.principal.items) principals.push_back(value);
      break;
    case iam::PolicyType::kIdentity:
    case iam::PolicyType::kPermissionsBoundary:
    case iam::PolicyType::kSession:
      // The policy belongs to the caller (its user, or its role for a session).
      if (!principal_id.empty()) principals.push_back(holderId(principal_id));
      break;
    case iam::PolicyType::kScp:
      break;
  }
  std::vector<std::pair<std::string, std::vector<std::string>>> conditions;
  for (const auto& c : st.conditions) conditions.emplace_back(c.key, c.values);
  json::object o;
  o["statementId"] = st.sid;
  o["effect"] = st.effect == iam::Effect::kDeny ? "DENY" : "ALLOW";
  o["principals"] = valueItems(principals);
  o["principalGroups"] = valueItems({});
  o["actions"] = valueItems(st.not_action ? std::vector<std::string>{} : st.actions);
  o["resources"] = valueItems(st.not_resource ? std::vector<std::string>{} : st.resources);
  o["conditions"] = keyItems(conditions);
  return o;
}

std::string document(const iam::EvalRequest& r, const iam::EvalResult& result,
                     std::string_view principal_id, bool with_conditions) {
  json::array matched;
  for (const auto& m : result.statements) {
    if (m.policy) matched.push_back(matchedStatement(m, principal_id));
  }
  json::object context;
  context["principal"] = json::object{{"id", principal_id}, {"arn", r.principal.arn}};
  context["action"] = r.action;
  context["resource"] = r.resource;
  if (with_conditions && r.context) {
    context["conditions"] = keyItems(r.context->sorted());
  } else {
    context["conditions"] = json::object{{"items", json::array{}}};
  }
  json::object doc;
  doc["allowed"] = result.decision == iam::Decision::kAllow;
  doc["explicitDeny"] = result.decision == iam::Decision::kExplicitDeny;
  doc["matchedStatements"] = json::object{{"items", std::move(matched)}};
  doc["failures"] = json::object{{"items", json::array{}}};
  doc["context"] = std::move(context);
  return json::serialize(doc);
}

std::string toBase64Url(std::string_view bytes) {
  std::string s = base64Encode(bytes);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+')
      c = '-';
    else if (c == '/')
      c = '_';
  }
  return s;
}

std::optional<std::string> fromBase64Url(std::string_view text) {
  std::string s;
  s.reserve(text.size() + 3);
  for (char c : text) {
    if (c == '-')
      s += '+';
    else if (c == '_')
      s += '/';
    else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
      s += c;
    else
      return std::nullopt;  // padding, line breaks and anything else are not a token
  }
  if (s.size() % 4 == 1) return std::nullopt;
  while (s.size() % 4 != 0) s += '=';
  auto bytes = base64Decode(s);
  // One text per token: unused low bits of the last character must be zero.
  if (!bytes || toBase64Url(*bytes) != text) return std::nullopt;
  return bytes;
}

AwsError invalidMessage() {
  // AWS: InvalidAuthorizationMessageException, "the message passed to
  // DecodeAuthorizationMessage was invalid".
  return AwsError{"InvalidAuthorizationMessageException",
                  "The message passed to DecodeAuthorizationMessage was invalid.",
                  400,
                  true,
                  {}};
}

}  // namespace

bool encodesAuthorizationMessages(const std::vector<std::string>& services,
                                  std::string_view service) {
  for (const auto& s : services) {
    if (s == "all" || s == service) return true;
  }
  return false;
}

std::string authorizationDecisionDocument(const iam::EvalRequest& request,
                                          const iam::EvalResult& result,
                                          std::string_view principal_id) {
  return document(request, result, principal_id, true);
}

std::string sealAuthorizationMessage(const crypto::Barrier& barrier, std::string_view account_id,
                                     std::string_view doc) {
  return toBase64Url(barrier.seal(doc, aad(account_id)));
}

std::string encodeAuthorizationMessage(const crypto::Barrier& barrier, std::string_view account_id,
                                       const iam::EvalRequest& request,
                                       const iam::EvalResult& result,
                                       std::string_view principal_id) {
  std::string token =
      sealAuthorizationMessage(barrier, account_id, document(request, result, principal_id, true));
  if (token.size() <= kMaxTokenChars) return token;
  return sealAuthorizationMessage(barrier, account_id,
                                  document(request, result, principal_id, false));
}

Result<std::string> openAuthorizationMessage(const crypto::Barrier& barrier,
                                             std::string_view account_id, std::string_view token) {
  auto sealed = fromBase64Url(token);
  if (!sealed || account_id.empty()) return invalidMessage();
  auto doc = barrier.open(*sealed, aad(account_id));
  if (!doc) return invalidMessage();
  return std::move(*doc);
}

}  // namespace citadel::runtime
