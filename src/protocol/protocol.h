#pragma once
/// The wire-protocol layer: find the operation, parse + validate the input into a document,
/// serialize an output document or an AwsError, all by walking the botocore model.
///
/// Document conventions (the "document" handlers see and return, a boost::json::value):
///   structure -> object keyed by model member names (absent members are absent)
///   list -> array; map -> object; string/enum -> string; boolean -> bool
///   integer/long -> int64; float/double -> double; bigdecimal -> string
///   blob -> string holding the raw bytes (not base64)
///   timestamp -> double, seconds since the epoch (fraction = milliseconds)
///   document (smithy document type) -> any JSON value as is

#include <boost/json/fwd.hpp>
#include <map>
#include <string>

#include "core/http_message.h"
#include "core/result.h"
#include "protocol/model.h"

namespace citadel::protocol {

/// The operation a request addresses and how it was spoken.
struct OperationMatch {
  const Operation* op = nullptr;
  Protocol protocol = Protocol::kJson;
  std::map<std::string, std::string> uri_labels;  ///< rest protocols: decoded {Label} values
};

/// Detects the protocol used by the request among those the service speaks and finds the
/// operation: X-Amz-Target (json), Action= (query/ec2, body or query string), the smithy
/// rpc-v2 path /service/<svc>/operation/<op> (cbor), method + URI template (rest-*).
/// Unknown operations answer the protocol's unknown-operation error.
Result<OperationMatch> matchOperation(const ServiceModel& model, const HttpRequest& req);

/// Parses the request into the input document and validates it against the input shape
/// (required, min/max length and value, enum, pattern) with AWS's error codes.
Result<boost::json::value> parseInput(const ServiceModel& model, const OperationMatch& match,
                                      const HttpRequest& req);

/// Writes a successful response for the output document (may be null when no output shape).
void serializeOutput(const ServiceModel& model, const OperationMatch& match,
                     const boost::json::value& output, const std::string& request_id,
                     HttpResponse& resp);

/// Writes an error response exactly as the protocol renders errors, with the request id header.
/// `op` may be nullptr (the operation is unknown).
void serializeError(const ServiceModel& model, Protocol protocol, const Operation* op,
                    const AwsError& error, const std::string& request_id, HttpResponse& resp);

/// Writes an error when not even the service is known (no model): `style` picks the body
/// format — kJson for JSON-looking requests, kRestXml for S3-like, kQuery otherwise.
void serializeBareError(Protocol style, const AwsError& error, const std::string& request_id,
                        HttpResponse& resp);

/// CloudTrail's view of a document: member names in lowerCamelCase as CloudTrail prints them,
/// sensitive members (the model's `sensitive` trait on the member or its shape) replaced by
/// "HIDDEN_DUE_TO_SECURITY_REASONS", blobs omitted, timestamps as CloudTrail's text form.
boost::json::value toCloudTrailView(const Shape* shape, const boost::json::value& doc);

}  // namespace citadel::protocol
