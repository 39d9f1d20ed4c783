#pragma once
/// Per-protocol entry points used by protocol.cc. Not for use outside src/protocol.

#include <boost/json/fwd.hpp>
#include <string>

#include "protocol/protocol.h"

namespace citadel::protocol::detail {

// Validation shared by every protocol (validate.cc).
Result<void> validateInput(const ServiceModel& model, const Shape* shape,
                           const boost::json::value& doc);

// json 1.0/1.1 and rest-json (json_protocol.cc)
Result<boost::json::value> parseJsonInput(const ServiceModel&, const OperationMatch&,
                                          const HttpRequest&);
void serializeJsonOutput(const ServiceModel&, const OperationMatch&, const boost::json::value&,
                         HttpResponse&);
void serializeJsonError(const ServiceModel*, Protocol, const AwsError&, HttpResponse&);

// smithy-rpc-v2-cbor (cbor_protocol.cc; the codec in cbor.h)
Result<boost::json::value> parseCborInput(const ServiceModel&, const OperationMatch&,
                                          const HttpRequest&);
void serializeCborOutput(const ServiceModel&, const OperationMatch&, const boost::json::value&,
                         HttpResponse&);
void serializeCborError(const ServiceModel*, const AwsError&, HttpResponse&);

// query and ec2 (query_protocol.cc)
Result<boost::json::value> parseQueryInput(const ServiceModel&, const OperationMatch&,
                                           const HttpRequest&);
void serializeQueryOutput(const ServiceModel&, const OperationMatch&, const boost::json::value&,
                          const std::string& request_id, HttpResponse&);
void serializeQueryError(const ServiceModel*, Protocol, const AwsError&,
                         const std::string& request_id, HttpResponse&);

// rest-xml (rest_xml_protocol.cc)
Result<boost::json::value> parseRestXmlInput(const ServiceModel&, const OperationMatch&,
                                             const HttpRequest&);
void serializeRestXmlOutput(const ServiceModel&, const OperationMatch&, const boost::json::value&,
                            HttpResponse&);
void serializeRestXmlError(const ServiceModel*, const AwsError&, const std::string& request_id,
                           HttpResponse&);

// rest bindings shared by rest-json and rest-xml (rest_bindings.cc): URI labels, query string,
// headers and prefix headers into the document; and back onto the response.
Result<void> bindRestInput(const ServiceModel&, const OperationMatch&, const HttpRequest&,
                           boost::json::object& doc);
void bindRestOutput(const ServiceModel&, const Shape* output, const boost::json::value& doc,
                    HttpResponse&);

}  // namespace citadel::protocol::detail
