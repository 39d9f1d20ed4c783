#pragma once
/// IAM policy documents: parsing and validation with AWS's MalformedPolicyDocument messages.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace citadel::iam {

/// Where a policy is used; decides which elements are required or prohibited.
enum class PolicyKind {
  kIdentity,  ///< managed or inline identity policy (no Principal; Resource required)
  kResource,  ///< resource-based policy: bucket, key, secret, queue ... (Principal required)
  kTrust,     ///< role trust policy (Principal required; no Resource; sts actions only)
  kScp,       ///< service control policy (no Principal)
  kBoundary,  ///< permissions boundary (as identity)
  kSession,   ///< session policy passed to AssumeRole / GetFederationToken (as identity)
};

/// Which size quota applies. AWS counts characters excluding whitespace.
enum class PolicySizeLimit {
  kNone,
  kManaged,      ///< 6,144
  kInlineUser,   ///< 2,048 (aggregate per user in AWS; per document here)
  kInlineRole,   ///< 10,240
  kInlineGroup,  ///< 5,120
  kTrust,        ///< 2,048
  kScp,          ///< 5,120
};

/// Characters allowed by a size quota (0 for kNone).
size_t policySizeLimitChars(PolicySizeLimit limit);
/// Characters of the document that count against the quota (all but whitespace).
size_t policyCountedChars(std::string_view document);
/// LimitExceeded (IAM wording) when the document is larger than the quota. `entity` names the
/// user/role/group for inline policies (may be empty).
Result<void> checkPolicySize(std::string_view document, PolicySizeLimit limit,
                             std::string_view entity = {});

/// Allow or Deny.
enum class Effect { kAllow, kDeny };

/// A Principal / NotPrincipal element.
struct PrincipalBlock {
  bool wildcard = false;                                   ///< "*" (or {"AWS": "*"})
  std::vector<std::pair<std::string, std::string>> items;  ///< (type, value), type AWS|Service|...
};

/// One condition test: operator, key and its values (as text, JSON scalars stringified).
struct ConditionEntry {
  std::string op;   ///< as written, e.g. "ForAnyValue:StringLikeIfExists"
  std::string key;  ///< as written, e.g. "aws:PrincipalTag/Team"
  std::vector<std::string> values;
};

/// One statement of a policy document.
struct Statement {
  std::string sid;
  Effect effect = Effect::kAllow;
  bool has_principal = false;
  bool not_principal = false;
  PrincipalBlock principal;
  bool has_action = false;
  bool not_action = false;
  std::vector<std::string> actions;
  bool has_resource = false;
  bool not_resource = false;
  std::vector<std::string> resources;
  std::vector<ConditionEntry> conditions;
};

/// A parsed, validated policy document.
struct PolicyDocument {
  std::string version;  ///< "2012-10-17", "2008-10-17" or empty (2008 semantics)
  std::string id;
  std::vector<Statement> statements;
  /// True when policy variables are substituted (Version 2012-10-17).
  bool variablesEnabled() const { return version == "2012-10-17"; }
};

/// Parses and validates a policy of the given kind. Errors are
/// AwsError{"MalformedPolicyDocument", <AWS message>, 400}.
Result<PolicyDocument> parsePolicy(std::string_view json, PolicyKind kind);

/// The AwsError IAM answers for a malformed document.
AwsError malformedPolicy(std::string message);

}  // namespace citadel::iam
