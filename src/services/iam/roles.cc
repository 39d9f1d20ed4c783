// IAM roles and their trust policies.
#include "core/encoding.h"
#include "core/ids.h"
#include "core/time.h"
#include "iam/policy.h"
#include "services/iam/internal.h"

namespace citadel::iamsvc {

namespace {

Result<void> validateTrust(const std::string& document) {
  TRY_VOID(iam::checkPolicySize(document, iam::PolicySizeLimit::kTrust));
  auto parsed = iam::parsePolicy(document, iam::PolicyKind::kTrust);
  if (!parsed.ok()) return std::move(parsed).error();
  return okResult();
}

Result<void> checkMaxSession(int64_t v) {
  // AWS: MaxSessionDuration is between one hour and twelve hours.
  if (v < 3600 || v > 43200)
    return AwsError{
        "ValidationError",
        "1 validation error detected: Value '" + std::to_string(v) +
            "' at 'maxSessionDuration' failed to satisfy constraint: Member must "
            "have value " +
            (v < 3600 ? "greater than or equal to 3600" : "less than or equal to 43200"),
        400,
        true,
        {}};
  return okResult();
}

}  // namespace

Result<json::value> createRole(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  const auto& o = in.as_object();
  Entity e;
  e.kind = "role";
  e.account_id = ctx.account_id;
  e.name = str(in, "RoleName");
  e.path = pathOr(in, "Path");
  e.id = "AROA" + randomUpperAlnum(16);
  e.arn = iamArn(e.account_id, "role", e.path, e.name);
  e.created_ms = toEpochMillis(ctx.time);
  e.trust_policy = str(in, "AssumeRolePolicyDocument");
  e.description = str(in, "Description");
  if (const json::value* v = o.if_contains("MaxSessionDuration")) {
    e.max_session = v->to_number<int64_t>();
    TRY_VOID(checkMaxSession(e.max_session));
  }
  TRY_VOID(validateTrust(e.trust_policy));
  e.boundary_arn = str(in, "PermissionsBoundary");
  if (!e.boundary_arn.empty()) TRY_VOID(checkBoundary(tx, ctx.account_id, e.boundary_arn));
  TRY_VOID(insertEntity(tx, e));
  TRY_VOID(putTags(tx, e.id, o.if_contains("Tags")));
  return json::value(json::object{{"Role", entityDoc(tx, e, true)}});
}

Result<json::value> getRole(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity e, requireEntity(tx, "role", ctx.account_id, str(in, "RoleName")));
  auto doc = entityDoc(tx, e, true);
  doc["RoleLastUsed"] = json::object{};
  return json::value(json::object{{"Role", std::move(doc)}});
}

Result<json::value> listRoles(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  std::string prefix = pathOr(in, "PathPrefix");
  std::vector<std::pair<std::string, json::value>> items;
  for (const auto& r :
       tx.query("SELECT name FROM iam_entities WHERE kind = 'role' AND account_id = ? "
                "ORDER BY name_key",
                {ctx.account_id})) {
    auto e = findEntity(tx, "role", ctx.account_id, r.text(0));
    if (!e || e->path.compare(0, prefix.size(), prefix) != 0) continue;
    items.emplace_back(toLower(e->name), entityDoc(tx, *e, false));
  }
  json::object out;
  page(out, "Roles", std::move(items), in);
  return json::value(std::move(out));
}

Result<json::value> updateRole(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity e, requireEntity(tx, "role", ctx.account_id, str(in, "RoleName")));
  const auto& o = in.as_object();
  if (o.if_contains("Description"))
    tx.exec("UPDATE iam_entities SET description = ? WHERE id = ?", {str(in, "Description"), e.id});
  if (const json::value* v = o.if_contains("MaxSessionDuration")) {
    int64_t n = v->to_number<int64_t>();
    TRY_VOID(checkMaxSession(n));
    tx.exec("UPDATE iam_entities SET max_session = ? WHERE id = ?", {n, e.id});
  }
  return json::value(json::object{});
}

Result<json::value> deleteRole(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity e, requireEntity(tx, "role", ctx.account_id, str(in, "RoleName")));
  if (!tx.query("SELECT 1 FROM iam_attachments WHERE entity_id = ?", {e.id}).empty())
    return deleteConflict("Cannot delete entity, must detach all policies first.");
  if (!tx.query("SELECT 1 FROM iam_inline_policies WHERE entity_id = ?", {e.id}).empty())
    return deleteConflict("Cannot delete entity, must delete policies first.");
  tx.exec("DELETE FROM iam_tags WHERE entity_id = ?", {e.id});
  tx.exec("DELETE FROM iam_entities WHERE id = ?", {e.id});
  return json::value(json::object{});
}

Result<json::value> updateAssumeRolePolicy(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity e, requireEntity(tx, "role", ctx.account_id, str(in, "RoleName")));
  std::string doc = str(in, "PolicyDocument");
  TRY_VOID(validateTrust(doc));
  tx.exec("UPDATE iam_entities SET trust_policy = ? WHERE id = ?", {doc, e.id});
  return json::value(json::object{});
}

}  // namespace citadel::iamsvc
