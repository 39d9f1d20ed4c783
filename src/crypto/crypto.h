#pragma once
/// Small OpenSSL 3 wrappers used across layers (hashes, MACs, randomness).

#include <string>
#include <string_view>

namespace citadel::crypto {

/// SHA-256 digest (32 raw bytes).
std::string sha256(std::string_view data);
/// Lower-case hex SHA-256.
std::string sha256Hex(std::string_view data);
/// HMAC-SHA256 (32 raw bytes).
std::string hmacSha256(std::string_view key, std::string_view data);
/// n bytes from OpenSSL's DRBG.
std::string randomBytes(size_t n);
/// Constant-time equality of two byte strings (length may differ: then false).
bool constantTimeEqual(std::string_view a, std::string_view b);
/// Overwrites the string's bytes with zeros (OPENSSL_cleanse) then clears it.
void wipe(std::string& s);

}  // namespace citadel::crypto
