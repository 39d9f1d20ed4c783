#include "app/seed.h"

#include <boost/json.hpp>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "app/admin_event.h"
#include "app/yaml_subset.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "crypto/kms_crypto.h"
#include "protocol/model.h"
#include "runtime/audit_record.h"
#include "services/kms/api.h"

namespace citadel::app {
namespace json = boost::json;

namespace {

// Seed errors are collected by throwing SeedError inside this file and caught at its two
// entry points, which turn them into a Result (start-up only, never on the request path).
struct SeedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw SeedError("seed: " + where + ": " + what);
}

const json::object& object(const json::value& v, const std::string& where) {
  if (!v.is_object()) bad(where, "must be a mapping");
  return v.as_object();
}

const json::array& array(const json::value& v, const std::string& where) {
  if (!v.is_array()) bad(where, "must be a list");
  return v.as_array();
}

void onlyFields(const json::object& o, const std::set<std::string>& allowed,
                const std::string& where) {
  for (const auto& [k, v] : o)
    if (!allowed.count(std::string(k))) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      bad(where, "unknown field \"" + std::string(k) + "\" (allowed: " + list + ")");
    }
}

std::string text(const json::object& o, const char* field, const std::string& where,
                 bool required, const std::string& fallback = {}) {
  const json::value* v = o.if_contains(field);
  if (!v || v->is_null()) {
    if (required) bad(where, std::string("missing field \"") + field + "\"");
    return fallback;
  }
  if (v->is_string()) return std::string(v->as_string());
  // Account ids written without quotes in YAML/JSON arrive as numbers.
  if (v->is_int64() || v->is_uint64()) return std::to_string(v->to_number<int64_t>());
  bad(where, std::string("field \"") + field + "\" must be a string");
}

std::vector<std::string> texts(const json::object& o, const char* field, const std::string& where) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(field);
  if (!v || v->is_null()) return out;
  for (const auto& e : array(*v, where + "." + field)) {
    if (!e.is_string()) bad(where, std::string("\"") + field + "\" must list strings");
    out.emplace_back(e.as_string());
  }
  return out;
}

std::string label(const std::string& section, size_t i, const std::string& name) {
  return section + "[" + std::to_string(i) + "]" + (name.empty() ? "" : " (" + name + ")");
}

bool validAccount(const std::string& id) { return runtime::Identity::validAccountId(id); }

/// AWS: IAM user names are [\w+=,.@-]{1,64}; paths are / or /.../ with printable ASCII.
bool validUserName(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (unsigned char c : n)
    if (!(std::isalnum(c) || c == '_' || c == '+' || c == '=' || c == ',' || c == '.' ||
          c == '@' || c == '-'))
      return false;
  return true;
}
bool validPath(const std::string& p) {
  if (p.empty() || p.size() > 512 || p.front() != '/' || p.back() != '/') return false;
  for (unsigned char c : p)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}
bool validUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

struct AccountPlan {
  std::string where;
  std::string id;
  std::optional<runtime::KeyPair> root;
};

struct UserPlan {
  std::string where;
  std::string account;
  std::string name;
  std::string path;
  std::vector<runtime::KeyPair> keys;
  std::vector<std::pair<std::string, std::string>> inline_policies;
  std::vector<std::string> managed_policies;
};

/// An entry of a section whose seeding belongs to a service (KMS, Secrets Manager, SSM).
struct ServiceEntry {
  std::string where;
  std::string account;
  std::string region;
  const json::object* entry = nullptr;
};

/// A section seeded by a service's own code: its fields, its entry checks and, once the
/// service exists, the function that creates one entry in the seed's transaction.
struct ServiceSection {
  const char* service;  ///< the top-level key ("kms")
  const char* list;     ///< the list under it ("keys")
  const char* noun;     ///< for messages ("kms keys")
  std::set<std::string> fields;
  std::function<void(const ServiceEntry&, std::set<std::string>& seen)> check;
  /// Empty = not supported yet (the entry stops the start).
  std::function<Result<void>(runtime::Services&, std::unique_ptr<store::Tx>&,
                             const ServiceEntry&)>
      apply;
};

void checkKmsKey(const ServiceEntry& e, std::set<std::string>& seen) {
  const json::object& o = *e.entry;
  std::string id = text(o, "id", e.where, true);
  if (!validUuid(id)) bad(e.where, "\"id\" must be a key id (a UUID such as 1234abcd-12ab-34cd-56ef-1234567890ab)");
  if (!seen.insert(e.account + "/" + e.region + "/" + id).second) bad(e.where, "duplicate key id " + id);
  std::string spec = text(o, "key_spec", e.where, false, "SYMMETRIC_DEFAULT");
  static const std::set<std::string> kSpecs = {
      "SYMMETRIC_DEFAULT", "RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
      "ECC_NIST_P521", "ECC_SECG_P256K1", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"};
  if (!kSpecs.count(spec)) bad(e.where, "unknown key_spec " + spec);
  std::string usage = text(o, "key_usage", e.where, false, "ENCRYPT_DECRYPT");
  if (usage != "ENCRYPT_DECRYPT" && usage != "SIGN_VERIFY" && usage != "GENERATE_VERIFY_MAC")
    bad(e.where, "unknown key_usage " + usage);
  text(o, "description", e.where, false);
  if (o.contains("material")) {
    std::string m = text(o, "material", e.where, true);
    auto raw = base64Decode(m);
    if (!raw) bad(e.where, "\"material\" is not valid base64");
    if (spec != "SYMMETRIC_DEFAULT") bad(e.where, "\"material\" is only supported for SYMMETRIC_DEFAULT keys");
    if (raw->size() != 32)
      bad(e.where, "\"material\" must be 32 bytes (256-bit AES key material), got " +
                       std::to_string(raw->size()));
  }
  for (const auto& alias : texts(o, "aliases", e.where)) {
    if (alias.rfind("alias/", 0) != 0 || alias.size() <= 6 || alias.size() > 256)
      bad(e.where, "alias \"" + alias + "\" must be alias/NAME");
    if (alias.rfind("alias/aws/", 0) == 0) bad(e.where, "alias \"" + alias + "\" is reserved for AWS");
    if (!seen.insert(e.account + "/" + e.region + "/" + alias).second)
      bad(e.where, "duplicate alias " + alias);
  }
}

void checkSecret(const ServiceEntry& e, std::set<std::string>& seen) {
  const json::object& o = *e.entry;
  std::string name = text(o, "name", e.where, true);
  if (name.empty() || name.size() > 512) bad(e.where, "\"name\" must be 1 to 512 characters");
  if (!seen.insert(e.account + "/" + e.region + "/" + name).second) bad(e.where, "duplicate secret " + name);
  bool has_value = o.contains("value"), has_binary = o.contains("binary");
  if (has_value == has_binary) bad(e.where, "give exactly one of \"value\" and \"binary\"");
  if (has_value) text(o, "value", e.where, true);
  if (has_binary && !base64Decode(text(o, "binary", e.where, true)))
    bad(e.where, "\"binary\" is not valid base64");
  text(o, "kms_key_id", e.where, false);
  text(o, "description", e.where, false);
}

void checkParameter(const ServiceEntry& e, std::set<std::string>& seen) {
  const json::object& o = *e.entry;
  std::string name = text(o, "name", e.where, true);
  if (name.empty() || name.size() > 2048) bad(e.where, "\"name\" must be 1 to 2048 characters");
  if (!seen.insert(e.account + "/" + e.region + "/" + name).second)
    bad(e.where, "duplicate parameter " + name);
  std::string type = text(o, "type", e.where, false, "String");
  if (type != "String" && type != "StringList" && type != "SecureString")
    bad(e.where, "\"type\" must be String, StringList or SecureString");
  text(o, "value", e.where, true);
  std::string key = text(o, "key_id", e.where, false);
  if (!key.empty() && type != "SecureString") bad(e.where, "\"key_id\" is only for SecureString");
  text(o, "description", e.where, false);
}

Result<void> seedKmsKey(runtime::Services& services, std::unique_ptr<store::Tx>& tx,
                        const ServiceEntry& e);
Result<void> seedSecret(runtime::Services& services, std::unique_ptr<store::Tx>& tx,
                        const ServiceEntry& e);
Result<void> seedParameter(runtime::Services& services, std::unique_ptr<store::Tx>& tx,
                           const ServiceEntry& e);

std::vector<ServiceSection>& serviceSections() {
  static std::vector<ServiceSection> sections = {
      {"kms", "keys", "kms keys",
       {"id", "account", "region", "description", "key_spec", "key_usage", "material", "aliases"},
       checkKmsKey, seedKmsKey},
      {"secretsmanager", "secrets", "secretsmanager secrets",
       {"name", "account", "region", "value", "binary", "kms_key_id", "description"},
       checkSecret, seedSecret},
      {"ssm", "parameters", "ssm parameters",
       {"name", "account", "region", "type", "value", "key_id", "description"}, checkParameter,
       seedParameter},
  };
  return sections;
}

/// The whole checked document, ready to apply.
struct Plan {
  std::vector<AccountPlan> accounts;
  std::vector<UserPlan> users;
  std::vector<std::pair<const ServiceSection*, ServiceEntry>> service_entries;
};

Plan check(const json::value& doc, const std::string& default_account, const std::string& region) {
  Plan plan;
  if (doc.is_null()) return plan;  // an empty file seeds nothing
  const json::object& root = object(doc, "top level");
  std::set<std::string> top = {"accounts", "iam"};
  for (const auto& s : serviceSections()) top.insert(s.service);
  onlyFields(root, top, "top level");

  std::set<std::string> account_ids = {default_account};
  std::set<std::string> key_ids;
  if (const json::value* v = root.if_contains("accounts")) {
    const json::array& list = array(*v, "accounts");
    for (size_t i = 0; i < list.size(); ++i) {
      std::string where = label("accounts", i, "");
      const json::object& o = object(list[i], where);
      AccountPlan a;
      a.id = text(o, "id", where, true);
      a.where = where = label("accounts", i, a.id);
      onlyFields(o, {"id", "root_access_key_id", "root_secret_access_key"}, where);
      if (!validAccount(a.id)) bad(where, "\"id\" must be 12 digits (quote it in YAML)");
      for (const auto& p : plan.accounts)
        if (p.id == a.id) bad(where, "duplicate account id " + a.id);
      std::string akid = text(o, "root_access_key_id", where, false);
      std::string secret = text(o, "root_secret_access_key", where, false);
      if (akid.empty() != secret.empty())
        bad(where, "root_access_key_id and root_secret_access_key go together");
      if (!akid.empty()) {
        if (akid.size() < 16 || akid.size() > 128)
          bad(where, "root_access_key_id must be 16 to 128 characters");
        if (!key_ids.insert(akid).second) bad(where, "duplicate access key id " + akid);
        a.root = runtime::KeyPair{akid, secret};
      }
      account_ids.insert(a.id);
      plan.accounts.push_back(std::move(a));
    }
  }
  auto accountOf = [&](const json::object& o, const std::string& where) {
    std::string acct = text(o, "account", where, false, default_account);
    if (!validAccount(acct)) bad(where, "\"account\" must be 12 digits (quote it in YAML)");
    if (!account_ids.count(acct))
      bad(where, "account " + acct + " is neither the default account nor listed under accounts");
    return acct;
  };

  if (const json::value* v = root.if_contains("iam")) {
    const json::object& iam = object(*v, "iam");
    onlyFields(iam, {"users"}, "iam");
    if (const json::value* uv = iam.if_contains("users")) {
      const json::array& list = array(*uv, "iam.users");
      std::set<std::string> seen;
      for (size_t i = 0; i < list.size(); ++i) {
        std::string where = label("iam.users", i, "");
        const json::object& o = object(list[i], where);
        UserPlan u;
        u.name = text(o, "name", where, true);
        u.where = where = label("iam.users", i, u.name);
        onlyFields(o, {"name", "account", "path", "access_keys", "inline_policies", "managed_policies"},
                   where);
        if (!validUserName(u.name)) bad(where, "\"name\" must match [\\w+=,.@-]{1,64}");
        u.account = accountOf(o, where);
        u.path = text(o, "path", where, false, "/");
        if (!validPath(u.path)) bad(where, "\"path\" must start and end with /");
        std::string lower = toLower(u.name);  // AWS: user names are unique case-insensitively
        if (!seen.insert(u.account + "/" + lower).second) bad(where, "duplicate user " + u.name);
        if (const json::value* kv = o.if_contains("access_keys")) {
          const json::array& keys = array(*kv, where + ".access_keys");
          if (keys.size() > 2) bad(where, "an IAM user has at most 2 access keys");
          for (size_t k = 0; k < keys.size(); ++k) {
            std::string kw = where + ".access_keys[" + std::to_string(k) + "]";
            const json::object& ko = object(keys[k], kw);
            onlyFields(ko, {"id", "secret"}, kw);
            runtime::KeyPair kp{text(ko, "id", kw, true), text(ko, "secret", kw, true)};
            if (kp.access_key_id.size() < 16 || kp.access_key_id.size() > 128)
              bad(kw, "\"id\" must be 16 to 128 characters");
            for (unsigned char c : kp.access_key_id)
              if (!std::isalnum(c)) bad(kw, "\"id\" must be letters and digits");
            if (kp.secret_access_key.empty()) bad(kw, "\"secret\" must not be empty");
            if (!key_ids.insert(kp.access_key_id).second)
              bad(kw, "duplicate access key id " + kp.access_key_id);
            u.keys.push_back(std::move(kp));
          }
        }
        if (const json::value* pv = o.if_contains("inline_policies")) {
          for (const auto& [name, doc_v] : object(*pv, where + ".inline_policies")) {
            std::string doc_text = doc_v.is_string() ? std::string(doc_v.as_string())
                                   : doc_v.is_object() ? json::serialize(doc_v)
                                                       : std::string();
            if (doc_text.empty())
              bad(where, "inline policy \"" + std::string(name) + "\" must be a document (mapping or JSON text)");
            u.inline_policies.emplace_back(std::string(name), std::move(doc_text));
          }
        }
        u.managed_policies = texts(o, "managed_policies", where);
        for (const auto& arn : u.managed_policies)
          if (arn.rfind("arn:aws:iam::", 0) != 0 || arn.find(":policy/") == std::string::npos)
            bad(where, "managed policy \"" + arn + "\" must be a policy ARN");
        plan.users.push_back(std::move(u));
      }
    }
  }

  for (const auto& section : serviceSections()) {
    const json::value* v = root.if_contains(section.service);
    if (!v) continue;
    const json::object& so = object(*v, section.service);
    onlyFields(so, {section.list}, section.service);
    const json::value* lv = so.if_contains(section.list);
    if (!lv) continue;
    std::string path = std::string(section.service) + "." + section.list;
    const json::array& list = array(*lv, path);
    std::set<std::string> seen;
    for (size_t i = 0; i < list.size(); ++i) {
      std::string where = label(path, i, "");
      const json::object& o = object(list[i], where);
      std::string name = text(o, o.contains("id") ? "id" : "name", where, false);
      where = label(path, i, name);
      onlyFields(o, section.fields, where);
      ServiceEntry e{where, accountOf(o, where), text(o, "region", where, false, region), &o};
      section.check(e, seen);
      plan.service_entries.emplace_back(&section, e);
    }
  }
  // Entries for services that cannot be seeded yet stop the start rather than being ignored.
  for (const auto& [section, e] : plan.service_entries)
    if (!section->apply) bad(e.where, std::string(section->noun) + " are not supported yet");
  return plan;
}

/// Runs one operation's handler in the seed's transaction, as the account's root user, and
/// appends its audit record there (a seed entry is made as the account's root would make it).
Result<json::value> callService(runtime::Services& services, std::unique_ptr<store::Tx>& tx,
                                const std::string& service, const std::string& account,
                                const std::string& region, const std::string& operation,
                                json::object input) {
  const runtime::ServiceSpec* spec = services.service(service);
  const protocol::ServiceModel* model = protocol::Models::get(service);
  if (!spec || !model) return AwsError::internal("the " + service + " service is not available");
  auto it = spec->operations.find(operation);
  if (it == spec->operations.end()) return AwsError::internal(service + " lacks " + operation);
  runtime::RequestContext ctx;
  ctx.request_id = newUuid();
  ctx.time = Clock::now();
  ctx.services = &services;
  ctx.service = service;
  ctx.event_source = spec->event_source;
  ctx.operation = operation;
  ctx.region = region;
  ctx.account_id = account;
  ctx.principal = runtime::Identity::rootPrincipal(account);
  ctx.source_ip = "citadel.amazonaws.com";
  ctx.user_agent = "citadel-seed";
  ctx.read_only = it->second.read_only;
  ctx.tx_ = std::move(tx);
  json::value in = std::move(input);
  auto out = it->second.handler(ctx, in);
  if (out.ok() && !ctx.read_only)
    services.events.append(*ctx.tx_, runtime::buildAuditEvent(ctx, model->findOperation(operation),
                                                              &in, &out.value(), nullptr));
  tx = std::move(ctx.tx_);
  return out;
}

Result<json::value> callIam(runtime::Services& services, std::unique_ptr<store::Tx>& tx,
                            const std::string& account, const std::string& operation,
                            json::object input) {
  return callService(services, tx, "iam", account, "us-east-1", operation, std::move(input));
}

std::string errorText(const AwsError& e) { return e.code + ": " + e.message; }

/// KMS: creates the key with its given id (EXTERNAL when the seed gives material, which is then
/// imported through GetParametersForImport / ImportKeyMaterial exactly as a client would, so
/// ciphertexts made under it stay valid across fresh starts), then its aliases. On a rerun the
/// material is imported again: the same material is accepted, other material is refused.
Result<void> seedKmsKey(runtime::Services& services, std::unique_ptr<store::Tx>& tx,
                        const ServiceEntry& e) {
  const json::object& o = *e.entry;
  auto member = [&](const char* name, const char* fallback) {
    const json::value* v = o.if_contains(name);
    return v ? std::string(v->as_string()) : std::string(fallback);
  };
  kms::api::SeedKey seed;
  seed.account = e.account;
  seed.region = e.region;
  seed.key_id = member("id", "");
  seed.key_spec = member("key_spec", "SYMMETRIC_DEFAULT");
  seed.key_usage = member("key_usage", "ENCRYPT_DECRYPT");
  seed.description = member("description", "");
  std::optional<std::string> material;
  if (o.contains("material")) material = base64Decode(member("material", ""));
  seed.origin = material ? "EXTERNAL" : "AWS_KMS";
  TRY_ASSIGN(bool created, kms::api::createKeyWithId(services, *tx, seed));
  if (created)
    services.events.append(
        *tx, adminEvent("CreateKey", e.account, e.region,
                        json::object{{"keyId", seed.key_id},
                                     {"keySpec", seed.key_spec},
                                     {"keyUsage", seed.key_usage},
                                     {"origin", seed.origin}}));
  auto call = [&](const char* op, json::object in) {
    return callService(services, tx, "kms", e.account, e.region, op, std::move(in));
  };
  auto failed = [](const char* what, const AwsError& err) {
    return AwsError{err.code, std::string(what) + ": " + errorText(err), 400, true, {}};
  };
  if (material) {
    auto params = call("GetParametersForImport",
                       json::object{{"KeyId", seed.key_id},
                                    {"WrappingAlgorithm", "RSAES_OAEP_SHA_256"},
                                    {"WrappingKeySpec", "RSA_2048"}});
    if (!params.ok()) return failed("GetParametersForImport", params.error());
    const json::object& p = params->as_object();
    auto wrapped = crypto::kms::rsaEncrypt(std::string(p.at("PublicKey").as_string()),
                                           "RSAES_OAEP_SHA_256", *material);
    crypto::wipe(*material);
    if (!wrapped.ok()) return failed("wrapping the material", wrapped.error());
    auto imported = call("ImportKeyMaterial",
                         json::object{{"KeyId", seed.key_id},
                                      {"ImportToken", p.at("ImportToken")},
                                      {"EncryptedKeyMaterial", *wrapped},
                                      {"ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE"}});
    if (!imported.ok()) return failed("ImportKeyMaterial", imported.error());
  }
  if (const json::value* aliases = o.if_contains("aliases")) {
    for (const auto& a : aliases->as_array()) {
      std::string alias(a.as_string());
      auto target = call("DescribeKey", json::object{{"KeyId", alias}});
      if (target.ok()) {
        if (target->as_object().at("KeyMetadata").as_object().at("KeyId") == json::value(seed.key_id))
          continue;
        auto moved = call("UpdateAlias", json::object{{"AliasName", alias}, {"TargetKeyId", seed.key_id}});
        if (!moved.ok()) return failed(("UpdateAlias " + alias).c_str(), moved.error());
        continue;
      }
      auto made = call("CreateAlias", json::object{{"AliasName", alias}, {"TargetKeyId", seed.key_id}});
      if (!made.ok()) return failed(("CreateAlias " + alias).c_str(), made.error());
    }
  }
  return okResult();
}

/// Secrets Manager: creates the secret, or stores a new value when the seed's differs.
Result<void> seedSecret(runtime::Services& services, std::unique_ptr<store::Tx>& tx,
                        const ServiceEntry& e) {
  const json::object& o = *e.entry;
  std::string name(o.at("name").as_string());
  json::object value;
  if (o.contains("value")) value["SecretString"] = o.at("value");
  else  // blob members travel as raw bytes inside citadel (checked as base64 already)
    value["SecretBinary"] = *base64Decode(std::string(o.at("binary").as_string()));
  auto call = [&](const char* op, json::object in) {
    return callService(services, tx, "secretsmanager", e.account, e.region, op, std::move(in));
  };
  auto existing = call("DescribeSecret", json::object{{"SecretId", name}});
  if (!existing.ok()) {
    json::object in = value;
    in["Name"] = name;
    if (const json::value* k = o.if_contains("kms_key_id")) in["KmsKeyId"] = *k;
    if (const json::value* d = o.if_contains("description")) in["Description"] = *d;
    auto made = call("CreateSecret", std::move(in));
    if (!made.ok()) return AwsError{made.error().code, errorText(made.error()), 400, true, {}};
    return okResult();
  }
  auto current = call("GetSecretValue", json::object{{"SecretId", name}});
  bool same = false;
  if (current.ok() && current->is_object()) {
    const json::object& c = current->as_object();
    same = value.contains("SecretString")
               ? c.if_contains("SecretString") && c.at("SecretString") == value.at("SecretString")
               : c.if_contains("SecretBinary") && c.at("SecretBinary") == value.at("SecretBinary");
  }
  if (same) return okResult();
  json::object in = value;
  in["SecretId"] = name;
  auto put = call("PutSecretValue", std::move(in));
  if (!put.ok()) return AwsError{put.error().code, errorText(put.error()), 400, true, {}};
  return okResult();
}

/// SSM Parameter Store: creates the parameter, or overwrites it when the seed's value or type
/// differs (an unchanged seed adds no version).
Result<void> seedParameter(runtime::Services& services, std::unique_ptr<store::Tx>& tx,
                           const ServiceEntry& e) {
  const json::object& o = *e.entry;
  std::string name(o.at("name").as_string());
  std::string type = o.contains("type") ? std::string(o.at("type").as_string()) : "String";
  auto call = [&](const char* op, json::object in) {
    return callService(services, tx, "ssm", e.account, e.region, op, std::move(in));
  };
  auto current = call("GetParameter", json::object{{"Name", name}, {"WithDecryption", true}});
  if (current.ok() && current->is_object()) {
    const json::value* p = current->as_object().if_contains("Parameter");
    if (p && p->is_object() && p->as_object().if_contains("Value") &&
        p->as_object().at("Value") == o.at("value") && p->as_object().if_contains("Type") &&
        p->as_object().at("Type") == json::value(type))
      return okResult();
  }
  json::object in{{"Name", name}, {"Value", o.at("value")}, {"Type", type},
                  {"Overwrite", current.ok()}};
  if (const json::value* k = o.if_contains("key_id")) in["KeyId"] = *k;
  if (const json::value* d = o.if_contains("description")) in["Description"] = *d;
  auto put = call("PutParameter", std::move(in));
  if (!put.ok()) return AwsError{put.error().code, errorText(put.error()), 400, true, {}};
  return okResult();
}

SeedSummary apply(runtime::Services& services, const Plan& plan, const std::string& region) {
  SeedSummary sum;
  auto tx = services.store.begin(true);
  auto& id = services.identity;
  auto must = [](const Result<void>& r, const std::string& where) {
    if (!r.ok()) bad(where, r.error().message);
  };
  for (const auto& a : plan.accounts) {
    if (!id.accountExists(*tx, a.id)) {
      auto made = id.createAccount(*tx, a.id, false);
      if (!made.ok()) bad(a.where, made.error().message);
      services.events.append(*tx, adminEvent("CreateAccount", a.id, region,
                                             json::object{{"accountId", a.id}, {"seed", true}}));
      ++sum.accounts_created;
    }
    if (a.root) {
      must(id.putRootKey(*tx, a.id, *a.root), a.where);
      services.events.append(*tx, adminEvent("PutRootAccessKey", a.id, region,
                                             json::object{{"accessKeyId", a.root->access_key_id}}));
      ++sum.access_keys;
    }
  }
  for (const auto& u : plan.users) {
    json::object user;
    auto got = callIam(services, tx, u.account, "GetUser", json::object{{"UserName", u.name}});
    if (got.ok()) {
      user = got->as_object().at("User").as_object();
    } else {
      auto made = callIam(services, tx, u.account, "CreateUser",
                          json::object{{"UserName", u.name}, {"Path", u.path}});
      if (!made.ok()) bad(u.where, made.error().code + ": " + made.error().message);
      user = made->as_object().at("User").as_object();
      ++sum.users_created;
    }
    runtime::Principal p;
    p.type = runtime::Principal::Type::kIamUser;
    p.account_id = u.account;
    p.arn = std::string(user.at("Arn").as_string());
    p.principal_id = std::string(user.at("UserId").as_string());
    p.user_name = std::string(user.at("UserName").as_string());
    for (const auto& kp : u.keys) {
      auto existing = id.keysOf(*tx, p.arn);
      bool known = false;
      for (const auto& k : existing) known = known || k.access_key_id == kp.access_key_id;
      if (!known && existing.size() >= 2)
        bad(u.where, "user already has 2 access keys; cannot add " + kp.access_key_id);
      must(id.putUserKey(*tx, p, kp), u.where);
      services.events.append(
          *tx, adminEvent("PutUserAccessKey", u.account, region,
                          json::object{{"userName", u.name}, {"accessKeyId", kp.access_key_id}}));
      ++sum.access_keys;
    }
    for (const auto& [name, doc] : u.inline_policies) {
      auto r = callIam(services, tx, u.account, "PutUserPolicy",
                       json::object{{"UserName", u.name}, {"PolicyName", name}, {"PolicyDocument", doc}});
      if (!r.ok()) bad(u.where, "inline policy " + name + ": " + r.error().code + ": " + r.error().message);
    }
    for (const auto& arn : u.managed_policies) {
      auto r = callIam(services, tx, u.account, "AttachUserPolicy",
                       json::object{{"UserName", u.name}, {"PolicyArn", arn}});
      if (!r.ok()) bad(u.where, "managed policy " + arn + ": " + r.error().code + ": " + r.error().message);
    }
  }
  for (const auto& [section, e] : plan.service_entries) {
    auto r = section->apply(services, tx, e);
    if (!r.ok()) bad(e.where, r.error().message);
  }
  tx->commit();
  return sum;
}

}  // namespace

Result<json::value> loadSeedFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return AwsError{"InvalidSeedFile", "seed: cannot read " + path, 400, true, {}};
  std::stringstream ss;
  ss << f.rdbuf();
  std::string body = ss.str();
  size_t first = body.find_first_not_of(" \t\r\n");
  bool is_json = (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0) ||
                 (first != std::string::npos && body[first] == '{');
  if (is_json) {
    boost::system::error_code ec;
    json::value doc = json::parse(body, ec);
    if (ec) return AwsError{"InvalidSeedFile", "seed: " + path + " is not valid JSON: " + ec.message(), 400, true, {}};
    return doc;
  }
  auto doc = parseYamlSubset(body);
  if (!doc.ok())
    return AwsError{"InvalidSeedFile", "seed: " + path + ": " + doc.error().message, 400, true, {}};
  return doc;
}

Result<SeedSummary> applySeed(runtime::Services& services, const json::value& doc,
                              const std::string& default_account, const std::string& region) {
  try {
    Plan plan = check(doc, default_account, region);
    return apply(services, plan, region);
  } catch (const SeedError& e) {
    return AwsError{"InvalidSeedFile", e.what(), 400, true, {}};
  }
}

}  // namespace citadel::app
