#pragma once
/// PKCS#11 client for KMS custom key stores: a loaded module (one per path, shared), a logged-in
/// token connection with a small session pool, and the few operations KMS needs (non-extractable
/// AES-256 keys, AES-GCM inside the token, the token's random generator).
///
/// Errors are AwsError values with KMS's codes:
/// - CloudHsmClusterNotFoundException: the module path cannot be loaded, or no token has the
///   label (the message names the path or the label).
/// - CustomKeyStoreInvalidStateException: wrong or locked PIN, token not initialised, the
///   connection was disconnected or lost its login.
/// - CloudHsmClusterNotActiveException: the device went away (token removed, device error).
/// - NotFoundException: no key with that id in the token.
/// - InvalidCiphertextException: decryption failed authentication (wrong tag, AAD, IV or key),
///   or the IV / ciphertext has an impossible length.
/// - ValidationException: a malformed key id.
/// - KMSInternalException: any other PKCS#11 failure (the message names the function and CKR_*).
/// Connection failures also carry `extra` = {"ConnectionErrorCode", <AWS ConnectionErrorCode>}
/// (INVALID_CREDENTIALS, USER_LOCKED_OUT, CLUSTER_NOT_FOUND, NETWORK_ERRORS, INTERNAL_ERROR) so
/// that KMS can record it on the custom key store. No PIN ever appears in a message or log.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace citadel::crypto {

/// Key of `AwsError::extra` that carries the AWS ConnectionErrorCode of a connection failure.
inline constexpr std::string_view kConnectionErrorCodeField = "ConnectionErrorCode";

/// A loaded and initialised PKCS#11 module (dlopen + C_GetFunctionList + C_Initialize with
/// CKF_OS_LOCKING_OK). Thread-safe. C_Finalize and dlclose when the last reference goes.
class Pkcs11Module {
 public:
  /// The module for `path`, shared by every caller that names the same file (symlinks are
  /// resolved). Loads and initialises it on first use.
  static Result<std::shared_ptr<Pkcs11Module>> load(const std::string& path);

  ~Pkcs11Module();
  Pkcs11Module(const Pkcs11Module&) = delete;
  Pkcs11Module& operator=(const Pkcs11Module&) = delete;

  /// The resolved path of the module file.
  const std::string& path() const;
  /// The library description and version the module reports (C_GetInfo), e.g. for logs.
  std::string description() const;

  /// Implementation (pimpl: no PKCS#11 header in this file).
  struct Impl;
  /// Internal: the implementation, for Pkcs11Token.
  Impl& impl() const { return *impl_; }

 private:
  explicit Pkcs11Module(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Attributes of a key found in the token.
struct Pkcs11KeyInfo {
  std::string id;           ///< the stable id generateAesKey returned (lower-case hex of CKA_ID)
  std::string label;        ///< CKA_LABEL
  bool sensitive = false;   ///< CKA_SENSITIVE
  bool extractable = true;  ///< CKA_EXTRACTABLE
  bool always_sensitive = false;   ///< CKA_ALWAYS_SENSITIVE
  bool never_extractable = false;  ///< CKA_NEVER_EXTRACTABLE
  size_t value_len = 0;            ///< CKA_VALUE_LEN (bytes)
};

/// Result of an AES-GCM encryption inside the token.
struct Pkcs11Ciphertext {
  std::string iv;          ///< 12 bytes, from the token's random generator
  std::string ciphertext;  ///< ciphertext followed by the 16-byte tag
};

/// A connection to one token (a KMS custom key store): logged in as CKU_USER, with a small pool
/// of sessions so that several threads can use it at once. Thread-safe.
class Pkcs11Token {
 public:
  /// Size of the IV encrypt() produces and decrypt() expects.
  static constexpr size_t kIvSize = 12;
  /// Size of the GCM tag appended to the ciphertext.
  static constexpr size_t kTagSize = 16;

  /// Finds the token labelled `token_label` in `module` and logs in with the user `pin`.
  /// `max_sessions` (at least 1) bounds the pool; callers beyond it wait for a free session.
  static Result<std::unique_ptr<Pkcs11Token>> connect(std::shared_ptr<Pkcs11Module> module,
                                                      std::string_view token_label,
                                                      std::string_view pin,
                                                      size_t max_sessions = 4);

  /// Disconnects (as disconnect()).
  ~Pkcs11Token();
  Pkcs11Token(const Pkcs11Token&) = delete;
  Pkcs11Token& operator=(const Pkcs11Token&) = delete;

  /// Waits for operations in flight, closes the sessions and logs out when this was the last
  /// connection of the process to the token. Later calls answer
  /// CustomKeyStoreInvalidStateException. Idempotent.
  void disconnect();
  /// True until disconnect().
  bool connected() const;
  /// The token label this connection was opened with.
  const std::string& label() const;

  /// Generates an AES-256 key inside the token (CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE true,
  /// CKA_EXTRACTABLE false, encrypt/decrypt only) labelled `label`, and returns its stable id
  /// (32 lower-case hex characters, stored as the 16-byte CKA_ID).
  Result<std::string> generateAesKey(std::string_view label);
  /// The key with this id, or NotFoundException.
  Result<Pkcs11KeyInfo> findKey(std::string_view id);
  /// Destroys the key with this id (NotFoundException when there is none).
  Result<void> destroyKey(std::string_view id);

  /// AES-256-GCM encryption with key `id` inside the token; `aad` is authenticated, not
  /// encrypted.
  Result<Pkcs11Ciphertext> encrypt(std::string_view id, std::string_view plaintext,
                                   std::string_view aad);
  /// AES-256-GCM decryption with key `id` inside the token. `ciphertext` ends with the tag.
  /// A wrong tag, IV, AAD or key answers InvalidCiphertextException.
  Result<std::string> decrypt(std::string_view id, std::string_view iv, std::string_view ciphertext,
                              std::string_view aad);
  /// `n` bytes from the token's random generator (C_GenerateRandom).
  Result<std::string> generateRandom(size_t n);

  /// Implementation (pimpl: no PKCS#11 header in this file).
  struct Impl;

 private:
  explicit Pkcs11Token(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace citadel::crypto
