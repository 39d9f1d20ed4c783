// KMS custom key stores of type AWS_CLOUDHSM, backed by a PKCS#11 token (SoftHSM2 in tests):
// CreateCustomKeyStore / Connect / Disconnect / Describe / Update / Delete, keys generated
// inside the token (non-extractable AES-256), and the token's side of Encrypt/Decrypt.
//
// The CloudHSM cluster id a store names is mapped by configuration (kms.hsm.cloudhsm_clusters)
// to a PKCS#11 module and token label. The kmsuser password (KeyStorePassword) is the token's
// user PIN: it is kept sealed by the barrier only, and never logged.
//
// Connections live in this process (one logged-in Pkcs11Token per store); the store row's
// ConnectionState is the truth. A store that is CONNECTED in the row but has no connection in
// this process (after a restart, or on another node) is connected again on first use.
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/encoding.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "crypto/pkcs11.h"
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {

// Component "kms.custom_key_store" (separate from "kms" so that teammates' kms migrations do
// not collide). kms_custom_key_stores: one row per store, the PIN sealed under
// passwordAad(). kms_token_keys: the token key id of each AWS_CLOUDHSM key. kms_mrk_primary:
// the primary Region of a multi-Region key once it has replicas (multi_region.cc).
const char* const kCustomKeyStoreSchema =
    "CREATE TABLE kms_custom_key_stores (account_id TEXT NOT NULL, region TEXT NOT NULL, "
    "store_id TEXT NOT NULL, name TEXT NOT NULL, store_type TEXT NOT NULL, "
    "cluster_id TEXT NOT NULL, trust_anchor TEXT NOT NULL, password BLOB NOT NULL, "
    "connection_state TEXT NOT NULL, connection_error TEXT NOT NULL, created_ms INTEGER NOT NULL, "
    "PRIMARY KEY (account_id, region, store_id));"
    "CREATE UNIQUE INDEX kms_custom_key_stores_name ON kms_custom_key_stores "
    "(account_id, region, name);"
    "CREATE TABLE kms_token_keys (account_id TEXT NOT NULL, region TEXT NOT NULL, "
    "key_id TEXT NOT NULL, store_id TEXT NOT NULL, token_key_id TEXT NOT NULL, "
    "PRIMARY KEY (account_id, region, key_id));"
    "CREATE TABLE kms_mrk_primary (account_id TEXT NOT NULL, key_id TEXT NOT NULL, "
    "primary_region TEXT NOT NULL, PRIMARY KEY (account_id, key_id))";

namespace {

constexpr size_t kAccountLen = 12;

struct StoreRow {
  std::string account_id;
  std::string region;
  std::string id;
  std::string name;
  std::string type;
  std::string cluster_id;
  std::string trust_anchor;
  std::string password_sealed;
  std::string state;  ///< ConnectionState
  std::string error;  ///< ConnectionErrorCode while FAILED
  SysTime created{};
};

constexpr const char* kStoreColumns =
    "account_id, region, store_id, name, store_type, cluster_id, trust_anchor, password, "
    "connection_state, connection_error, created_ms";

StoreRow storeFromRow(const store::Row& r) {
  StoreRow s;
  s.account_id = r.text(0);
  s.region = r.text(1);
  s.id = r.text(2);
  s.name = r.text(3);
  s.type = r.text(4);
  s.cluster_id = r.text(5);
  s.trust_anchor = r.text(6);
  s.password_sealed = r.text(7);
  s.state = r.text(8);
  s.error = r.text(9);
  s.created = fromEpochMillis(r.integer(10));
  return s;
}

std::optional<StoreRow> loadStore(store::Tx& tx, std::string_view account, std::string_view region,
                                  std::string_view id) {
  auto rows = tx.query(std::string("SELECT ") + kStoreColumns +
                           " FROM kms_custom_key_stores WHERE account_id = ? AND region = ? AND "
                           "store_id = ?",
                       {std::string(account), std::string(region), std::string(id)});
  if (rows.empty()) return std::nullopt;
  return storeFromRow(rows[0]);
}

void saveState(store::Tx& tx, const StoreRow& s) {
  tx.exec(
      "UPDATE kms_custom_key_stores SET name = ?, cluster_id = ?, password = ?, "
      "connection_state = ?, connection_error = ? WHERE account_id = ? AND region = ? AND "
      "store_id = ?",
      {s.name, s.cluster_id, store::Blob{s.password_sealed}, s.state, s.error, s.account_id,
       s.region, s.id});
}

/// The barrier AAD of a store's sealed kmsuser password.
std::string passwordAad(std::string_view account, std::string_view region, std::string_view id) {
  std::string aad = "kms-custom-key-store-password:";
  aad.append(account).append("/").append(region).append("/").append(id);
  return aad;
}

std::string connectionKey(std::string_view account, std::string_view region, std::string_view id) {
  std::string k(account);
  k.append("/").append(region).append("/").append(id);
  return k;
}

/// The logged-in tokens of this process, by store.
class Connections {
 public:
  std::shared_ptr<crypto::Pkcs11Token> find(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(key);
    if (it == tokens_.end() || !it->second->connected()) return nullptr;
    return it->second;
  }
  void put(const std::string& key, std::shared_ptr<crypto::Pkcs11Token> token) {
    std::shared_ptr<crypto::Pkcs11Token> old;
    {
      std::lock_guard lock(mu_);
      auto& slot = tokens_[key];
      old = std::move(slot);
      slot = std::move(token);
    }
    if (old) old->disconnect();
  }
  void drop(const std::string& key) {
    std::shared_ptr<crypto::Pkcs11Token> old;
    {
      std::lock_guard lock(mu_);
      auto it = tokens_.find(key);
      if (it == tokens_.end()) return;
      old = std::move(it->second);
      tokens_.erase(it);
    }
    old->disconnect();
  }
  void clear() {
    std::map<std::string, std::shared_ptr<crypto::Pkcs11Token>> old;
    {
      std::lock_guard lock(mu_);
      old.swap(tokens_);
    }
    for (auto& [k, t] : old) t->disconnect();
  }
  /// Serializes lazy reconnections (one login per store at a time).
  std::mutex& connectMu() { return connect_mu_; }

 private:
  std::mutex mu_;
  std::mutex connect_mu_;
  std::map<std::string, std::shared_ptr<crypto::Pkcs11Token>> tokens_;
};

Connections& connections() {
  static Connections c;
  return c;
}

AwsError storeNotFound(std::string_view id) {
  return kmsError("CustomKeyStoreNotFoundException",
                  "Custom key store '" + std::string(id) + "' does not exist.");
}

AwsError storeState(const StoreRow& s, std::string_view operation) {
  return kmsError("CustomKeyStoreInvalidStateException",
                  std::string(operation) + " is not valid for custom key store " + s.id +
                      " while its ConnectionState is " + s.state + ".");
}

AwsError unavailable(const KeyRecord& k) {
  KeyRecord copy = k;
  copy.key_state = "Unavailable";
  return invalidState(copy);
}

/// Opens a logged-in connection to the token a store's cluster maps to. On failure the error
/// carries the AWS ConnectionErrorCode in `extra` (crypto::kConnectionErrorCodeField).
Result<std::shared_ptr<crypto::Pkcs11Token>> openToken(runtime::Services& s, const StoreRow& row) {
  auto cluster = s.config.cloudhsm_clusters.find(row.cluster_id);
  if (cluster == s.config.cloudhsm_clusters.end()) {
    AwsError e = kmsError("CloudHsmClusterNotFoundException",
                          "CloudHSM cluster " + row.cluster_id + " is not configured.");
    e.extra.emplace_back(std::string(crypto::kConnectionErrorCodeField), "CLUSTER_NOT_FOUND");
    return e;
  }
  TRY_ASSIGN(auto module, crypto::Pkcs11Module::load(cluster->second.module_path));
  auto pin = s.barrier.open(row.password_sealed, passwordAad(row.account_id, row.region, row.id));
  if (!pin) {
    AwsError e = kmsError("KMSInternalException", "The key store password cannot be unsealed.");
    e.extra.emplace_back(std::string(crypto::kConnectionErrorCodeField), "INTERNAL_ERROR");
    return e;
  }
  auto token = crypto::Pkcs11Token::connect(module, cluster->second.token_label, *pin);
  crypto::wipe(*pin);
  if (!token.ok()) return std::move(token).error();
  return std::shared_ptr<crypto::Pkcs11Token>(std::move(token).value());
}

/// The connection of a CONNECTED store, connecting again when this process has none.
/// nullptr when the store is not connected (or cannot be reached).
std::shared_ptr<crypto::Pkcs11Token> tokenOf(runtime::Services& s, const StoreRow& row) {
  if (row.state != "CONNECTED") return nullptr;
  std::string key = connectionKey(row.account_id, row.region, row.id);
  Connections& c = connections();
  if (auto t = c.find(key)) return t;
  std::lock_guard lock(c.connectMu());
  if (auto t = c.find(key)) return t;
  auto token = openToken(s, row);
  if (!token.ok()) {
    log::warn("custom key store reconnection failed",
              {{"custom_key_store_id", row.id}, {"error", token.error().code}});
    return nullptr;
  }
  log::info("custom key store reconnected", {{"custom_key_store_id", row.id}});
  c.put(key, token.value());
  return std::move(token).value();
}

/// The token and token key id of an AWS_CLOUDHSM key, read in a fresh read transaction.
struct TokenKey {
  std::shared_ptr<crypto::Pkcs11Token> token;
  std::string token_key_id;
};

Result<TokenKey> tokenKeyOf(runtime::Services& s, const KeyRecord& k) {
  auto tx = s.store.begin(false);
  auto row = loadStore(*tx, k.account_id, k.region, k.custom_key_store_id);
  auto ids = tx->query(
      "SELECT token_key_id FROM kms_token_keys WHERE account_id = ? AND region = ? AND key_id = ?",
      {k.account_id, k.region, k.key_id});
  tx->rollback();
  if (!row || ids.empty())
    return kmsError("KMSInternalException", "The key material is unavailable.");
  auto token = tokenOf(s, *row);
  if (!token) return unavailable(k);
  return TokenKey{std::move(token), ids[0].text(0)};
}

void putU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

/// The blob header (layout in internal.h) with the token format byte.
std::string tokenHeader(const KeyRecord& k, uint32_t version) {
  std::string h;
  h.push_back(static_cast<char>(kTokenBlobFormat));
  h.append(k.account_id);
  h.push_back(static_cast<char>(k.key_id.size()));
  h.append(k.key_id);
  putU32(h, version);
  return h;
}

/// AWS: a PEM certificate is expected; anything else is not the cluster's trust anchor.
bool parsesAsCertificate(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return false;
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!cert) return false;
  X509_free(cert);
  return true;
}

int64_t intMember(const json::value& in, std::string_view name, int64_t fallback) {
  const json::value* v = in.as_object().if_contains(name);
  if (!v || !v->is_number()) return fallback;
  return v->to_number<int64_t>();
}

bool nameInUse(store::Tx& tx, const RequestContext& ctx, const std::string& name,
               const std::string& except_id) {
  auto rows = tx.query(
      "SELECT store_id FROM kms_custom_key_stores WHERE account_id = ? AND region = ? AND "
      "name = ? AND store_id <> ?",
      {ctx.account_id, ctx.region, name, except_id});
  return !rows.empty();
}

/// A cluster (its token) backs at most one store in the whole server.
bool clusterInUse(store::Tx& tx, const std::string& cluster_id, const std::string& except_id) {
  auto rows =
      tx.query("SELECT store_id FROM kms_custom_key_stores WHERE cluster_id = ? AND store_id <> ?",
               {cluster_id, except_id});
  return !rows.empty();
}

AwsError nameInUseError(const std::string& name) {
  return kmsError("CustomKeyStoreNameInUseException",
                  "Custom key store name '" + name + "' is already in use in this account.");
}

AwsError clusterInUseError(const std::string& cluster_id) {
  return kmsError(
      "CloudHsmClusterInUseException",
      "CloudHSM cluster " + cluster_id + " is already associated with a custom key store.");
}

AwsError clusterNotFound(const std::string& cluster_id) {
  return kmsError("CloudHsmClusterNotFoundException",
                  "CloudHSM cluster with clusterId " + cluster_id + " not found.");
}

Result<StoreRow> storeForUpdate(RequestContext& ctx, const json::value& in) {
  std::string id = str(in, "CustomKeyStoreId");
  auto row = loadStore(ctx.tx(), ctx.account_id, ctx.region, id);
  if (!row) return storeNotFound(id);
  return std::move(*row);
}

json::object storeEntry(const StoreRow& s) {
  json::object o;
  o["CustomKeyStoreId"] = s.id;
  o["CustomKeyStoreName"] = s.name;
  o["CloudHsmClusterId"] = s.cluster_id;
  o["TrustAnchorCertificate"] = s.trust_anchor;
  o["ConnectionState"] = s.state;
  if (s.state == "FAILED" && !s.error.empty()) o["ConnectionErrorCode"] = s.error;
  o["CreationDate"] = toEpochSeconds(s.created);
  o["CustomKeyStoreType"] = s.type;
  return o;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Keys in a custom key store

// AWS: https://docs.aws.amazon.com/kms/latest/developerguide/create-cmk-keystore.html
Result<void> prepareCustomKeyStoreKey(RequestContext& ctx, const json::value& in, KeyRecord& k) {
  std::string origin = str(in, "Origin");
  std::string store_id = str(in, "CustomKeyStoreId");
  if (origin == "EXTERNAL_KEY_STORE")
    return kmsError("UnsupportedOperationException",
                    "Origin EXTERNAL_KEY_STORE (external key stores) is not supported by citadel.");
  // AWS: "a specified parameter is not supported or a specified resource is not valid for
  // this operation": Origin AWS_CLOUDHSM and CustomKeyStoreId go together.
  if (origin != "AWS_CLOUDHSM")
    return kmsError("UnsupportedOperationException",
                    "CustomKeyStoreId is valid only with Origin AWS_CLOUDHSM or "
                    "EXTERNAL_KEY_STORE.");
  if (store_id.empty())
    return kmsError("UnsupportedOperationException",
                    "Origin AWS_CLOUDHSM requires the CustomKeyStoreId of a CloudHSM key store.");
  if (k.key_spec != "SYMMETRIC_DEFAULT" || k.key_usage != "ENCRYPT_DECRYPT")
    return kmsError("UnsupportedOperationException",
                    "KMS keys in a CloudHSM key store must be symmetric encryption keys "
                    "(SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT).");
  const json::value* mr = in.as_object().if_contains("MultiRegion");
  if (mr && mr->is_bool() && mr->get_bool())
    return kmsError("UnsupportedOperationException",
                    "Multi-Region keys cannot be created in a custom key store.");
  auto row = loadStore(ctx.tx(), ctx.account_id, ctx.region, store_id);
  if (!row) return storeNotFound(store_id);
  if (row->state != "CONNECTED") return storeState(*row, "CreateKey");
  k.origin = "AWS_CLOUDHSM";
  k.custom_key_store_id = store_id;
  return okResult();
}

Result<void> createTokenKey(runtime::Services& s, store::Tx& tx, const KeyRecord& k) {
  auto row = loadStore(tx, k.account_id, k.region, k.custom_key_store_id);
  if (!row) return storeNotFound(k.custom_key_store_id);
  auto token = tokenOf(s, *row);
  if (!token)
    return kmsError("CustomKeyStoreInvalidStateException",
                    "Custom key store " + row->id + " cannot be reached.");
  TRY_ASSIGN(std::string token_key_id, token->generateAesKey("kms:" + k.arn));
  tx.exec(
      "INSERT INTO kms_token_keys (account_id, region, key_id, store_id, token_key_id) "
      "VALUES (?, ?, ?, ?, ?)",
      {k.account_id, k.region, k.key_id, k.custom_key_store_id, token_key_id});
  return okResult();
}

Result<std::string> tokenSealBlob(runtime::Services& s, const KeyRecord& k, std::string_view plain,
                                  std::string_view context_aad) {
  if (k.account_id.size() != kAccountLen || k.key_id.empty() || k.key_id.size() > 64)
    return AwsError::internal("cannot form a ciphertext blob for this key");
  TRY_ASSIGN(TokenKey tk, tokenKeyOf(s, k));
  std::string header = tokenHeader(k, k.current_version);
  std::string aad = header;
  aad.append(context_aad);
  auto ct = tk.token->encrypt(tk.token_key_id, plain, aad);
  if (!ct.ok()) {
    if (ct.error().code == "CustomKeyStoreInvalidStateException" ||
        ct.error().code == "CloudHsmClusterNotActiveException")
      return unavailable(k);
    return kmsError("KMSInternalException", "The custom key store could not encrypt.");
  }
  std::string out = std::move(header);
  out.append(ct->iv).append(ct->ciphertext);
  return out;
}

Result<std::string> tokenOpenBlob(runtime::Services& s, const KeyRecord& k, std::string_view blob,
                                  std::string_view context_aad) {
  auto h = parseBlobHeader(blob);
  if (!h || h->format != kTokenBlobFormat) return kmsError("InvalidCiphertextException", "");
  const size_t header_len = 1 + kAccountLen + 1 + h->key_id.size() + 4;
  if (blob.size() < header_len + crypto::Pkcs11Token::kIvSize + crypto::Pkcs11Token::kTagSize)
    return kmsError("InvalidCiphertextException", "");
  TRY_ASSIGN(TokenKey tk, tokenKeyOf(s, k));
  std::string aad(blob.substr(0, header_len));
  aad.append(context_aad);
  auto plain =
      tk.token->decrypt(tk.token_key_id, blob.substr(header_len, crypto::Pkcs11Token::kIvSize),
                        blob.substr(header_len + crypto::Pkcs11Token::kIvSize), aad);
  if (!plain.ok()) {
    const std::string& code = plain.error().code;
    if (code == "InvalidCiphertextException") return kmsError("InvalidCiphertextException", "");
    if (code == "CustomKeyStoreInvalidStateException" ||
        code == "CloudHsmClusterNotActiveException")
      return unavailable(k);
    return kmsError("KMSInternalException", "The custom key store could not decrypt.");
  }
  return std::move(plain).value();
}

namespace {

/// The deletion job's part for AWS_CLOUDHSM keys: the token key goes after the commit.
void dropTokenKey(runtime::Services& s, store::Tx& tx, const KeyRecord& k) {
  auto ids = tx.query(
      "SELECT token_key_id FROM kms_token_keys WHERE account_id = ? AND region = ? AND key_id = ?",
      {k.account_id, k.region, k.key_id});
  tx.exec("DELETE FROM kms_token_keys WHERE account_id = ? AND region = ? AND key_id = ?",
          {k.account_id, k.region, k.key_id});
  if (ids.empty()) return;
  auto row = loadStore(tx, k.account_id, k.region, k.custom_key_store_id);
  if (!row) return;
  tx.afterCommit([&s, row = *row, token_key_id = ids[0].text(0), arn = k.arn] {
    // AWS: the key material is deleted from the cluster on a best-effort basis.
    auto token = tokenOf(s, row);
    auto done = token ? token->destroyKey(token_key_id)
                      : Result<void>(kmsError("CustomKeyStoreInvalidStateException", ""));
    if (!done.ok())
      log::warn("token key of a deleted KMS key left in the custom key store",
                {{"key_arn", arn},
                 {"custom_key_store_id", row.id},
                 {"token_key_id", token_key_id},
                 {"error", done.error().code}});
  });
}

}  // namespace

void extendCustomKeyStoreMetadata(store::Tx& tx, const KeyRecord& k, json::object& m) {
  if (k.custom_key_store_id.empty()) return;
  auto row = loadStore(tx, k.account_id, k.region, k.custom_key_store_id);
  if (!row) return;
  m["CloudHsmClusterId"] = row->cluster_id;
  // AWS: keys of a custom key store that is not connected are Unavailable.
  if (row->state != "CONNECTED" && (k.key_state == "Enabled" || k.key_state == "Disabled")) {
    m["KeyState"] = "Unavailable";
    m["Enabled"] = false;
  }
}

void deleteCustomKeyStoreKeyRows(runtime::Services& s, store::Tx& tx, const KeyRecord& k) {
  if (k.origin == "AWS_CLOUDHSM") dropTokenKey(s, tx, k);
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateRandom.html
Result<std::string> customKeyStoreRandom(RequestContext& ctx, std::string_view store_id, size_t n) {
  auto row = loadStore(ctx.tx(), ctx.account_id, ctx.region, store_id);
  if (!row) return storeNotFound(store_id);
  if (row->state != "CONNECTED") return storeState(*row, "GenerateRandom");
  auto token = tokenOf(*ctx.services, *row);
  if (!token)
    return kmsError("CustomKeyStoreInvalidStateException",
                    "Custom key store " + row->id + " cannot be reached.");
  return token->generateRandom(n);
}

void resetCustomKeyStoresAndReplicas(runtime::Services& s, store::Tx& tx) {
  (void)s;
  for (const char* table : {"kms_custom_key_stores", "kms_token_keys", "kms_mrk_primary"})
    tx.exec(std::string("DELETE FROM ") + table);
  tx.afterCommit([] { connections().clear(); });
}

// ---------------------------------------------------------------------------------------
// Handlers

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateCustomKeyStore.html
Result<json::value> createCustomKeyStore(RequestContext& ctx, const json::value& in) {
  std::string type = str(in, "CustomKeyStoreType");
  if (type.empty()) type = "AWS_CLOUDHSM";
  if (type != "AWS_CLOUDHSM")
    return kmsError("UnsupportedOperationException",
                    "CustomKeyStoreType " + type + " is not supported by citadel.");
  std::string name = str(in, "CustomKeyStoreName");
  std::string cluster_id = str(in, "CloudHsmClusterId");
  std::string anchor = str(in, "TrustAnchorCertificate");
  std::string password = str(in, "KeyStorePassword");
  if (cluster_id.empty() || anchor.empty() || password.empty())
    return AwsError::validation(
        "CloudHsmClusterId, TrustAnchorCertificate and KeyStorePassword are required for a "
        "custom key store of type AWS_CLOUDHSM.");
  store::Tx& tx = ctx.tx();
  if (nameInUse(tx, ctx, name, "")) return nameInUseError(name);
  if (!ctx.services->config.cloudhsm_clusters.count(cluster_id)) return clusterNotFound(cluster_id);
  if (clusterInUse(tx, cluster_id, "")) return clusterInUseError(cluster_id);
  if (!parsesAsCertificate(anchor))
    return kmsError("IncorrectTrustAnchorException",
                    "The trust anchor certificate in the request is not the trust anchor "
                    "certificate of CloudHSM cluster " +
                        cluster_id + ".");
  // AWS: cks- and 17 hex digits.
  std::string id = "cks-" + hexEncode(crypto::randomBytes(9)).substr(0, 17);
  std::string sealed =
      ctx.services->barrier.seal(password, passwordAad(ctx.account_id, ctx.region, id));
  crypto::wipe(password);
  tx.exec(std::string("INSERT INTO kms_custom_key_stores (") + kStoreColumns +
              ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {ctx.account_id, ctx.region, id, name, type, cluster_id, anchor,
           store::Blob{std::move(sealed)}, std::string("DISCONNECTED"), std::string(),
           toEpochMillis(ctx.time)});
  return json::value(json::object{{"CustomKeyStoreId", id}});
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_ConnectCustomKeyStore.html
// The connection is made during the call (CONNECTING is never observed); a failure is not an
// error of the call: the store goes FAILED with its ConnectionErrorCode, as AWS reports it.
Result<json::value> connectCustomKeyStore(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(StoreRow row, storeForUpdate(ctx, in));
  if (row.state == "FAILED" || row.state == "DISCONNECTING")
    return storeState(row, "ConnectCustomKeyStore");
  if (row.state == "CONNECTED") return json::value(json::object{});
  row.state = "CONNECTING";
  auto token = openToken(*ctx.services, row);
  if (token.ok()) {
    row.state = "CONNECTED";
    row.error.clear();
    ctx.tx().afterCommit([key = connectionKey(row.account_id, row.region, row.id),
                          t = token.value()] { connections().put(key, t); });
  } else {
    row.state = "FAILED";
    row.error = "INTERNAL_ERROR";
    for (const auto& [name, value] : token.error().extra)
      if (name == crypto::kConnectionErrorCodeField) row.error = value;
    log::info("custom key store connection failed",
              {{"custom_key_store_id", row.id}, {"connection_error_code", row.error}});
  }
  saveState(ctx.tx(), row);
  return json::value(json::object{});
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_DisconnectCustomKeyStore.html
Result<json::value> disconnectCustomKeyStore(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(StoreRow row, storeForUpdate(ctx, in));
  if (row.state == "DISCONNECTED" || row.state == "DISCONNECTING")
    return storeState(row, "DisconnectCustomKeyStore");
  row.state = "DISCONNECTED";
  row.error.clear();
  saveState(ctx.tx(), row);
  ctx.tx().afterCommit(
      [key = connectionKey(row.account_id, row.region, row.id)] { connections().drop(key); });
  return json::value(json::object{});
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeCustomKeyStores.html
Result<json::value> describeCustomKeyStores(RequestContext& ctx, const json::value& in) {
  std::string id = str(in, "CustomKeyStoreId");
  std::string name = str(in, "CustomKeyStoreName");
  if (!id.empty() && !name.empty())
    return AwsError::validation(
        "You can specify either CustomKeyStoreId or CustomKeyStoreName, but not both.");
  int64_t limit = intMember(in, "Limit", 1000);
  std::string marker = str(in, "Marker");
  std::string sql = std::string("SELECT ") + kStoreColumns +
                    " FROM kms_custom_key_stores WHERE account_id = ? AND region = ?";
  std::vector<store::Value> params{ctx.account_id, ctx.region};
  if (!id.empty()) {
    sql += " AND store_id = ?";
    params.emplace_back(id);
  }
  if (!name.empty()) {
    sql += " AND name = ?";
    params.emplace_back(name);
  }
  if (!marker.empty()) {
    if (marker.rfind("cks-", 0) != 0)
      return kmsError("InvalidMarkerException", "The marker " + marker + " is not valid.");
    sql += " AND store_id > ?";
    params.emplace_back(marker);
  }
  sql += " ORDER BY store_id LIMIT ?";
  params.emplace_back(limit + 1);
  auto rows = ctx.tx().query(sql, params);
  if (rows.empty() && (!id.empty() || !name.empty()))
    return kmsError("CustomKeyStoreNotFoundException",
                    "Custom key store '" + (id.empty() ? name : id) + "' does not exist.");
  bool truncated = static_cast<int64_t>(rows.size()) > limit;
  if (truncated) rows.pop_back();
  json::array stores;
  for (const auto& r : rows) stores.push_back(storeEntry(storeFromRow(r)));
  json::object out{{"CustomKeyStores", std::move(stores)}, {"Truncated", truncated}};
  if (truncated) out["NextMarker"] = rows.back().text(2);
  return json::value(std::move(out));
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdateCustomKeyStore.html
// The name may change while CONNECTED; the password and the cluster only while DISCONNECTED.
Result<json::value> updateCustomKeyStore(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(StoreRow row, storeForUpdate(ctx, in));
  std::string new_name = str(in, "NewCustomKeyStoreName");
  std::string password = str(in, "KeyStorePassword");
  std::string cluster_id = str(in, "CloudHsmClusterId");
  for (const char* xks :
       {"XksProxyUriEndpoint", "XksProxyUriPath", "XksProxyVpcEndpointServiceName",
        "XksProxyAuthenticationCredential", "XksProxyConnectivity"})
    if (in.as_object().contains(xks))
      return kmsError("UnsupportedOperationException",
                      std::string(xks) + " applies to external key stores only.");
  const bool other_than_name = !password.empty() || !cluster_id.empty();
  if (other_than_name && row.state != "DISCONNECTED")
    return storeState(row, "UpdateCustomKeyStore");
  if (!other_than_name && row.state != "DISCONNECTED" && row.state != "CONNECTED")
    return storeState(row, "UpdateCustomKeyStore");
  store::Tx& tx = ctx.tx();
  if (!new_name.empty() && new_name != row.name) {
    if (nameInUse(tx, ctx, new_name, row.id)) return nameInUseError(new_name);
    row.name = new_name;
  }
  if (!cluster_id.empty() && cluster_id != row.cluster_id) {
    const auto& clusters = ctx.services->config.cloudhsm_clusters;
    auto next = clusters.find(cluster_id);
    if (next == clusters.end()) return clusterNotFound(cluster_id);
    if (clusterInUse(tx, cluster_id, row.id)) return clusterInUseError(cluster_id);
    // A related cluster holds the same keys: here, the same token of the same module.
    auto current = clusters.find(row.cluster_id);
    if (current == clusters.end() || current->second.token_label != next->second.token_label ||
        current->second.module_path != next->second.module_path)
      return kmsError(
          "CloudHsmClusterNotRelatedException",
          "CloudHSM cluster " + cluster_id + " is not related to cluster " + row.cluster_id + ".");
    row.cluster_id = cluster_id;
  }
  if (!password.empty()) {
    row.password_sealed =
        ctx.services->barrier.seal(password, passwordAad(row.account_id, row.region, row.id));
    crypto::wipe(password);
  }
  saveState(tx, row);
  return json::value(json::object{});
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_DeleteCustomKeyStore.html
Result<json::value> deleteCustomKeyStore(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(StoreRow row, storeForUpdate(ctx, in));
  if (row.state != "DISCONNECTED") return storeState(row, "DeleteCustomKeyStore");
  auto keys = ctx.tx().query(
      "SELECT COUNT(*) FROM kms_keys WHERE account_id = ? AND region = ? AND "
      "custom_key_store_id = ?",
      {row.account_id, row.region, row.id});
  if (!keys.empty() && keys[0].integer(0) > 0)
    return kmsError("CustomKeyStoreHasCMKsException",
                    "Custom key store " + row.id + " contains KMS keys; delete them first.");
  ctx.tx().exec(
      "DELETE FROM kms_custom_key_stores WHERE account_id = ? AND region = ? AND store_id = ?",
      {row.account_id, row.region, row.id});
  return json::value(json::object{});
}

}  // namespace citadel::kms
