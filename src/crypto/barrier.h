#pragma once
/// The barrier: the only place that sees the root key. Seals secret fields with AES-256-GCM,
/// bound to the record they belong to by the AAD (e.g. the record's ARN and version).
/// Sealed form: version byte | key term (4 bytes BE) | 12-byte nonce | ciphertext | 16-byte tag.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace citadel::crypto {

class Barrier {
 public:
  /// A barrier over a 32-byte root key. Throws std::invalid_argument on another size.
  explicit Barrier(std::string root_key, uint32_t key_term = 1);
  ~Barrier();
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  /// Encrypts plaintext bound to aad.
  std::string seal(std::string_view plaintext, std::string_view aad) const;
  /// Decrypts; nullopt when the blob was tampered with, the aad differs or the key is wrong.
  std::optional<std::string> open(std::string_view sealed, std::string_view aad) const;

  /// Loads the root key: from the environment variable CITADEL_ROOT_KEY (base64 of 32 bytes)
  /// if set, else from `path` (created with 0600 and 32 random bytes when missing; refused
  /// when its permissions let group/other read it). Throws std::runtime_error with a message.
  static std::unique_ptr<Barrier> loadOrCreate(const std::string& path);

 private:
  std::string key_;
  uint32_t term_;
};

}  // namespace citadel::crypto
