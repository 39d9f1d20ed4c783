// SSM Parameter Store: PutParameter, the Get* reads (selectors, SecureString decryption,
// public and Secrets Manager reference parameters), history, deletion and labels.
#include <algorithm>
#include <set>

#include "core/encoding.h"
#include "runtime/invoke.h"
#include "runtime/services.h"
#include "services/kms/api.h"
#include "services/ssm/internal.h"

namespace citadel::ssm {

namespace {

constexpr const char* kViaService = "ssm.amazonaws.com";
constexpr const char* kSecretsPrefix = "/aws/reference/secretsmanager/";

double seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

std::string arnOf(const RequestContext& ctx, const ParamRecord& rec) {
  // AWS: public parameters are owned by no account.
  return parameterArn(rec.is_public ? "" : ctx.account_id, ctx.region, rec.name);
}

json::object encryptionContext(const std::string& arn) {
  return json::object{{"PARAMETER_ARN", arn}};
}

/// KMS's error as SSM answers it.
AwsError fromKms(AwsError e) {
  if (e.code == "NotFoundException" || e.code == "InvalidArnException")
    return ssmError("InvalidKeyId", e.message);
  return e;
}

/// The plaintext of a SecureString record (KMS Decrypt as the caller, via SSM).
Result<std::string> decryptValue(RequestContext& ctx, const ParamRecord& rec) {
  auto blob = base64Decode(rec.value);
  if (!blob) return AwsError::internal();
  json::object in;
  in["CiphertextBlob"] = std::move(*blob);
  in["EncryptionContext"] = encryptionContext(arnOf(ctx, rec));
  auto out = runtime::invokeAs(ctx, "kms", "Decrypt", json::value(std::move(in)), kViaService);
  if (!out.ok()) return fromKms(std::move(out).error());
  return std::string(out->as_object().at("Plaintext").as_string());
}

Result<json::object> parameterDoc(RequestContext& ctx, const ParamRecord& rec,
                                  const std::string& selector, bool with_decryption) {
  json::object p;
  p["Name"] = rec.name;
  p["Type"] = rec.type;
  if (rec.type == "SecureString" && with_decryption) {
    TRY_ASSIGN(std::string plain, decryptValue(ctx, rec));
    p["Value"] = std::move(plain);
  } else {
    // AWS: without WithDecryption a SecureString's value is its ciphertext (base64).
    p["Value"] = rec.value;
  }
  p["Version"] = rec.version;
  if (!selector.empty()) p["Selector"] = ":" + selector;
  p["LastModifiedDate"] = seconds(rec.modified_ms);
  p["ARN"] = arnOf(ctx, rec);
  p["DataType"] = rec.data_type;
  return p;
}

/// GetParameter of /aws/reference/secretsmanager/<id>: the secret through Secrets Manager.
// AWS:
// https://docs.aws.amazon.com/systems-manager/latest/userguide/integration-ps-secretsmanager.html
Result<json::object> secretReference(RequestContext& ctx, const Selector& sel,
                                     bool with_decryption) {
  if (!with_decryption)
    return validation("WithDecryption flag must be True for retrieving a Secret Manager secret.");
  if (!ctx.services->service("secretsmanager")) return parameterNotFound(sel.name);
  json::object in;
  in["SecretId"] = sel.name.substr(std::string_view(kSecretsPrefix).size());
  if (sel.version) {
    return validation("Invalid parameter name or selector: " + sel.name + ":" + sel.selector +
                      ". Use a version id or a staging label.");
  }
  if (!sel.selector.empty()) {
    // AWS: the selector is a version id (a UUID) or a staging label.
    if (sel.selector.size() == 36 && sel.selector[8] == '-')
      in["VersionId"] = sel.selector;
    else
      in["VersionStage"] = sel.selector;
  }
  auto out = runtime::invokeAs(ctx, "secretsmanager", "GetSecretValue", json::value(std::move(in)),
                               kViaService);
  if (!out.ok()) {
    AwsError e = std::move(out).error();
    if (e.code == "ResourceNotFoundException") return parameterNotFound(sel.name);
    return e;
  }
  const json::object& s = out->as_object();
  json::object p;
  p["Name"] = sel.name;
  p["Type"] = "SecureString";
  if (const auto* v = s.if_contains("SecretString"); v && v->is_string())
    p["Value"] = *v;
  else if (const auto* b = s.if_contains("SecretBinary"); b && b->is_string())
    p["Value"] = base64Encode(b->as_string());
  p["Version"] = 0;
  if (!sel.selector.empty()) p["Selector"] = ":" + sel.selector;
  json::object source = s;
  source.erase("SecretString");
  source.erase("SecretBinary");
  p["SourceResult"] = json::serialize(source);
  if (const auto* d = s.if_contains("CreatedDate")) p["LastModifiedDate"] = *d;
  if (const auto* a = s.if_contains("ARN")) p["ARN"] = *a;
  p["DataType"] = "text";
  return p;
}

/// A record by name and selector (version or label).
Result<ParamRecord> resolve(RequestContext& ctx, const Selector& sel) {
  if (isPublicName(sel.name)) {
    auto p = publicParameter(ctx.region, sel.name);
    if (!p) return parameterNotFound(sel.name);
    if (sel.version && *sel.version != 1)
      return ssmError("ParameterVersionNotFound", "Systems Manager could not find version " +
                                                      sel.selector + " of " + sel.name +
                                                      ". Verify the version and try again.");
    if (!sel.selector.empty() && !sel.version) return parameterNotFound(sel.name);
    return *p;
  }
  if (sel.selector.empty()) {
    auto cur = loadCurrent(ctx, sel.name);
    if (!cur) return parameterNotFound(sel.name);
    return cur->rec;
  }
  auto& tx = ctx.tx();
  std::optional<int64_t> version = sel.version;
  if (!version) {
    version = versionOfLabel(tx, ctx.account_id, ctx.region, sel.name, sel.selector);
    if (!version) return parameterNotFound(sel.name + ":" + sel.selector);
  }
  auto rec = loadVersion(tx, ctx.account_id, ctx.region, sel.name, *version);
  if (rec) return *rec;
  if (!loadCurrentTx(tx, ctx.account_id, ctx.region, sel.name)) return parameterNotFound(sel.name);
  return ssmError("ParameterVersionNotFound", "Systems Manager could not find version " +
                                                  std::to_string(*version) + " of " + sel.name +
                                                  ". Verify the version and try again.");
}

Result<json::object> getOne(RequestContext& ctx, const std::string& text, bool with_decryption) {
  TRY_ASSIGN(Selector sel, parseSelector(text));
  if (sel.name.rfind(kSecretsPrefix, 0) == 0) return secretReference(ctx, sel, with_decryption);
  TRY_ASSIGN(ParamRecord rec, resolve(ctx, sel));
  return parameterDoc(ctx, rec, sel.selector, with_decryption);
}

bool isNotFound(const AwsError& e) {
  return e.code == "ParameterNotFound" || e.code == "ParameterVersionNotFound" ||
         e.code == "ValidationException";
}

Result<void> checkTags(const json::value& in,
                       std::vector<std::pair<std::string, std::string>>& out) {
  const json::value* tags = in.as_object().if_contains("Tags");
  if (!tags || !tags->is_array()) return okResult();
  for (const auto& t : tags->as_array()) out.emplace_back(str(t, "Key"), str(t, "Value"));
  std::set<std::string> keys;
  for (const auto& [k, v] : out) keys.insert(k);
  if (keys.size() > kMaxTags)
    return ssmError("TooManyTagsError",
                    "You exceeded the maximum number of tags allowed for this resource. The "
                    "maximum is 50.");
  return okResult();
}

}  // namespace

// AWS: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html
Result<json::value> putParameter(RequestContext& ctx, const json::value& in) {
  const json::object& o = in.as_object();
  const std::string name = nameFromInput(str(in, "Name"));
  TRY_VOID(validateNewName(name));
  const std::string value = str(in, "Value");
  if (value.empty())
    return validation(
        "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member "
        "must have length greater than or equal to 1.");
  const bool overwrite = flag(in, "Overwrite");
  std::vector<std::pair<std::string, std::string>> tags;
  TRY_VOID(checkTags(in, tags));
  if (overwrite && o.contains("Tags"))
    return validation(
        "Invalid request: tags and overwrite can't be used together. To create a parameter with "
        "tags, please remove overwrite flag. To update tags for an existing parameter, please "
        "use AddTagsToResource or RemoveTagsFromResource.");

  auto& tx = ctx.tx();
  auto existing = loadCurrentTx(tx, ctx.account_id, ctx.region, name);
  if (existing && !overwrite)
    return ssmError("ParameterAlreadyExists",
                    "The parameter already exists. To overwrite this value, set the overwrite "
                    "option in the request to true.");

  ParamRecord rec;
  rec.name = name;
  rec.type = str(in, "Type");
  if (rec.type.empty() && existing) rec.type = existing->rec.type;
  if (rec.type.empty())
    return validation("A parameter type is required when you create a parameter.");

  rec.data_type = str(in, "DataType");
  if (rec.data_type.empty()) rec.data_type = existing ? existing->rec.data_type : "text";
  if (rec.data_type != "text" && rec.data_type != "aws:ec2:image" &&
      rec.data_type != "aws:ssm:integration")
    return validation("The following data type is not supported: " + rec.data_type +
                      " (Data type names are all lowercase.)");
  if (rec.data_type == "aws:ec2:image") {
    // AWS:
    // https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-ec2-aliases.html
    if (rec.type != "String")
      return ssmError("UnsupportedParameterType",
                      "The aws:ec2:image data type is supported only for String parameters.");
    if (!validAmiId(value))
      return validation("Parameter value, " + value +
                        ", is not in the proper format for the aws:ec2:image data type. Specify "
                        "an AMI ID in the format ami-12345abcdeEXAMPLE.");
  }

  const bool has_key = o.contains("KeyId");
  if (has_key && rec.type != "SecureString")
    return validation("KeyId is required for SecureString type parameter only.");

  rec.allowed_pattern = o.contains("AllowedPattern")
                            ? str(in, "AllowedPattern")
                            : (existing ? existing->rec.allowed_pattern : std::string());
  if (!rec.allowed_pattern.empty()) {
    auto match = matchesPattern(rec.allowed_pattern, value);
    if (!match)
      return ssmError("InvalidAllowedPatternException",
                      "The request does not meet the regular expression requirement.");
    if (!*match)
      return ssmError(
          "ParameterPatternMismatchException",
          "Parameter value, cannot be validated against allowedPattern: " + rec.allowed_pattern);
  }

  std::vector<Policy> policies;
  if (o.contains("Policies")) {
    rec.policies = str(in, "Policies");
    TRY_ASSIGN(policies, parsePolicies(rec.policies, ctx.time));
    if (policies.empty()) rec.policies.clear();
  } else if (existing) {
    rec.policies = existing->rec.policies;
    if (!rec.policies.empty()) {
      auto kept = parsePolicies(rec.policies, SysTime{});
      if (kept.ok()) policies = std::move(kept).value();
    }
  }

  // Tier. AWS:
  // https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html
  const size_t size = value.size();
  std::string tier = str(in, "Tier");
  const bool was_advanced = existing && existing->rec.tier == "Advanced";
  const bool standard_full = [&] {
    if (existing && existing->rec.tier == "Standard") return false;
    return countStandard(tx, ctx.account_id, ctx.region) >= kStandardQuota;
  }();
  if (tier.empty()) tier = was_advanced ? "Advanced" : "Standard";
  if (tier == "Intelligent-Tiering")
    tier = (size > kStandardMaxBytes || !policies.empty() || was_advanced || standard_full)
               ? "Advanced"
               : "Standard";
  if (tier == "Standard") {
    if (was_advanced)
      return validation(
          "This parameter uses the advanced-parameter tier. You can't downgrade a parameter "
          "from the advanced-parameter tier to the standard-parameter tier. If necessary, you "
          "can delete the advanced parameter and recreate it as a standard parameter.");
    if (size > kStandardMaxBytes)
      return validation(
          "Standard tier parameters support a maximum parameter value of 4096 characters. To "
          "create a larger parameter value, upgrade the parameter to use the advanced-parameter "
          "tier. For more information, see "
          "https://docs.aws.amazon.com/systems-manager/latest/userguide/"
          "parameter-store-advanced-parameters.html");
    if (!policies.empty())
      return validation(
          "Parameter policies are not supported for the Standard tier. To assign policies to a "
          "parameter, use the advanced-parameter tier.");
    if (standard_full)
      return ssmError("ParameterLimitExceeded",
                      "You have exceeded the number of parameters for this AWS account. Delete "
                      "one or more parameters and try again.");
  } else if (size > kAdvancedMaxBytes) {
    return validation(
        "Advanced tier parameters support a maximum parameter value of 8192 characters.");
  }
  rec.tier = tier;

  rec.description = o.contains("Description")
                        ? str(in, "Description")
                        : (existing ? existing->rec.description : std::string());
  rec.version = existing ? existing->rec.version + 1 : 1;
  rec.modified_ms = toEpochMillis(ctx.time);
  rec.modified_user = ctx.principal.arn;

  // AWS: at 100 versions the oldest is deleted, unless it carries a label.
  // https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-versions.html
  if (existing) {
    auto rows = tx.query(
        "SELECT MIN(version), COUNT(*) FROM ssm_versions WHERE account_id = ? AND region = ? "
        "AND name = ?",
        {ctx.account_id, ctx.region, name});
    if (!rows.empty() && rows[0].integer(1) >= kMaxVersions) {
      const int64_t oldest = rows[0].integer(0);
      auto labelled = tx.query(
          "SELECT 1 FROM ssm_labels WHERE account_id = ? AND region = ? AND name = ? AND "
          "version = ? LIMIT 1",
          {ctx.account_id, ctx.region, name, oldest});
      if (!labelled.empty())
        return ssmError("ParameterMaxVersionLimitExceeded",
                        "You attempted to create a new version of " + name +
                            " by calling the PutParameter API with the overwrite flag. Version " +
                            std::to_string(oldest) +
                            ", the oldest version, can't be deleted because it has a label "
                            "associated with it. Move the label to another version of the "
                            "parameter, and try again.");
      tx.exec(
          "DELETE FROM ssm_versions WHERE account_id = ? AND region = ? AND name = ? AND "
          "version = ?",
          {ctx.account_id, ctx.region, name, oldest});
    }
  }

  const std::string arn = parameterArn(ctx.account_id, ctx.region, name);
  if (rec.type == "SecureString") {
    std::string key = str(in, "KeyId");
    if (!has_key && existing && existing->rec.type == "SecureString") key = existing->rec.key_id;
    std::string kms_key = key;
    if (key.empty() || key == "alias/aws/ssm") {
      rec.key_id = "alias/aws/ssm";
      TRY_ASSIGN(kms_key,
                 kms::api::managedKeyId(*ctx.services, tx, ctx.account_id, ctx.region, "ssm"));
    } else {
      rec.key_id = key;
    }
    json::object enc;
    enc["KeyId"] = kms_key;
    enc["Plaintext"] = value;
    enc["EncryptionContext"] = encryptionContext(arn);
    auto out = runtime::invokeAs(ctx, "kms", "Encrypt", json::value(std::move(enc)), kViaService);
    if (!out.ok()) return fromKms(std::move(out).error());
    rec.value = base64Encode(out->as_object().at("CiphertextBlob").as_string());
  } else {
    rec.value = value;
  }

  writeVersion(tx, ctx.account_id, ctx.region, rec);
  for (const auto& [k, v] : tags)
    tx.exec(
        "INSERT OR REPLACE INTO ssm_tags (account_id, region, name, tag_key, tag_value) VALUES "
        "(?, ?, ?, ?, ?)",
        {ctx.account_id, ctx.region, name, k, v});
  changeEvent(tx, ctx.account_id, ctx.region, rec, existing ? "Update" : "Create");
  schedulePolicies(*ctx.services, tx, ctx.account_id, ctx.region, rec);
  ctx.resources.push_back({"AWS::SSM::Parameter", arn});
  return json::value(json::object{{"Version", rec.version}, {"Tier", rec.tier}});
}

Result<json::value> getParameter(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(json::object p, getOne(ctx, str(in, "Name"), flag(in, "WithDecryption")));
  return json::value(json::object{{"Parameter", std::move(p)}});
}

Result<json::value> getParameters(RequestContext& ctx, const json::value& in) {
  const bool decrypt = flag(in, "WithDecryption");
  json::array params, invalid;
  std::set<std::string> seen;
  for (const auto& n : in.as_object().at("Names").as_array()) {
    const std::string name(n.as_string());
    if (!seen.insert(name).second) continue;
    auto p = getOne(ctx, name, decrypt);
    if (p.ok()) {
      params.push_back(std::move(p).value());
    } else if (isNotFound(p.error())) {
      invalid.emplace_back(name);
    } else {
      return std::move(p).error();
    }
  }
  return json::value(
      json::object{{"Parameters", std::move(params)}, {"InvalidParameters", std::move(invalid)}});
}

// AWS: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameterHistory.html
Result<json::value> getParameterHistory(RequestContext& ctx, const json::value& in) {
  const std::string name = nameFromInput(str(in, "Name"));
  const bool decrypt = flag(in, "WithDecryption");
  std::vector<ParamRecord> history;
  if (isPublicName(name)) {
    auto p = publicParameter(ctx.region, name);
    if (p) history.push_back(*p);
  } else {
    history = loadHistory(ctx.tx(), ctx.account_id, ctx.region, name);
  }
  if (history.empty()) return parameterNotFound(name);
  json::array items;
  for (const ParamRecord& rec : history) {
    json::object h;
    h["Name"] = rec.name;
    h["Type"] = rec.type;
    if (rec.type == "SecureString") h["KeyId"] = rec.key_id;
    h["LastModifiedDate"] = seconds(rec.modified_ms);
    if (!rec.modified_user.empty()) h["LastModifiedUser"] = rec.modified_user;
    if (!rec.description.empty()) h["Description"] = rec.description;
    if (rec.type == "SecureString" && decrypt) {
      TRY_ASSIGN(std::string plain, decryptValue(ctx, rec));
      h["Value"] = std::move(plain);
    } else {
      h["Value"] = rec.value;
    }
    if (!rec.allowed_pattern.empty()) h["AllowedPattern"] = rec.allowed_pattern;
    h["Version"] = rec.version;
    json::array labels;
    for (const auto& l : rec.labels) labels.emplace_back(l);
    h["Labels"] = std::move(labels);
    h["Tier"] = rec.tier;
    h["Policies"] = policiesDoc(rec.policies, rec.modified_ms);
    h["DataType"] = rec.data_type;
    items.push_back(std::move(h));
  }
  return pageOf("Parameters", std::move(items), in, 50, "history");
}

// AWS: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DeleteParameter.html
Result<json::value> deleteParameter(RequestContext& ctx, const json::value& in) {
  const std::string name = nameFromInput(str(in, "Name"));
  auto& tx = ctx.tx();
  auto cur = loadCurrentTx(tx, ctx.account_id, ctx.region, name);
  if (!cur) return parameterNotFound(name);
  deleteParam(*ctx.services, tx, ctx.account_id, ctx.region, name);
  changeEvent(tx, ctx.account_id, ctx.region, cur->rec, "Delete");
  ctx.resources.push_back({"AWS::SSM::Parameter", parameterArn(ctx.account_id, ctx.region, name)});
  return json::value(json::object{});
}

Result<json::value> deleteParameters(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  json::array deleted, invalid;
  std::set<std::string> seen;
  for (const auto& n : in.as_object().at("Names").as_array()) {
    const std::string given(n.as_string());
    if (!seen.insert(given).second) continue;
    const std::string name = nameFromInput(given);
    auto cur = loadCurrentTx(tx, ctx.account_id, ctx.region, name);
    if (!cur) {
      invalid.emplace_back(given);
      continue;
    }
    deleteParam(*ctx.services, tx, ctx.account_id, ctx.region, name);
    changeEvent(tx, ctx.account_id, ctx.region, cur->rec, "Delete");
    deleted.emplace_back(given);
  }
  return json::value(json::object{{"DeletedParameters", std::move(deleted)},
                                  {"InvalidParameters", std::move(invalid)}});
}

// AWS: https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-labels.html
Result<json::value> labelParameterVersion(RequestContext& ctx, const json::value& in) {
  const std::string name = nameFromInput(str(in, "Name"));
  auto& tx = ctx.tx();
  auto cur = loadCurrentTx(tx, ctx.account_id, ctx.region, name);
  if (!cur) return parameterNotFound(name);
  int64_t version = cur->rec.version;
  if (const auto* v = in.as_object().if_contains("ParameterVersion"); v && v->is_number())
    version = v->to_number<int64_t>();
  auto target = loadVersion(tx, ctx.account_id, ctx.region, name, version);
  if (!target)
    return ssmError("ParameterVersionNotFound", "Systems Manager could not find version " +
                                                    std::to_string(version) + " of " + name +
                                                    ". Verify the version and try again.");
  json::array invalid;
  std::vector<std::string> add;
  for (const auto& l : in.as_object().at("Labels").as_array()) {
    const std::string label(l.as_string());
    if (!validLabel(label)) {
      invalid.emplace_back(label);
      continue;
    }
    if (std::find(target->labels.begin(), target->labels.end(), label) == target->labels.end() &&
        std::find(add.begin(), add.end(), label) == add.end())
      add.push_back(label);
  }
  if (target->labels.size() + add.size() > kMaxLabelsPerVersion)
    return ssmError("ParameterVersionLabelLimitExceeded",
                    "A parameter version can have maximum 10 labels.Move one or more labels to "
                    "another version and try again.");
  // A label is on one version at a time: attaching it moves it.
  for (const auto& label : add)
    tx.exec(
        "INSERT OR REPLACE INTO ssm_labels (account_id, region, name, label, version) VALUES "
        "(?, ?, ?, ?, ?)",
        {ctx.account_id, ctx.region, name, label, version});
  if (!add.empty()) {
    invalidateAfterCommit(tx, ctx.account_id, ctx.region, name);
    changeEvent(tx, ctx.account_id, ctx.region, cur->rec, "LabelParameterVersion");
  }
  return json::value(
      json::object{{"InvalidLabels", std::move(invalid)}, {"ParameterVersion", version}});
}

Result<json::value> unlabelParameterVersion(RequestContext& ctx, const json::value& in) {
  const std::string name = nameFromInput(str(in, "Name"));
  auto& tx = ctx.tx();
  auto cur = loadCurrentTx(tx, ctx.account_id, ctx.region, name);
  if (!cur) return parameterNotFound(name);
  const auto* v = in.as_object().if_contains("ParameterVersion");
  if (!v || !v->is_number())
    return validation(
        "1 validation error detected: Value 'null' at 'parameterVersion' failed to satisfy "
        "constraint: Member must not be null");
  const int64_t version = v->to_number<int64_t>();
  auto target = loadVersion(tx, ctx.account_id, ctx.region, name, version);
  if (!target)
    return ssmError("ParameterVersionNotFound", "Systems Manager could not find version " +
                                                    std::to_string(version) + " of " + name +
                                                    ". Verify the version and try again.");
  json::array removed, invalid;
  for (const auto& l : in.as_object().at("Labels").as_array()) {
    const std::string label(l.as_string());
    if (std::find(target->labels.begin(), target->labels.end(), label) == target->labels.end()) {
      invalid.emplace_back(label);
      continue;
    }
    tx.exec("DELETE FROM ssm_labels WHERE account_id = ? AND region = ? AND name = ? AND label = ?",
            {ctx.account_id, ctx.region, name, label});
    removed.emplace_back(label);
  }
  if (!removed.empty()) invalidateAfterCommit(tx, ctx.account_id, ctx.region, name);
  return json::value(
      json::object{{"RemovedLabels", std::move(removed)}, {"InvalidLabels", std::move(invalid)}});
}

}  // namespace citadel::ssm
