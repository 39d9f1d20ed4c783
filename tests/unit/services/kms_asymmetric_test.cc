// KMS asymmetric, HMAC and key-agreement keys through the handlers over a real store: material
// generated per spec and sealed, Sign/Verify, RSA encryption through Encrypt/Decrypt/ReEncrypt,
// data key pairs, MACs, ECDH, AWS's usage errors, and the CloudTrail requestParameters hook.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>

#include "audit/audit.h"
#include "crypto/barrier.h"
#include "crypto/kms_crypto.h"
#include "protocol/model.h"
#include "runtime/audit_record.h"
#include "runtime/identity.h"
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {
namespace {

using Handler = Result<json::value> (*)(runtime::RequestContext&, const json::value&);

struct World {
  std::unique_ptr<store::Store> db = store::openSqlite(":memory:");
  crypto::Barrier barrier{std::string(32, 'k')};
  audit::EventStore events{*db};
  runtime::Identity identity{*db, barrier};
  runtime::Services services{*db, barrier, events, identity, runtime::RuntimeConfig{}};
  const std::string account = "111122223333";
  const std::string region = "eu-west-3";

  World() {
    auto m = services.migrations();
    // Naming kms::migrations() links service.cc (the registration) into the test.
    for (auto& x : kms::migrations()) m.push_back(x);
    std::vector<store::Migration> unique;
    for (auto& x : m) {
      bool dup = false;
      for (auto& y : unique) dup = dup || (y.component == x.component && y.version == x.version);
      if (!dup) unique.push_back(x);
    }
    db->migrate(unique);
    registerAsymmetricSpecs();
  }
  ~World() { keyCache().clear(); }

  std::unique_ptr<runtime::RequestContext> ctx(std::string operation, bool read_only) {
    auto c = std::make_unique<runtime::RequestContext>();
    c->services = &services;
    c->service = "kms";
    c->operation = std::move(operation);
    c->account_id = account;
    c->region = region;
    c->time = Clock::now();
    c->read_only = read_only;
    c->principal.type = runtime::Principal::Type::kRoot;
    c->principal.account_id = account;
    c->principal.arn = "arn:aws:iam::" + account + ":root";
    return c;
  }

  Result<json::value> call(Handler h, json::object in, bool read_only = true) {
    auto c = ctx("", read_only);
    auto out = h(*c, json::value(std::move(in)));
    if (c->tx_) {
      if (out.ok() && !read_only)
        c->tx_->commit();
      else
        c->tx_->rollback();
    }
    return out;
  }

  json::object createKey(const char* spec, const char* usage) {
    auto out = call(kms::createKey, {{"KeySpec", spec}, {"KeyUsage", usage}}, false);
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().message);
    return out.value().as_object().at("KeyMetadata").as_object();
  }
};

std::string s(const json::value& v) { return std::string(v.as_string()); }

TEST(KmsAsymmetric, CreateKeyStoresSealedPkcs8MaterialAndDescribesAlgorithms) {
  World w;
  auto md = w.createKey("ECC_NIST_P384", "KEY_AGREEMENT");
  EXPECT_EQ(s(md.at("KeySpec")), "ECC_NIST_P384");
  EXPECT_EQ(md.at("KeyAgreementAlgorithms"), json::array{"ECDH"});
  EXPECT_FALSE(md.contains("SigningAlgorithms"));
  std::vector<store::Row> rows;
  {
    auto tx = w.db->begin(false);
    rows = tx->query("SELECT sealed FROM kms_key_material WHERE key_id = ?", {s(md.at("KeyId"))});
    tx->rollback();
  }
  ASSERT_EQ(rows.size(), 1u);
  auto plain =
      w.barrier.open(rows[0].text(0), materialAad(w.account, w.region, s(md.at("KeyId")), 1));
  ASSERT_TRUE(plain.has_value());
  // The stored material is the PKCS#8 private key of the spec, never in clear at rest.
  auto spec = crypto::kms::keySpecOfKey(*plain);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec.value(), "ECC_NIST_P384");
  EXPECT_EQ(rows[0].text(0).find(*plain), std::string::npos);

  auto mac = w.createKey("HMAC_512", "GENERATE_VERIFY_MAC");
  EXPECT_EQ(mac.at("MacAlgorithms"), json::array{"HMAC_SHA_512"});
  auto bad = w.call(kms::createKey, {{"KeySpec", "ECC_SECG_P256K1"}, {"KeyUsage", "KEY_AGREEMENT"}},
                    false);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "ValidationException");
  auto mldsa =
      w.call(kms::createKey, {{"KeySpec", "ML_DSA_65"}, {"KeyUsage", "SIGN_VERIFY"}}, false);
  ASSERT_FALSE(mldsa.ok());
  EXPECT_EQ(mldsa.error().code, "UnsupportedOperationException");
}

TEST(KmsAsymmetric, SignVerifyAndUsageErrors) {
  World w;
  auto md = w.createKey("ECC_NIST_P256", "SIGN_VERIFY");
  std::string kid = s(md.at("KeyId"));
  auto sig = w.call(kms::sign,
                    {{"KeyId", kid}, {"Message", "hello"}, {"SigningAlgorithm", "ECDSA_SHA_256"}});
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  std::string signature = s(sig.value().at("Signature"));
  auto ok = w.call(kms::verify, {{"KeyId", kid},
                                 {"Message", "hello"},
                                 {"Signature", signature},
                                 {"SigningAlgorithm", "ECDSA_SHA_256"}});
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok.value().at("SignatureValid").as_bool());
  auto tampered = w.call(kms::verify, {{"KeyId", kid},
                                       {"Message", "hellp"},
                                       {"Signature", signature},
                                       {"SigningAlgorithm", "ECDSA_SHA_256"}});
  ASSERT_FALSE(tampered.ok());
  EXPECT_EQ(tampered.error().code, "KMSInvalidSignatureException");
  auto short_digest = w.call(kms::sign, {{"KeyId", kid},
                                         {"Message", std::string(20, 'd')},
                                         {"MessageType", "DIGEST"},
                                         {"SigningAlgorithm", "ECDSA_SHA_256"}});
  ASSERT_FALSE(short_digest.ok());
  EXPECT_EQ(short_digest.error().message, "Digest is invalid length for algorithm ECDSA_SHA_256.");
  auto wrong_alg =
      w.call(kms::sign, {{"KeyId", kid}, {"Message", "m"}, {"SigningAlgorithm", "ECDSA_SHA_384"}});
  ASSERT_FALSE(wrong_alg.ok());
  EXPECT_EQ(wrong_alg.error().code, "InvalidKeyUsageException");
  auto encrypt = w.call(kms::encrypt, {{"KeyId", kid}, {"Plaintext", "x"}});
  ASSERT_FALSE(encrypt.ok());
  EXPECT_EQ(encrypt.error().code, "InvalidKeyUsageException");
  EXPECT_EQ(encrypt.error().message,
            s(md.at("Arn")) + " key usage is SIGN_VERIFY which is not valid for Encrypt.");
}

TEST(KmsAsymmetric, RsaEncryptDecryptReEncryptAndDataKeyPairs) {
  World w;
  auto rsa = w.createKey("RSA_2048", "ENCRYPT_DECRYPT");
  std::string rid = s(rsa.at("KeyId"));
  auto enc = w.call(
      kms::encrypt,
      {{"KeyId", rid}, {"Plaintext", "rsa secret"}, {"EncryptionAlgorithm", "RSAES_OAEP_SHA_256"}});
  ASSERT_TRUE(enc.ok()) << enc.error().message;
  std::string ct = s(enc.value().at("CiphertextBlob"));
  EXPECT_EQ(ct.size(), 256u);
  // The raw RSA ciphertext decrypts with the public key's private half, locally too.
  auto material = cachedKey(w.services, w.account, w.region, rid).value()->material(w.services, 1);
  auto local = crypto::kms::rsaDecrypt(std::string(material->bytes()), "RSAES_OAEP_SHA_256", ct);
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local.value(), "rsa secret");
  auto dec = w.call(
      kms::decrypt,
      {{"KeyId", rid}, {"CiphertextBlob", ct}, {"EncryptionAlgorithm", "RSAES_OAEP_SHA_256"}});
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(s(dec.value().at("Plaintext")), "rsa secret");
  EXPECT_EQ(s(dec.value().at("EncryptionAlgorithm")), "RSAES_OAEP_SHA_256");
  auto no_key = w.call(kms::decrypt, {{"CiphertextBlob", ct}});
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.error().code, "InvalidCiphertextException");

  auto sym = w.createKey("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT");
  auto re = w.call(kms::reEncrypt, {{"CiphertextBlob", ct},
                                    {"SourceKeyId", rid},
                                    {"SourceEncryptionAlgorithm", "RSAES_OAEP_SHA_256"},
                                    {"DestinationKeyId", s(sym.at("KeyId"))}});
  ASSERT_TRUE(re.ok()) << re.error().message;
  EXPECT_EQ(s(re.value().at("SourceEncryptionAlgorithm")), "RSAES_OAEP_SHA_256");
  auto back = w.call(kms::decrypt, {{"CiphertextBlob", re.value().at("CiphertextBlob")}});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(s(back.value().at("Plaintext")), "rsa secret");

  auto gdk = w.call(kms::generateDataKey, {{"KeyId", rid}, {"NumberOfBytes", 32}});
  ASSERT_FALSE(gdk.ok());
  EXPECT_EQ(gdk.error().message,
            "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.");

  auto pair = w.call(kms::generateDataKeyPair,
                     {{"KeyId", s(sym.at("KeyId"))}, {"KeyPairSpec", "ECC_NIST_P521"}});
  ASSERT_TRUE(pair.ok()) << pair.error().message;
  std::string priv = s(pair.value().at("PrivateKeyPlaintext"));
  EXPECT_EQ(crypto::kms::publicKeyFromPrivate(priv).value(), s(pair.value().at("PublicKey")));
  auto unwrapped =
      w.call(kms::decrypt, {{"CiphertextBlob", pair.value().at("PrivateKeyCiphertextBlob")}});
  ASSERT_TRUE(unwrapped.ok());
  EXPECT_EQ(s(unwrapped.value().at("Plaintext")), priv);
}

TEST(KmsAsymmetric, MacsAndSharedSecrets) {
  World w;
  auto mac = w.createKey("HMAC_224", "GENERATE_VERIFY_MAC");
  std::string mid = s(mac.at("KeyId"));
  auto m1 = w.call(kms::generateMac,
                   {{"KeyId", mid}, {"Message", "msg"}, {"MacAlgorithm", "HMAC_SHA_224"}});
  ASSERT_TRUE(m1.ok()) << m1.error().message;
  std::string tag = s(m1.value().at("Mac"));
  EXPECT_EQ(tag.size(), 28u);
  auto material = cachedKey(w.services, w.account, w.region, mid).value()->material(w.services, 1);
  EXPECT_EQ(crypto::kms::hmac("HMAC_SHA_224", std::string(material->bytes()), "msg").value(), tag);
  auto good =
      w.call(kms::verifyMac,
             {{"KeyId", mid}, {"Message", "msg"}, {"Mac", tag}, {"MacAlgorithm", "HMAC_SHA_224"}});
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(good.value().at("MacValid").as_bool());
  tag[3] ^= 1;
  auto bad =
      w.call(kms::verifyMac,
             {{"KeyId", mid}, {"Message", "msg"}, {"Mac", tag}, {"MacAlgorithm", "HMAC_SHA_224"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "KMSInvalidMacException");

  auto agree = w.createKey("ECC_NIST_P256", "KEY_AGREEMENT");
  auto peer = crypto::kms::generateKeyPair("ECC_NIST_P256").value();
  auto out = w.call(kms::deriveSharedSecret, {{"KeyId", agree.at("KeyId")},
                                              {"KeyAgreementAlgorithm", "ECDH"},
                                              {"PublicKey", peer.public_spki}});
  ASSERT_TRUE(out.ok()) << out.error().message;
  auto kms_pub = w.call(kms::getPublicKey, {{"KeyId", agree.at("KeyId")}});
  ASSERT_TRUE(kms_pub.ok());
  auto expected =
      crypto::kms::deriveSharedSecret(peer.private_pkcs8, s(kms_pub.value().at("PublicKey")));
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(s(out.value().at("SharedSecret")), expected.value());
  auto wrong =
      w.call(kms::deriveSharedSecret,
             {{"KeyId", mid}, {"KeyAgreementAlgorithm", "ECDH"}, {"PublicKey", peer.public_spki}});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "InvalidKeyUsageException");
}

TEST(KmsAsymmetric, CloudTrailRequestParametersHook) {
  World w;
  const protocol::ServiceModel* model = protocol::Models::get("kms");
  ASSERT_NE(model, nullptr);
  auto record = [&](const char* operation, json::object in) {
    auto c = w.ctx(operation, true);
    json::value input(std::move(in));
    auto ev =
        runtime::buildAuditEvent(*c, model->findOperation(operation), &input, nullptr, nullptr);
    return json::parse(ev.record_json).as_object().at("requestParameters");
  };
  auto enc = record("Encrypt", {{"KeyId", "alias/a"}, {"Plaintext", "SECRET"}});
  EXPECT_EQ(enc,
            (json::object{{"keyId", "alias/a"}, {"encryptionAlgorithm", "SYMMETRIC_DEFAULT"}}));
  auto dec = record("Decrypt", {{"CiphertextBlob", "xyz"}});
  EXPECT_EQ(dec, (json::object{{"encryptionAlgorithm", "SYMMETRIC_DEFAULT"}}));
  auto re = record("ReEncrypt", {{"CiphertextBlob", "xyz"}, {"DestinationKeyId", "k"}});
  EXPECT_EQ(s(re.at("sourceEncryptionAlgorithm")), "SYMMETRIC_DEFAULT");
  EXPECT_EQ(s(re.at("destinationEncryptionAlgorithm")), "SYMMETRIC_DEFAULT");
  auto sig = record("Sign",
                    {{"KeyId", "k"}, {"Message", "SECRET"}, {"SigningAlgorithm", "ECDSA_SHA_256"}});
  EXPECT_EQ(sig,
            (json::object{
                {"keyId", "k"}, {"signingAlgorithm", "ECDSA_SHA_256"}, {"messageType", "RAW"}}));
  auto asym = record(
      "Encrypt",
      {{"KeyId", "k"}, {"Plaintext", "SECRET"}, {"EncryptionAlgorithm", "RSAES_OAEP_SHA_1"}});
  EXPECT_EQ(s(asym.at("encryptionAlgorithm")), "RSAES_OAEP_SHA_1");
  auto mac = record("GenerateMac",
                    {{"KeyId", "k"}, {"Message", "SECRET"}, {"MacAlgorithm", "HMAC_SHA_256"}});
  EXPECT_EQ(mac, (json::object{{"keyId", "k"}, {"macAlgorithm", "HMAC_SHA_256"}}));
  // Other services are untouched by KMS's hook.
  auto c = w.ctx("GetCallerIdentity", true);
  c->service = "sts";
  json::value empty = json::object{};
  auto ev = runtime::buildAuditEvent(*c, nullptr, &empty, nullptr, nullptr);
  EXPECT_TRUE(json::parse(ev.record_json).as_object().at("requestParameters").is_null());
}

TEST(KmsAsymmetric, DescribeKeyAlgorithmsMatchTheCryptoTables) {
  for (const char* spec : {"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
                           "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "SM2",
                           "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"}) {
    const KeySpecInfo* info = keySpecInfo(spec);
    ASSERT_NE(info, nullptr) << spec;
    std::vector<std::string> usages(info->usages.begin(), info->usages.end());
    // The same usages (records.cc lists CreateKey's default first).
    auto crypto_usages = crypto::kms::keyUsagesFor(spec);
    std::sort(crypto_usages.begin(), crypto_usages.end());
    std::vector<std::string> sorted = usages;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, crypto_usages) << spec;
    for (const auto& usage : usages) {
      KeyRecord k;
      k.key_spec = spec;
      k.key_usage = usage;
      json::object m = keyMetadata(k);
      auto algs = crypto::kms::algorithmsFor(spec, usage);
      ASSERT_TRUE(algs.ok()) << spec << " " << usage;
      auto list = [&](const char* field) {
        std::vector<std::string> out;
        if (const json::value* v = m.if_contains(field))
          for (const auto& a : v->as_array()) out.emplace_back(a.as_string());
        return out;
      };
      EXPECT_EQ(list("SigningAlgorithms"), algs.value().signing) << spec << " " << usage;
      EXPECT_EQ(list("EncryptionAlgorithms"), algs.value().encryption) << spec << " " << usage;
      EXPECT_EQ(list("MacAlgorithms"), algs.value().mac) << spec << " " << usage;
      EXPECT_EQ(list("KeyAgreementAlgorithms"), algs.value().key_agreement) << spec << " " << usage;
    }
  }
}

}  // namespace
}  // namespace citadel::kms
