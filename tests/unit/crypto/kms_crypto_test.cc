// Interoperability of the KMS primitives with the openssl command line: every signature,
// ciphertext, shared secret, MAC and wrapped key material crosses between this library and
// `openssl` in both directions where the CLI can produce it.

#include "crypto/kms_crypto.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "../temp_dir.h"
#include "core/encoding.h"
#include "crypto/crypto.h"

namespace citadel::crypto::kms {
namespace {

using citadel::testing::TempDir;

struct Cmd {
  int rc;
  std::string out;
};

// Runs a shell command (stderr folded into the output) and returns its exit code and output.
Cmd sh(const std::string& cmd) {
  std::string full = cmd + " 2>&1";
  FILE* f = popen(full.c_str(), "r");
  if (f == nullptr) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int status = pclose(f);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

void writeFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary)
      .write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A key pair of `spec` written as PEM files (priv.pem, pub.pem) for the openssl CLI.
struct KeyFiles {
  KeyPairDer der;
  std::string priv_pem;
  std::string pub_pem;
};

// One generated key pair per (spec, tag) for the whole test binary: RSA_4096 generation is slow.
Result<KeyPairDer> cachedPair(const std::string& spec, const std::string& tag) {
  static std::map<std::string, Result<KeyPairDer>> cache;
  auto it = cache.find(spec + "/" + tag);
  if (it == cache.end()) it = cache.emplace(spec + "/" + tag, generateKeyPair(spec)).first;
  return it->second;
}

KeyFiles keyFiles(const TempDir& dir, const std::string& spec, const std::string& tag = "k") {
  auto pair = cachedPair(spec, tag);
  EXPECT_TRUE(pair.ok()) << spec << ": " << (pair.ok() ? "" : pair.error().message);
  KeyFiles k{pair.ok() ? *pair : KeyPairDer{}, dir.file(tag + "-priv.pem"),
             dir.file(tag + "-pub.pem")};
  writeFile(dir.file(tag + "-priv.der"), k.der.private_pkcs8);
  writeFile(dir.file(tag + "-pub.der"), k.der.public_spki);
  EXPECT_EQ(
      sh("openssl pkey -inform DER -in " + dir.file(tag + "-priv.der") + " -out " + k.priv_pem).rc,
      0);
  EXPECT_EQ(
      sh("openssl pkey -pubin -inform DER -in " + dir.file(tag + "-pub.der") + " -out " + k.pub_pem)
          .rc,
      0);
  return k;
}

// The openssl spelling of an algorithm's digest.
std::string cliDigest(const std::string& alg) {
  if (alg.ends_with("SHA_256")) return "sha256";
  if (alg.ends_with("SHA_384")) return "sha384";
  if (alg.ends_with("SHA_512")) return "sha512";
  return "sm3";
}

std::string pssOpts(const std::string& alg, const std::string& flag) {
  if (!alg.starts_with("RSASSA_PSS")) return "";
  return " " + flag + " rsa_padding_mode:pss " + flag + " rsa_pss_saltlen:digest " + flag +
         " rsa_mgf1_md:" + cliDigest(alg);
}

const std::vector<std::pair<std::string, std::string>>& signingCases() {
  static const std::vector<std::pair<std::string, std::string>> cases = [] {
    std::vector<std::pair<std::string, std::string>> c;
    for (const char* spec : {"RSA_2048", "RSA_3072", "RSA_4096"})
      for (const char* alg :
           {"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
            "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"})
        c.emplace_back(spec, alg);
    c.emplace_back("ECC_NIST_P256", "ECDSA_SHA_256");
    c.emplace_back("ECC_NIST_P384", "ECDSA_SHA_384");
    c.emplace_back("ECC_NIST_P521", "ECDSA_SHA_512");
    c.emplace_back("ECC_SECG_P256K1", "ECDSA_SHA_256");
    c.emplace_back("SM2", "SM2DSA");
    c.emplace_back("ECC_NIST_EDWARDS25519", "ED25519_SHA_512");
    return c;
  }();
  return cases;
}

// --- keys --------------------------------------------------------------------------------------

TEST(KmsCryptoTest, GeneratedKeyPairsLoadInOpensslWithTheRightTypeAndSize) {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> expect = {
      {"RSA_2048", "Public-Key: (2048 bit)"},
      {"RSA_3072", "Public-Key: (3072 bit)"},
      {"RSA_4096", "Public-Key: (4096 bit)"},
      {"ECC_NIST_P256", "prime256v1"},
      {"ECC_NIST_P384", "secp384r1"},
      {"ECC_NIST_P521", "secp521r1"},
      {"ECC_SECG_P256K1", "secp256k1"},
      {"ECC_NIST_EDWARDS25519", "ED25519 Public-Key"},
      {"SM2", "SM2"}};
  for (const auto& [spec, text] : expect) {
    KeyFiles k = keyFiles(dir, spec);
    Cmd pub = sh("openssl pkey -pubin -in " + k.pub_pem + " -text -noout");
    EXPECT_EQ(pub.rc, 0) << spec;
    EXPECT_NE(pub.out.find(text), std::string::npos) << spec << "\n" << pub.out;
    // The private key is PKCS#8 ("PRIVATE KEY", not a traditional format) and consistent.
    EXPECT_NE(readFile(k.priv_pem).find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
    EXPECT_EQ(sh("openssl pkey -in " + k.priv_pem + " -check -noout").rc, 0) << spec;
    auto derived = publicKeyFromPrivate(k.der.private_pkcs8);
    ASSERT_TRUE(derived.ok()) << spec;
    EXPECT_EQ(*derived, k.der.public_spki) << spec;
    auto detected = keySpecOfKey(k.der.public_spki);
    ASSERT_TRUE(detected.ok());
    EXPECT_EQ(*detected, spec);
    EXPECT_EQ(*keySpecOfKey(k.der.private_pkcs8), spec);
  }
}

TEST(KmsCryptoTest, KeyPairGenerationRejectsOtherSpecs) {
  for (const char* spec : {"ML_DSA_44", "ML_DSA_65", "ML_DSA_87"}) {
    auto r = generateKeyPair(spec);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "UnsupportedOperationException");
    EXPECT_NE(r.error().message.find("requires OpenSSL 3.5"), std::string::npos);
  }
  for (const char* spec : {"SYMMETRIC_DEFAULT", "HMAC_256", "RSA_1024", ""}) {
    auto r = generateKeyPair(spec);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "ValidationException") << spec;
  }
}

TEST(KmsCryptoTest, SecretKeySizesMatchAws) {
  EXPECT_EQ(generateSecretKey("SYMMETRIC_DEFAULT")->size(), 32u);
  EXPECT_EQ(generateSecretKey("HMAC_224")->size(), 28u);
  EXPECT_EQ(generateSecretKey("HMAC_256")->size(), 32u);
  EXPECT_EQ(generateSecretKey("HMAC_384")->size(), 48u);
  EXPECT_EQ(generateSecretKey("HMAC_512")->size(), 64u);
  EXPECT_NE(*generateSecretKey("HMAC_256"), *generateSecretKey("HMAC_256"));
  EXPECT_EQ(generateSecretKey("RSA_2048").error().code, "ValidationException");
}

TEST(KmsCryptoTest, UsagesAndAlgorithmListsPerSpec) {
  EXPECT_EQ(keyUsagesFor("RSA_2048"), (std::vector<std::string>{"ENCRYPT_DECRYPT", "SIGN_VERIFY"}));
  EXPECT_EQ(keyUsagesFor("ECC_NIST_P256"),
            (std::vector<std::string>{"SIGN_VERIFY", "KEY_AGREEMENT"}));
  EXPECT_EQ(keyUsagesFor("ECC_SECG_P256K1"), (std::vector<std::string>{"SIGN_VERIFY"}));
  EXPECT_EQ(keyUsagesFor("SM2"),
            (std::vector<std::string>{"ENCRYPT_DECRYPT", "SIGN_VERIFY", "KEY_AGREEMENT"}));
  EXPECT_EQ(keyUsagesFor("HMAC_384"), (std::vector<std::string>{"GENERATE_VERIFY_MAC"}));
  EXPECT_TRUE(keyUsagesFor("NOPE").empty());

  auto rsa_sign = algorithmsFor("RSA_3072", "SIGN_VERIFY");
  ASSERT_TRUE(rsa_sign.ok());
  EXPECT_EQ(rsa_sign->signing.size(), 6u);
  EXPECT_TRUE(rsa_sign->encryption.empty());
  auto rsa_enc = algorithmsFor("RSA_3072", "ENCRYPT_DECRYPT");
  EXPECT_EQ(rsa_enc->encryption,
            (std::vector<std::string>{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}));
  EXPECT_TRUE(rsa_enc->signing.empty());
  EXPECT_EQ(algorithmsFor("ECC_NIST_P384", "SIGN_VERIFY")->signing,
            (std::vector<std::string>{"ECDSA_SHA_384"}));
  EXPECT_EQ(algorithmsFor("ECC_NIST_P521", "KEY_AGREEMENT")->key_agreement,
            (std::vector<std::string>{"ECDH"}));
  EXPECT_EQ(algorithmsFor("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")->signing,
            (std::vector<std::string>{"ED25519_SHA_512", "ED25519_PH_SHA_512"}));
  EXPECT_EQ(algorithmsFor("SM2", "ENCRYPT_DECRYPT")->encryption,
            (std::vector<std::string>{"SM2PKE"}));
  EXPECT_EQ(algorithmsFor("HMAC_224", "GENERATE_VERIFY_MAC")->mac,
            (std::vector<std::string>{"HMAC_SHA_224"}));
  EXPECT_EQ(algorithmsFor("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")->encryption,
            (std::vector<std::string>{"SYMMETRIC_DEFAULT"}));

  EXPECT_EQ(checkKeyUsage("ECC_SECG_P256K1", "KEY_AGREEMENT").error().code, "ValidationException");
  EXPECT_EQ(checkKeyUsage("ECC_NIST_P256", "ENCRYPT_DECRYPT").error().code, "ValidationException");
  EXPECT_EQ(checkKeyUsage("ML_DSA_65", "SIGN_VERIFY").error().code,
            "UnsupportedOperationException");
  EXPECT_TRUE(checkKeyUsage("SM2", "KEY_AGREEMENT").ok());

  EXPECT_TRUE(checkAlgorithm("HMAC_512", "HMAC_SHA_512").ok());
  auto bad = checkAlgorithm("HMAC_512", "HMAC_SHA_256");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "InvalidKeyUsageException");
  EXPECT_EQ(bad.error().message, "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_512.");
  EXPECT_EQ(checkAlgorithm("ECC_SECG_P256K1", "ECDH").error().code, "InvalidKeyUsageException");
  EXPECT_EQ(checkAlgorithm("RSA_2048", "SYMMETRIC_DEFAULT").error().code,
            "InvalidKeyUsageException");
}

// --- signatures ---------------------------------------------------------------------------------

TEST(KmsCryptoTest, RawSignaturesVerifyWithOpenssl) {
  TempDir dir;
  std::string message = "citadel signs this message\n" + randomBytes(200);
  std::string msg_file = dir.file("msg");
  writeFile(msg_file, message);
  std::string last_spec;
  KeyFiles k;
  for (const auto& [spec, alg] : signingCases()) {
    if (spec != last_spec) k = keyFiles(dir, spec), last_spec = spec;
    auto sig = sign(k.der.private_pkcs8, spec, alg, message, MessageType::kRaw);
    ASSERT_TRUE(sig.ok()) << spec << " " << alg << ": " << sig.error().message;
    std::string sig_file = dir.file("sig");
    writeFile(sig_file, *sig);
    Cmd v;
    if (alg == "ED25519_SHA_512") {
      v = sh("openssl pkeyutl -verify -pubin -inkey " + k.pub_pem + " -rawin -in " + msg_file +
             " -sigfile " + sig_file);
    } else if (alg == "SM2DSA") {
      v = sh("openssl dgst -sm3 -verify " + k.pub_pem +
             " -sigopt distid:1234567812345678 -signature " + sig_file + " " + msg_file);
    } else {
      v = sh("openssl dgst -" + cliDigest(alg) + pssOpts(alg, "-sigopt") + " -verify " + k.pub_pem +
             " -signature " + sig_file + " " + msg_file);
    }
    EXPECT_EQ(v.rc, 0) << spec << " " << alg << "\n" << v.out;
    // Our own verify accepts it from the public key and from the private key.
    EXPECT_TRUE(verify(k.der.public_spki, spec, alg, message, MessageType::kRaw, *sig).ok())
        << spec << " " << alg;
    EXPECT_TRUE(verify(k.der.private_pkcs8, spec, alg, message, MessageType::kRaw, *sig).ok());
  }
}

TEST(KmsCryptoTest, DigestSignaturesVerifyWithOpensslAndAsRaw) {
  TempDir dir;
  std::string message = "a message hashed by the client";
  writeFile(dir.file("msg"), message);
  std::string last_spec;
  KeyFiles k;
  for (const auto& [spec, alg] : signingCases()) {
    if (alg == "ED25519_SHA_512") continue;  // RAW only
    if (spec != last_spec) k = keyFiles(dir, spec), last_spec = spec;
    std::string d = cliDigest(alg);
    std::string digest;
    if (alg == "SM2DSA") {
      digest = randomBytes(32);  // stands for e = SM3(Z_A || M), computed by the client
      writeFile(dir.file("digest"), digest);
    } else {
      ASSERT_EQ(
          sh("openssl dgst -" + d + " -binary -out " + dir.file("digest") + " " + dir.file("msg"))
              .rc,
          0);
      digest = readFile(dir.file("digest"));
    }
    auto sig = sign(k.der.private_pkcs8, spec, alg, digest, MessageType::kDigest);
    ASSERT_TRUE(sig.ok()) << spec << " " << alg << ": " << sig.error().message;
    writeFile(dir.file("sig"), *sig);
    std::string opts = alg == "SM2DSA" ? "" : " -pkeyopt digest:" + d + pssOpts(alg, "-pkeyopt");
    Cmd v = sh("openssl pkeyutl -verify -pubin -inkey " + k.pub_pem + " -in " + dir.file("digest") +
               " -sigfile " + dir.file("sig") + opts);
    EXPECT_EQ(v.rc, 0) << spec << " " << alg << "\n" << v.out;
    EXPECT_TRUE(verify(k.der.public_spki, spec, alg, digest, MessageType::kDigest, *sig).ok());
    if (alg != "SM2DSA") {
      // A DIGEST signature is the signature of the message: it verifies as RAW too.
      EXPECT_TRUE(verify(k.der.public_spki, spec, alg, message, MessageType::kRaw, *sig).ok())
          << spec << " " << alg;
    }
  }
}

TEST(KmsCryptoTest, OpensslSignaturesVerifyWithOurs) {
  TempDir dir;
  std::string message = "signed by the openssl command line";
  std::string msg_file = dir.file("msg");
  writeFile(msg_file, message);
  std::string last_spec;
  KeyFiles k;
  for (const auto& [spec, alg] : signingCases()) {
    if (spec != last_spec) k = keyFiles(dir, spec), last_spec = spec;
    std::string sig_file = dir.file("osig");
    Cmd s;
    if (alg == "ED25519_SHA_512") {
      s = sh("openssl pkeyutl -sign -inkey " + k.priv_pem + " -rawin -in " + msg_file + " -out " +
             sig_file);
    } else if (alg == "SM2DSA") {
      s = sh("openssl dgst -sm3 -sign " + k.priv_pem + " -sigopt distid:1234567812345678 -out " +
             sig_file + " " + msg_file);
    } else {
      s = sh("openssl dgst -" + cliDigest(alg) + pssOpts(alg, "-sigopt") + " -sign " + k.priv_pem +
             " -out " + sig_file + " " + msg_file);
    }
    ASSERT_EQ(s.rc, 0) << spec << " " << alg << "\n" << s.out;
    std::string sig = readFile(sig_file);
    EXPECT_TRUE(verify(k.der.public_spki, spec, alg, message, MessageType::kRaw, sig).ok())
        << spec << " " << alg;
    // One flipped bit in the message fails as KMS does.
    std::string other = message;
    other[0] ^= 1;
    auto bad = verify(k.der.public_spki, spec, alg, other, MessageType::kRaw, sig);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, "KMSInvalidSignatureException");
  }
}

TEST(KmsCryptoTest, OpensslGeneratedKeysSignWithOurs) {
  TempDir dir;
  std::string message = "key made by openssl genpkey";
  writeFile(dir.file("msg"), message);
  struct Case {
    std::string spec, genpkey, alg;
  };
  for (const Case& c : std::vector<Case>{
           {"RSA_2048", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048", "RSASSA_PSS_SHA_256"},
           {"ECC_NIST_P384", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384", "ECDSA_SHA_384"},
           {"ECC_SECG_P256K1", "-algorithm EC -pkeyopt ec_paramgen_curve:secp256k1",
            "ECDSA_SHA_256"}}) {
    ASSERT_EQ(sh("openssl genpkey " + c.genpkey +
                 " | openssl pkcs8 -topk8 -nocrypt -outform DER "
                 "-out " +
                 dir.file("g.der"))
                  .rc,
              0);
    ASSERT_EQ(sh("openssl pkey -inform DER -in " + dir.file("g.der") + " -pubout -out " +
                 dir.file("g-pub.pem"))
                  .rc,
              0);
    auto sig = sign(readFile(dir.file("g.der")), c.spec, c.alg, message, MessageType::kRaw);
    ASSERT_TRUE(sig.ok()) << c.spec << ": " << sig.error().message;
    writeFile(dir.file("g.sig"), *sig);
    Cmd v = sh("openssl dgst -" + cliDigest(c.alg) + pssOpts(c.alg, "-sigopt") + " -verify " +
               dir.file("g-pub.pem") + " -signature " + dir.file("g.sig") + " " + dir.file("msg"));
    EXPECT_EQ(v.rc, 0) << c.spec << "\n" << v.out;
  }
}

TEST(KmsCryptoTest, SignatureArgumentErrorsAreAwsErrors) {
  auto rsa = cachedPair("RSA_2048", "k");
  auto ec = generateKeyPair("ECC_NIST_P256");
  auto ed = generateKeyPair("ECC_NIST_EDWARDS25519");
  ASSERT_TRUE(rsa.ok() && ec.ok() && ed.ok());

  auto short_digest = sign(rsa->private_pkcs8, "RSA_2048", "RSASSA_PSS_SHA_384",
                           std::string(32, 'x'), MessageType::kDigest);
  ASSERT_FALSE(short_digest.ok());
  EXPECT_EQ(short_digest.error().code, "ValidationException");
  EXPECT_EQ(short_digest.error().message,
            "Digest is invalid length for algorithm RSASSA_PSS_SHA_384.");
  auto verify_short = verify(ec->public_spki, "ECC_NIST_P256", "ECDSA_SHA_256",
                             std::string(48, 'x'), MessageType::kDigest, "sig");
  EXPECT_EQ(verify_short.error().message, "Digest is invalid length for algorithm ECDSA_SHA_256.");

  // The hash must be the curve's (KMS: ECC_NIST_P256 only with ECDSA_SHA_256).
  auto wrong_curve_hash =
      sign(ec->private_pkcs8, "ECC_NIST_P256", "ECDSA_SHA_384", "m", MessageType::kRaw);
  ASSERT_FALSE(wrong_curve_hash.ok());
  EXPECT_EQ(wrong_curve_hash.error().code, "InvalidKeyUsageException");
  EXPECT_EQ(wrong_curve_hash.error().message,
            "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.");
  EXPECT_EQ(
      sign(rsa->private_pkcs8, "RSA_2048", "ECDSA_SHA_256", "m", MessageType::kRaw).error().code,
      "InvalidKeyUsageException");
  EXPECT_EQ(
      sign(rsa->private_pkcs8, "RSA_2048", "NOT_AN_ALGORITHM", "m", MessageType::kRaw).error().code,
      "InvalidKeyUsageException");

  auto ed_digest = sign(ed->private_pkcs8, "ECC_NIST_EDWARDS25519", "ED25519_SHA_512",
                        std::string(64, 'd'), MessageType::kDigest);
  EXPECT_EQ(ed_digest.error().code, "ValidationException");
  EXPECT_EQ(ed_digest.error().message,
            "Message type DIGEST is incompatible with algorithm ED25519_SHA_512.");
  auto ed_ph = sign(ed->private_pkcs8, "ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512",
                    std::string(64, 'd'), MessageType::kDigest);
  EXPECT_EQ(ed_ph.error().code, "UnsupportedOperationException");
  auto ed_ph_raw = sign(ed->private_pkcs8, "ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", "m",
                        MessageType::kRaw);
  EXPECT_EQ(ed_ph_raw.error().code, "ValidationException");

  // 4096 bytes is the largest message; one more is a validation error.
  EXPECT_TRUE(sign(ec->private_pkcs8, "ECC_NIST_P256", "ECDSA_SHA_256", std::string(4096, 'a'),
                   MessageType::kRaw)
                  .ok());
  EXPECT_EQ(sign(ec->private_pkcs8, "ECC_NIST_P256", "ECDSA_SHA_256", std::string(4097, 'a'),
                 MessageType::kRaw)
                .error()
                .code,
            "ValidationException");
  // The empty message signs (KMS allows 0-4096 bytes for Sign's Message).
  EXPECT_TRUE(
      sign(ed->private_pkcs8, "ECC_NIST_EDWARDS25519", "ED25519_SHA_512", "", MessageType::kRaw)
          .ok());

  // Tampered, truncated and empty signatures.
  auto sig =
      sign(rsa->private_pkcs8, "RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256", "m", MessageType::kRaw);
  ASSERT_TRUE(sig.ok());
  std::string tampered = *sig;
  tampered[10] ^= 0x40;
  for (const std::string& s : {tampered, sig->substr(0, 100), std::string()}) {
    auto r = verify(rsa->public_spki, "RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256", "m",
                    MessageType::kRaw, s);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "KMSInvalidSignatureException");
  }
  // A PKCS#1 v1.5 signature does not verify as PSS.
  EXPECT_EQ(verify(rsa->public_spki, "RSA_2048", "RSASSA_PSS_SHA_256", "m", MessageType::kRaw, *sig)
                .error()
                .code,
            "KMSInvalidSignatureException");

  EXPECT_EQ(parseMessageType("").value(), MessageType::kRaw);
  EXPECT_EQ(parseMessageType("DIGEST").value(), MessageType::kDigest);
  EXPECT_EQ(parseMessageType("EXTERNAL_MU").error().code, "UnsupportedOperationException");
  EXPECT_EQ(parseMessageType("raw").error().code, "ValidationException");
}

TEST(KmsCryptoTest, MismatchedKeyMaterialIsAnInternalError) {
  auto ec = generateKeyPair("ECC_NIST_P256");
  ASSERT_TRUE(ec.ok());
  auto r = sign(ec->private_pkcs8, "ECC_NIST_P384", "ECDSA_SHA_384", "m", MessageType::kRaw);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "KMSInternalException");
  EXPECT_EQ(r.error().http_status, 500);
  auto garbage = sign("not a key", "ECC_NIST_P256", "ECDSA_SHA_256", "m", MessageType::kRaw);
  EXPECT_EQ(garbage.error().code, "KMSInternalException");
}

TEST(KmsCryptoTest, KeyCacheKeepsPublicAndPrivateApart) {
  auto ec = generateKeyPair("ECC_NIST_P256");
  ASSERT_TRUE(ec.ok());
  auto sig = sign(ec->private_pkcs8, "ECC_NIST_P256", "ECDSA_SHA_256", "m", MessageType::kRaw);
  ASSERT_TRUE(sig.ok());
  // The public key, once parsed and cached for Verify, still cannot sign.
  EXPECT_TRUE(
      verify(ec->public_spki, "ECC_NIST_P256", "ECDSA_SHA_256", "m", MessageType::kRaw, *sig).ok());
  EXPECT_EQ(
      sign(ec->public_spki, "ECC_NIST_P256", "ECDSA_SHA_256", "m", MessageType::kRaw).error().code,
      "KMSInternalException");
  clearKeyCache();
  // After the cache is dropped the keys parse again.
  EXPECT_TRUE(
      verify(ec->private_pkcs8, "ECC_NIST_P256", "ECDSA_SHA_256", "m", MessageType::kRaw, *sig)
          .ok());
  EXPECT_TRUE(
      sign(ec->private_pkcs8, "ECC_NIST_P256", "ECDSA_SHA_256", "m", MessageType::kRaw).ok());
}

TEST(KmsCryptoTest, ConcurrentSignersShareCachedKeys) {
  std::vector<KeyPairDer> keys;
  for (const char* spec : {"ECC_NIST_P256", "ECC_NIST_P256", "ECC_NIST_P256"})
    keys.push_back(*generateKeyPair(spec));
  std::atomic<int> verified{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        const KeyPairDer& k = keys[static_cast<size_t>((t + i) % 3)];
        if (i % 10 == 0) clearKeyCache();
        std::string m = "message " + std::to_string(t) + "/" + std::to_string(i);
        auto sig = sign(k.private_pkcs8, "ECC_NIST_P256", "ECDSA_SHA_256", m, MessageType::kRaw);
        if (sig.ok() &&
            verify(k.public_spki, "ECC_NIST_P256", "ECDSA_SHA_256", m, MessageType::kRaw, *sig)
                .ok())
          ++verified;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(verified.load(), 120);
}

// --- encryption ---------------------------------------------------------------------------------

TEST(KmsCryptoTest, RsaOaepInteropWithOpenssl) {
  TempDir dir;
  for (const char* spec : {"RSA_2048", "RSA_3072", "RSA_4096"}) {
    KeyFiles k = keyFiles(dir, spec);
    for (const std::string alg : {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}) {
      std::string md = alg == "RSAES_OAEP_SHA_1" ? "sha1" : "sha256";
      std::string opts = " -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:" + md +
                         " -pkeyopt rsa_mgf1_md:" + md;
      size_t max = maxPlaintextLength(spec, alg);
      std::string plaintext = randomBytes(max);
      // openssl encrypts, we decrypt.
      writeFile(dir.file("pt"), plaintext);
      ASSERT_EQ(sh("openssl pkeyutl -encrypt -pubin -inkey " + k.pub_pem + " -in " +
                   dir.file("pt") + " -out " + dir.file("ct") + opts)
                    .rc,
                0);
      auto dec = asymmetricDecrypt(k.der.private_pkcs8, spec, alg, readFile(dir.file("ct")));
      ASSERT_TRUE(dec.ok()) << spec << " " << alg;
      EXPECT_EQ(*dec, plaintext);
      // We encrypt, openssl decrypts.
      auto enc = asymmetricEncrypt(k.der.public_spki, spec, alg, plaintext);
      ASSERT_TRUE(enc.ok()) << spec << " " << alg << ": " << enc.error().message;
      writeFile(dir.file("ct2"), *enc);
      ASSERT_EQ(sh("openssl pkeyutl -decrypt -inkey " + k.priv_pem + " -in " + dir.file("ct2") +
                   " -out " + dir.file("pt2") + opts)
                    .rc,
                0);
      EXPECT_EQ(readFile(dir.file("pt2")), plaintext);
      // One byte over AWS's limit.
      auto too_long = asymmetricEncrypt(k.der.public_spki, spec, alg, plaintext + "x");
      ASSERT_FALSE(too_long.ok());
      EXPECT_EQ(too_long.error().code, "ValidationException");
      // The other OAEP hash does not decrypt; neither does a tampered ciphertext.
      std::string other = alg == "RSAES_OAEP_SHA_1" ? "RSAES_OAEP_SHA_256" : "RSAES_OAEP_SHA_1";
      EXPECT_EQ(asymmetricDecrypt(k.der.private_pkcs8, spec, other, *enc).error().code,
                "InvalidCiphertextException");
      std::string tampered = *enc;
      tampered[5] ^= 1;
      EXPECT_EQ(asymmetricDecrypt(k.der.private_pkcs8, spec, alg, tampered).error().code,
                "InvalidCiphertextException");
      EXPECT_EQ(asymmetricDecrypt(k.der.private_pkcs8, spec, alg, enc->substr(1)).error().code,
                "InvalidCiphertextException");
    }
  }
}

TEST(KmsCryptoTest, PlaintextLimitsAreAwsDocumentedValues) {
  EXPECT_EQ(maxPlaintextLength("RSA_2048", "RSAES_OAEP_SHA_1"), 214u);
  EXPECT_EQ(maxPlaintextLength("RSA_2048", "RSAES_OAEP_SHA_256"), 190u);
  EXPECT_EQ(maxPlaintextLength("RSA_3072", "RSAES_OAEP_SHA_1"), 342u);
  EXPECT_EQ(maxPlaintextLength("RSA_3072", "RSAES_OAEP_SHA_256"), 318u);
  EXPECT_EQ(maxPlaintextLength("RSA_4096", "RSAES_OAEP_SHA_1"), 470u);
  EXPECT_EQ(maxPlaintextLength("RSA_4096", "RSAES_OAEP_SHA_256"), 446u);
  EXPECT_EQ(maxPlaintextLength("SM2", "SM2PKE"), 1024u);
  EXPECT_EQ(maxPlaintextLength("RSA_2048", "SM2PKE"), 0u);
  EXPECT_EQ(maxPlaintextLength("ECC_NIST_P256", "RSAES_OAEP_SHA_256"), 0u);
}

TEST(KmsCryptoTest, AsymmetricEncryptRejectsAlgorithmsOfOtherSpecs) {
  auto rsa = cachedPair("RSA_2048", "k");
  ASSERT_TRUE(rsa.ok());
  auto r = asymmetricEncrypt(rsa->public_spki, "RSA_2048", "SYMMETRIC_DEFAULT", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "InvalidKeyUsageException");
  EXPECT_EQ(r.error().message,
            "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.");
  EXPECT_EQ(asymmetricEncrypt(rsa->public_spki, "RSA_2048", "SM2PKE", "x").error().code,
            "InvalidKeyUsageException");
}

TEST(KmsCryptoTest, Sm2PkeInteropWithOpenssl) {
  TempDir dir;
  KeyFiles k = keyFiles(dir, "SM2");
  std::string plaintext = randomBytes(1024);
  writeFile(dir.file("pt"), plaintext);
  ASSERT_EQ(sh("openssl pkeyutl -encrypt -pubin -inkey " + k.pub_pem + " -in " + dir.file("pt") +
               " -out " + dir.file("ct"))
                .rc,
            0);
  auto dec = asymmetricDecrypt(k.der.private_pkcs8, "SM2", "SM2PKE", readFile(dir.file("ct")));
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(*dec, plaintext);
  auto enc = asymmetricEncrypt(k.der.public_spki, "SM2", "SM2PKE", plaintext);
  ASSERT_TRUE(enc.ok());
  writeFile(dir.file("ct2"), *enc);
  ASSERT_EQ(sh("openssl pkeyutl -decrypt -inkey " + k.priv_pem + " -in " + dir.file("ct2") +
               " -out " + dir.file("pt2"))
                .rc,
            0);
  EXPECT_EQ(readFile(dir.file("pt2")), plaintext);
  EXPECT_EQ(sm2Encrypt(k.der.public_spki, plaintext + "x").error().code, "ValidationException");
  std::string tampered = *enc;
  tampered[tampered.size() - 3] ^= 1;
  EXPECT_EQ(sm2Decrypt(k.der.private_pkcs8, tampered).error().code, "InvalidCiphertextException");
}

// --- key agreement ------------------------------------------------------------------------------

TEST(KmsCryptoTest, EcdhAgreesWithOpensslDerive) {
  TempDir dir;
  for (const char* spec : {"ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521"}) {
    KeyFiles ours = keyFiles(dir, spec, "ours");
    KeyFiles peer = keyFiles(dir, spec, "peer");
    auto secret = deriveSharedSecret(ours.der.private_pkcs8, peer.der.public_spki);
    ASSERT_TRUE(secret.ok()) << spec << ": " << secret.error().message;
    Cmd d = sh("openssl pkeyutl -derive -inkey " + peer.priv_pem + " -peerkey " + ours.pub_pem +
               " -out " + dir.file("shared"));
    ASSERT_EQ(d.rc, 0) << d.out;
    EXPECT_EQ(*secret, readFile(dir.file("shared"))) << spec;
    EXPECT_EQ(secret->size(), std::string(spec) == "ECC_NIST_P521"   ? 66u
                              : std::string(spec) == "ECC_NIST_P384" ? 48u
                                                                     : 32u);
  }
}

TEST(KmsCryptoTest, Sm2EcdhIsSymmetricBetweenPeers) {
  auto a = generateKeyPair("SM2");
  auto b = generateKeyPair("SM2");
  ASSERT_TRUE(a.ok() && b.ok());
  auto ab = deriveSharedSecret(a->private_pkcs8, b->public_spki);
  auto ba = deriveSharedSecret(b->private_pkcs8, a->public_spki);
  ASSERT_TRUE(ab.ok() && ba.ok()) << (ab.ok() ? "" : ab.error().message);
  EXPECT_EQ(ab->size(), 32u);
  EXPECT_EQ(*ab, *ba);
  auto c = generateKeyPair("SM2");
  EXPECT_NE(*deriveSharedSecret(a->private_pkcs8, c->public_spki), *ab);
}

TEST(KmsCryptoTest, EcdhRejectsOtherCurvesAndKeyTypes) {
  auto p256 = generateKeyPair("ECC_NIST_P256");
  auto p384 = generateKeyPair("ECC_NIST_P384");
  auto k1 = generateKeyPair("ECC_SECG_P256K1");
  auto rsa = cachedPair("RSA_2048", "k");
  ASSERT_TRUE(p256.ok() && p384.ok() && k1.ok() && rsa.ok());
  for (const std::string& peer : {p384->public_spki, k1->public_spki, rsa->public_spki,
                                  std::string("garbage"), p256->public_spki.substr(0, 40)}) {
    auto r = deriveSharedSecret(p256->private_pkcs8, peer);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "ValidationException");
  }
  auto not_agreement = deriveSharedSecret(k1->private_pkcs8, k1->public_spki);
  EXPECT_EQ(not_agreement.error().code, "InvalidKeyUsageException");
  EXPECT_EQ(not_agreement.error().message,
            "Algorithm ECDH is incompatible with key spec ECC_SECG_P256K1.");
  EXPECT_EQ(deriveSharedSecret(rsa->private_pkcs8, p256->public_spki).error().code,
            "InvalidKeyUsageException");
}

// --- HMAC ---------------------------------------------------------------------------------------

TEST(KmsCryptoTest, HmacMatchesOpensslMac) {
  TempDir dir;
  std::string message = "GenerateMac message " + randomBytes(100);
  writeFile(dir.file("msg"), message);
  for (const auto& [spec, alg, digest] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"HMAC_224", "HMAC_SHA_224", "SHA224"},
           {"HMAC_256", "HMAC_SHA_256", "SHA256"},
           {"HMAC_384", "HMAC_SHA_384", "SHA384"},
           {"HMAC_512", "HMAC_SHA_512", "SHA512"}}) {
    std::string key = *generateSecretKey(spec);
    auto mac = hmac(alg, key, message);
    ASSERT_TRUE(mac.ok());
    Cmd o = sh("openssl mac -digest " + digest + " -macopt hexkey:" + hexEncode(key) + " -in " +
               dir.file("msg") + " HMAC");
    ASSERT_EQ(o.rc, 0) << o.out;
    EXPECT_EQ(toLower(std::string(trim(o.out))), hexEncode(*mac)) << alg;
    EXPECT_TRUE(verifyMac(alg, key, message, *mac).ok());
    std::string tampered = *mac;
    tampered.back() ^= 1;
    for (const std::string& m : {tampered, mac->substr(0, mac->size() - 1), std::string()}) {
      auto r = verifyMac(alg, key, message, m);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code, "KMSInvalidMacException");
    }
  }
  EXPECT_EQ(hmac("HMAC_SHA_1", "k", "m").error().code, "ValidationException");
}

// --- imported key material ----------------------------------------------------------------------

// Prepares EncryptedKeyMaterial exactly as AWS's ImportKeyMaterial documentation shows with the
// openssl CLI, for an RSA_AES_KEY_WRAP_* wrapping algorithm.
std::string awsDocRsaAesWrap(const TempDir& dir, const std::string& wrapping_pub_der_file,
                             const std::string& material_file, const std::string& md) {
  EXPECT_EQ(sh("openssl rand -out " + dir.file("aes-key.bin") + " 32").rc, 0);
  Cmd wrap = sh("openssl enc -id-aes256-wrap-pad -K $(xxd -p < " + dir.file("aes-key.bin") +
                " | tr -d '\\n') -iv A65959A6 -in " + material_file + " -out " +
                dir.file("key-material-wrapped.bin"));
  EXPECT_EQ(wrap.rc, 0) << wrap.out;
  Cmd rsa = sh("openssl pkeyutl -encrypt -in " + dir.file("aes-key.bin") + " -out " +
               dir.file("aes-key-wrapped.bin") + " -inkey " + wrapping_pub_der_file +
               " -keyform DER -pubin -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:" + md +
               " -pkeyopt rsa_mgf1_md:" + md);
  EXPECT_EQ(rsa.rc, 0) << rsa.out;
  EXPECT_EQ(sh("cat " + dir.file("aes-key-wrapped.bin") + " " +
               dir.file("key-material-wrapped.bin") + " > " + dir.file("EncryptedKeyMaterial.bin"))
                .rc,
            0);
  return readFile(dir.file("EncryptedKeyMaterial.bin"));
}

TEST(KmsCryptoTest, RsaAesKeyWrapMaterialFromAwsDocCommandsUnwraps) {
  TempDir dir;
  // RSA and ECC private keys as PKCS#8 DER (the form ImportKeyMaterial requires).
  ASSERT_EQ(sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 | openssl pkcs8 "
               "-topk8 -nocrypt -outform DER -out " +
               dir.file("PrivateKey.der"))
                .rc,
            0);
  ASSERT_EQ(sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 | openssl pkcs8 "
               "-topk8 -nocrypt -outform DER -out " +
               dir.file("EcKey.der"))
                .rc,
            0);
  for (const auto& [wrapping_spec, algorithm, md] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"RSA_3072", "RSA_AES_KEY_WRAP_SHA_256", "sha256"},
           {"RSA_2048", "RSA_AES_KEY_WRAP_SHA_1", "sha1"}}) {
    KeyFiles wrapping = keyFiles(dir, wrapping_spec, "wrapping");
    std::string pub_der = dir.file("wrapping-pub.der");
    for (const auto& [material_file, spec] : std::vector<std::pair<std::string, std::string>>{
             {dir.file("PrivateKey.der"), "RSA_3072"}, {dir.file("EcKey.der"), "ECC_NIST_P521"}}) {
      std::string encrypted = awsDocRsaAesWrap(dir, pub_der, material_file, md);
      auto material = unwrapImportedMaterial(wrapping.der.private_pkcs8, algorithm, encrypted);
      ASSERT_TRUE(material.ok()) << algorithm << ": " << material.error().message;
      EXPECT_EQ(*material, readFile(material_file));
      EXPECT_TRUE(validateImportedMaterial(spec, *material).ok()) << spec;
      EXPECT_EQ(validateImportedMaterial("ECC_NIST_P256", *material).error().code,
                "ValidationException");

      std::string tampered = encrypted;
      tampered.back() ^= 1;  // inside the AES key wrap
      EXPECT_EQ(
          unwrapImportedMaterial(wrapping.der.private_pkcs8, algorithm, tampered).error().code,
          "InvalidCiphertextException");
      tampered = encrypted;
      tampered[3] ^= 1;  // inside the RSA-OAEP part
      EXPECT_EQ(
          unwrapImportedMaterial(wrapping.der.private_pkcs8, algorithm, tampered).error().code,
          "InvalidCiphertextException");
      EXPECT_EQ(unwrapImportedMaterial(wrapping.der.private_pkcs8, algorithm,
                                       encrypted.substr(0, encrypted.size() - 8))
                    .error()
                    .code,
                "InvalidCiphertextException");
    }
  }
}

TEST(KmsCryptoTest, RsaesOaepMaterialFromAwsDocCommandsUnwraps) {
  TempDir dir;
  KeyFiles wrapping = keyFiles(dir, "RSA_2048", "wrapping");
  for (const auto& [algorithm, md] : std::vector<std::pair<std::string, std::string>>{
           {"RSAES_OAEP_SHA_256", "sha256"}, {"RSAES_OAEP_SHA_1", "sha1"}}) {
    ASSERT_EQ(sh("openssl rand -out " + dir.file("PlaintextKeyMaterial.bin") + " 32").rc, 0);
    ASSERT_EQ(sh("openssl pkeyutl -encrypt -in " + dir.file("PlaintextKeyMaterial.bin") + " -out " +
                 dir.file("EncryptedKeyMaterial.bin") + " -inkey " + dir.file("wrapping-pub.der") +
                 " -keyform DER -pubin -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:" + md +
                 " -pkeyopt rsa_mgf1_md:" + md)
                  .rc,
              0);
    auto material = unwrapImportedMaterial(wrapping.der.private_pkcs8, algorithm,
                                           readFile(dir.file("EncryptedKeyMaterial.bin")));
    ASSERT_TRUE(material.ok()) << algorithm;
    EXPECT_EQ(*material, readFile(dir.file("PlaintextKeyMaterial.bin")));
    EXPECT_TRUE(validateImportedMaterial("SYMMETRIC_DEFAULT", *material).ok());
  }
  EXPECT_EQ(unwrapImportedMaterial(wrapping.der.private_pkcs8, "RSAES_OAEP_SHA_256", "short")
                .error()
                .code,
            "InvalidCiphertextException");
  EXPECT_EQ(
      unwrapImportedMaterial(wrapping.der.private_pkcs8, "RSAES_PKCS1_V1_5", "x").error().code,
      "UnsupportedOperationException");
}

TEST(KmsCryptoTest, Sm2PkeWrappedMaterialUnwraps) {
  auto wrapping = generateKeyPair("SM2");
  ASSERT_TRUE(wrapping.ok());
  std::string material = randomBytes(32);
  auto encrypted = sm2Encrypt(wrapping->public_spki, material);
  ASSERT_TRUE(encrypted.ok());
  EXPECT_EQ(*unwrapImportedMaterial(wrapping->private_pkcs8, "SM2PKE", *encrypted), material);
}

TEST(KmsCryptoTest, ImportedMaterialSizeAndTypeChecks) {
  EXPECT_TRUE(validateImportedMaterial("SYMMETRIC_DEFAULT", std::string(32, 'k')).ok());
  EXPECT_EQ(validateImportedMaterial("SYMMETRIC_DEFAULT", std::string(31, 'k')).error().code,
            "ValidationException");
  EXPECT_EQ(validateImportedMaterial("SYMMETRIC_DEFAULT", std::string(16, 'k')).error().code,
            "ValidationException");
  EXPECT_TRUE(validateImportedMaterial("HMAC_224", std::string(28, 'k')).ok());
  EXPECT_TRUE(validateImportedMaterial("HMAC_224", std::string(64, 'k')).ok());
  EXPECT_FALSE(validateImportedMaterial("HMAC_224", std::string(27, 'k')).ok());
  EXPECT_FALSE(validateImportedMaterial("HMAC_256", std::string(65, 'k')).ok());
  EXPECT_TRUE(validateImportedMaterial("HMAC_384", std::string(128, 'k')).ok());
  EXPECT_FALSE(validateImportedMaterial("HMAC_384", std::string(47, 'k')).ok());
  EXPECT_FALSE(validateImportedMaterial("HMAC_512", std::string(63, 'k')).ok());
  EXPECT_FALSE(validateImportedMaterial("HMAC_512", std::string(129, 'k')).ok());

  for (const char* spec :
       {"RSA_2048", "ECC_NIST_P256", "ECC_SECG_P256K1", "SM2", "ECC_NIST_EDWARDS25519"}) {
    auto pair = generateKeyPair(spec);
    ASSERT_TRUE(pair.ok());
    EXPECT_TRUE(validateImportedMaterial(spec, pair->private_pkcs8).ok()) << spec;
    // A public key or a truncated key is not key material.
    EXPECT_FALSE(validateImportedMaterial(spec, pair->public_spki).ok()) << spec;
    EXPECT_FALSE(validateImportedMaterial(
                     spec, pair->private_pkcs8.substr(0, pair->private_pkcs8.size() - 1))
                     .ok())
        << spec;
  }
  auto p256 = generateKeyPair("ECC_NIST_P256");
  EXPECT_FALSE(validateImportedMaterial("ECC_SECG_P256K1", p256->private_pkcs8).ok());
  EXPECT_FALSE(validateImportedMaterial("RSA_2048", p256->private_pkcs8).ok());
}

TEST(KmsCryptoTest, ImportedRsaMaterialInTraditionalFormatIsRejected) {
  TempDir dir;
  // PKCS#1 RSAPrivateKey (not PKCS#8) is not what ImportKeyMaterial accepts.
  ASSERT_EQ(
      sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + dir.file("k.pem"))
          .rc,
      0);
  ASSERT_EQ(sh("openssl rsa -in " + dir.file("k.pem") + " -traditional -outform DER -out " +
               dir.file("k1.der"))
                .rc,
            0);
  auto r = validateImportedMaterial("RSA_2048", readFile(dir.file("k1.der")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ValidationException");
}

}  // namespace
}  // namespace citadel::crypto::kms
