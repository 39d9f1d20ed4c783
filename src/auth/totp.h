#pragma once
/// One-time passwords for virtual MFA devices: HOTP (RFC 4226) and TOTP (RFC 6238) with
/// HMAC-SHA1, and the Base32 text (RFC 4648) authenticator apps exchange seeds in.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/time.h"

namespace citadel::auth {

/// The TOTP time step, in seconds (RFC 6238's default, the one AWS's virtual devices use).
inline constexpr int64_t kTotpStepSeconds = 30;

/// RFC 4648 Base32 (upper-case alphabet A-Z2-7) with '=' padding when `pad`.
std::string base32Encode(std::string_view bytes, bool pad = true);
/// Decodes Base32 text (case-insensitive, padding optional); nullopt on any other character or
/// an impossible length.
std::optional<std::string> base32Decode(std::string_view text);

/// HOTP value of `counter` under `key` (HMAC-SHA1, dynamic truncation), `digits` long with
/// leading zeros.
std::string hotp(std::string_view key, uint64_t counter, int digits = 6);
/// The TOTP time step a moment falls in: floor(unix seconds / 30).
int64_t totpStep(SysTime t);
/// The TOTP code of a time step.
std::string totpAt(std::string_view key, int64_t step, int digits = 6);

/// The time step within [step(now) - behind, step(now) + ahead] whose code equals `code`
/// (compared in constant time), or nullopt.
std::optional<int64_t> totpMatch(std::string_view key, std::string_view code, SysTime now,
                                 int behind = 1, int ahead = 1);

}  // namespace citadel::auth
