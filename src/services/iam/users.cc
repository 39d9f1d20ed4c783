// IAM users, groups and access keys.
#include "core/encoding.h"
#include "core/ids.h"
#include "core/time.h"
#include "runtime/services.h"
#include "services/iam/internal.h"

namespace citadel::iamsvc {

namespace {

/// Entities of a kind in the account under a path prefix, as (name_key, document) pairs.
std::vector<std::pair<std::string, json::value>> listEntities(store::Tx& tx,
                                                              const std::string& kind,
                                                              const std::string& account,
                                                              const std::string& prefix) {
  std::vector<std::pair<std::string, json::value>> items;
  for (const auto& r :
       tx.query("SELECT name FROM iam_entities WHERE kind = ? AND account_id = ? ORDER BY name_key",
                {kind, account})) {
    auto e = findEntity(tx, kind, account, r.text(0));
    if (!e || e->path.compare(0, prefix.size(), prefix) != 0) continue;
    items.emplace_back(toLower(e->name), entityDoc(tx, *e, false));
  }
  return items;
}

runtime::Principal userPrincipal(const Entity& u) {
  runtime::Principal p;
  p.type = runtime::Principal::Type::kIamUser;
  p.arn = u.arn;
  p.account_id = u.account_id;
  p.principal_id = u.id;
  p.user_name = u.name;
  return p;
}

/// The user an access-key operation addresses: UserName, else the calling user (or root).
Result<runtime::Principal> keyOwner(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  std::string name = str(in, "UserName");
  if (!name.empty()) {
    TRY_ASSIGN(Entity u, requireEntity(tx, "user", ctx.account_id, name));
    return userPrincipal(u);
  }
  if (ctx.principal.type == runtime::Principal::Type::kIamUser) {
    auto u = findEntityByArn(tx, ctx.principal.arn);
    if (!u)
      return noSuchEntity("The user with name " + ctx.principal.user_name + " cannot be found.");
    return userPrincipal(*u);
  }
  if (ctx.principal.type == runtime::Principal::Type::kRoot)
    return runtime::Identity::rootPrincipal(ctx.account_id);
  return AwsError{"ValidationError",
                  "Must specify userName when calling with non-User credentials",
                  400,
                  true,
                  {}};
}

json::object keyMetadata(const runtime::Identity::KeyInfo& k) {
  json::object o;
  if (!k.user_name.empty() && k.user_name != "root") o["UserName"] = k.user_name;
  o["AccessKeyId"] = k.access_key_id;
  o["Status"] = k.status;
  o["CreateDate"] = seconds(k.created_ms);
  return o;
}

/// The key's metadata when it belongs to `owner`; NoSuchEntity otherwise.
Result<runtime::Identity::KeyInfo> ownedKey(RequestContext& ctx, const runtime::Principal& owner,
                                            const std::string& akid) {
  auto k = ctx.services->identity.keyInfo(ctx.tx(), akid);
  if (!k || k->principal_arn != owner.arn)
    return noSuchEntity("The Access Key with id " + akid + " cannot be found.");
  return *k;
}

}  // namespace

// ---- users --------------------------------------------------------------------------------

Result<json::value> createUser(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  Entity e;
  e.kind = "user";
  e.account_id = ctx.account_id;
  e.name = str(in, "UserName");
  e.path = pathOr(in, "Path");
  e.id = "AIDA" + randomUpperAlnum(16);
  e.arn = iamArn(e.account_id, "user", e.path, e.name);
  e.created_ms = toEpochMillis(ctx.time);
  e.boundary_arn = str(in, "PermissionsBoundary");
  if (!e.boundary_arn.empty()) TRY_VOID(checkBoundary(tx, ctx.account_id, e.boundary_arn));
  TRY_VOID(insertEntity(tx, e));
  TRY_VOID(putTags(tx, e.id, in.as_object().if_contains("Tags")));
  return json::value(json::object{{"User", entityDoc(tx, e, true)}});
}

Result<json::value> getUser(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  std::string name = str(in, "UserName");
  if (name.empty()) {
    if (ctx.principal.type == runtime::Principal::Type::kRoot) {
      // AWS: the root user is answered with its account id and root ARN only.
      json::object u;
      u["UserId"] = ctx.account_id;
      u["Arn"] = ctx.principal.arn;
      auto rows =
          tx.query("SELECT created_ms FROM accounts WHERE account_id = ?", {ctx.account_id});
      u["CreateDate"] = seconds(rows.empty() ? 0 : rows[0].integer(0));
      return json::value(json::object{{"User", std::move(u)}});
    }
    auto e = findEntityByArn(tx, ctx.principal.arn);
    if (!e || e->kind != "user")
      return AwsError{"ValidationError",
                      "Must specify userName when calling with non-User credentials",
                      400,
                      true,
                      {}};
    return json::value(json::object{{"User", entityDoc(tx, *e, true)}});
  }
  TRY_ASSIGN(Entity e, requireEntity(tx, "user", ctx.account_id, name));
  return json::value(json::object{{"User", entityDoc(tx, e, true)}});
}

Result<json::value> listUsers(RequestContext& ctx, const json::value& in) {
  json::object out;
  page(out, "Users", listEntities(ctx.tx(), "user", ctx.account_id, pathOr(in, "PathPrefix")), in);
  return json::value(std::move(out));
}

Result<json::value> updateUser(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity e, requireEntity(tx, "user", ctx.account_id, str(in, "UserName")));
  std::string new_name = str(in, "NewUserName");
  std::string new_path = str(in, "NewPath");
  if (new_name.empty()) new_name = e.name;
  if (new_path.empty()) new_path = e.path;
  if (toLower(new_name) != toLower(e.name) && findEntity(tx, "user", ctx.account_id, new_name))
    return entityAlreadyExists("User with name " + new_name + " already exists.");
  std::string new_arn = iamArn(e.account_id, "user", new_path, new_name);
  tx.exec("UPDATE iam_entities SET name = ?, name_key = ?, path = ?, arn = ? WHERE id = ?",
          {new_name, toLower(new_name), new_path, new_arn, e.id});
  // The user's access keys authenticate the renamed user from now on.
  ctx.services->identity.renamePrincipal(tx, e.arn, new_arn, new_name);
  return json::value(json::object{});
}

Result<json::value> deleteUser(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity e, requireEntity(tx, "user", ctx.account_id, str(in, "UserName")));
  if (!ctx.services->identity.keysOf(tx, e.arn).empty())
    return deleteConflict("Cannot delete entity, must delete access keys first.");
  if (!tx.query("SELECT 1 FROM iam_inline_policies WHERE entity_id = ?", {e.id}).empty())
    return deleteConflict("Cannot delete entity, must delete policies first.");
  if (!tx.query("SELECT 1 FROM iam_attachments WHERE entity_id = ?", {e.id}).empty())
    return deleteConflict("Cannot delete entity, must detach all policies first.");
  if (!tx.query("SELECT 1 FROM iam_group_members WHERE user_id = ?", {e.id}).empty())
    return deleteConflict("Cannot delete entity, must remove user from all groups first.");
  // AWS: a user with an assigned MFA device cannot be deleted until it is deactivated.
  if (!tx.query("SELECT 1 FROM iam_mfa_devices WHERE user_id = ?", {e.id}).empty())
    return deleteConflict("Cannot delete entity, must delete MFA device first.");
  tx.exec("DELETE FROM iam_tags WHERE entity_id = ?", {e.id});
  tx.exec("DELETE FROM iam_entities WHERE id = ?", {e.id});
  return json::value(json::object{});
}

// ---- groups -------------------------------------------------------------------------------

Result<json::value> createGroup(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  Entity e;
  e.kind = "group";
  e.account_id = ctx.account_id;
  e.name = str(in, "GroupName");
  e.path = pathOr(in, "Path");
  e.id = "AGPA" + randomUpperAlnum(16);
  e.arn = iamArn(e.account_id, "group", e.path, e.name);
  e.created_ms = toEpochMillis(ctx.time);
  TRY_VOID(insertEntity(tx, e));
  return json::value(json::object{{"Group", entityDoc(tx, e, false)}});
}

Result<json::value> getGroup(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity g, requireEntity(tx, "group", ctx.account_id, str(in, "GroupName")));
  std::vector<std::pair<std::string, json::value>> items;
  for (const auto& r :
       tx.query("SELECT e.name FROM iam_group_members m JOIN iam_entities e ON e.id = m.user_id "
                "WHERE m.group_id = ? ORDER BY e.name_key",
                {g.id})) {
    auto u = findEntity(tx, "user", ctx.account_id, r.text(0));
    if (u) items.emplace_back(toLower(u->name), entityDoc(tx, *u, false));
  }
  json::object out;
  out["Group"] = entityDoc(tx, g, false);
  page(out, "Users", std::move(items), in);
  return json::value(std::move(out));
}

Result<json::value> listGroups(RequestContext& ctx, const json::value& in) {
  json::object out;
  page(out, "Groups", listEntities(ctx.tx(), "group", ctx.account_id, pathOr(in, "PathPrefix")),
       in);
  return json::value(std::move(out));
}

Result<json::value> deleteGroup(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity g, requireEntity(tx, "group", ctx.account_id, str(in, "GroupName")));
  if (!tx.query("SELECT 1 FROM iam_group_members WHERE group_id = ?", {g.id}).empty())
    return deleteConflict("Cannot delete entity, must remove users from group first.");
  if (!tx.query("SELECT 1 FROM iam_inline_policies WHERE entity_id = ?", {g.id}).empty())
    return deleteConflict("Cannot delete entity, must delete policies first.");
  if (!tx.query("SELECT 1 FROM iam_attachments WHERE entity_id = ?", {g.id}).empty())
    return deleteConflict("Cannot delete entity, must detach all policies first.");
  tx.exec("DELETE FROM iam_entities WHERE id = ?", {g.id});
  return json::value(json::object{});
}

Result<json::value> addUserToGroup(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity g, requireEntity(tx, "group", ctx.account_id, str(in, "GroupName")));
  TRY_ASSIGN(Entity u, requireEntity(tx, "user", ctx.account_id, str(in, "UserName")));
  tx.exec(
      "INSERT INTO iam_group_members(group_id, user_id) VALUES (?, ?) "
      "ON CONFLICT(group_id, user_id) DO NOTHING",
      {g.id, u.id});
  auto n = tx.query("SELECT COUNT(*) FROM iam_group_members WHERE user_id = ?", {u.id});
  // AWS: a user can be a member of at most 10 groups.
  if (!n.empty() && n[0].integer(0) > 10)
    return limitExceeded("Cannot exceed quota for GroupsPerUser: 10");
  return json::value(json::object{});
}

Result<json::value> removeUserFromGroup(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity g, requireEntity(tx, "group", ctx.account_id, str(in, "GroupName")));
  TRY_ASSIGN(Entity u, requireEntity(tx, "user", ctx.account_id, str(in, "UserName")));
  tx.exec("DELETE FROM iam_group_members WHERE group_id = ? AND user_id = ?", {g.id, u.id});
  if (tx.changes() == 0)
    return noSuchEntity("The user with name " + u.name + " cannot be found in group " + g.name +
                        ".");
  return json::value(json::object{});
}

Result<json::value> listGroupsForUser(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity u, requireEntity(tx, "user", ctx.account_id, str(in, "UserName")));
  std::vector<std::pair<std::string, json::value>> items;
  for (const auto& r :
       tx.query("SELECT e.name FROM iam_group_members m JOIN iam_entities e ON e.id = m.group_id "
                "WHERE m.user_id = ? ORDER BY e.name_key",
                {u.id})) {
    auto g = findEntity(tx, "group", ctx.account_id, r.text(0));
    if (g) items.emplace_back(toLower(g->name), entityDoc(tx, *g, false));
  }
  json::object out;
  page(out, "Groups", std::move(items), in);
  return json::value(std::move(out));
}

// ---- access keys --------------------------------------------------------------------------

Result<json::value> createAccessKey(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(runtime::Principal owner, keyOwner(ctx, in));
  auto& identity = ctx.services->identity;
  // AWS: each user (and the root user) has at most two access keys.
  if (identity.keysOf(tx, owner.arn).size() >= 2)
    return limitExceeded("Cannot exceed quota for AccessKeysPerUser: 2");
  runtime::KeyPair kp;
  if (owner.type == runtime::Principal::Type::kRoot) {
    TRY_ASSIGN(kp, identity.createRootKey(tx, ctx.account_id));
  } else {
    TRY_ASSIGN(kp, identity.createUserKey(tx, owner));
  }
  json::object key;
  if (owner.type != runtime::Principal::Type::kRoot) key["UserName"] = owner.user_name;
  key["AccessKeyId"] = kp.access_key_id;
  key["Status"] = "Active";
  key["SecretAccessKey"] = kp.secret_access_key;
  key["CreateDate"] = seconds(toEpochMillis(ctx.time));
  return json::value(json::object{{"AccessKey", std::move(key)}});
}

Result<json::value> listAccessKeys(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(runtime::Principal owner, keyOwner(ctx, in));
  std::vector<std::pair<std::string, json::value>> items;
  for (const auto& k : ctx.services->identity.keysOf(ctx.tx(), owner.arn)) {
    auto doc = keyMetadata(k);
    if (owner.type == runtime::Principal::Type::kIamUser) doc["UserName"] = owner.user_name;
    items.emplace_back(k.access_key_id, std::move(doc));
  }
  json::object out;
  page(out, "AccessKeyMetadata", std::move(items), in);
  return json::value(std::move(out));
}

Result<json::value> updateAccessKey(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(runtime::Principal owner, keyOwner(ctx, in));
  std::string akid = str(in, "AccessKeyId");
  TRY_VOID(ownedKey(ctx, owner, akid));
  TRY_VOID(ctx.services->identity.setKeyStatus(ctx.tx(), akid, str(in, "Status")));
  return json::value(json::object{});
}

Result<json::value> deleteAccessKey(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(runtime::Principal owner, keyOwner(ctx, in));
  std::string akid = str(in, "AccessKeyId");
  TRY_VOID(ownedKey(ctx, owner, akid));
  TRY_VOID(ctx.services->identity.deleteKey(ctx.tx(), akid));
  return json::value(json::object{});
}

Result<json::value> getAccessKeyLastUsed(RequestContext& ctx, const json::value& in) {
  std::string akid = str(in, "AccessKeyId");
  auto k = ctx.services->identity.keyInfo(ctx.tx(), akid);
  if (!k || k->principal_arn.find(":" + ctx.account_id + ":") == std::string::npos)
    return AwsError{
        "AccessDenied", "The Access Key with id " + akid + " cannot be found.", 403, true, {}};
  json::object used;
  // AWS: a key never used answers N/A for the service and region and no date.
  if (k->last_used_ms > 0) used["LastUsedDate"] = seconds(k->last_used_ms);
  used["ServiceName"] = "N/A";
  used["Region"] = "N/A";
  json::object out;
  out["UserName"] = k->user_name;
  out["AccessKeyLastUsed"] = std::move(used);
  return json::value(std::move(out));
}

}  // namespace citadel::iamsvc
