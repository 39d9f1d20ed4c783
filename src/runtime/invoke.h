#pragma once
/// The authorization step shared by the pipeline and service-to-service calls, and the call
/// itself: one service running another service's operation on behalf of the original caller
/// (Secrets Manager and SSM calling KMS), authorized and recorded in CloudTrail as AWS does
/// for forward access sessions.
///
/// AWS: https://docs.aws.amazon.com/IAM/latest/UserGuide/access_forward_access_sessions.html

#include <boost/json/fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "runtime/context.h"
#include "runtime/registry.h"

namespace citadel::protocol {
struct Operation;
}

namespace citadel::runtime {

/// The IAM action of an operation: its declared iam_action, else "<prefix>:<Operation>" with
/// the service's iam_prefix (or, when empty, the model's endpoint prefix).
std::string iamActionOf(const ServiceSpec& spec, const OperationSpec& ospec,
                        std::string_view endpoint_prefix, std::string_view operation);

/// Authorizes one operation as the pipeline does (its step 6): nothing when there is no
/// authorizer or the operation is not subject to IAM; otherwise the operation's auth_inputs
/// (when set; its error is returned as is), plus the request's tag keys (addRequestTagKeys,
/// when `op` is known), then services.authorizer. The AccessDenied error is returned with
/// code "AccessDenied"; the caller renders it per protocol. No allocation beyond the
/// authorizer's own when the operation has neither auth_inputs nor tags in its input.
Result<void> authorizeOperation(const RequestContext& ctx, const OperationSpec& ospec,
                                const protocol::Operation* op, const boost::json::value& input,
                                const std::string& action,
                                const std::vector<std::string>& resources);

/// "kms:ViaService"-style value of a calling service: "secretsmanager.amazonaws.com" in
/// region "us-east-1" gives "secretsmanager.us-east-1.amazonaws.com".
std::string viaServiceEndpoint(std::string_view via_service, std::string_view region);

/// Runs `operation` of the service declared with botocore model `model` as `caller`'s
/// principal, invoked by the AWS service `via_service` ("secretsmanager.amazonaws.com").
///
/// The inner request is a new RequestContext: a new request id, the caller's principal with
/// principal.invoked_by = via_service (so aws:ViaAWSService is "true" and aws:CalledVia is
/// [via_service]), the caller's account, region and time, source IP and user agent =
/// via_service (AWS prints both so), no HTTP request (no TLS details, no VPC keys), and
/// via_service = viaServiceEndpoint(via_service, region) for the target's AuthInputs
/// (kms:ViaService). The input is not validated against the model (the calling service
/// builds it). Then, as the pipeline: resources, authorizeOperation, the handler, and a
/// CloudTrail record of the inner event whose userIdentity is the caller's with "invokedBy".
/// Throttling does not apply.
///
/// Transactions:
///  - When the caller is a mutating request (caller.read_only false: its tx() is a write
///    transaction), the inner operation runs in the caller's transaction (begun if not yet),
///    inside a savepoint: on success its audit record is appended in that transaction, so it
///    commits (or rolls back) with the caller's change in one commit; on an inner error the
///    savepoint is rolled back (the caller's own earlier writes stay) and the error event is
///    enqueued (recorded even if the caller then fails).
///  - Otherwise the inner operation has its own transaction (a write one unless the target is
///    read-only), committed with its audit record on success (read-only: rolled back and the
///    record enqueued), rolled back on error (the error event enqueued). The caller's read
///    transaction, if open, stays open; on the in-memory store (one connection) a read-only
///    caller must not hold a transaction open while it invokes a mutating operation.
///
/// Errors: the target's error as the target's clients would see it (an inner denial is
/// "AccessDeniedException" for JSON-protocol targets, "AccessDenied" for the others, with
/// AWS's message naming the caller); InternalFailure when the service or operation is not
/// declared. store::StoreError propagates (after the caller's transaction is handed back),
/// as on the pipeline's path.
Result<boost::json::value> invokeAs(RequestContext& caller, std::string_view model,
                                    std::string_view operation, boost::json::value input,
                                    std::string_view via_service);

}  // namespace citadel::runtime
