#pragma once
/// Small, allocation-frugal XML helpers shared by the query, ec2 and rest-xml serializers:
/// escaping straight into an output buffer, scalar formatting, and a model-driven writer that
/// renders a document value as botocore's XML parser expects it. Not for use outside
/// src/protocol.

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <string>

#include "core/result.h"
#include <string_view>

#include "protocol/model.h"

namespace citadel::protocol::detail {

/// How a timestamp travels as text.
enum class TimestampFormat { kIso8601, kRfc822, kUnix };

/// Appends `s` escaped for XML character data or attribute values (same escapes as
/// citadel::xmlEscape) without a temporary string.
void appendXmlEscaped(std::string& out, std::string_view s);

/// Appends a signed integer in decimal.
void appendInt(std::string& out, int64_t v);

/// Writes `<Code>..</Code><Message>..</Message>` and then each AwsError::extra field as an
/// element: the part every XML error body (query, ec2, S3) shares.
void appendErrorFields(std::string& out, const AwsError& error);

/// Appends a double in the shortest form that reads back the same ("NaN", "Infinity" and
/// "-Infinity" for the non-finite values, as botocore writes and reads them).
void appendDouble(std::string& out, double v);

/// Appends epoch seconds as "2026-11-28T16:02:10.123Z" (ISO 8601 with milliseconds, as AWS).
void appendIso8601Millis(std::string& out, double epoch_seconds);

/// Appends a timestamp in the given format.
void appendTimestamp(std::string& out, double epoch_seconds, TimestampFormat fmt);

/// The timestamp format in force for a member: its own override, its shape's, else `dflt`.
TimestampFormat timestampFormatOf(const Member* m, const Shape& shape, TimestampFormat dflt);

/// The XML element name botocore uses for a member: the member's locationName, else the
/// target shape's locationName, else the member name (traits merge as in botocore).
std::string_view xmlMemberName(const Member& m);

/// True when a list or map member is serialized without a wrapper element.
inline bool isFlattened(const Member& m) { return m.flattened || m.shape->flattened; }

/// The element name for the items of a flattened list member (the list member's name when
/// given, else the member's own element name).
std::string_view flattenedItemName(const Member& m);

/// Writes member `m` holding `v` (a document value of m.shape) as XML element(s) into `out`:
/// structures recursively with xmlAttribute members as attributes and xmlNamespace declared,
/// lists wrapped in <member>/locationName or flattened, maps as <entry><key/><value/></entry>,
/// scalars as text. Timestamps default to ISO 8601 with milliseconds.
void writeXmlMember(std::string& out, const Member& m, const boost::json::value& v);

/// Writes an element `name` for structure shape `s` from object value `v`, declaring
/// `namespace_uri` (if not empty) as the default namespace. Only members located in the body
/// are written.
void writeXmlStructure(std::string& out, std::string_view name, const Shape& s,
                       const boost::json::value& v, std::string_view namespace_uri,
                       std::string_view namespace_prefix = {});

/// Writes the members of structure `s` (body members only) from object `v`, without a wrapper.
void writeXmlStructureMembers(std::string& out, const Shape& s, const boost::json::value& v);

}  // namespace citadel::protocol::detail
