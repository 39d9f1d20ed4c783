#include "crypto/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "core/encoding.h"

namespace citadel::crypto {
namespace {

// Explicitly fetched algorithms, once per process: implicit fetching (EVP_sha256(), HMAC())
// repeats a provider lookup on every call, which shows on the SigV4 hot path.
const EVP_MD* sha256Md() {
  static EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!m) throw std::runtime_error("OpenSSL: SHA256 unavailable");
    return m;
  }();
  return md;
}

EVP_MAC* hmacAlgorithm() {
  static EVP_MAC* mac = [] {
    EVP_MAC* m = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (!m) throw std::runtime_error("OpenSSL: HMAC unavailable");
    return m;
  }();
  return mac;
}

}  // namespace

std::string sha256(std::string_view data) {
  std::string out(32, '\0');
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
                 sha256Md(), nullptr) != 1 ||
      len != 32)
    throw std::runtime_error("OpenSSL: SHA256 failed");
  return out;
}

std::string sha256Hex(std::string_view data) { return hexEncode(sha256(data)); }

std::string hmacSha256(std::string_view key, std::string_view data) {
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmacAlgorithm());
  if (!ctx) throw std::runtime_error("OpenSSL: EVP_MAC_CTX_new failed");
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                         OSSL_PARAM_construct_end()};
  std::string out(32, '\0');
  size_t len = 0;
  // An empty key is legal for HMAC; OpenSSL wants a non-null pointer.
  static const unsigned char kEmpty = 0;
  const auto* key_ptr = key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  bool ok =
      EVP_MAC_init(ctx, key_ptr, key.size(), params) == 1 &&
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
      EVP_MAC_final(ctx, reinterpret_cast<unsigned char*>(out.data()), &len, out.size()) == 1 &&
      len == 32;
  EVP_MAC_CTX_free(ctx);
  if (!ok) throw std::runtime_error("OpenSSL: HMAC-SHA256 failed");
  return out;
}

std::string randomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("OpenSSL: RAND_bytes failed");
  return out;
}

bool constantTimeEqual(std::string_view a, std::string_view b) {
  // The length is not secret (signatures and MACs have fixed, public sizes).
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace citadel::crypto
