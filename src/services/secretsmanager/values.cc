// Secrets Manager: versions, values, staging labels and their envelope encryption through KMS.
#include <openssl/evp.h>

#include <algorithm>
#include <set>

#include "core/encoding.h"
#include "core/ids.h"
#include "crypto/crypto.h"
#include "runtime/invoke.h"
#include "runtime/services.h"
#include "services/kms/api.h"
#include "services/secretsmanager/internal.h"

namespace citadel::secretsmanager {

namespace {

constexpr unsigned char kEnvelopeVersion = 0x01;
constexpr size_t kIvSize = 12;
constexpr size_t kTagSize = 16;

/// AAD of a value's envelope: binds it to its secret and version.
std::string envelopeAad(const std::string& arn, const std::string& version_id) {
  std::string aad = "citadel/secretsmanager/v1";
  aad += '\0';
  aad += arn;
  aad += '\0';
  aad += version_id;
  return aad;
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::optional<std::string> gcmSeal(std::string_view key, std::string_view plain,
                                   std::string_view aad) {
  std::string iv = crypto::randomBytes(kIvSize);
  CipherCtx c(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!c || key.size() != 32) return std::nullopt;
  auto k = reinterpret_cast<const unsigned char*>(key.data());
  auto ivp = reinterpret_cast<const unsigned char*>(iv.data());
  if (EVP_EncryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, k, ivp) != 1) return std::nullopt;
  int len = 0;
  if (!aad.empty() &&
      EVP_EncryptUpdate(c.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1)
    return std::nullopt;
  std::string out;
  out.resize(1 + kIvSize + plain.size() + kTagSize);
  out[0] = static_cast<char>(kEnvelopeVersion);
  std::copy(iv.begin(), iv.end(), out.begin() + 1);
  auto dst = reinterpret_cast<unsigned char*>(out.data()) + 1 + kIvSize;
  if (!plain.empty() &&
      EVP_EncryptUpdate(c.get(), dst, &len, reinterpret_cast<const unsigned char*>(plain.data()),
                        static_cast<int>(plain.size())) != 1)
    return std::nullopt;
  int fin = 0;
  if (EVP_EncryptFinal_ex(c.get(), dst + plain.size(), &fin) != 1) return std::nullopt;
  if (EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, dst + plain.size()) != 1)
    return std::nullopt;
  return out;
}

std::optional<std::string> gcmOpen(std::string_view key, std::string_view sealed,
                                   std::string_view aad) {
  if (key.size() != 32 || sealed.size() < 1 + kIvSize + kTagSize ||
      static_cast<unsigned char>(sealed[0]) != kEnvelopeVersion)
    return std::nullopt;
  const size_t n = sealed.size() - 1 - kIvSize - kTagSize;
  auto src = reinterpret_cast<const unsigned char*>(sealed.data());
  CipherCtx c(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!c) return std::nullopt;
  if (EVP_DecryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()), src + 1) != 1)
    return std::nullopt;
  int len = 0;
  if (!aad.empty() &&
      EVP_DecryptUpdate(c.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1)
    return std::nullopt;
  std::string out(n, '\0');
  auto dst = reinterpret_cast<unsigned char*>(out.data());
  if (n > 0 && EVP_DecryptUpdate(c.get(), dst, &len, src + 1 + kIvSize, static_cast<int>(n)) != 1)
    return std::nullopt;
  std::string tag(sealed.substr(1 + kIvSize + n));
  if (EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) != 1)
    return std::nullopt;
  int fin = 0;
  if (EVP_DecryptFinal_ex(c.get(), dst + n, &fin) != 1) {
    crypto::wipe(out);
    return std::nullopt;
  }
  return out;
}

/// Runs a KMS operation for a secret of another region by presenting that region to invokeAs
/// (replicas are encrypted with their own region's key).
class RegionScope {
 public:
  RegionScope(RequestContext& ctx, const std::string& region) : ctx_(ctx), saved_(ctx.region) {
    ctx_.region = region;
  }
  ~RegionScope() { ctx_.region = std::move(saved_); }
  RegionScope(const RegionScope&) = delete;
  RegionScope& operator=(const RegionScope&) = delete;

 private:
  RequestContext& ctx_;
  std::string saved_;
};

json::object encryptionContext(const std::string& arn, const std::string& version_id) {
  // AWS: the encryption context Secrets Manager uses for a secret version.
  return json::object{{"SecretARN", arn}, {"SecretVersionId", version_id}};
}

/// Secrets Manager's answer for a KMS failure.
AwsError kmsFailure(AwsError e, bool encrypting) {
  if (e.code == "AccessDeniedException" || e.code == "AccessDenied")
    return AwsError{"AccessDeniedException", "Access to KMS is not allowed", 400, true, {}};
  if (e.code == "InternalFailure") return e;
  if (encrypting)
    return smError("EncryptionFailure",
                   "Secrets Manager can't encrypt the protected secret text using the provided "
                   "KMS key. Check that the KMS key is available, enabled, and not in an "
                   "invalid state. (" +
                       e.code + ")");
  return smError("DecryptionFailure",
                 "Secrets Manager can't decrypt the protected secret text using the provided "
                 "KMS key. (" +
                     e.code + ")");
}

std::string kmsKeyArn(const std::string& region, const std::string& account,
                      const std::string& key_id) {
  return "arn:aws:kms:" + region + ":" + account + ":key/" + key_id;
}

std::string suffixOf(const std::string& arn) {
  return arn.size() >= 6 ? arn.substr(arn.size() - 6) : "";
}

bool hasStage(const VersionRecord& v, std::string_view stage) {
  return std::find(v.stages.begin(), v.stages.end(), stage) != v.stages.end();
}

void removeStage(VersionRecord& v, std::string_view stage) {
  v.stages.erase(std::remove(v.stages.begin(), v.stages.end(), stage), v.stages.end());
}

/// Attaches `stage` to `target`, taking it from whichever version has it; AWSCURRENT leaves
/// AWSPREVIOUS on the version that lost it.
void attachStage(Snapshot& snap, VersionRecord& target, const std::string& stage) {
  if (hasStage(target, stage)) return;
  VersionRecord* old_holder = nullptr;
  for (auto& v : snap.versions)
    if (&v != &target && hasStage(v, stage)) {
      removeStage(v, stage);
      old_holder = &v;
    }
  target.stages.push_back(stage);
  if (stage == kCurrent && old_holder) {
    for (auto& v : snap.versions) removeStage(v, kPrevious);
    old_holder->stages.push_back(kPrevious);
  }
}

VersionRecord* mutableById(Snapshot& snap, std::string_view id) {
  for (auto& v : snap.versions)
    if (v.version_id == id) return &v;
  return nullptr;
}

json::array stagesJson(const VersionRecord& v) {
  json::array a;
  for (const auto& s : v.stages) a.emplace_back(s);
  return a;
}

Result<std::optional<Plain>> valueOf(const json::value& in) {
  const json::object& o = in.as_object();
  const json::value* s = o.if_contains("SecretString");
  const json::value* b = o.if_contains("SecretBinary");
  if (s && s->is_null()) s = nullptr;
  if (b && b->is_null()) b = nullptr;
  if (s && b)
    return smError("InvalidParameterException",
                   "You can't specify both a binary secret value and a string secret value in "
                   "the same secret.");
  if (s) return std::optional<Plain>(Plain(std::string(s->as_string()), false));
  if (b) return std::optional<Plain>(Plain(std::string(b->as_string()), true));
  return std::optional<Plain>();
}

}  // namespace

Plain::~Plain() { crypto::wipe(bytes); }

Result<void> sealValue(RequestContext& ctx, const SecretRecord& r, VersionRecord& v,
                       const Plain& value) {
  std::string key_id = r.kms_key_id;
  if (key_id.empty()) {
    TRY_ASSIGN(std::string managed, kms::api::managedKeyId(*ctx.services, ctx.tx(), r.account_id,
                                                           r.region, "secretsmanager"));
    key_id = kmsKeyArn(r.region, r.account_id, managed);
  }
  json::object in{{"KeyId", key_id},
                  {"KeySpec", "AES_256"},
                  {"EncryptionContext", encryptionContext(r.arn, v.version_id)}};
  Result<json::value> out = AwsError::internal();
  {
    RegionScope scope(ctx, r.region);
    out = runtime::invokeAs(ctx, "kms", "GenerateDataKey", std::move(in), kServicePrincipal);
  }
  if (!out.ok()) return kmsFailure(std::move(out).error(), true);
  json::object& o = out->as_object();
  std::string data_key(o.at("Plaintext").as_string());
  auto sealed = gcmSeal(data_key, value.bytes, envelopeAad(r.arn, v.version_id));
  crypto::wipe(data_key);
  if (json::string* p = o.if_contains("Plaintext") ? &o.at("Plaintext").as_string() : nullptr)
    std::fill(p->begin(), p->end(), '\0');
  if (!sealed) return AwsError::internal("Sealing the secret value failed.");
  v.kms_key_arn = std::string(o.at("KeyId").as_string());
  v.encrypted_key = std::string(o.at("CiphertextBlob").as_string());
  v.sealed = std::move(*sealed);
  v.binary = value.binary;
  v.has_value = true;
  return okResult();
}

Result<Plain> openValue(RequestContext& ctx, const SecretRecord& r, const VersionRecord& v) {
  json::object in{{"CiphertextBlob", v.encrypted_key},
                  {"KeyId", v.kms_key_arn},
                  {"EncryptionContext", encryptionContext(r.arn, v.version_id)}};
  Result<json::value> out = AwsError::internal();
  {
    RegionScope scope(ctx, r.region);
    out = runtime::invokeAs(ctx, "kms", "Decrypt", std::move(in), kServicePrincipal);
  }
  if (!out.ok()) return kmsFailure(std::move(out).error(), false);
  json::string& key = out->as_object().at("Plaintext").as_string();
  auto plain =
      gcmOpen(std::string_view(key.data(), key.size()), v.sealed, envelopeAad(r.arn, v.version_id));
  std::fill(key.begin(), key.end(), '\0');
  if (!plain)
    return smError("DecryptionFailure",
                   "Secrets Manager can't decrypt the protected secret text using the provided "
                   "KMS key.");
  return Plain(std::move(*plain), v.binary);
}

Result<const VersionRecord*> selectVersion(const Snapshot& snap, const std::string& version_id,
                                           const std::string& stage) {
  const VersionRecord* v = nullptr;
  if (!version_id.empty()) {
    v = snap.byId(version_id);
    if (!v || !v->has_value)
      return AwsError{
          "ResourceNotFoundException",
          "Secrets Manager can't find the specified secret value for VersionId: " + version_id,
          400,
          true,
          {}};
    if (!stage.empty() && !hasStage(*v, stage))
      return smError("InvalidRequestException",
                     "You provided a VersionStage that is not associated to the provided "
                     "VersionId.");
    return v;
  }
  const std::string& label = stage.empty() ? std::string(kCurrent) : stage;
  v = snap.byStage(label);
  if (!v || !v->has_value)
    return AwsError{
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label: " + label,
        400,
        true,
        {}};
  return v;
}

Result<std::string> addVersion(RequestContext& ctx, Snapshot& snap, const std::string& token_in,
                               Plain value, std::vector<std::string> stages) {
  std::string token = token_in.empty() ? newUuid() : token_in;
  if (stages.empty()) stages.push_back(kCurrent);
  if (VersionRecord* existing = mutableById(snap, token); existing && existing->has_value) {
    // AWS: a retry with the same token and value succeeds without a change; another value
    // under a used token is refused.
    TRY_ASSIGN(Plain old, openValue(ctx, snap.record, *existing));
    if (old.binary == value.binary && crypto::constantTimeEqual(old.bytes, value.bytes))
      return token;
    return smError("ResourceExistsException",
                   "You can't use ClientRequestToken " + token +
                       " because that value is already in use for a version of secret " +
                       snap.record.arn + ".");
  }
  store::Tx& tx = ctx.tx();
  VersionRecord* v = mutableById(snap, token);
  const bool fill = v != nullptr;  // a rotation placeholder gets its value
  if (!fill) {
    VersionRecord fresh;
    fresh.version_id = token;
    fresh.created = Clock::now();
    snap.versions.push_back(std::move(fresh));
    v = &snap.versions.back();
  }
  TRY_VOID(sealValue(ctx, snap.record, *v, value));
  if (fill)
    updateVersionValue(tx, snap.record.arn, *v);
  else
    insertVersion(tx, snap.record, *v);
  for (const auto& stage : stages) attachStage(snap, *v, stage);
  snap.record.last_changed = Clock::now();
  updateSecret(tx, snap.record);
  saveStages(ctx, snap);
  if (!snap.replicas.empty()) {
    std::map<std::string, const Plain*> plain{{token, &value}};
    TRY_VOID(syncReplicas(ctx, snap, plain));
  }
  return token;
}

Result<void> moveStage(Snapshot& snap, const std::string& stage, const std::string& move_to,
                       const std::string& remove_from) {
  const VersionRecord* holder = snap.byStage(stage);
  auto version_missing = [](const std::string& id) {
    return smError("InvalidParameterException",
                   "Secrets Manager can't find the specified secret version: " + id + ".");
  };
  if (!move_to.empty() && !snap.byId(move_to)) return version_missing(move_to);
  if (!remove_from.empty() && !snap.byId(remove_from)) return version_missing(remove_from);
  if (!remove_from.empty() && (!holder || holder->version_id != remove_from))
    return smError(
        "InvalidParameterException",
        "The staging label " + stage + " isn't attached to version " + remove_from + ".");
  if (move_to.empty()) {
    if (remove_from.empty())
      return smError("InvalidParameterException",
                     "You must specify MoveToVersionId, RemoveFromVersionId, or both.");
    if (stage == kCurrent)
      return smError("InvalidParameterException",
                     "You can't remove the staging label AWSCURRENT from a version without "
                     "moving it to another version.");
    removeStage(*mutableById(snap, remove_from), stage);
    return okResult();
  }
  if (holder && holder->version_id != move_to && remove_from.empty())
    return smError("InvalidParameterException",
                   "The parameter RemoveFromVersionId can't be empty. Staging label " + stage +
                       " is currently attached to version " + holder->version_id +
                       ", so you must explicitly reference that version in RemoveFromVersionId.");
  attachStage(snap, *mutableById(snap, move_to), stage);
  return okResult();
}

void saveStages(RequestContext& ctx, Snapshot& snap) {
  store::Tx& tx = ctx.tx();
  // AWS: at most ~100 versions; the oldest versions without a label are removed first.
  std::vector<std::string> dropped;
  size_t excess = snap.versions.size() > kMaxVersions ? snap.versions.size() - kMaxVersions : 0;
  for (auto it = snap.versions.begin(); excess > 0 && it != snap.versions.end();) {
    if (it->stages.empty()) {
      dropped.push_back(it->version_id);
      it = snap.versions.erase(it);
      --excess;
    } else {
      ++it;
    }
  }
  if (!dropped.empty()) deleteVersions(tx, snap.record.arn, dropped);
  writeStages(tx, snap.record.arn, snap.versions);
  if (snap.record.isReplica()) return;
  for (const auto& rep : snap.replicas) {
    if (rep.status != "InSync") continue;
    std::string arn =
        secretArn(rep.region, snap.record.account_id, snap.record.name, suffixOf(snap.record.arn));
    std::vector<VersionRecord> mirrored;
    std::set<std::string> present;
    for (const auto& row : tx.query("SELECT version_id FROM sm_versions WHERE arn = ?", {arn}))
      present.insert(row.text(0));
    for (const auto& v : snap.versions)
      if (present.count(v.version_id)) mirrored.push_back(v);
    if (!dropped.empty()) deleteVersions(tx, arn, dropped);
    writeStages(tx, arn, mirrored);
  }
}

Result<void> syncReplicas(RequestContext& ctx, Snapshot& primary,
                          const std::map<std::string, const Plain*>& plain) {
  store::Tx& tx = ctx.tx();
  for (auto& rep : primary.replicas) {
    if (rep.status != "InSync") continue;
    auto replica = loadByName(tx, primary.record.account_id, rep.region, primary.record.name);
    if (!replica || replica->record.primary_region != primary.record.region) continue;
    Snapshot& r = *replica;
    for (const auto& v : primary.versions) {
      if (r.byId(v.version_id)) {
        const VersionRecord* have = r.byId(v.version_id);
        if (have->has_value || !v.has_value) continue;
      }
      VersionRecord copy;
      copy.version_id = v.version_id;
      copy.created = v.created;
      if (v.has_value) {
        auto it = plain.find(v.version_id);
        Plain opened;
        const Plain* value = nullptr;
        if (it != plain.end()) {
          value = it->second;
        } else {
          TRY_ASSIGN(opened, openValue(ctx, primary.record, v));
          value = &opened;
        }
        TRY_VOID(sealValue(ctx, r.record, copy, *value));
      }
      if (r.byId(v.version_id))
        updateVersionValue(tx, r.record.arn, copy);
      else
        insertVersion(tx, r.record, copy);
    }
    std::vector<std::string> stale;
    for (const auto& v : r.versions)
      if (!primary.byId(v.version_id)) stale.push_back(v.version_id);
    if (!stale.empty()) deleteVersions(tx, r.record.arn, stale);
    writeStages(tx, r.record.arn, primary.versions);
    r.record.description = primary.record.description;
    r.record.policy = primary.record.policy;
    r.record.last_changed = primary.record.last_changed;
    updateSecret(tx, r.record);
    writeTags(tx, r.record.arn, primary.tags);
  }
  return okResult();
}

// ---------------------------------------------------------------------------------------
// Handlers

Result<json::value> getSecretValue(RequestContext& ctx, const json::value& in) {
  std::string id = str(in, "SecretId");
  auto snap = findSecret(ctx, id);
  if (!snap) return notFound();
  nameResource(ctx, snap->record.arn);
  if (snap->record.deleted()) return markedForDeletion();
  TRY_ASSIGN(const VersionRecord* v,
             selectVersion(*snap, str(in, "VersionId"), str(in, "VersionStage")));
  TRY_ASSIGN(Plain value, openValue(ctx, snap->record, *v));
  json::object out;
  out.reserve(7);
  out["ARN"] = snap->record.arn;
  out["Name"] = snap->record.name;
  out["VersionId"] = v->version_id;
  out[value.binary ? "SecretBinary" : "SecretString"] =
      json::string(value.bytes.data(), value.bytes.size());
  out["VersionStages"] = stagesJson(*v);
  out["CreatedDate"] = toEpochSeconds(v->created);
  touchAccessed(*ctx.services, *snap, v->version_id);
  return json::value(std::move(out));
}

Result<json::value> batchGetSecretValue(RequestContext& ctx, const json::value& in);

Result<json::value> putSecretValue(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Snapshot snap, requireLive(ctx, str(in, "SecretId")));
  nameResource(ctx, snap.record.arn);
  TRY_ASSIGN(std::optional<Plain> value, valueOf(in));
  if (!value)
    return smError("InvalidRequestException",
                   "You must provide either SecretString or SecretBinary.");
  std::vector<std::string> stages;
  if (const json::value* s = in.as_object().if_contains("VersionStages"); s && s->is_array())
    for (const auto& e : s->as_array()) stages.emplace_back(e.as_string());
  TRY_ASSIGN(std::string version,
             addVersion(ctx, snap, str(in, "ClientRequestToken"), std::move(*value), stages));
  const VersionRecord* v = snap.byId(version);
  json::object out{{"ARN", snap.record.arn}, {"Name", snap.record.name}, {"VersionId", version}};
  out["VersionStages"] = v ? stagesJson(*v) : json::array();
  return json::value(std::move(out));
}

Result<json::value> updateSecretVersionStage(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Snapshot snap, requireLive(ctx, str(in, "SecretId")));
  nameResource(ctx, snap.record.arn);
  TRY_VOID(moveStage(snap, str(in, "VersionStage"), str(in, "MoveToVersionId"),
                     str(in, "RemoveFromVersionId")));
  snap.record.last_changed = Clock::now();
  updateSecret(ctx.tx(), snap.record);
  saveStages(ctx, snap);
  return json::value(json::object{{"ARN", snap.record.arn}, {"Name", snap.record.name}});
}

Result<json::value> listSecretVersionIds(RequestContext& ctx, const json::value& in) {
  auto snap = findSecret(ctx, str(in, "SecretId"));
  if (!snap) return notFound();
  nameResource(ctx, snap->record.arn);
  const bool deprecated = boolean(in, "IncludeDeprecated", false);
  json::array all;
  for (auto it = snap->versions.rbegin(); it != snap->versions.rend(); ++it) {
    const VersionRecord& v = *it;
    if (v.stages.empty() && !deprecated) continue;
    json::object e{{"VersionId", v.version_id}, {"CreatedDate", toEpochSeconds(v.created)}};
    if (!v.stages.empty()) e["VersionStages"] = stagesJson(v);
    if (v.last_accessed) e["LastAccessedDate"] = toEpochSeconds(*v.last_accessed);
    if (!v.kms_key_arn.empty()) e["KmsKeyIds"] = json::array{json::value(v.kms_key_arn)};
    all.push_back(std::move(e));
  }
  size_t start = 0;
  std::string token = str(in, "NextToken");
  if (!token.empty()) {
    auto decoded = base64Decode(token);
    try {
      start = decoded ? std::stoul(*decoded) : all.size() + 1;
    } catch (...) {
      start = all.size() + 1;
    }
    if (start > all.size())
      return smError("InvalidNextTokenException", "The NextToken value is invalid.");
  }
  size_t max = 100;
  if (const json::value* m = in.as_object().if_contains("MaxResults"); m && m->is_number())
    max = static_cast<size_t>(m->to_number<int64_t>());
  json::array page;
  for (size_t i = start; i < all.size() && page.size() < max; ++i) page.push_back(all[i]);
  json::object out{
      {"Versions", std::move(page)}, {"ARN", snap->record.arn}, {"Name", snap->record.name}};
  if (start + max < all.size()) out["NextToken"] = base64Encode(std::to_string(start + max));
  return json::value(std::move(out));
}

}  // namespace citadel::secretsmanager
