#pragma once
/// Shared pieces of the Organizations service: the organization row, ARNs, AWS's errors and
/// the handler declarations the registration (service.cc) maps to operations.

#include <boost/json.hpp>
#include <optional>
#include <string>

#include "core/result.h"
#include "runtime/context.h"
#include "runtime/registry.h"
#include "store/store.h"

namespace citadel::runtime {
class Services;
}  // namespace citadel::runtime

namespace citadel::orgs {

namespace json = boost::json;
using runtime::RequestContext;

/// An organization.
struct Org {
  std::string id;  ///< o-xxxxxxxxxx
  std::string management_account;
  std::string root_id;  ///< r-xxxx
  std::string feature_set;
};

/// A root, OU or account an SCP can be attached to (or a parent/child).
struct Target {
  std::string id;
  std::string type;  ///< "ROOT" / "ORGANIZATIONAL_UNIT" / "ACCOUNT"
  std::string name;
  std::string arn;
};

/// An error of the service's own vocabulary (HTTP 400).
AwsError orgError(std::string code, std::string message);
/// ConstraintViolationException with its Reason.
AwsError constraintViolation(std::string reason, std::string message);

/// The caller's organization, or AWSOrganizationsNotInUseException.
Result<Org> requireOrg(RequestContext& ctx);
/// The caller's organization when the caller is its management account, or
/// AccessDeniedException (AWSOrganizationsNotInUseException outside any organization).
Result<Org> requireManagement(RequestContext& ctx);
/// A root, OU or account of the organization by id, or nullopt.
std::optional<Target> findTarget(store::Tx& tx, const Org& org, const std::string& id);
/// The ARN of an organization resource: arn:aws:organizations::<management>:<suffix>.
std::string orgArn(const Org& org, const std::string& suffix);
/// Drops the enforcement cache once the request's transaction commits.
void invalidateAfterCommit(RequestContext& ctx);
/// The member as a string ("" when absent).
std::string str(const json::value& in, const char* member);
/// MaxResults/NextToken paging of a whole listing: `list_name` holds at most MaxResults
/// (default 20) items from NextToken's position on, and NextToken is set when more remain.
/// InvalidInputException (INVALID_PAGINATION_TOKEN) for a token this listing did not issue.
Result<json::value> paged(const char* list_name, json::array items, const json::value& in);

// Handlers (organization.cc).
Result<json::value> createOrganization(RequestContext&, const json::value&);
Result<json::value> describeOrganization(RequestContext&, const json::value&);
Result<json::value> deleteOrganization(RequestContext&, const json::value&);
Result<json::value> listRoots(RequestContext&, const json::value&);
Result<json::value> createAccount(RequestContext&, const json::value&);
Result<json::value> describeCreateAccountStatus(RequestContext&, const json::value&);
Result<json::value> listCreateAccountStatus(RequestContext&, const json::value&);
Result<json::value> listAccounts(RequestContext&, const json::value&);
Result<json::value> describeAccount(RequestContext&, const json::value&);
Result<json::value> listAccountsForParent(RequestContext&, const json::value&);
Result<json::value> createOrganizationalUnit(RequestContext&, const json::value&);
Result<json::value> describeOrganizationalUnit(RequestContext&, const json::value&);
Result<json::value> updateOrganizationalUnit(RequestContext&, const json::value&);
Result<json::value> deleteOrganizationalUnit(RequestContext&, const json::value&);
Result<json::value> listOrganizationalUnitsForParent(RequestContext&, const json::value&);
Result<json::value> moveAccount(RequestContext&, const json::value&);
Result<json::value> listParents(RequestContext&, const json::value&);
Result<json::value> listChildren(RequestContext&, const json::value&);
Result<json::value> enableAwsServiceAccess(RequestContext&, const json::value&);
Result<json::value> disableAwsServiceAccess(RequestContext&, const json::value&);
Result<json::value> listAwsServiceAccess(RequestContext&, const json::value&);
Result<json::value> registerDelegatedAdministrator(RequestContext&, const json::value&);
Result<json::value> deregisterDelegatedAdministrator(RequestContext&, const json::value&);
Result<json::value> listDelegatedAdministrators(RequestContext&, const json::value&);

// Handlers (policies.cc).
Result<json::value> createPolicy(RequestContext&, const json::value&);
Result<json::value> describePolicy(RequestContext&, const json::value&);
Result<json::value> listPolicies(RequestContext&, const json::value&);
Result<json::value> updatePolicy(RequestContext&, const json::value&);
Result<json::value> deletePolicy(RequestContext&, const json::value&);
Result<json::value> attachPolicy(RequestContext&, const json::value&);
Result<json::value> detachPolicy(RequestContext&, const json::value&);
Result<json::value> listPoliciesForTarget(RequestContext&, const json::value&);
Result<json::value> listTargetsForPolicy(RequestContext&, const json::value&);

/// The auth_inputs of an operation: organizations:PolicyType (from Type / Filter, or the
/// addressed PolicyId's type) and organizations:ServicePrincipal (from ServicePrincipal).
runtime::AuthInputsFn conditionKeys(bool policy_type, bool service_principal);

/// Attaches the organization's FullAWSAccess SCP to a new root, OU or account.
void attachFullAccess(store::Tx& tx, const Org& org, const std::string& target_id);
/// The scheduler job kind that completes a CreateAccount request.
inline constexpr const char* kCreateAccountJob = "organizations.CreateAccount";
/// Registers the CreateAccount job with the scheduler (service init).
void registerCreateAccountJob(runtime::Services& services);

/// Creates the organization's copy of the AWS managed FullAWSAccess SCP.
void insertFullAccessPolicy(store::Tx& tx, const Org& org);

}  // namespace citadel::orgs
