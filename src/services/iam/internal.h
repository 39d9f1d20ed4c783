#pragma once
/// Shared pieces of the IAM service: entity rows, lookups with AWS's errors, ARNs, paging and
/// the handler declarations the registration (service.cc) maps to operations.

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "iam/policy.h"
#include "runtime/context.h"
#include "runtime/registry.h"
#include "store/store.h"

namespace citadel::crypto {
class Barrier;
}  // namespace citadel::crypto

namespace citadel::iamsvc {

namespace json = boost::json;
using runtime::RequestContext;

/// The account that owns AWS managed policies (arn:aws:iam::aws:policy/...).
inline constexpr const char* kAwsAccount = "aws";

/// A user, group or role row (the fields they share plus the role's extras).
struct Entity {
  std::string kind;  ///< "user" / "group" / "role"
  std::string account_id;
  std::string name;
  std::string id;  ///< AIDA... / AGPA... / AROA...
  std::string path;
  std::string arn;
  int64_t created_ms = 0;
  std::string boundary_arn;  ///< users and roles; empty = none
  // Roles only.
  std::string trust_policy;
  std::string description;
  int64_t max_session = 3600;
};

/// A managed policy row.
struct ManagedPolicy {
  std::string account_id;
  std::string arn;
  std::string id;
  std::string name;
  std::string path;
  std::string description;
  std::string default_version;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

/// AWS's IAM errors.
AwsError noSuchEntity(std::string message);
AwsError entityAlreadyExists(std::string message);
AwsError deleteConflict(std::string message);
AwsError limitExceeded(std::string message);
AwsError invalidInput(std::string message);

/// arn:aws:iam::<account>:<type>/<path without leading slash><name>.
std::string iamArn(const std::string& account, const std::string& type, const std::string& path,
                   const std::string& name);
/// The member as a string ("" when absent).
std::string str(const json::value& in, const char* member);
/// A path member, "/" when absent.
std::string pathOr(const json::value& in, const char* member);
/// Seconds since the epoch, as timestamps are in documents.
double seconds(int64_t ms);

/// An entity by name in the account, or nullopt.
std::optional<Entity> findEntity(store::Tx& tx, const std::string& kind, const std::string& account,
                                 const std::string& name);
/// An entity by name, or NoSuchEntity with AWS's message.
Result<Entity> requireEntity(store::Tx& tx, const std::string& kind, const std::string& account,
                             const std::string& name);
/// An entity by ARN, or nullopt.
std::optional<Entity> findEntityByArn(store::Tx& tx, const std::string& arn);
/// Inserts a new entity; EntityAlreadyExists ("User with name bob already exists.") when taken.
Result<void> insertEntity(store::Tx& tx, const Entity& e);
/// A managed policy by ARN visible to the account (its own or AWS managed), or nullopt.
std::optional<ManagedPolicy> findPolicy(store::Tx& tx, const std::string& account,
                                        const std::string& arn);
/// As findPolicy, or NoSuchEntity "Policy <arn> does not exist or is not attachable.".
Result<ManagedPolicy> requirePolicy(store::Tx& tx, const std::string& account,
                                    const std::string& arn);
/// The document of a policy version, or nullopt.
std::optional<std::string> policyDocument(store::Tx& tx, const std::string& policy_id,
                                          const std::string& version);

/// Tags of an entity as a Tags list ([{Key, Value}], sorted by key).
json::array tagsOf(store::Tx& tx, const std::string& entity_id);
/// Adds or replaces tags from a Tags input list (50 per entity at most).
Result<void> putTags(store::Tx& tx, const std::string& entity_id, const json::value* tags);
/// Removes tags by key.
void removeTags(store::Tx& tx, const std::string& entity_id, const json::value* keys);
/// Tag<Kind> / Untag<Kind> / List<Kind>Tags for an entity kind ("user", "role") whose name is
/// the input member `name_member` ("UserName", "RoleName").
runtime::Handler tagEntity(const char* kind, const char* name_member);
runtime::Handler untagEntity(const char* kind, const char* name_member);
runtime::Handler listEntityTags(const char* kind, const char* name_member);

/// A PermissionsBoundary structure for an ARN.
json::object boundaryDoc(const std::string& arn);
/// The User / Group / Role structure of an entity (Tags and boundary when present).
json::object entityDoc(store::Tx& tx, const Entity& e, bool with_tags);

/// Marker/MaxItems paging over items sorted by key: fills `list_name`, IsTruncated, Marker.
void page(json::object& out, const char* list_name,
          std::vector<std::pair<std::string, json::value>> items, const json::value& in);

/// Policy documents are answered URL-encoded, as AWS does (botocore decodes them).
std::string encodeDocument(const std::string& document);

/// Checks a policy-document input for a kind and size limit (MalformedPolicyDocument,
/// LimitExceeded).
Result<void> validateIdentityPolicy(const std::string& document, iam::PolicySizeLimit limit,
                                    const std::string& entity);

// Handlers (users.cc).
Result<json::value> createUser(RequestContext&, const json::value&);
Result<json::value> getUser(RequestContext&, const json::value&);
Result<json::value> listUsers(RequestContext&, const json::value&);
Result<json::value> updateUser(RequestContext&, const json::value&);
Result<json::value> deleteUser(RequestContext&, const json::value&);
Result<json::value> createGroup(RequestContext&, const json::value&);
Result<json::value> getGroup(RequestContext&, const json::value&);
Result<json::value> listGroups(RequestContext&, const json::value&);
Result<json::value> deleteGroup(RequestContext&, const json::value&);
Result<json::value> addUserToGroup(RequestContext&, const json::value&);
Result<json::value> removeUserFromGroup(RequestContext&, const json::value&);
Result<json::value> listGroupsForUser(RequestContext&, const json::value&);
Result<json::value> createAccessKey(RequestContext&, const json::value&);
Result<json::value> listAccessKeys(RequestContext&, const json::value&);
Result<json::value> updateAccessKey(RequestContext&, const json::value&);
Result<json::value> deleteAccessKey(RequestContext&, const json::value&);
Result<json::value> getAccessKeyLastUsed(RequestContext&, const json::value&);

// Handlers (roles.cc).
Result<json::value> createRole(RequestContext&, const json::value&);
Result<json::value> getRole(RequestContext&, const json::value&);
Result<json::value> listRoles(RequestContext&, const json::value&);
Result<json::value> updateRole(RequestContext&, const json::value&);
Result<json::value> deleteRole(RequestContext&, const json::value&);
Result<json::value> updateAssumeRolePolicy(RequestContext&, const json::value&);

// Handlers (mfa.cc).
Result<json::value> createVirtualMfaDevice(RequestContext&, const json::value&);
Result<json::value> enableMfaDevice(RequestContext&, const json::value&);
Result<json::value> deactivateMfaDevice(RequestContext&, const json::value&);
/// ResyncMFADevice: two consecutive codes re-learn the device's clock drift.
Result<json::value> resyncMfaDevice(RequestContext&, const json::value&);
Result<json::value> deleteVirtualMfaDevice(RequestContext&, const json::value&);
Result<json::value> listMfaDevices(RequestContext&, const json::value&);
Result<json::value> listVirtualMfaDevices(RequestContext&, const json::value&);
/// Checks a TokenCode against the caller's own MFA device `serial` at `now` and spends it (a
/// code is accepted once): AccessDenied with AWS's message otherwise. Used by STS.
Result<void> verifyMfaCode(store::Tx& tx, const crypto::Barrier& barrier,
                           const runtime::Principal& caller, const std::string& serial,
                           const std::string& code, SysTime now);

// Handlers (policies.cc).
Result<json::value> createPolicy(RequestContext&, const json::value&);
Result<json::value> getPolicy(RequestContext&, const json::value&);
Result<json::value> listPolicies(RequestContext&, const json::value&);
Result<json::value> deletePolicy(RequestContext&, const json::value&);
Result<json::value> createPolicyVersion(RequestContext&, const json::value&);
Result<json::value> getPolicyVersion(RequestContext&, const json::value&);
Result<json::value> listPolicyVersions(RequestContext&, const json::value&);
Result<json::value> deletePolicyVersion(RequestContext&, const json::value&);
Result<json::value> setDefaultPolicyVersion(RequestContext&, const json::value&);
Result<json::value> listEntitiesForPolicy(RequestContext&, const json::value&);
Result<json::value> getAccountAuthorizationDetails(RequestContext&, const json::value&);
/// Attach/Detach/ListAttached for kind "user" / "group" / "role".
Result<json::value> attachPolicy(const std::string& kind, RequestContext&, const json::value&);
Result<json::value> detachPolicy(const std::string& kind, RequestContext&, const json::value&);
Result<json::value> listAttached(const std::string& kind, RequestContext&, const json::value&);
/// Put/Get/Delete/List of inline policies for kind "user" / "group" / "role".
Result<json::value> putInline(const std::string& kind, RequestContext&, const json::value&);
Result<json::value> getInline(const std::string& kind, RequestContext&, const json::value&);
Result<json::value> deleteInline(const std::string& kind, RequestContext&, const json::value&);
Result<json::value> listInline(const std::string& kind, RequestContext&, const json::value&);
/// Put/Delete of a permissions boundary for kind "user" / "role".
Result<json::value> putBoundary(const std::string& kind, RequestContext&, const json::value&);
Result<json::value> deleteBoundary(const std::string& kind, RequestContext&, const json::value&);

/// Whether a policy ARN may serve as a boundary (exists); NoSuchEntity otherwise.
Result<void> checkBoundary(store::Tx& tx, const std::string& account, const std::string& arn);

/// Capitalized kind for AWS's input member names: "User", "Group", "Role".
std::string kindTitle(const std::string& kind);

/// Creates the organization access role (`role_name`, OrganizationAccountAccessRole unless
/// CreateAccount's RoleName says otherwise) in `account_id`: trusted by `management_account`,
/// AdministratorAccess attached (org_role.cc; used by Organizations CreateAccount).
Result<void> createOrganizationAccountAccessRole(
    store::Tx& tx, const std::string& account_id, const std::string& management_account,
    SysTime now, const std::string& role_name = "OrganizationAccountAccessRole");

/// Which IAM condition keys an operation sets (condition_keys.cc).
struct AuthKeyFlags {
  bool boundary_from_input = false;  ///< iam:PermissionsBoundary = the input's PermissionsBoundary
  bool boundary_of_entity = false;   ///< iam:PermissionsBoundary = the entity's current boundary
  bool policy_arn = false;           ///< iam:PolicyARN = the input's PolicyArn
};
/// The auth_inputs of an operation on the entity of `kind` ("user", "role", "group"; "" = none)
/// named by the input member `name_member`: the flags' keys, plus aws:ResourceTag/<key> and
/// iam:ResourceTag/<key> for each tag of an existing user or role.
runtime::AuthInputsFn authKeys(std::string kind, std::string name_member, AuthKeyFlags flags);

// Handlers (simulator.cc).
/// SimulatePrincipalPolicy: a user's, group's or role's policies (plus PolicyInputList) judged
/// by the enforcement evaluator.
Result<json::value> simulatePrincipalPolicy(RequestContext&, const json::value&);
/// SimulateCustomPolicy: policies given inline (identity, boundary, resource).
Result<json::value> simulateCustomPolicy(RequestContext&, const json::value&);

}  // namespace citadel::iamsvc
