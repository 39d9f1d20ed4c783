// Shared helpers of the IAM service: lookups with AWS's errors, tags, documents, paging.
#include <algorithm>

#include "core/encoding.h"
#include "iam/policy.h"
#include "services/iam/internal.h"

namespace citadel::iamsvc {

AwsError noSuchEntity(std::string message) {
  return AwsError{"NoSuchEntity", std::move(message), 404, true, {}};
}
AwsError entityAlreadyExists(std::string message) {
  return AwsError{"EntityAlreadyExists", std::move(message), 409, true, {}};
}
AwsError deleteConflict(std::string message) {
  return AwsError{"DeleteConflict", std::move(message), 409, true, {}};
}
AwsError limitExceeded(std::string message) {
  return AwsError{"LimitExceeded", std::move(message), 409, true, {}};
}
AwsError invalidInput(std::string message) {
  return AwsError{"InvalidInput", std::move(message), 400, true, {}};
}

std::string iamArn(const std::string& account, const std::string& type, const std::string& path,
                   const std::string& name) {
  std::string p = path.empty() ? "/" : path;
  return "arn:aws:iam::" + account + ":" + type + p + name;
}

std::string str(const json::value& in, const char* member) {
  if (!in.is_object()) return {};
  const json::value* v = in.as_object().if_contains(member);
  if (!v || !v->is_string()) return {};
  return std::string(v->as_string());
}

std::string pathOr(const json::value& in, const char* member) {
  std::string p = str(in, member);
  return p.empty() ? std::string("/") : p;
}

double seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

std::string kindTitle(const std::string& kind) {
  if (kind == "user") return "User";
  if (kind == "group") return "Group";
  return "Role";
}

namespace {
constexpr const char* kEntityColumns =
    "SELECT kind, account_id, name, id, path, arn, created_ms, boundary_arn, trust_policy, "
    "description, max_session FROM iam_entities ";

Entity entityFromRow(const store::Row& r) {
  Entity e;
  e.kind = r.text(0);
  e.account_id = r.text(1);
  e.name = r.text(2);
  e.id = r.text(3);
  e.path = r.text(4);
  e.arn = r.text(5);
  e.created_ms = r.integer(6);
  e.boundary_arn = r.text(7);
  e.trust_policy = r.text(8);
  e.description = r.text(9);
  e.max_session = r.integer(10);
  return e;
}
}  // namespace

std::optional<Entity> findEntity(store::Tx& tx, const std::string& kind, const std::string& account,
                                 const std::string& name) {
  auto rows =
      tx.query(std::string(kEntityColumns) + "WHERE kind = ? AND account_id = ? AND name_key = ?",
               {kind, account, toLower(name)});
  if (rows.empty()) return std::nullopt;
  return entityFromRow(rows[0]);
}

Result<Entity> requireEntity(store::Tx& tx, const std::string& kind, const std::string& account,
                             const std::string& name) {
  auto e = findEntity(tx, kind, account, name);
  if (!e) return noSuchEntity("The " + kind + " with name " + name + " cannot be found.");
  return *e;
}

std::optional<Entity> findEntityByArn(store::Tx& tx, const std::string& arn) {
  auto rows = tx.query(std::string(kEntityColumns) + "WHERE arn = ?", {arn});
  if (rows.empty()) return std::nullopt;
  return entityFromRow(rows[0]);
}

Result<void> insertEntity(store::Tx& tx, const Entity& e) {
  auto st = tx.exec(
      "INSERT INTO iam_entities(kind, account_id, name_key, name, id, path, arn, created_ms, "
      "boundary_arn, trust_policy, description, max_session) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
      {e.kind, e.account_id, toLower(e.name), e.name, e.id, e.path, e.arn, e.created_ms,
       e.boundary_arn, e.trust_policy, e.description, e.max_session});
  if (st == store::ExecStatus::kConstraint)
    return entityAlreadyExists(kindTitle(e.kind) + " with name " + e.name + " already exists.");
  return okResult();
}

std::optional<ManagedPolicy> findPolicy(store::Tx& tx, const std::string& account,
                                        const std::string& arn) {
  auto rows = tx.query(
      "SELECT account_id, arn, id, name, path, description, default_version, created_ms, "
      "updated_ms FROM iam_policies WHERE arn = ? AND (account_id = ? OR account_id = ?)",
      {arn, account, std::string(kAwsAccount)});
  if (rows.empty()) return std::nullopt;
  const auto& r = rows[0];
  ManagedPolicy p;
  p.account_id = r.text(0);
  p.arn = r.text(1);
  p.id = r.text(2);
  p.name = r.text(3);
  p.path = r.text(4);
  p.description = r.text(5);
  p.default_version = r.text(6);
  p.created_ms = r.integer(7);
  p.updated_ms = r.integer(8);
  return p;
}

Result<ManagedPolicy> requirePolicy(store::Tx& tx, const std::string& account,
                                    const std::string& arn) {
  auto p = findPolicy(tx, account, arn);
  if (!p) return noSuchEntity("Policy " + arn + " does not exist or is not attachable.");
  return *p;
}

std::optional<std::string> policyDocument(store::Tx& tx, const std::string& policy_id,
                                          const std::string& version) {
  auto rows =
      tx.query("SELECT document FROM iam_policy_versions WHERE policy_id = ? AND version_id = ?",
               {policy_id, version});
  if (rows.empty()) return std::nullopt;
  return rows[0].text(0);
}

Result<void> checkBoundary(store::Tx& tx, const std::string& account, const std::string& arn) {
  if (!findPolicy(tx, account, arn))
    return noSuchEntity("Scope ARN: " + arn + " does not exist or is not attachable.");
  return okResult();
}

json::array tagsOf(store::Tx& tx, const std::string& entity_id) {
  json::array out;
  for (const auto& r :
       tx.query("SELECT tag_key, tag_value FROM iam_tags WHERE entity_id = ? ORDER BY tag_key",
                {entity_id}))
    out.push_back(json::object{{"Key", r.text(0)}, {"Value", r.text(1)}});
  return out;
}

Result<void> putTags(store::Tx& tx, const std::string& entity_id, const json::value* tags) {
  if (!tags || !tags->is_array()) return okResult();
  for (const auto& t : tags->as_array()) {
    tx.exec(
        "INSERT INTO iam_tags(entity_id, tag_key, tag_value) VALUES (?, ?, ?) "
        "ON CONFLICT(entity_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
        {entity_id, str(t, "Key"), str(t, "Value")});
  }
  auto n = tx.query("SELECT COUNT(*) FROM iam_tags WHERE entity_id = ?", {entity_id});
  // AWS: IAM allows at most 50 tags per resource.
  if (!n.empty() && n[0].integer(0) > 50)
    return limitExceeded("The number of tags has reached the maximum limit.");
  return okResult();
}

void removeTags(store::Tx& tx, const std::string& entity_id, const json::value* keys) {
  if (!keys || !keys->is_array()) return;
  for (const auto& k : keys->as_array())
    if (k.is_string())
      tx.exec("DELETE FROM iam_tags WHERE entity_id = ? AND tag_key = ?",
              {entity_id, std::string(k.as_string())});
}

json::object boundaryDoc(const std::string& arn) {
  return json::object{{"PermissionsBoundaryType", "Policy"}, {"PermissionsBoundaryArn", arn}};
}

json::object entityDoc(store::Tx& tx, const Entity& e, bool with_tags) {
  json::object o;
  o["Path"] = e.path;
  o[kindTitle(e.kind) + "Name"] = e.name;
  o[kindTitle(e.kind) + "Id"] = e.id;
  o["Arn"] = e.arn;
  o["CreateDate"] = seconds(e.created_ms);
  if (e.kind == "role") {
    o["AssumeRolePolicyDocument"] = encodeDocument(e.trust_policy);
    if (!e.description.empty()) o["Description"] = e.description;
    o["MaxSessionDuration"] = e.max_session;
  }
  if (!e.boundary_arn.empty()) o["PermissionsBoundary"] = boundaryDoc(e.boundary_arn);
  if (with_tags && e.kind != "group") {
    auto tags = tagsOf(tx, e.id);
    if (!tags.empty()) o["Tags"] = std::move(tags);
  }
  return o;
}

void page(json::object& out, const char* list_name,
          std::vector<std::pair<std::string, json::value>> items, const json::value& in) {
  int64_t max_items = 100;
  if (const json::value* v = in.as_object().if_contains("MaxItems"); v && v->is_int64())
    max_items = std::max<int64_t>(1, v->as_int64());
  size_t start = 0;
  std::string marker = str(in, "Marker");
  if (!marker.empty()) {
    std::string key = base64Decode(marker).value_or("");
    while (start < items.size() && items[start].first < key) ++start;
  }
  json::array list;
  size_t i = start;
  for (; i < items.size() && static_cast<int64_t>(list.size()) < max_items; ++i)
    list.push_back(std::move(items[i].second));
  out[list_name] = std::move(list);
  out["IsTruncated"] = i < items.size();
  if (i < items.size()) out["Marker"] = base64Encode(items[i].first);
}

std::string encodeDocument(const std::string& document) { return uriEncode(document, true); }

Result<void> validateIdentityPolicy(const std::string& document, iam::PolicySizeLimit limit,
                                    const std::string& entity) {
  TRY_VOID(iam::checkPolicySize(document, limit, entity));
  auto parsed = iam::parsePolicy(document, iam::PolicyKind::kIdentity);
  if (!parsed.ok()) return std::move(parsed).error();
  return okResult();
}

runtime::Handler tagEntity(const char* kind, const char* name_member) {
  return [kind, name_member](RequestContext& ctx, const json::value& in) -> Result<json::value> {
    auto& tx = ctx.tx();
    TRY_ASSIGN(Entity e, requireEntity(tx, kind, ctx.account_id, str(in, name_member)));
    TRY_VOID(putTags(tx, e.id, in.as_object().if_contains("Tags")));
    return json::value(json::object{});
  };
}

runtime::Handler untagEntity(const char* kind, const char* name_member) {
  return [kind, name_member](RequestContext& ctx, const json::value& in) -> Result<json::value> {
    auto& tx = ctx.tx();
    TRY_ASSIGN(Entity e, requireEntity(tx, kind, ctx.account_id, str(in, name_member)));
    removeTags(tx, e.id, in.as_object().if_contains("TagKeys"));
    return json::value(json::object{});
  };
}

runtime::Handler listEntityTags(const char* kind, const char* name_member) {
  return [kind, name_member](RequestContext& ctx, const json::value& in) -> Result<json::value> {
    auto& tx = ctx.tx();
    TRY_ASSIGN(Entity e, requireEntity(tx, kind, ctx.account_id, str(in, name_member)));
    std::vector<std::pair<std::string, json::value>> items;
    for (auto& t : tagsOf(tx, e.id))
      items.emplace_back(std::string(t.as_object().at("Key").as_string()), t);
    json::object out;
    page(out, "Tags", std::move(items), in);
    return json::value(std::move(out));
  };
}

}  // namespace citadel::iamsvc
