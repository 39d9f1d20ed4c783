#pragma once
/// Identifiers: request ids, UUIDs, random strings (not for key material).

#include <cstdint>
#include <string>

namespace citadel {

/// A random version-4 UUID, lower-case, as AWS request ids look.
std::string newUuid();
/// A version-7 UUID (RFC 9562): time-ordered, so ids made in sequence land at the end of an
/// index instead of on a random page (CloudTrail event ids: cheaper inserts).
std::string newTimeOrderedUuid(int64_t epoch_millis);
/// Random upper-case alphanumeric string of n characters.
std::string randomUpperAlnum(size_t n);
/// Random string from the given alphabet.
std::string randomFrom(const std::string& alphabet, size_t n);

}  // namespace citadel
