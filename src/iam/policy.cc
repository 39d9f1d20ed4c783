#include "iam/policy.h"

#include <boost/json.hpp>
#include <set>

#include "core/encoding.h"
#include "iam/condition.h"

namespace citadel::iam {
namespace json = boost::json;

namespace {

constexpr std::string_view kSyntax = "Syntax errors in policy.";
constexpr std::string_view kLegacy = "The policy failed legacy parsing";

bool isStatementKey(std::string_view k) {
  static constexpr std::string_view kKeys[] = {"Sid",         "Effect",   "Principal",
                                               "NotPrincipal", "Action",   "NotAction",
                                               "Resource",    "NotResource", "Condition"};
  for (auto x : kKeys) {
    if (x == k) return true;
  }
  return false;
}

// A string or a list of strings (nulls in lists are skipped as AWS's legacy parser does).
bool readStringList(const json::value& v, std::vector<std::string>& out) {
  if (v.is_string()) {
    out.emplace_back(v.get_string());
    return true;
  }
  if (!v.is_array()) return false;
  for (const auto& e : v.get_array()) {
    if (e.is_null()) continue;
    if (!e.is_string()) return false;
    out.emplace_back(e.get_string());
  }
  return true;
}

bool scalarText(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::string:
      out = std::string(v.get_string());
      return true;
    case json::kind::bool_:
      out = v.get_bool() ? "true" : "false";
      return true;
    case json::kind::int64:
      out = std::to_string(v.get_int64());
      return true;
    case json::kind::uint64:
      out = std::to_string(v.get_uint64());
      return true;
    case json::kind::double_:
      out = json::serialize(v);
      return true;
    default:
      return false;
  }
}

bool isAccountId(std::string_view s) {
  if (s.size() != 12) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool validAwsPrincipal(std::string_view v) {
  if (v == "*" || isAccountId(v)) return true;
  if (v.substr(0, 4) != "arn:") return false;
  std::array<std::string_view, 6> parts;
  if (!splitArn(v, parts)) return false;
  if (parts[1].empty() || (parts[2] != "iam" && parts[2] != "sts")) return false;
  if (!parts[3].empty()) return false;
  if (!isAccountId(parts[4]) && parts[4] != "aws") return false;
  if (parts[5].empty()) return false;
  return v.find('*') == std::string_view::npos && v.find('?') == std::string_view::npos;
}

std::string invalidPrincipal(std::string_view type, std::string_view value) {
  std::string m = "Invalid principal in policy: \"";
  m += type;
  m += "\":\"";
  m += value;
  m += "\"";
  return m;
}

// Reads Principal / NotPrincipal. Empty string on success, else the error message.
std::string readPrincipal(const json::value& v, PrincipalBlock& out) {
  if (v.is_string()) {
    if (v.get_string() != "*") return invalidPrincipal("AWS", std::string(v.get_string()));
    out.wildcard = true;
    return {};
  }
  if (!v.is_object() || v.get_object().empty()) return std::string(kSyntax);
  for (const auto& kv : v.get_object()) {
    std::string_view type = kv.key();
    std::vector<std::string> values;
    if (!readStringList(kv.value(), values)) return std::string(kSyntax);
    bool known = type == "AWS" || type == "Service" || type == "Federated" ||
                 type == "CanonicalUser";
    for (const auto& val : values) {
      if (!known) return invalidPrincipal(type, val);
      if (type == "AWS" && !validAwsPrincipal(val)) return invalidPrincipal(type, val);
      if (val.empty()) return invalidPrincipal(type, val);
      if (type == "AWS" && val == "*") out.wildcard = true;
      out.items.emplace_back(std::string(type), val);
    }
  }
  return {};
}

// AWS: the action's vendor prefix rules (messages as IAM returns them).
std::string checkAction(std::string_view action) {
  if (action == "*") return {};
  auto colon = action.find(':');
  if (colon == std::string_view::npos) {
    return "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
  }
  if (action.find(':', colon + 1) != std::string_view::npos) {
    return "Actions/Condition can contain only one colon.";
  }
  std::string_view vendor = action.substr(0, colon);
  if (vendor != "*") {
    bool ok = !vendor.empty();
    for (char c : vendor) {
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.');
    }
    if (!ok) return "Vendor " + std::string(vendor) + " is not valid";
  }
  return {};
}

std::string checkResource(std::string_view r) {
  if (r == "*") return {};
  auto colon = r.find(':');
  if (colon == std::string_view::npos) {
    return "Resource " + std::string(r) + " must be in ARN format or \"*\".";
  }
  std::array<std::string_view, 6> parts;
  if (!splitArn(r, parts) || parts[2].empty()) {
    return "Resource vendor must be fully qualified and cannot contain regexes.";
  }
  return {};
}

bool isTrustAction(std::string_view a) {
  // AWS: trust policies may name only the sts actions that a principal performs on a role.
  static constexpr std::string_view kAllowed[] = {
      "sts:assumerole",         "sts:assumerolewithsaml",  "sts:assumerolewithwebidentity",
      "sts:tagsession",         "sts:setsourceidentity",   "sts:setcontext",
      "sts:assumerootwithsaml", "sts:*",                   "*"};
  std::string lower = toLower(a);
  for (auto x : kAllowed) {
    if (x == lower) return true;
  }
  return lower.substr(0, 4) == "sts:" && lower.find('*') != std::string::npos;
}

bool identityLike(PolicyKind k) {
  return k == PolicyKind::kIdentity || k == PolicyKind::kBoundary || k == PolicyKind::kSession;
}

}  // namespace

AwsError malformedPolicy(std::string message) {
  return AwsError{"MalformedPolicyDocument", std::move(message), 400, true, {}};
}

size_t policySizeLimitChars(PolicySizeLimit limit) {
  switch (limit) {
    case PolicySizeLimit::kNone:
      return 0;
    case PolicySizeLimit::kManaged:
      return 6144;
    case PolicySizeLimit::kInlineUser:
      return 2048;
    case PolicySizeLimit::kInlineRole:
      return 10240;
    case PolicySizeLimit::kInlineGroup:
      return 5120;
    case PolicySizeLimit::kTrust:
      return 2048;
    case PolicySizeLimit::kScp:
      return 5120;
  }
  return 0;
}

size_t policyCountedChars(std::string_view document) {
  size_t n = 0;
  for (char c : document) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') ++n;
  }
  return n;
}

Result<void> checkPolicySize(std::string_view document, PolicySizeLimit limit,
                             std::string_view entity) {
  size_t max = policySizeLimitChars(limit);
  if (max == 0 || policyCountedChars(document) <= max) return okResult();
  std::string m;
  switch (limit) {
    case PolicySizeLimit::kInlineUser:
      m = "Maximum policy size of 2048 bytes exceeded for user " + std::string(entity);
      break;
    case PolicySizeLimit::kInlineRole:
      m = "Maximum policy size of 10240 bytes exceeded for role " + std::string(entity);
      break;
    case PolicySizeLimit::kInlineGroup:
      m = "Maximum policy size of 5120 bytes exceeded for group " + std::string(entity);
      break;
    case PolicySizeLimit::kTrust:
      m = "Cannot exceed quota for ACLSizePerRole: 2048";
      break;
    case PolicySizeLimit::kScp:
      m = "Cannot exceed quota for PolicySize: 5120";
      break;
    default:
      m = "Cannot exceed quota for PolicySize: " + std::to_string(max);
  }
  return AwsError{"LimitExceeded", std::move(m), 409, true, {}};
}

Result<PolicyDocument> parsePolicy(std::string_view text, PolicyKind kind) {
  json::parse_options opts;
  opts.max_depth = 16;  // policies nest 4 deep; anything deeper is not a policy
  boost::system::error_code ec;
  json::value root = json::parse(json::string_view(text.data(), text.size()), ec, {}, opts);
  if (ec || !root.is_object()) return malformedPolicy(std::string(kSyntax));
  const json::object& top = root.get_object();

  PolicyDocument doc;
  const json::value* stmts = nullptr;
  for (const auto& kv : top) {
    if (kv.key() == "Version") {
      if (!kv.value().is_string()) return malformedPolicy(std::string(kSyntax));
      doc.version = std::string(kv.value().get_string());
      if (doc.version != "2012-10-17" && doc.version != "2008-10-17") {
        return malformedPolicy(std::string(kSyntax));
      }
    } else if (kv.key() == "Id") {
      if (!kv.value().is_string()) return malformedPolicy(std::string(kSyntax));
      doc.id = std::string(kv.value().get_string());
    } else if (kv.key() == "Statement") {
      stmts = &kv.value();
    } else {
      return malformedPolicy(std::string(kSyntax));
    }
  }
  if (stmts == nullptr) return malformedPolicy(std::string(kSyntax));
  std::vector<const json::object*> raw;
  if (stmts->is_object()) {
    raw.push_back(&stmts->get_object());
  } else if (stmts->is_array()) {
    for (const auto& s : stmts->get_array()) {
      if (!s.is_object()) return malformedPolicy(std::string(kSyntax));
      raw.push_back(&s.get_object());
    }
  } else {
    return malformedPolicy(std::string(kSyntax));
  }
  if (raw.empty()) return malformedPolicy(std::string(kSyntax));

  // Pass 1: syntax (shapes, known elements, exclusive pairs, known operators).
  bool legacy_failed = false;
  for (const json::object* so : raw) {
    Statement st;
    for (const auto& kv : *so) {
      if (!isStatementKey(kv.key())) return malformedPolicy(std::string(kSyntax));
    }
    if ((so->contains("Action") && so->contains("NotAction")) ||
        (so->contains("Resource") && so->contains("NotResource")) ||
        (so->contains("Principal") && so->contains("NotPrincipal"))) {
      return malformedPolicy(std::string(kSyntax));
    }
    const json::value* effect = so->if_contains("Effect");
    if (effect == nullptr || !effect->is_string()) return malformedPolicy(std::string(kSyntax));
    std::string_view e = effect->get_string();
    std::string el = toLower(e);
    if (el != "allow" && el != "deny") return malformedPolicy(std::string(kSyntax));
    if (e != "Allow" && e != "Deny") legacy_failed = true;  // AWS: case-sensitive in legacy
    st.effect = el == "allow" ? Effect::kAllow : Effect::kDeny;

    if (const json::value* sid = so->if_contains("Sid")) {
      if (!sid->is_string()) return malformedPolicy(std::string(kSyntax));
      st.sid = std::string(sid->get_string());
    }
    for (auto [name, neg] : {std::pair{"Action", false}, std::pair{"NotAction", true}}) {
      if (const json::value* a = so->if_contains(name)) {
        if (!readStringList(*a, st.actions)) return malformedPolicy(std::string(kSyntax));
        st.has_action = true;
        st.not_action = neg;
      }
    }
    for (auto [name, neg] : {std::pair{"Resource", false}, std::pair{"NotResource", true}}) {
      if (const json::value* r = so->if_contains(name)) {
        if (!readStringList(*r, st.resources)) return malformedPolicy(std::string(kSyntax));
        st.has_resource = true;
        st.not_resource = neg;
      }
    }
    for (auto [name, neg] : {std::pair{"Principal", false}, std::pair{"NotPrincipal", true}}) {
      if (const json::value* p = so->if_contains(name)) {
        std::string err = readPrincipal(*p, st.principal);
        if (!err.empty()) return malformedPolicy(std::move(err));
        st.has_principal = true;
        st.not_principal = neg;
      }
    }
    if (const json::value* c = so->if_contains("Condition")) {
      if (!c->is_object()) return malformedPolicy(std::string(kSyntax));
      for (const auto& opkv : c->get_object()) {
        if (!opkv.value().is_object()) return malformedPolicy(std::string(kSyntax));
        auto op = parseConditionOperator(opkv.key());
        if (!op) {
          // AWS accepts unknown keys but not unknown operators (an empty block is ignored).
          if (opkv.value().get_object().empty()) continue;
          return malformedPolicy(std::string(kSyntax));
        }
        for (const auto& keykv : opkv.value().get_object()) {
          ConditionEntry ce;
          ce.op = std::string(opkv.key());
          ce.key = std::string(keykv.key());
          const json::value& vals = keykv.value();
          std::string s;
          if (vals.is_array()) {
            for (const auto& x : vals.get_array()) {
              if (!scalarText(x, s)) return malformedPolicy(std::string(kSyntax));
              ce.values.push_back(s);
            }
          } else if (scalarText(vals, s)) {
            ce.values.push_back(s);
          } else {
            return malformedPolicy(std::string(kSyntax));
          }
          for (const auto& v : ce.values) {
            if (!isValidConditionValue(op->op, v)) legacy_failed = true;
          }
          st.conditions.push_back(std::move(ce));
        }
      }
    }
    doc.statements.push_back(std::move(st));
  }
  if (legacy_failed) return malformedPolicy(std::string(kLegacy));

  // Pass 2: semantics, in the order IAM reports them.
  std::set<std::string> sids;
  for (const auto& st : doc.statements) {
    if (!st.sid.empty() && !sids.insert(st.sid).second) {
      return malformedPolicy("Statement IDs (SID) in a single policy must be unique.");
    }
  }
  for (const auto& st : doc.statements) {
    if (!st.has_action || st.actions.empty()) {
      if (kind == PolicyKind::kResource || kind == PolicyKind::kTrust) {
        return malformedPolicy("Missing required field Action");
      }
      return malformedPolicy("Policy statement must contain actions.");
    }
  }
  for (const auto& st : doc.statements) {
    if (kind == PolicyKind::kTrust) {
      if (st.has_resource) return malformedPolicy("Has prohibited field Resource");
      continue;
    }
    if (!st.has_resource || st.resources.empty()) {
      if (identityLike(kind)) return malformedPolicy("Policy statement must contain resources.");
      return malformedPolicy("Missing required field Resource");
    }
    for (const auto& r : st.resources) {
      std::string err = checkResource(r);
      if (!err.empty()) return malformedPolicy(std::move(err));
    }
  }
  for (const auto& st : doc.statements) {
    for (const auto& a : st.actions) {
      std::string err = checkAction(a);
      if (!err.empty()) return malformedPolicy(std::move(err));
    }
    for (const auto& c : st.conditions) {
      if (c.key.find(':') == std::string::npos) {
        return malformedPolicy(
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
      }
    }
  }
  for (const auto& st : doc.statements) {
    if (identityLike(kind) && st.has_principal) {
      return malformedPolicy("Policy document should not specify a principal.");
    }
    if (kind == PolicyKind::kScp && st.has_principal) {
      return malformedPolicy("Has prohibited field Principal");
    }
    if ((kind == PolicyKind::kResource || kind == PolicyKind::kTrust) && !st.has_principal) {
      return malformedPolicy("Missing required field Principal");
    }
    if (kind == PolicyKind::kTrust && !st.not_action) {
      for (const auto& a : st.actions) {
        if (!isTrustAction(a)) {
          return malformedPolicy(
              "Trust Policy statement actions can only be sts:AssumeRole, "
              "sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity");
        }
      }
    }
  }
  return doc;
}

}  // namespace citadel::iam
