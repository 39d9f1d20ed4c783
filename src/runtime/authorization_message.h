#pragma once
/// Encoded authorization failure messages: the decision details EC2-style services append to
/// their access-denied messages ("Encoded authorization failure message: <token>") and
/// sts:DecodeAuthorizationMessage turns back into AWS's JSON document. The token is the
/// document sealed by the barrier and bound to the caller's account, so it is opaque, cannot be
/// altered, and decodes only in that account.
///
/// AWS: https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace citadel::crypto {
class Barrier;
}

namespace citadel::iam {
struct EvalRequest;
struct EvalResult;
}  // namespace citadel::iam

namespace citadel::runtime {

/// What precedes the token in an access-denied message.
inline constexpr std::string_view kEncodedMessageMarker = "Encoded authorization failure message: ";

/// Whether denials of the service with IAM prefix `service` ("kms") carry an encoded message,
/// given the configured list (IAM prefixes, or "all").
bool encodesAuthorizationMessages(const std::vector<std::string>& services,
                                  std::string_view service);

/// AWS's decoded document of a decision: allowed, explicitDeny, matchedStatements (the
/// statements the evaluator reports: the deciding deny statements, or the allowing ones),
/// failures, and the context (principal id and ARN, action, resource, condition keys).
/// `principal_id` is the caller's unique id (aws:userid). The request's policies must be alive.
std::string authorizationDecisionDocument(const iam::EvalRequest& request,
                                          const iam::EvalResult& result,
                                          std::string_view principal_id);

/// The token for a decision: its document sealed under the barrier, bound to `account_id`,
/// as base64url text (at most DecodeAuthorizationMessage's 10,240 characters: the condition
/// keys are left out of a document too large for that).
std::string encodeAuthorizationMessage(const crypto::Barrier& barrier, std::string_view account_id,
                                       const iam::EvalRequest& request,
                                       const iam::EvalResult& result,
                                       std::string_view principal_id);

/// Seals a document bound to `account_id` (base64url text).
std::string sealAuthorizationMessage(const crypto::Barrier& barrier, std::string_view account_id,
                                     std::string_view document);

/// The document of a token sealed for `account_id`; InvalidAuthorizationMessageException (400)
/// for text that is not a token, a token altered in any way, or one of another account.
Result<std::string> openAuthorizationMessage(const crypto::Barrier& barrier,
                                             std::string_view account_id, std::string_view token);

}  // namespace citadel::runtime
