// HOTP/TOTP (RFC 4226 / RFC 6238, HMAC-SHA1) and RFC 4648 Base32.
#include "auth/totp.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto/crypto.h"

namespace citadel::auth {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int base32Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}
}  // namespace

std::string base32Encode(std::string_view bytes, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 4) / 5 * 8);
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  if (pad)
    while (out.size() % 8 != 0) out.push_back('=');
  return out;
}

std::optional<std::string> base32Decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  // Lengths mod 8 that full bytes can produce: 0, 2, 4, 5, 7.
  switch (text.size() % 8) {
    case 1:
    case 3:
    case 6:
      return std::nullopt;
    default:
      break;
  }
  std::string out;
  out.reserve(text.size() * 5 / 8);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = base32Value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  // Leftover bits must be zero (canonical encoding).
  if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string hotp(std::string_view key, uint64_t counter, int digits) {
  unsigned char msg[8];
  for (int i = 7; i >= 0; --i) {
    msg[i] = static_cast<unsigned char>(counter & 0xff);
    counter >>= 8;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), msg, sizeof msg, mac, &mac_len);
  const int offset = mac[mac_len - 1] & 0x0f;
  const uint32_t binary = (static_cast<uint32_t>(mac[offset] & 0x7f) << 24) |
                          (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                          (static_cast<uint32_t>(mac[offset + 2]) << 8) |
                          static_cast<uint32_t>(mac[offset + 3]);
  uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  std::string out = std::to_string(binary % modulus);
  if (static_cast<int>(out.size()) < digits) out.insert(0, digits - out.size(), '0');
  return out;
}

int64_t totpStep(SysTime t) {
  const int64_t secs =
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  return secs >= 0 ? secs / kTotpStepSeconds : (secs - kTotpStepSeconds + 1) / kTotpStepSeconds;
}

std::string totpAt(std::string_view key, int64_t step, int digits) {
  return hotp(key, static_cast<uint64_t>(step), digits);
}

std::optional<int64_t> totpMatch(std::string_view key, std::string_view code, SysTime now,
                                 int behind, int ahead) {
  const int64_t current = totpStep(now);
  std::optional<int64_t> found;
  // Every candidate is computed and compared, so the time taken does not reveal which matched.
  for (int64_t s = current - behind; s <= current + ahead; ++s) {
    if (s < 0) continue;
    if (crypto::constantTimeEqual(totpAt(key, s, static_cast<int>(code.size())), code) && !found)
      found = s;
  }
  if (code.empty()) return std::nullopt;
  return found;
}

}  // namespace citadel::auth
