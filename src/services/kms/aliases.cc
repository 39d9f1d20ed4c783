// KMS aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases. The alias/aws/ prefix is
// reserved for AWS managed keys (managed.cc creates those).
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {

namespace {

constexpr std::string_view kReservedPrefix = "alias/aws/";

/// AWS's checks of an alias name given to CreateAlias/UpdateAlias/DeleteAlias.
Result<void> checkAliasName(const std::string& name) {
  if (name.rfind("alias/", 0) != 0 || name.size() == 6)
    return AwsError::validation(
        "Alias must start with the prefix \"alias/\". Please see "
        "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html");
  if (name.rfind(kReservedPrefix, 0) == 0)
    return kmsError("NotAuthorizedException",
                    "Cannot create, update or delete an alias with the reserved prefix "
                    "alias/aws/.");
  if (name.find(':') != std::string::npos)
    return AwsError::validation(name + " contains invalid characters for an alias");
  return okResult();
}

AwsError aliasNotFound(const RequestContext& ctx, const std::string& name) {
  return kmsError("NotFoundException",
                  "Alias " + aliasArn(ctx.account_id, ctx.region, name) + " is not found.");
}

/// The key an alias may point at: a customer managed key of the caller, named by id or ARN.
Result<KeyRecord> aliasTarget(RequestContext& ctx, const std::string& target) {
  if (target.rfind("alias/", 0) == 0 ||
      (target.rfind("arn:", 0) == 0 && target.find(":alias/") != std::string::npos))
    return AwsError::validation("Aliases must refer to keys. Not aliases");
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, target, false));
  TRY_VOID(requireNotPendingDeletion(k));
  TRY_VOID(requireCustomerManaged(k, "CreateAlias"));
  return k;
}

void invalidateAliases(RequestContext& ctx) {
  ctx.tx().afterCommit([] { keyCache().invalidateAliases(); });
}

}  // namespace

Result<json::value> createAlias(RequestContext& ctx, const json::value& in) {
  std::string name = str(in, "AliasName");
  TRY_VOID(checkAliasName(name));
  TRY_ASSIGN(KeyRecord k, aliasTarget(ctx, str(in, "TargetKeyId")));
  int64_t now = toEpochMillis(ctx.time);
  auto status = ctx.tx().exec(
      "INSERT INTO kms_aliases (account_id, region, alias_name, key_id, created_ms, "
      "updated_ms) VALUES (?, ?, ?, ?, ?, ?)",
      {ctx.account_id, ctx.region, name, k.key_id, now, now});
  if (status == store::ExecStatus::kConstraint)
    return kmsError(
        "AlreadyExistsException",
        "An alias with the name " + aliasArn(ctx.account_id, ctx.region, name) + " already exists");
  invalidateAliases(ctx);
  return json::value(nullptr);
}

// AWS: the new target must have the same key type (spec) and key usage as the old one.
Result<json::value> updateAlias(RequestContext& ctx, const json::value& in) {
  std::string name = str(in, "AliasName");
  TRY_VOID(checkAliasName(name));
  auto current = loadAlias(ctx.tx(), ctx.account_id, ctx.region, name);
  if (!current) return aliasNotFound(ctx, name);
  TRY_ASSIGN(KeyRecord k, aliasTarget(ctx, str(in, "TargetKeyId")));
  auto old = loadKey(ctx.tx(), ctx.account_id, ctx.region, *current);
  if (old && (old->key_spec != k.key_spec || old->key_usage != k.key_usage))
    return AwsError::validation("Alias " + name + " cannot be changed from a key with KeySpec " +
                                old->key_spec + " and KeyUsage " + old->key_usage +
                                " to a key with KeySpec " + k.key_spec + " and KeyUsage " +
                                k.key_usage + ".");
  ctx.tx().exec(
      "UPDATE kms_aliases SET key_id = ?, updated_ms = ? WHERE account_id = ? AND region = ? "
      "AND alias_name = ?",
      {k.key_id, toEpochMillis(ctx.time), ctx.account_id, ctx.region, name});
  invalidateAliases(ctx);
  return json::value(nullptr);
}

Result<json::value> deleteAlias(RequestContext& ctx, const json::value& in) {
  std::string name = str(in, "AliasName");
  TRY_VOID(checkAliasName(name));
  auto target = loadAlias(ctx.tx(), ctx.account_id, ctx.region, name);
  if (!target) return aliasNotFound(ctx, name);
  ctx.resources = {{"AWS::KMS::Key", keyArn(ctx.account_id, ctx.region, *target)}};
  ctx.tx().exec("DELETE FROM kms_aliases WHERE account_id = ? AND region = ? AND alias_name = ?",
                {ctx.account_id, ctx.region, name});
  invalidateAliases(ctx);
  return json::value(nullptr);
}

// AWS: ListAliases pages with Limit (1–100, default 50) and Marker; KeyId filters by key.
Result<json::value> listAliases(RequestContext& ctx, const json::value& in) {
  std::string key_filter;
  if (!str(in, "KeyId").empty()) {
    TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
    key_filter = k.key_id;
  }
  int64_t limit = 50;
  if (const json::value* l = in.as_object().if_contains("Limit"); l && l->is_int64())
    limit = l->get_int64();
  std::string sql =
      "SELECT alias_name, key_id, created_ms, updated_ms FROM kms_aliases WHERE account_id = ? "
      "AND region = ? AND alias_name > ?";
  std::vector<store::Value> params{ctx.account_id, ctx.region, str(in, "Marker")};
  if (!key_filter.empty()) {
    sql += " AND key_id = ?";
    params.emplace_back(key_filter);
  }
  sql += " ORDER BY alias_name LIMIT ?";
  params.emplace_back(limit + 1);
  auto rows = ctx.tx().query(sql, params);
  bool truncated = static_cast<int64_t>(rows.size()) > limit;
  if (truncated) rows.pop_back();
  json::array aliases;
  for (const auto& r : rows)
    aliases.push_back(
        json::object{{"AliasName", r.text(0)},
                     {"AliasArn", aliasArn(ctx.account_id, ctx.region, r.text(0))},
                     {"TargetKeyId", r.text(1)},
                     {"CreationDate", toEpochSeconds(fromEpochMillis(r.integer(2)))},
                     {"LastUpdatedDate", toEpochSeconds(fromEpochMillis(r.integer(3)))}});
  json::object out{{"Aliases", std::move(aliases)}, {"Truncated", truncated}};
  if (truncated) out["NextMarker"] = rows.back().text(0);
  return json::value(std::move(out));
}

}  // namespace citadel::kms
