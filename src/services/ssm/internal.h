#pragma once
/// Shared pieces of the SSM Parameter Store service: the parameter records, AWS's name, label,
/// tier and policy rules, the store access with its metadata cache, events, and the handler
/// declarations the registration (service.cc) maps to operations.

#include <boost/json.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "runtime/context.h"
#include "store/store.h"

namespace citadel::runtime {
class Services;
}  // namespace citadel::runtime

namespace citadel::ssm {

namespace json = boost::json;
using runtime::RequestContext;

/// The parameter-policy kinds Parameter Store supports.
enum class PolicyType { kExpiration, kExpirationNotification, kNoChangeNotification };

/// One validated parameter policy.
struct Policy {
  PolicyType type;
  std::string text;     ///< the policy as the caller wrote it (PolicyText)
  SysTime timestamp{};  ///< Expiration
  int64_t amount = 0;   ///< Before (ExpirationNotification) / After (NoChangeNotification)
  std::string unit;     ///< "Days" / "Hours"
  /// amount x unit in milliseconds.
  int64_t periodMillis() const { return amount * (unit == "Hours" ? 3600000LL : 86400000LL); }
};

/// One version of a parameter (a row of ssm_versions; the latest also in ssm_parameters).
struct ParamRecord {
  std::string name;
  int64_t version = 0;
  std::string type;       ///< String / StringList / SecureString
  std::string value;      ///< SecureString: base64 of the KMS ciphertext blob
  std::string key_id;     ///< SecureString: KeyId as given, or "alias/aws/ssm"
  std::string tier;       ///< Standard / Advanced
  std::string data_type;  ///< text / aws:ec2:image / aws:ssm:integration
  std::string description;
  std::string allowed_pattern;
  std::string policies;  ///< JSON array text as given ("" = none)
  int64_t modified_ms = 0;
  std::string modified_user;
  std::vector<std::string> labels;
  bool is_public = false;  ///< an AWS public parameter (/aws/service/...)
};

/// The latest version of a parameter plus its tags (what the metadata cache holds).
struct CurrentParam {
  ParamRecord rec;
  std::vector<std::pair<std::string, std::string>> tags;
};

// ---- rules (model.cc) ---------------------------------------------------------------------

/// An error of the service's own vocabulary (HTTP 400).
AwsError ssmError(std::string code, std::string message);
/// ValidationException with `message`.
AwsError validation(std::string message);
/// ParameterNotFound for `name` (AWS's text).
AwsError parameterNotFound(std::string_view name);

/// The parameter ARN: arn:aws:ssm:<region>:<account>:parameter/<name without leading '/'>.
std::string parameterArn(std::string_view account, std::string_view region, std::string_view name);
/// A Name member as a parameter name: the name itself, or the name inside a parameter ARN.
std::string nameFromInput(std::string_view name_or_arn);
/// AWS's name rules for a parameter created by PutParameter (characters, reserved prefixes,
/// 15 hierarchy levels, length). AccessDeniedException for names under /aws/.
Result<void> validateNewName(std::string_view name);
/// Hierarchy levels of a name ("/a/b/c" = 3, "x" = 1).
int hierarchyLevels(std::string_view name);
/// Splits "name:selector"; selector "" when absent. ValidationException for two colons.
struct Selector {
  std::string name;
  std::string selector;  ///< "" / "3" / "label"
  std::optional<int64_t> version;
};
Result<Selector> parseSelector(std::string_view text);
/// AWS's label rule: 1-100 characters of [a-zA-Z0-9_.-], not starting with a digit, "aws" or
/// "ssm" (case-insensitive).
bool validLabel(std::string_view label);
/// Parses and validates a Policies document (InvalidPolicyTypeException,
/// InvalidPolicyAttributeException, IncompatiblePolicyException,
/// PoliciesLimitExceededException).
Result<std::vector<Policy>> parsePolicies(std::string_view text, SysTime now);
/// AWS's aws:ec2:image value format (ami-xxxxxxxx or ami-xxxxxxxxxxxxxxxxx).
bool validAmiId(std::string_view value);
/// Full-match of `value` against AllowedPattern; nullopt when the pattern is invalid.
std::optional<bool> matchesPattern(const std::string& pattern, const std::string& value);
/// Value size limits in bytes per tier.
inline constexpr size_t kStandardMaxBytes = 4096;
inline constexpr size_t kAdvancedMaxBytes = 8192;
/// Standard parameters per account and region.
inline constexpr int64_t kStandardQuota = 10000;
/// Versions kept per parameter.
inline constexpr int64_t kMaxVersions = 100;
/// Labels per version.
inline constexpr size_t kMaxLabelsPerVersion = 10;
/// Tags per parameter.
inline constexpr size_t kMaxTags = 50;

// ---- public parameters (public.cc) --------------------------------------------------------

/// True for names under /aws/service/ (AWS's public parameters).
bool isPublicName(std::string_view name);
/// The public parameter `name` in `region`, or nullopt.
std::optional<ParamRecord> publicParameter(std::string_view region, std::string_view name);
/// The public parameters whose names are under `path` ("/aws/service/..."): recursive or
/// one level.
std::vector<ParamRecord> publicParametersByPath(std::string_view region, std::string_view path,
                                                bool recursive);

// ---- store and cache (repo.cc) ------------------------------------------------------------

/// The latest version of (account, region, name) with its tags, from the metadata cache or
/// the store (then cached). Null when absent.
std::shared_ptr<const CurrentParam> loadCurrent(RequestContext& ctx, const std::string& name);
/// The same from an explicit transaction, bypassing the cache (writes, jobs).
std::optional<CurrentParam> loadCurrentTx(store::Tx& tx, const std::string& account,
                                          const std::string& region, const std::string& name);
/// One version (with its labels), or nullopt.
std::optional<ParamRecord> loadVersion(store::Tx& tx, const std::string& account,
                                       const std::string& region, const std::string& name,
                                       int64_t version);
/// The version a label is attached to, or nullopt.
std::optional<int64_t> versionOfLabel(store::Tx& tx, const std::string& account,
                                      const std::string& region, const std::string& name,
                                      const std::string& label);
/// Every version of a parameter, oldest first, with labels.
std::vector<ParamRecord> loadHistory(store::Tx& tx, const std::string& account,
                                     const std::string& region, const std::string& name);
/// Every current parameter of (account, region) whose name starts with `prefix`, by name.
std::vector<CurrentParam> listCurrent(store::Tx& tx, const std::string& account,
                                      const std::string& region, const std::string& prefix);
/// Writes a new version (and the current row), in `tx`.
void writeVersion(store::Tx& tx, const std::string& account, const std::string& region,
                  const ParamRecord& rec);
/// Deletes a parameter with its versions, labels, tags and policy jobs, in `tx`.
void deleteParam(runtime::Services& s, store::Tx& tx, const std::string& account,
                 const std::string& region, const std::string& name);
/// Drops the cache entry of (account, region, name) once `tx` commits.
void invalidateAfterCommit(store::Tx& tx, const std::string& account, const std::string& region,
                           const std::string& name);
/// Drops the whole cache (state reset).
void clearCache();
/// Standard-tier parameters of (account, region).
int64_t countStandard(store::Tx& tx, const std::string& account, const std::string& region);

// ---- events and policies (policies.cc) ----------------------------------------------------

/// Appends a "Parameter Store Change" event (operation Create / Update / Delete /
/// LabelParameterVersion) to the outbox in `tx`.
void changeEvent(store::Tx& tx, const std::string& account, const std::string& region,
                 const ParamRecord& rec, const char* operation);
/// (Re)schedules the policy jobs of a parameter after a change (cancels those no longer set).
void schedulePolicies(runtime::Services& s, store::Tx& tx, const std::string& account,
                      const std::string& region, const ParamRecord& rec);
/// Cancels every policy job of a parameter.
void cancelPolicies(runtime::Services& s, store::Tx& tx, const std::string& account,
                    const std::string& region, const std::string& name);
/// Registers the policy job kinds (service init).
void registerPolicyJobs(runtime::Services& s);
/// The Policies member of ParameterMetadata / ParameterHistory.
json::array policiesDoc(const std::string& policies, int64_t modified_ms);

/// Job kinds.
inline constexpr const char* kExpirationJob = "ssm.Expiration";
inline constexpr const char* kExpirationNotificationJob = "ssm.ExpirationNotification";
inline constexpr const char* kNoChangeJob = "ssm.NoChangeNotification";

// ---- handlers -----------------------------------------------------------------------------

Result<json::value> putParameter(RequestContext&, const json::value&);
Result<json::value> getParameter(RequestContext&, const json::value&);
Result<json::value> getParameters(RequestContext&, const json::value&);
Result<json::value> getParametersByPath(RequestContext&, const json::value&);
Result<json::value> getParameterHistory(RequestContext&, const json::value&);
Result<json::value> describeParameters(RequestContext&, const json::value&);
Result<json::value> deleteParameter(RequestContext&, const json::value&);
Result<json::value> deleteParameters(RequestContext&, const json::value&);
Result<json::value> labelParameterVersion(RequestContext&, const json::value&);
Result<json::value> unlabelParameterVersion(RequestContext&, const json::value&);
Result<json::value> addTagsToResource(RequestContext&, const json::value&);
Result<json::value> removeTagsFromResource(RequestContext&, const json::value&);
Result<json::value> listTagsForResource(RequestContext&, const json::value&);

/// The schema (component "ssm") plus the event outbox's.
std::vector<store::Migration> migrations();

/// MaxResults/NextToken paging of a whole listing: `list_name` holds at most MaxResults
/// (default `default_max`) items from NextToken's position on; NextToken is set when more
/// remain. ValidationException for a token this listing (`kind`) did not issue.
Result<json::value> pageOf(const char* list_name, json::array items, const json::value& in,
                           size_t default_max, const char* kind);

/// The member as a string ("" when absent).
std::string str(const json::value& in, const char* member);
/// The member as a bool (false when absent).
bool flag(const json::value& in, const char* member);

}  // namespace citadel::ssm
