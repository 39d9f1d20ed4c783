#pragma once
/// Policies compiled once into immutable statement objects, and a cache keyed by
/// (policy id, version) so a policy is parsed and compiled once per version.

#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/result.h"
#include "iam/condition.h"
#include "iam/context_keys.h"
#include "iam/matcher.h"
#include "iam/policy.h"

namespace citadel::iam {

/// Who makes the request.
enum class PrincipalType {
  kRoot,           ///< an account's root user
  kUser,           ///< an IAM user
  kAssumedRole,    ///< a role session (arn:aws:sts::acct:assumed-role/name/session)
  kFederatedUser,  ///< a GetFederationToken session
  kService,        ///< an AWS service principal (cloudtrail.amazonaws.com ...)
  kAnonymous,      ///< an unsigned request
};

/// The principal fields the engine needs (filled by the framework from the request context).
struct PrincipalInfo {
  PrincipalType type = PrincipalType::kUser;
  std::string arn;      ///< the caller's ARN (session ARN for sessions)
  std::string account;  ///< the caller's 12-digit account id
  std::string role_arn;  ///< kAssumedRole: arn:aws:iam::acct:role/path/name
  std::string service;   ///< kService: e.g. "cloudtrail.amazonaws.com"
  std::string canonical_user;      ///< S3 canonical user id, when known
  std::string federated_provider;  ///< web identity / SAML provider, when federated
  std::vector<std::pair<std::string, std::string>> tags;  ///< principal tags
};

/// How a Principal element names the caller.
enum class PrincipalMatch {
  kNone,     ///< not named
  kAccount,  ///< the caller's account is named (delegation to its identity policies)
  kRole,     ///< a role session's role ARN is named
  kDirect,   ///< the caller itself (its ARN, or "*", or the account for its root user)
};

/// A Principal / NotPrincipal element ready for matching.
class CompiledPrincipal {
 public:
  /// Builds from the parsed element.
  static CompiledPrincipal compile(const PrincipalBlock& block);
  /// How this element (as a Principal) names the caller.
  PrincipalMatch match(const PrincipalInfo& p) const;
  /// Whether the caller is exempted by this element used as NotPrincipal (AWS: a user needs
  /// its ARN and its account listed; a role session its session ARN and its account).
  bool listsForNotPrincipal(const PrincipalInfo& p) const;

 private:
  bool any_ = false;
  std::vector<std::string> accounts_;  ///< account ids named by id or :root ARN
  std::vector<std::string> arns_;      ///< other AWS ARNs
  std::vector<std::string> services_;
  std::vector<std::string> federated_;
  std::vector<std::string> canonical_;
};

/// One compiled statement.
struct CompiledStatement {
  Effect effect = Effect::kAllow;
  std::string sid;
  bool has_principal = false;
  bool not_principal = false;
  CompiledPrincipal principal;
  bool not_action = false;
  std::vector<ActionPattern> actions;
  bool has_resource = false;
  bool not_resource = false;
  std::vector<ArnPattern> resources;
  std::vector<CompiledCondition> conditions;

  /// Action / NotAction test.
  bool matchesAction(std::string_view action) const;
  /// Resource / NotResource test (a statement without either matches any resource).
  bool matchesResource(std::string_view resource, const ContextKeys& ctx) const;
  /// All condition operators hold.
  bool conditionsHold(const ContextKeys& ctx) const;
};

/// An immutable compiled policy.
class CompiledPolicy {
 public:
  /// Parses, validates and compiles a document. `id` names it in decisions (e.g. its ARN).
  static Result<std::shared_ptr<const CompiledPolicy>> compile(std::string_view json,
                                                               PolicyKind kind,
                                                               std::string id = {});
  /// Compiles an already parsed document.
  static Result<std::shared_ptr<const CompiledPolicy>> fromDocument(const PolicyDocument& doc,
                                                                    PolicyKind kind,
                                                                    std::string id = {});
  /// The statements in document order.
  const std::vector<CompiledStatement>& statements() const { return statements_; }
  /// The name given at compile time.
  const std::string& id() const { return id_; }
  /// The kind the document was validated as.
  PolicyKind kind() const { return kind_; }
  /// Statement `index` as written (Sid, Principal, Action, Resource, Condition texts), for
  /// reports about a decision (DecodeAuthorizationMessage's matchedStatements).
  const Statement& source(size_t index) const { return sources_[index]; }

 private:
  std::string id_;
  PolicyKind kind_ = PolicyKind::kIdentity;
  std::vector<CompiledStatement> statements_;
  std::vector<Statement> sources_;  ///< INVARIANT: one per entry of statements_
};

/// Thread-safe cache of compiled policies keyed by (policy id, version id).
class PolicyCache {
 public:
  /// `capacity`: entries kept before the cache is flushed.
  explicit PolicyCache(size_t capacity = 65536) : capacity_(capacity) {}
  /// The compiled policy for (id, version), compiling `document` on a miss.
  Result<std::shared_ptr<const CompiledPolicy>> get(std::string_view policy_id,
                                                    std::string_view version,
                                                    std::string_view document, PolicyKind kind);
  /// Drops every version of a policy.
  void invalidate(std::string_view policy_id);
  /// Entries held.
  size_t size() const;

 private:
  size_t capacity_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const CompiledPolicy>> map_;
};

}  // namespace citadel::iam
