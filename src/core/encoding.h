#pragma once
/// Byte encodings used across layers: hex, base64, URI percent-encoding, UTF-8 checks.

#include <optional>
#include <string>
#include <string_view>

namespace citadel {

std::string hexEncode(std::string_view bytes);
std::optional<std::string> hexDecode(std::string_view hex);
std::string base64Encode(std::string_view bytes);
/// Standard alphabet, padding optional; nullopt on invalid input.
std::optional<std::string> base64Decode(std::string_view text);
/// AWS SigV4 URI encoding: unreserved A-Za-z0-9-_.~ kept; '/' kept when encode_slash=false.
std::string uriEncode(std::string_view s, bool encode_slash = true);
/// Percent-decoding; '+' becomes ' ' only when plus_is_space. nullopt on bad escapes.
std::optional<std::string> percentDecode(std::string_view s, bool plus_is_space);
/// True when s is well-formed UTF-8 (no overlongs, no surrogates).
bool isValidUtf8(std::string_view s);
/// Escapes text for XML character data and attribute values.
std::string xmlEscape(std::string_view s);
/// ASCII lower-case copy.
std::string toLower(std::string_view s);
/// Trims ASCII whitespace both ends.
std::string_view trim(std::string_view s);

}  // namespace citadel
