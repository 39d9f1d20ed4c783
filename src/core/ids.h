#pragma once
/// Identifiers: request ids, UUIDs, random strings (not for key material).

#include <string>

namespace citadel {

/// A random version-4 UUID, lower-case, as AWS request ids look.
std::string newUuid();
/// Random upper-case alphanumeric string of n characters.
std::string randomUpperAlnum(size_t n);
/// Random string from the given alphabet.
std::string randomFrom(const std::string& alphabet, size_t n);

}  // namespace citadel
