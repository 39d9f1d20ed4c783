#pragma once
/// Invocable functions: the one interface through which a service runs "a Lambda function"
/// (Secrets Manager rotation, and later Lambda Invoke, S3 Object Lambda, Config custom rules).
///
/// A function is addressed by a Lambda-style ARN
///   arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
/// (or, as Lambda's FunctionName accepts, `<account>:function:<name>` or a bare `<name>`,
/// completed with the caller's region and account). It receives a JSON event and returns a
/// JSON result, exactly as a Lambda handler does.
///
/// Built-in functions exist in every account and region under a reserved name:
///   arn:aws:lambda:<region>:<account>:function:citadel-builtin-postgresql-single-user
///   arn:aws:lambda:<region>:<account>:function:citadel-builtin-postgresql-alternating-users
/// (Secrets Manager rotation functions for PostgreSQL; src/services/functions/). Other
/// functions (user Lambda functions) come from a resolver the Lambda service installs.

#include <boost/json/value.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "runtime/context.h"

namespace citadel::runtime {

class Services;

/// Secret versions as a rotation function reaches them: the few Secrets Manager operations an
/// AWS rotation Lambda calls (DescribeSecret, GetSecretValue, PutSecretValue,
/// UpdateSecretVersionStage, GetRandomPassword), with the same semantics and error codes.
/// Secrets Manager implements it for the secret being rotated (and lends it to the function
/// for one invocation); a secret id is an ARN or a name, as the API accepts.
///
/// INVARIANT (as AWS, which the rotation templates rely on): before invoking the function for
/// the first step (createSecret) Secrets Manager has created the version `ClientRequestToken`
/// with the label AWSPENDING and no value yet, and describe() reports RotationEnabled = true
/// while the rotation runs. getValue() of that placeholder is ResourceNotFoundException until
/// putPending() gives it a value.
class SecretVersions {
 public:
  /// DescribeSecret's answer, the parts a rotation function reads.
  struct Description {
    std::string arn;
    bool rotation_enabled = false;
    /// VersionIdsToStages: version id -> its staging labels.
    std::map<std::string, std::vector<std::string>> version_stages;
  };

  virtual ~SecretVersions() = default;

  /// DescribeSecret. Unknown secret: ResourceNotFoundException.
  virtual Result<Description> describe(const std::string& secret_id) = 0;
  /// GetSecretValue's SecretString by version id and/or staging label (one may be empty; with
  /// both, the version must carry the label). No such version or label, or a secret without
  /// SecretString: ResourceNotFoundException.
  virtual Result<std::string> getValue(const std::string& secret_id, const std::string& version_id,
                                       const std::string& stage) = 0;
  /// PutSecretValue(SecretId, ClientRequestToken = token, SecretString,
  /// VersionStages = [AWSPENDING]): idempotent for the same token and value; the same token
  /// with another value is ResourceExistsException.
  virtual Result<void> putPending(const std::string& secret_id, const std::string& token,
                                  const std::string& secret_string) = 0;
  /// UpdateSecretVersionStage(SecretId, VersionStage = stage, MoveToVersionId,
  /// RemoveFromVersionId): moving AWSCURRENT also moves AWSPREVIOUS to the version that lost
  /// AWSCURRENT, as AWS does. A stage attached to a version other than RemoveFromVersionId is
  /// InvalidParameterException.
  virtual Result<void> updateStage(const std::string& secret_id, const std::string& stage,
                                   const std::string& move_to_version_id,
                                   const std::string& remove_from_version_id) = 0;
  /// GetRandomPassword(ExcludeCharacters = exclude_characters), every other option at its
  /// default (32 characters, each of upper, lower, digit, punctuation at least once). The
  /// default implementation is generatePassword(); Secrets Manager may route it to its own
  /// GetRandomPassword.
  virtual Result<std::string> randomPassword(const std::string& exclude_characters);
};

/// A GetRandomPassword-style password from OpenSSL's DRBG: `length` characters from upper,
/// lower, digits and punctuation (the 32 printable ASCII punctuation characters) minus
/// `exclude_characters`, with at least one character of each class that is not excluded
/// entirely. ValidationException when nothing is left to draw from or `length` is too small.
Result<std::string> generatePassword(std::string_view exclude_characters, size_t length = 32);

/// What the invoker lends a function for one invocation (null = not available).
struct InvocationClients {
  /// Set by Secrets Manager when it invokes a rotation function.
  SecretVersions* secrets = nullptr;
};

/// Everything a function sees besides its event.
struct Invocation {
  Services* services = nullptr;
  const RequestContext* caller = nullptr;  ///< the invoking request (or scheduler job)
  std::string function_arn;                ///< the resolved, unqualified function ARN
  std::string function_name;
  std::string region;  ///< the function's region and account (from its ARN)
  std::string account_id;
  InvocationClients clients;
};

/// A function's code: event in, result out. A failure is an AwsError whose code is the
/// function's errorType ("ValueError", "KeyError", "ResourceNotFoundException" ...), whose
/// message names what failed (never a secret value), and whose `extra` carries
/// {"FunctionError", "Unhandled"} as Lambda's Invoke reports it.
using FunctionHandler =
    std::function<Result<boost::json::value>(const Invocation&, const boost::json::value& event)>;

/// A built-in function's declaration.
struct BuiltinFunction {
  std::string name;         ///< "citadel-builtin-postgresql-single-user"
  std::string description;  ///< one line, for GetFunction/ListFunctions later
  FunctionHandler handler;
};

/// Global list of built-in functions (filled before main by CITADEL_REGISTER_FUNCTION).
std::vector<BuiltinFunction>& builtinFunctions();

/// Static registration of a built-in function.
struct FunctionRegistrar {
  explicit FunctionRegistrar(BuiltinFunction (*make)()) { builtinFunctions().push_back(make()); }
};

/// Finds a non built-in function (installed by the Lambda service): the unqualified function
/// ARN and the qualifier ("" / "$LATEST" / version / alias) in, its code out (nullopt =
/// no such function).
using FunctionResolver = std::function<std::optional<FunctionHandler>(
    Services&, const std::string& function_arn, const std::string& qualifier)>;
/// Installs (or, with an empty function, removes) the resolver consulted after the built-ins.
void setFunctionResolver(FunctionResolver resolver);

/// The ARN of a function name in an account and region: arn:aws:lambda:R:A:function:NAME.
std::string functionArn(const std::string& region, const std::string& account_id,
                        const std::string& name);

/// The parts of a function reference (full ARN, partial ARN or name, with optional qualifier),
/// completed with the default region and account. ValidationException when malformed.
struct FunctionRef {
  std::string region;
  std::string account_id;
  std::string name;
  std::string qualifier;  ///< empty when none was given
  /// arn:aws:lambda:<region>:<account>:function:<name> (without the qualifier).
  std::string arn() const { return functionArn(region, account_id, name); }
};
/// Parses a function reference; `region` and `account_id` complete partial references.
Result<FunctionRef> parseFunctionRef(const std::string& ref, const std::string& region,
                                     const std::string& account_id);

/// Invokes a function synchronously (Lambda's RequestResponse) with nothing lent.
/// Unknown function: ResourceNotFoundException "Function not found: <arn>" (HTTP 404).
Result<boost::json::value> invoke(Services& services, const RequestContext& caller,
                                  const std::string& function_arn, const boost::json::value& event);
/// Invokes a function synchronously, lending it `clients` for this invocation.
Result<boost::json::value> invoke(Services& services, const RequestContext& caller,
                                  const std::string& function_arn, const boost::json::value& event,
                                  const InvocationClients& clients);

/// The error a function returns: code = errorType, message as given, `extra` FunctionError =
/// Unhandled, http_status 200 (Lambda's Invoke answers a function's failure with 200 and the
/// X-Amz-Function-Error header; a caller such as Secrets Manager maps it to its own error).
AwsError functionError(std::string error_type, std::string message);

}  // namespace citadel::runtime

#define CITADEL_REGISTER_FUNCTION(make_fn)                                                 \
  static ::citadel::runtime::FunctionRegistrar CITADEL_CONCAT(citadel_function_registrar_, \
                                                              __LINE__)(make_fn)
