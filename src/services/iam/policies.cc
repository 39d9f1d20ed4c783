// IAM managed policies and their versions, inline policies, attachments, permissions
// boundaries and GetAccountAuthorizationDetails.
#include <cstdio>

#include "core/encoding.h"
#include "core/ids.h"
#include "core/time.h"
#include "iam/policy.h"
#include "services/iam/internal.h"

namespace citadel::iamsvc {

namespace {

int64_t count(store::Tx& tx, std::string_view sql, const std::vector<store::Value>& params) {
  auto rows = tx.query(sql, params);
  return rows.empty() ? 0 : rows[0].integer(0);
}

int64_t attachmentCount(store::Tx& tx, const std::string& account, const std::string& arn) {
  return count(tx,
               "SELECT COUNT(*) FROM iam_attachments a JOIN iam_entities e ON e.id = a.entity_id "
               "WHERE a.policy_arn = ? AND e.account_id = ?",
               {arn, account});
}

int64_t boundaryCount(store::Tx& tx, const std::string& account, const std::string& arn) {
  return count(tx, "SELECT COUNT(*) FROM iam_entities WHERE boundary_arn = ? AND account_id = ?",
               {arn, account});
}

json::object policyDoc(store::Tx& tx, const std::string& account, const ManagedPolicy& p,
                       bool with_tags) {
  json::object o;
  o["PolicyName"] = p.name;
  o["PolicyId"] = p.id;
  o["Arn"] = p.arn;
  o["Path"] = p.path;
  o["DefaultVersionId"] = p.default_version;
  o["AttachmentCount"] = attachmentCount(tx, account, p.arn);
  o["PermissionsBoundaryUsageCount"] = boundaryCount(tx, account, p.arn);
  o["IsAttachable"] = true;
  if (!p.description.empty()) o["Description"] = p.description;
  o["CreateDate"] = seconds(p.created_ms);
  o["UpdateDate"] = seconds(p.updated_ms);
  if (with_tags) {
    auto tags = tagsOf(tx, p.id);
    if (!tags.empty()) o["Tags"] = std::move(tags);
  }
  return o;
}

/// A policy the account owns (AWS managed policies cannot be changed).
Result<ManagedPolicy> ownPolicy(store::Tx& tx, const std::string& account, const std::string& arn) {
  auto p = findPolicy(tx, account, arn);
  if (!p || p->account_id != account)
    return noSuchEntity("Policy " + arn + " does not exist or is not attachable.");
  return *p;
}

struct VersionRow {
  std::string id;
  std::string document;
  int64_t created_ms;
};

std::vector<VersionRow> versionsOf(store::Tx& tx, const std::string& policy_id) {
  std::vector<VersionRow> out;
  // Newest first, as AWS lists them.
  for (const auto& r : tx.query(
           "SELECT version_id, document, created_ms FROM iam_policy_versions WHERE policy_id = ? "
           "ORDER BY created_ms DESC, LENGTH(version_id) DESC, version_id DESC",
           {policy_id}))
    out.push_back({r.text(0), r.text(1), r.integer(2)});
  return out;
}

std::string indexKey(size_t i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08zu", i);
  return buf;
}

iam::PolicySizeLimit inlineLimit(const std::string& kind) {
  if (kind == "user") return iam::PolicySizeLimit::kInlineUser;
  if (kind == "group") return iam::PolicySizeLimit::kInlineGroup;
  return iam::PolicySizeLimit::kInlineRole;
}

json::array attachedOf(store::Tx& tx, const std::string& account, const std::string& entity_id,
                       const std::string& prefix = "/") {
  json::array out;
  for (const auto& r :
       tx.query("SELECT policy_arn FROM iam_attachments WHERE entity_id = ? ORDER BY policy_arn",
                {entity_id})) {
    auto p = findPolicy(tx, account, r.text(0));
    if (!p || p->path.compare(0, prefix.size(), prefix) != 0) continue;
    out.push_back(json::object{{"PolicyName", p->name}, {"PolicyArn", p->arn}});
  }
  return out;
}

json::array inlineOf(store::Tx& tx, const std::string& entity_id) {
  json::array out;
  for (const auto& r :
       tx.query("SELECT name, document FROM iam_inline_policies WHERE entity_id = ? ORDER BY name",
                {entity_id}))
    out.push_back(
        json::object{{"PolicyName", r.text(0)}, {"PolicyDocument", encodeDocument(r.text(1))}});
  return out;
}

}  // namespace

// ---- managed policies ---------------------------------------------------------------------

Result<json::value> createPolicy(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  ManagedPolicy p;
  p.account_id = ctx.account_id;
  p.name = str(in, "PolicyName");
  p.path = str(in, "Path");
  if (p.path.empty()) p.path = "/";
  p.description = str(in, "Description");
  p.id = "ANPA" + randomUpperAlnum(16);
  p.arn = iamArn(p.account_id, "policy", p.path, p.name);
  p.default_version = "v1";
  p.created_ms = p.updated_ms = toEpochMillis(ctx.time);
  std::string doc = str(in, "PolicyDocument");
  TRY_VOID(validateIdentityPolicy(doc, iam::PolicySizeLimit::kManaged, ""));
  auto st = tx.exec(
      "INSERT INTO iam_policies(arn, account_id, name_key, id, name, path, description, "
      "default_version, next_version, created_ms, updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
      {p.arn, p.account_id, toLower(p.name), p.id, p.name, p.path, p.description, p.default_version,
       int64_t(2), p.created_ms, p.updated_ms});
  if (st == store::ExecStatus::kConstraint)
    return entityAlreadyExists("A policy called " + p.name +
                               " already exists. Duplicate names are not allowed.");
  tx.exec(
      "INSERT INTO iam_policy_versions(policy_id, version_id, document, created_ms) "
      "VALUES (?, ?, ?, ?)",
      {p.id, p.default_version, doc, p.created_ms});
  TRY_VOID(putTags(tx, p.id, in.as_object().if_contains("Tags")));
  return json::value(json::object{{"Policy", policyDoc(tx, ctx.account_id, p, true)}});
}

Result<json::value> getPolicy(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(ManagedPolicy p, requirePolicy(tx, ctx.account_id, str(in, "PolicyArn")));
  return json::value(json::object{{"Policy", policyDoc(tx, ctx.account_id, p, true)}});
}

Result<json::value> listPolicies(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  std::string scope = str(in, "Scope");
  if (scope.empty()) scope = "All";
  std::string prefix = str(in, "PathPrefix");
  if (prefix.empty()) prefix = "/";
  bool only_attached = false;
  if (const json::value* v = in.as_object().if_contains("OnlyAttached"); v && v->is_bool())
    only_attached = v->as_bool();
  std::vector<std::pair<std::string, json::value>> items;
  for (const auto& r :
       tx.query("SELECT arn, account_id, name_key FROM iam_policies WHERE account_id = ? OR "
                "account_id = ? ORDER BY name_key, arn",
                {ctx.account_id, std::string(kAwsAccount)})) {
    bool aws = r.text(1) == kAwsAccount;
    if ((scope == "Local" && aws) || (scope == "AWS" && !aws)) continue;
    auto p = findPolicy(tx, ctx.account_id, r.text(0));
    if (!p || p->path.compare(0, prefix.size(), prefix) != 0) continue;
    auto doc = policyDoc(tx, ctx.account_id, *p, false);
    if (only_attached && doc["AttachmentCount"].as_int64() == 0) continue;
    items.emplace_back(r.text(2) + "\n" + r.text(0), std::move(doc));
  }
  json::object out;
  page(out, "Policies", std::move(items), in);
  return json::value(std::move(out));
}

Result<json::value> deletePolicy(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(ManagedPolicy p, ownPolicy(tx, ctx.account_id, str(in, "PolicyArn")));
  if (attachmentCount(tx, ctx.account_id, p.arn) > 0 ||
      boundaryCount(tx, ctx.account_id, p.arn) > 0)
    return deleteConflict("Cannot delete a policy attached to entities.");
  if (count(tx, "SELECT COUNT(*) FROM iam_policy_versions WHERE policy_id = ?", {p.id}) > 1)
    return deleteConflict(
        "This policy has more than one version. Before you delete a policy, you must delete "
        "the policy's versions. The default version is deleted with the policy.");
  tx.exec("DELETE FROM iam_policy_versions WHERE policy_id = ?", {p.id});
  tx.exec("DELETE FROM iam_tags WHERE entity_id = ?", {p.id});
  tx.exec("DELETE FROM iam_policies WHERE arn = ?", {p.arn});
  return json::value(json::object{});
}

Result<json::value> createPolicyVersion(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(ManagedPolicy p, ownPolicy(tx, ctx.account_id, str(in, "PolicyArn")));
  std::string doc = str(in, "PolicyDocument");
  TRY_VOID(validateIdentityPolicy(doc, iam::PolicySizeLimit::kManaged, ""));
  // AWS: a managed policy keeps at most five versions.
  if (count(tx, "SELECT COUNT(*) FROM iam_policy_versions WHERE policy_id = ?", {p.id}) >= 5)
    return limitExceeded(
        "A managed policy can have up to 5 versions. Before you create a new version, you must "
        "delete an existing version.");
  auto next = tx.query("SELECT next_version FROM iam_policies WHERE arn = ?", {p.arn});
  std::string version = "v" + std::to_string(next.empty() ? 1 : next[0].integer(0));
  bool set_default = false;
  if (const json::value* v = in.as_object().if_contains("SetAsDefault"); v && v->is_bool())
    set_default = v->as_bool();
  int64_t now = toEpochMillis(ctx.time);
  tx.exec(
      "INSERT INTO iam_policy_versions(policy_id, version_id, document, created_ms) "
      "VALUES (?, ?, ?, ?)",
      {p.id, version, doc, now});
  tx.exec(
      "UPDATE iam_policies SET next_version = next_version + 1, updated_ms = ?, "
      "default_version = CASE WHEN ? = 1 THEN ? ELSE default_version END WHERE arn = ?",
      {now, int64_t(set_default ? 1 : 0), version, p.arn});
  json::object v;
  v["VersionId"] = version;
  v["IsDefaultVersion"] = set_default;
  v["CreateDate"] = seconds(now);
  return json::value(json::object{{"PolicyVersion", std::move(v)}});
}

Result<json::value> getPolicyVersion(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(ManagedPolicy p, requirePolicy(tx, ctx.account_id, str(in, "PolicyArn")));
  std::string version = str(in, "VersionId");
  for (const auto& v : versionsOf(tx, p.id)) {
    if (v.id != version) continue;
    json::object o;
    o["Document"] = encodeDocument(v.document);
    o["VersionId"] = v.id;
    o["IsDefaultVersion"] = v.id == p.default_version;
    o["CreateDate"] = seconds(v.created_ms);
    return json::value(json::object{{"PolicyVersion", std::move(o)}});
  }
  return noSuchEntity("Policy " + p.arn + " version " + version +
                      " does not exist or is not attachable.");
}

Result<json::value> listPolicyVersions(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(ManagedPolicy p, requirePolicy(tx, ctx.account_id, str(in, "PolicyArn")));
  std::vector<std::pair<std::string, json::value>> items;
  for (const auto& v : versionsOf(tx, p.id)) {
    json::object o;
    o["VersionId"] = v.id;
    o["IsDefaultVersion"] = v.id == p.default_version;
    o["CreateDate"] = seconds(v.created_ms);
    items.emplace_back(indexKey(items.size()), std::move(o));
  }
  json::object out;
  page(out, "Versions", std::move(items), in);
  return json::value(std::move(out));
}

Result<json::value> deletePolicyVersion(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(ManagedPolicy p, ownPolicy(tx, ctx.account_id, str(in, "PolicyArn")));
  std::string version = str(in, "VersionId");
  if (version == p.default_version)
    return deleteConflict("Cannot delete the default version of a policy.");
  tx.exec("DELETE FROM iam_policy_versions WHERE policy_id = ? AND version_id = ?",
          {p.id, version});
  if (tx.changes() == 0)
    return noSuchEntity("Policy " + p.arn + " version " + version +
                        " does not exist or is not attachable.");
  return json::value(json::object{});
}

Result<json::value> setDefaultPolicyVersion(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(ManagedPolicy p, ownPolicy(tx, ctx.account_id, str(in, "PolicyArn")));
  std::string version = str(in, "VersionId");
  if (!policyDocument(tx, p.id, version))
    return noSuchEntity("Policy " + p.arn + " version " + version +
                        " does not exist or is not attachable.");
  tx.exec("UPDATE iam_policies SET default_version = ?, updated_ms = ? WHERE arn = ?",
          {version, toEpochMillis(ctx.time), p.arn});
  return json::value(json::object{});
}

Result<json::value> listEntitiesForPolicy(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(ManagedPolicy p, requirePolicy(tx, ctx.account_id, str(in, "PolicyArn")));
  std::string filter = str(in, "EntityFilter");
  bool boundaries = str(in, "PolicyUsageFilter") == "PermissionsBoundary";
  std::string sql =
      boundaries ? "SELECT kind, name, id FROM iam_entities WHERE boundary_arn = ? AND "
                   "account_id = ? ORDER BY name_key"
                 : "SELECT e.kind, e.name, e.id FROM iam_attachments a JOIN iam_entities e ON "
                   "e.id = a.entity_id WHERE a.policy_arn = ? AND e.account_id = ? "
                   "ORDER BY e.name_key";
  json::array groups, users, roles;
  for (const auto& r : tx.query(sql, {p.arn, ctx.account_id})) {
    std::string kind = r.text(0);
    std::string title = kindTitle(kind);
    if (!filter.empty() && filter != title) continue;
    json::object o{{title + "Name", r.text(1)}, {title + "Id", r.text(2)}};
    (kind == "user" ? users : kind == "group" ? groups : roles).push_back(std::move(o));
  }
  json::object out;
  out["PolicyGroups"] = std::move(groups);
  out["PolicyUsers"] = std::move(users);
  out["PolicyRoles"] = std::move(roles);
  out["IsTruncated"] = false;
  return json::value(std::move(out));
}

// ---- attachments --------------------------------------------------------------------------

Result<json::value> attachPolicy(const std::string& kind, RequestContext& ctx,
                                 const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity e,
             requireEntity(tx, kind, ctx.account_id, str(in, (kindTitle(kind) + "Name").c_str())));
  TRY_ASSIGN(ManagedPolicy p, requirePolicy(tx, ctx.account_id, str(in, "PolicyArn")));
  tx.exec(
      "INSERT INTO iam_attachments(entity_id, policy_arn) VALUES (?, ?) "
      "ON CONFLICT(entity_id, policy_arn) DO NOTHING",
      {e.id, p.arn});
  // AWS: ten managed policies per user, group or role (default quota).
  if (count(tx, "SELECT COUNT(*) FROM iam_attachments WHERE entity_id = ?", {e.id}) > 10)
    return limitExceeded("Cannot exceed quota for PoliciesPer" + kindTitle(kind) + ": 10");
  return json::value(json::object{});
}

Result<json::value> detachPolicy(const std::string& kind, RequestContext& ctx,
                                 const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity e,
             requireEntity(tx, kind, ctx.account_id, str(in, (kindTitle(kind) + "Name").c_str())));
  std::string arn = str(in, "PolicyArn");
  tx.exec("DELETE FROM iam_attachments WHERE entity_id = ? AND policy_arn = ?", {e.id, arn});
  if (tx.changes() == 0) return noSuchEntity("Policy " + arn + " was not found.");
  return json::value(json::object{});
}

Result<json::value> listAttached(const std::string& kind, RequestContext& ctx,
                                 const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity e,
             requireEntity(tx, kind, ctx.account_id, str(in, (kindTitle(kind) + "Name").c_str())));
  std::string prefix = str(in, "PathPrefix");
  if (prefix.empty()) prefix = "/";
  std::vector<std::pair<std::string, json::value>> items;
  for (auto& a : attachedOf(tx, ctx.account_id, e.id, prefix))
    items.emplace_back(std::string(a.as_object().at("PolicyArn").as_string()), std::move(a));
  json::object out;
  page(out, "AttachedPolicies", std::move(items), in);
  return json::value(std::move(out));
}

// ---- inline policies ----------------------------------------------------------------------

Result<json::value> putInline(const std::string& kind, RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity e,
             requireEntity(tx, kind, ctx.account_id, str(in, (kindTitle(kind) + "Name").c_str())));
  std::string doc = str(in, "PolicyDocument");
  TRY_VOID(validateIdentityPolicy(doc, inlineLimit(kind), e.name));
  tx.exec(
      "INSERT INTO iam_inline_policies(entity_id, name, document, rev) VALUES (?, ?, ?, ?) "
      "ON CONFLICT(entity_id, name) DO UPDATE SET document = excluded.document, "
      "rev = excluded.rev",
      {e.id, str(in, "PolicyName"), doc, randomUpperAlnum(12)});
  return json::value(json::object{});
}

Result<json::value> getInline(const std::string& kind, RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity e,
             requireEntity(tx, kind, ctx.account_id, str(in, (kindTitle(kind) + "Name").c_str())));
  std::string name = str(in, "PolicyName");
  auto rows = tx.query("SELECT document FROM iam_inline_policies WHERE entity_id = ? AND name = ?",
                       {e.id, name});
  if (rows.empty())
    return noSuchEntity("The " + kind + " policy with name " + name + " cannot be found.");
  json::object out;
  out[kindTitle(kind) + "Name"] = e.name;
  out["PolicyName"] = name;
  out["PolicyDocument"] = encodeDocument(rows[0].text(0));
  return json::value(std::move(out));
}

Result<json::value> deleteInline(const std::string& kind, RequestContext& ctx,
                                 const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity e,
             requireEntity(tx, kind, ctx.account_id, str(in, (kindTitle(kind) + "Name").c_str())));
  std::string name = str(in, "PolicyName");
  tx.exec("DELETE FROM iam_inline_policies WHERE entity_id = ? AND name = ?", {e.id, name});
  if (tx.changes() == 0)
    return noSuchEntity("The " + kind + " policy with name " + name + " cannot be found.");
  return json::value(json::object{});
}

Result<json::value> listInline(const std::string& kind, RequestContext& ctx,
                               const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity e,
             requireEntity(tx, kind, ctx.account_id, str(in, (kindTitle(kind) + "Name").c_str())));
  std::vector<std::pair<std::string, json::value>> items;
  for (const auto& r :
       tx.query("SELECT name FROM iam_inline_policies WHERE entity_id = ? ORDER BY name", {e.id}))
    items.emplace_back(r.text(0), json::value(r.text(0)));
  json::object out;
  page(out, "PolicyNames", std::move(items), in);
  return json::value(std::move(out));
}

// ---- permissions boundaries ---------------------------------------------------------------

Result<json::value> putBoundary(const std::string& kind, RequestContext& ctx,
                                const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity e,
             requireEntity(tx, kind, ctx.account_id, str(in, (kindTitle(kind) + "Name").c_str())));
  std::string arn = str(in, "PermissionsBoundary");
  TRY_VOID(checkBoundary(tx, ctx.account_id, arn));
  tx.exec("UPDATE iam_entities SET boundary_arn = ? WHERE id = ?", {arn, e.id});
  return json::value(json::object{});
}

Result<json::value> deleteBoundary(const std::string& kind, RequestContext& ctx,
                                   const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity e,
             requireEntity(tx, kind, ctx.account_id, str(in, (kindTitle(kind) + "Name").c_str())));
  tx.exec("UPDATE iam_entities SET boundary_arn = '' WHERE id = ?", {e.id});
  return json::value(json::object{});
}

// ---- GetAccountAuthorizationDetails -------------------------------------------------------

Result<json::value> getAccountAuthorizationDetails(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  std::vector<std::string> filter;
  if (const json::value* f = in.as_object().if_contains("Filter"); f && f->is_array())
    for (const auto& v : f->as_array())
      if (v.is_string()) filter.emplace_back(v.as_string());
  auto wanted = [&](const char* t) {
    if (filter.empty()) return true;
    for (const auto& f : filter)
      if (f == t) return true;
    return false;
  };
  const std::string& acct = ctx.account_id;
  auto entities = [&](const std::string& kind) {
    std::vector<Entity> out;
    for (const auto& r : tx.query(
             "SELECT name FROM iam_entities WHERE kind = ? AND account_id = ? ORDER BY name_key",
             {kind, acct}))
      if (auto e = findEntity(tx, kind, acct, r.text(0))) out.push_back(std::move(*e));
    return out;
  };

  json::object out;
  json::array users, groups, roles, policies;
  if (wanted("User")) {
    for (const auto& u : entities("user")) {
      json::object d = entityDoc(tx, u, true);
      d["UserPolicyList"] = inlineOf(tx, u.id);
      json::array group_names;
      for (const auto& r : tx.query(
               "SELECT e.name FROM iam_group_members m JOIN iam_entities e ON e.id = m.group_id "
               "WHERE m.user_id = ? ORDER BY e.name_key",
               {u.id}))
        group_names.push_back(json::value(r.text(0)));
      d["GroupList"] = std::move(group_names);
      d["AttachedManagedPolicies"] = attachedOf(tx, acct, u.id);
      if (!d.contains("Tags")) d["Tags"] = json::array{};
      users.push_back(std::move(d));
    }
  }
  if (wanted("Group")) {
    for (const auto& g : entities("group")) {
      json::object d = entityDoc(tx, g, false);
      d["GroupPolicyList"] = inlineOf(tx, g.id);
      d["AttachedManagedPolicies"] = attachedOf(tx, acct, g.id);
      groups.push_back(std::move(d));
    }
  }
  if (wanted("Role")) {
    for (const auto& r : entities("role")) {
      json::object d = entityDoc(tx, r, true);
      d.erase("Description");
      d.erase("MaxSessionDuration");
      d["InstanceProfileList"] = json::array{};
      d["RolePolicyList"] = inlineOf(tx, r.id);
      d["AttachedManagedPolicies"] = attachedOf(tx, acct, r.id);
      if (!d.contains("Tags")) d["Tags"] = json::array{};
      d["RoleLastUsed"] = json::object{};
      roles.push_back(std::move(d));
    }
  }
  bool local = wanted("LocalManagedPolicy");
  bool aws = wanted("AWSManagedPolicy");
  if (local || aws) {
    for (const auto& r :
         tx.query("SELECT arn, account_id FROM iam_policies WHERE account_id = ? OR account_id = ? "
                  "ORDER BY name_key, arn",
                  {acct, std::string(kAwsAccount)})) {
      bool is_aws = r.text(1) == kAwsAccount;
      if (is_aws ? !aws : !local) continue;
      auto p = findPolicy(tx, acct, r.text(0));
      if (!p) continue;
      json::object d = policyDoc(tx, acct, *p, false);
      // AWS: only the AWS managed policies in use by the account are listed.
      if (is_aws && d["AttachmentCount"].as_int64() == 0 &&
          d["PermissionsBoundaryUsageCount"].as_int64() == 0)
        continue;
      json::array versions;
      for (const auto& v : versionsOf(tx, p->id)) {
        versions.push_back(json::object{{"Document", encodeDocument(v.document)},
                                        {"VersionId", v.id},
                                        {"IsDefaultVersion", v.id == p->default_version},
                                        {"CreateDate", seconds(v.created_ms)}});
      }
      d["PolicyVersionList"] = std::move(versions);
      policies.push_back(std::move(d));
    }
  }
  out["UserDetailList"] = std::move(users);
  out["GroupDetailList"] = std::move(groups);
  out["RoleDetailList"] = std::move(roles);
  out["Policies"] = std::move(policies);
  out["IsTruncated"] = false;
  return json::value(std::move(out));
}

}  // namespace citadel::iamsvc
