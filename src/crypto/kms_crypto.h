#pragma once
/// KMS cryptography: asymmetric key pairs, signatures, RSA/SM2 encryption, ECDH, HMAC and the
/// unwrapping/validation of imported key material. A pure library (no state, no I/O): every
/// function takes the key material it needs and answers a Result whose AwsError a KMS handler
/// can return as is (AWS's exception names; messages in AWS's form where AWS's text is known).
///
/// Names are the botocore KMS enum spellings: KeySpec ("RSA_2048", "ECC_NIST_P256", "SM2",
/// "HMAC_256" ...), SigningAlgorithmSpec, EncryptionAlgorithmSpec, MacAlgorithmSpec,
/// KeyAgreementAlgorithmSpec, AlgorithmSpec (import wrapping), KeyUsageType.
///
/// Key encodings: private keys are PKCS#8 PrivateKeyInfo DER; public keys are X.509
/// SubjectPublicKeyInfo DER (what GetPublicKey returns). Outputs holding secrets are the
/// caller's to wipe (crypto::wipe); every intermediate secret buffer is cleansed here.

#include <string>
#include <vector>

#include "core/result.h"

namespace citadel::crypto::kms {

/// Sign/Verify MessageType. EXTERNAL_MU (ML-DSA only) is not representable: see parseMessageType.
enum class MessageType { kRaw, kDigest };

/// Maps "RAW"/"DIGEST" (empty means RAW, AWS's default). "EXTERNAL_MU" answers
/// UnsupportedOperationException (ML-DSA needs OpenSSL 3.5); anything else ValidationException.
Result<MessageType> parseMessageType(const std::string& message_type);

/// An asymmetric key pair: PKCS#8 DER private key and SubjectPublicKeyInfo DER public key.
/// INVARIANT: private_pkcs8 is secret; wipe it (crypto::wipe) when it is no longer needed.
struct KeyPairDer {
  std::string private_pkcs8;  ///< PKCS#8 PrivateKeyInfo, DER
  std::string public_spki;    ///< X.509 SubjectPublicKeyInfo, DER
};

/// The algorithm lists DescribeKey/GetPublicKey report for a key spec and key usage; exactly the
/// list matching the usage is non-empty.
struct KeyAlgorithms {
  std::vector<std::string> signing;        ///< SigningAlgorithms (SIGN_VERIFY)
  std::vector<std::string> encryption;     ///< EncryptionAlgorithms (ENCRYPT_DECRYPT)
  std::vector<std::string> mac;            ///< MacAlgorithms (GENERATE_VERIFY_MAC)
  std::vector<std::string> key_agreement;  ///< KeyAgreementAlgorithms (KEY_AGREEMENT)
};

/// Parsed keys are kept in a process-wide cache (least recently used out, 1024 keys, indexed by
/// the SHA-256 of their DER) because OpenSSL 3.0 takes milliseconds to decode a key. Drops
/// every cached key (their private parts are cleared): call when key material is deleted or
/// expires, so that it leaves memory at once.
void clearKeyCache();

// --- key specs and usages --------------------------------------------------------------------

/// True when key_spec is one of the botocore KeySpec values (including ML-DSA ones).
bool isKnownKeySpec(const std::string& key_spec);

/// The key usages AWS allows for a key spec, in AWS's order (e.g. RSA_2048 →
/// ENCRYPT_DECRYPT, SIGN_VERIFY). Empty for an unknown spec.
std::vector<std::string> keyUsagesFor(const std::string& key_spec);

/// Ok when CreateKey may combine key_spec and key_usage; ValidationException otherwise.
/// ML-DSA specs answer UnsupportedOperationException (they need OpenSSL 3.5).
Result<void> checkKeyUsage(const std::string& key_spec, const std::string& key_usage);

/// The algorithms of a key spec used with key_usage (checkKeyUsage's errors otherwise).
Result<KeyAlgorithms> algorithmsFor(const std::string& key_spec, const std::string& key_usage);

/// Ok when `algorithm` (signing, encryption, MAC or key agreement) belongs to key_spec;
/// otherwise InvalidKeyUsageException "Algorithm X is incompatible with key spec Y.".
Result<void> checkAlgorithm(const std::string& key_spec, const std::string& algorithm);

// --- key generation --------------------------------------------------------------------------

/// A new key pair for RSA_2048/3072/4096, ECC_NIST_P256/P384/P521, ECC_SECG_P256K1,
/// ECC_NIST_EDWARDS25519 or SM2 (also the DataKeyPairSpec and WrappingKeySpec values).
/// ML-DSA specs: UnsupportedOperationException; other specs: ValidationException.
Result<KeyPairDer> generateKeyPair(const std::string& key_spec);

/// Secret key material of a symmetric spec: SYMMETRIC_DEFAULT 32 bytes, HMAC_224/256/384/512
/// 28/32/48/64 bytes (as AWS generates them). ValidationException for other specs.
Result<std::string> generateSecretKey(const std::string& key_spec);

/// The SubjectPublicKeyInfo DER of a PKCS#8 DER private key (InternalFailure if unparsable).
Result<std::string> publicKeyFromPrivate(const std::string& private_der);

/// The KeySpec name of a PKCS#8 private or SPKI public key ("RSA_3072", "ECC_SECG_P256K1" ...);
/// ValidationException when the key is unparsable or of a type KMS does not know.
Result<std::string> keySpecOfKey(const std::string& der);

// --- signatures ------------------------------------------------------------------------------

/// Signs `message` (≤ 4096 bytes) with a PKCS#8 DER private key of key_spec.
/// RSASSA_PSS_* (MGF1 with the same hash, salt length = digest length), RSASSA_PKCS1_V1_5_*,
/// ECDSA_SHA_* (DER-encoded signature; the hash must be the curve's as KMS requires),
/// SM2DSA (SM3, distinguishing ID 1234567812345678 for RAW; for DIGEST the message is
/// e = SM3(Z_A || M)), ED25519_SHA_512 (RAW only). ED25519_PH_SHA_512 answers
/// UnsupportedOperationException (OpenSSL 3.0 has no Ed25519ph).
/// Errors: InvalidKeyUsageException for an algorithm the spec does not allow;
/// ValidationException "Digest is invalid length for algorithm X." for a DIGEST of the wrong
/// size, "Message type DIGEST is incompatible with algorithm ED25519_SHA_512.".
Result<std::string> sign(const std::string& private_der, const std::string& key_spec,
                         const std::string& signing_algorithm, const std::string& message,
                         MessageType message_type);

/// Verifies `signature` over `message` with the key of key_spec (SPKI DER public key, or the
/// PKCS#8 DER private key). Same argument errors as sign; a signature that does not verify
/// (including a malformed one) answers KMSInvalidSignatureException.
Result<void> verify(const std::string& key_der, const std::string& key_spec,
                    const std::string& signing_algorithm, const std::string& message,
                    MessageType message_type, const std::string& signature);

// --- asymmetric encryption -------------------------------------------------------------------

/// The largest plaintext AWS accepts for key_spec with an encryption algorithm
/// (RSA: modulus - 2 * hash - 2, e.g. RSA_2048 with RSAES_OAEP_SHA_256: 190; SM2PKE: 1024);
/// 0 when the pair is not valid.
size_t maxPlaintextLength(const std::string& key_spec, const std::string& encryption_algorithm);

/// RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256 (MGF1 with the same hash, empty label) under an RSA key
/// (SPKI DER or PKCS#8 DER). ValidationException when the plaintext exceeds the AWS limit.
Result<std::string> rsaEncrypt(const std::string& key_der, const std::string& encryption_algorithm,
                               const std::string& plaintext);

/// Inverse of rsaEncrypt with the PKCS#8 DER private key; InvalidCiphertextException when the
/// ciphertext does not decrypt. The result is secret: wipe it when done.
Result<std::string> rsaDecrypt(const std::string& private_der,
                               const std::string& encryption_algorithm,
                               const std::string& ciphertext);

/// SM2PKE (GM/T 0003.4 with SM3; ASN.1 DER ciphertext C1 C3 C2) under an SM2 key.
Result<std::string> sm2Encrypt(const std::string& key_der, const std::string& plaintext);

/// Inverse of sm2Encrypt; InvalidCiphertextException when the ciphertext does not decrypt.
Result<std::string> sm2Decrypt(const std::string& private_der, const std::string& ciphertext);

/// Encrypt with an asymmetric KMS key: checks the algorithm against key_spec
/// (InvalidKeyUsageException, e.g. SYMMETRIC_DEFAULT with RSA_2048) then rsaEncrypt/sm2Encrypt.
Result<std::string> asymmetricEncrypt(const std::string& key_der, const std::string& key_spec,
                                      const std::string& encryption_algorithm,
                                      const std::string& plaintext);

/// Decrypt with an asymmetric KMS key (checks as asymmetricEncrypt).
Result<std::string> asymmetricDecrypt(const std::string& private_der, const std::string& key_spec,
                                      const std::string& encryption_algorithm,
                                      const std::string& ciphertext);

// --- key agreement ---------------------------------------------------------------------------

/// ECDH raw shared secret (the x-coordinate, no KDF) between a PKCS#8 DER private key of
/// ECC_NIST_P256/P384/P521 or SM2 and the peer's SPKI DER public key on the same curve.
/// InvalidKeyUsageException for another key type; ValidationException for a peer key that is
/// not a valid SPKI of the same curve. The result is secret: wipe it when done.
Result<std::string> deriveSharedSecret(const std::string& private_der,
                                       const std::string& peer_public_der);

// --- HMAC ------------------------------------------------------------------------------------

/// HMAC (RFC 2104) of message with HMAC_SHA_224/256/384/512; ValidationException for another
/// algorithm name.
Result<std::string> hmac(const std::string& mac_algorithm, const std::string& key,
                         const std::string& message);

/// Recomputes the HMAC and compares in constant time; KMSInvalidMacException on mismatch.
Result<void> verifyMac(const std::string& mac_algorithm, const std::string& key,
                       const std::string& message, const std::string& mac);

// --- imported key material -------------------------------------------------------------------

/// Decrypts EncryptedKeyMaterial with the import's wrapping private key (PKCS#8 DER):
/// RSAES_OAEP_SHA_1/256 (material encrypted directly), RSA_AES_KEY_WRAP_SHA_1/256 (an RSA-OAEP
/// encrypted ephemeral AES key, modulus-sized, followed by the material wrapped with AES key
/// wrap with padding, RFC 5649), SM2PKE (SM2 wrapping key). RSAES_PKCS1_V1_5:
/// UnsupportedOperationException (no longer supported by AWS). Anything that does not decrypt:
/// InvalidCiphertextException. The result is secret: wipe it when done.
Result<std::string> unwrapImportedMaterial(const std::string& wrapping_private_der,
                                           const std::string& wrapping_algorithm,
                                           const std::string& encrypted);

/// Checks unwrapped key material against the KMS key's spec: SYMMETRIC_DEFAULT 32 bytes;
/// HMAC_224 28–64, HMAC_256 32–64, HMAC_384 48–128, HMAC_512 64–128 bytes; asymmetric specs a
/// consistent PKCS#8 DER private key of that type, size or curve. ValidationException otherwise.
Result<void> validateImportedMaterial(const std::string& key_spec, const std::string& material);

}  // namespace citadel::crypto::kms
