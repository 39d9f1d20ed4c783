// SSM Parameter Store: GetParametersByPath and DescribeParameters (hierarchies, filters,
// paging), and the parameter tags.
#include <algorithm>
#include <cctype>
#include <set>

#include "core/encoding.h"
#include "runtime/invoke.h"
#include "runtime/services.h"
#include "services/ssm/internal.h"

namespace citadel::ssm {

namespace {

double seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

/// One ParameterStringFilter (or legacy ParametersFilter), validated.
struct Filter {
  std::string key;
  std::string option;
  std::vector<std::string> values;
};

const char* kBadPath =
    "The parameter doesn't meet the parameter name requirements. The parameter name must begin "
    "with a forward slash \"/\". It can't be prefixed with \"aws\" or \"ssm\" "
    "(case-insensitive). It must use only letters, numbers, or the following symbols: . "
    "(period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, "
    "if specified, must use the forward slash symbol \"/\". Valid example: "
    "/get/parameters2-/by1./path0_.";

bool validPath(std::string_view p) {
  if (p.empty() || p.front() != '/' || p.find("//") != std::string_view::npos) return false;
  for (char c : p)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ||
          c == '/'))
      return false;
  return true;
}

/// True when `name` lies under `path` (one level below it, or anywhere below when recursive).
bool underPath(const std::string& name, std::string path, bool recursive) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  std::string rel;
  if (path == "/") {
    rel = !name.empty() && name.front() == '/' ? name.substr(1) : name;
  } else {
    if (name.size() <= path.size() + 1 || name.compare(0, path.size(), path) != 0 ||
        name[path.size()] != '/')
      return false;
    rel = name.substr(path.size() + 1);
  }
  return !rel.empty() && (recursive || rel.find('/') == std::string::npos);
}

Result<std::vector<Filter>> parseFilters(const json::value& in, bool by_path) {
  std::vector<Filter> out;
  const json::value* list = in.as_object().if_contains("ParameterFilters");
  if (!list || !list->is_array()) return out;
  std::set<std::string> keys;
  for (const auto& f : list->as_array()) {
    Filter filter;
    filter.key = str(f, "Key");
    filter.option = str(f, "Option");
    if (const auto* v = f.as_object().if_contains("Values"); v && v->is_array())
      for (const auto& x : v->as_array()) filter.values.emplace_back(x.as_string());
    const bool is_tag = filter.key.rfind("tag:", 0) == 0;
    static const std::set<std::string> kDescribeKeys{"Path",  "Name", "Type",
                                                     "KeyId", "Tier", "DataType"};
    static const std::set<std::string> kPathKeys{"Type", "KeyId", "Label", "DataType"};
    if (!is_tag && !(by_path ? kPathKeys : kDescribeKeys).count(filter.key))
      return ssmError("InvalidFilterKey",
                      "The following filter key is not valid: " + filter.key +
                          ". Valid filter keys include: " +
                          (by_path ? "[Type, KeyId, Label, DataType]."
                                   : "[Path, Name, Type, KeyId, Tier, DataType]."));
    if (!keys.insert(filter.key).second)
      return ssmError("InvalidFilterKey",
                      "The following filter is duplicated in the request: " + filter.key +
                          ". A request can contain only one occurrence of a specific filter.");
    if (!is_tag && filter.values.empty())
      return ssmError("InvalidFilterValue",
                      "The following filter values are missing : null for "
                      "filter key " +
                          filter.key + ".");
    if (filter.key == "Path") {
      if (filter.option.empty()) filter.option = "OneLevel";
      if (filter.option != "OneLevel" && filter.option != "Recursive")
        return ssmError("InvalidFilterOption",
                        "The following filter option is not valid: " + filter.option +
                            ". Valid options include: [Recursive, OneLevel].");
      for (const auto& v : filter.values) {
        std::string lower = toLower(v);
        if (lower.rfind("/aws", 0) == 0 || lower.rfind("/ssm", 0) == 0)
          return validation(
              "Filters for common parameters can't be prefixed with \"aws\" or \"ssm\" "
              "(case-insensitive). When using global parameters, please specify within a global "
              "namespace.");
        if (!validPath(v)) return validation(kBadPath);
      }
    } else {
      if (filter.option.empty()) filter.option = "Equals";
      const bool ok = filter.option == "Equals" || filter.option == "BeginsWith" ||
                      (filter.key == "Name" && filter.option == "Contains");
      if (!ok)
        return ssmError("InvalidFilterOption",
                        "The following filter option is not valid: " + filter.option +
                            ". Valid options include: " +
                            (filter.key == "Name" ? "[BeginsWith, Equals, Contains]."
                                                  : "[BeginsWith, Equals]."));
    }
    auto checkValues = [&](const std::set<std::string>& allowed, const char* text) -> bool {
      for (const auto& v : filter.values)
        if (!allowed.count(v)) return false;
      (void)text;
      return true;
    };
    if (filter.key == "Type" && !checkValues({"String", "StringList", "SecureString"},
                                             "[String, StringList, SecureString]"))
      return ssmError("InvalidFilterValue",
                      "The following filter value is not valid: " + filter.values.front() +
                          ". Valid values include: [String, StringList, SecureString].");
    if (filter.key == "Tier" && !checkValues({"Standard", "Advanced", "Intelligent-Tiering"}, ""))
      return ssmError("InvalidFilterValue",
                      "The following filter value is not valid: " + filter.values.front() +
                          ". Valid values include: [Standard, Advanced, Intelligent-Tiering].");
    out.push_back(std::move(filter));
  }
  return out;
}

bool matchValue(const std::string& option, const std::string& actual,
                const std::vector<std::string>& values) {
  for (const auto& v : values) {
    if (option == "Equals" && actual == v) return true;
    if (option == "BeginsWith" && actual.rfind(v, 0) == 0) return true;
    if (option == "Contains" && actual.find(v) != std::string::npos) return true;
  }
  return false;
}

bool matches(const CurrentParam& p, const Filter& f) {
  const ParamRecord& r = p.rec;
  if (f.key == "Path") {
    for (const auto& v : f.values)
      if (underPath(r.name, v, f.option == "Recursive")) return true;
    return false;
  }
  if (f.key == "Name") {
    // AWS: names match with or without their leading slash.
    if (matchValue(f.option, r.name, f.values)) return true;
    std::vector<std::string> alt;
    for (const auto& v : f.values)
      alt.push_back(!v.empty() && v.front() == '/' ? v.substr(1) : "/" + v);
    return matchValue(f.option, r.name, alt);
  }
  if (f.key == "Type") return matchValue(f.option, r.type, f.values);
  if (f.key == "KeyId") return r.type == "SecureString" && matchValue(f.option, r.key_id, f.values);
  if (f.key == "Tier") return matchValue(f.option, r.tier, f.values);
  if (f.key == "DataType") return matchValue(f.option, r.data_type, f.values);
  if (f.key == "Label") {
    for (const auto& l : r.labels)
      if (matchValue(f.option, l, f.values)) return true;
    return false;
  }
  if (f.key.rfind("tag:", 0) == 0) {
    const std::string tag_key = f.key.substr(4);
    for (const auto& [k, v] : p.tags)
      if (k == tag_key) return f.values.empty() || matchValue(f.option, v, f.values);
    return false;
  }
  return false;
}

json::object metadataDoc(const RequestContext& ctx, const ParamRecord& r) {
  json::object m;
  m["Name"] = r.name;
  m["ARN"] = parameterArn(r.is_public ? "" : ctx.account_id, ctx.region, r.name);
  m["Type"] = r.type;
  if (r.type == "SecureString") m["KeyId"] = r.key_id;
  m["LastModifiedDate"] = seconds(r.modified_ms);
  if (!r.modified_user.empty()) m["LastModifiedUser"] = r.modified_user;
  if (!r.description.empty()) m["Description"] = r.description;
  if (!r.allowed_pattern.empty()) m["AllowedPattern"] = r.allowed_pattern;
  m["Version"] = r.version;
  m["Tier"] = r.tier;
  m["Policies"] = policiesDoc(r.policies, r.modified_ms);
  m["DataType"] = r.data_type;
  return m;
}

Result<std::string> valueFor(RequestContext& ctx, const ParamRecord& r, bool decrypt) {
  if (r.type != "SecureString" || !decrypt) return r.value;
  json::object in;
  auto blob = base64Decode(r.value);
  if (!blob) return AwsError::internal();
  in["CiphertextBlob"] = std::move(*blob);
  in["EncryptionContext"] =
      json::object{{"PARAMETER_ARN", parameterArn(ctx.account_id, ctx.region, r.name)}};
  auto out =
      runtime::invokeAs(ctx, "kms", "Decrypt", json::value(std::move(in)), "ssm.amazonaws.com");
  if (!out.ok()) return std::move(out).error();
  return std::string(out->as_object().at("Plaintext").as_string());
}

Result<void> requireParameterType(const json::value& in) {
  if (str(in, "ResourceType") != "Parameter")
    return ssmError("InvalidResourceType",
                    "The resource type is not valid. For example, if you are attempting to tag an "
                    "EC2 instance, the instance must be a registered managed node.");
  return okResult();
}

AwsError invalidResourceId() {
  return ssmError("InvalidResourceId",
                  "The resource ID is not valid. Verify that the ID and try "
                  "again.");
}

}  // namespace

Result<json::value> pageOf(const char* list_name, json::array items, const json::value& in,
                           size_t default_max, const char* kind) {
  const std::string prefix = std::string("citadel:ssm:") + kind + ":";
  size_t offset = 0;
  if (const std::string token = str(in, "NextToken"); !token.empty()) {
    auto text = base64Decode(token);
    bool ok = text && text->rfind(prefix, 0) == 0 && text->size() > prefix.size() &&
              text->size() - prefix.size() <= 9;
    for (size_t i = prefix.size(); ok && i < text->size(); ++i)
      ok = std::isdigit(static_cast<unsigned char>((*text)[i])) != 0;
    if (ok) offset = std::stoul(text->substr(prefix.size()));
    if (!ok || offset > items.size()) return validation("The nextToken is not valid.");
  }
  size_t max = default_max;
  if (const json::value* m = in.as_object().if_contains("MaxResults"); m && m->is_number())
    max = static_cast<size_t>(std::max<int64_t>(1, m->to_number<int64_t>()));
  json::array page;
  const size_t end = std::min(items.size(), offset + max);
  for (size_t i = offset; i < end; ++i) page.push_back(std::move(items[i]));
  json::object out{{list_name, std::move(page)}};
  if (end < items.size()) out["NextToken"] = base64Encode(prefix + std::to_string(end));
  return json::value(std::move(out));
}

// AWS: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParametersByPath.html
Result<json::value> getParametersByPath(RequestContext& ctx, const json::value& in) {
  const std::string path = str(in, "Path");
  if (!validPath(path)) return validation(kBadPath);
  if (hierarchyLevels(path) > 15)
    return ssmError("HierarchyLevelLimitExceededException",
                    "A hierarchy can have a maximum of 15 levels.");
  const bool recursive = flag(in, "Recursive");
  const bool decrypt = flag(in, "WithDecryption");
  TRY_ASSIGN(std::vector<Filter> filters, parseFilters(in, true));
  std::vector<CurrentParam> candidates;
  if (isPublicName(path + "/")) {
    for (auto& r : publicParametersByPath(ctx.region, path, recursive))
      candidates.push_back(CurrentParam{std::move(r), {}});
  } else {
    std::string prefix = path;
    while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
    prefix = prefix == "/" ? "" : prefix + "/";
    candidates = listCurrent(ctx.tx(), ctx.account_id, ctx.region, prefix);
  }
  std::vector<const CurrentParam*> selected;
  for (const auto& c : candidates) {
    if (!c.rec.is_public && !underPath(c.rec.name, path, recursive)) continue;
    bool ok = true;
    for (const auto& f : filters) ok = ok && matches(c, f);
    if (ok) selected.push_back(&c);
  }
  // Page over names first, so only the returned page is decrypted.
  json::array names;
  for (const auto* c : selected) names.emplace_back(c->rec.name);
  TRY_ASSIGN(json::value page, pageOf("Parameters", std::move(names), in, 10, "path"));
  json::array params;
  for (auto& n : page.as_object()["Parameters"].as_array()) {
    const CurrentParam* c = *std::find_if(selected.begin(), selected.end(), [&](const auto* x) {
      return x->rec.name == n.as_string();
    });
    const ParamRecord& r = c->rec;
    json::object p;
    p["Name"] = r.name;
    p["Type"] = r.type;
    TRY_ASSIGN(std::string value, valueFor(ctx, r, decrypt));
    p["Value"] = std::move(value);
    p["Version"] = r.version;
    p["LastModifiedDate"] = seconds(r.modified_ms);
    p["ARN"] = parameterArn(r.is_public ? "" : ctx.account_id, ctx.region, r.name);
    p["DataType"] = r.data_type;
    params.push_back(std::move(p));
  }
  page.as_object()["Parameters"] = std::move(params);
  return page;
}

// AWS: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeParameters.html
Result<json::value> describeParameters(RequestContext& ctx, const json::value& in) {
  const json::object& o = in.as_object();
  if (o.contains("Filters") && o.contains("ParameterFilters"))
    return validation("You can use either Filters or ParameterFilters in a single request.");
  TRY_ASSIGN(std::vector<Filter> filters, parseFilters(in, false));
  if (const auto* legacy = o.if_contains("Filters"); legacy && legacy->is_array()) {
    for (const auto& f : legacy->as_array()) {
      Filter filter;
      filter.key = str(f, "Key");
      // AWS: the legacy Name filter matches names beginning with a value.
      filter.option = filter.key == "Name" ? "BeginsWith" : "Equals";
      if (const auto* v = f.as_object().if_contains("Values"); v && v->is_array())
        for (const auto& x : v->as_array()) filter.values.emplace_back(x.as_string());
      filters.push_back(std::move(filter));
    }
  }
  json::array items;
  for (const auto& c : listCurrent(ctx.tx(), ctx.account_id, ctx.region, "")) {
    bool ok = true;
    for (const auto& f : filters) ok = ok && matches(c, f);
    if (ok) items.push_back(metadataDoc(ctx, c.rec));
  }
  return pageOf("Parameters", std::move(items), in, 10, "describe");
}

Result<json::value> addTagsToResource(RequestContext& ctx, const json::value& in) {
  TRY_VOID(requireParameterType(in));
  const std::string name = nameFromInput(str(in, "ResourceId"));
  auto& tx = ctx.tx();
  auto cur = loadCurrentTx(tx, ctx.account_id, ctx.region, name);
  if (!cur) return invalidResourceId();
  std::set<std::string> keys;
  for (const auto& [k, v] : cur->tags) keys.insert(k);
  for (const auto& t : in.as_object().at("Tags").as_array()) keys.insert(str(t, "Key"));
  if (keys.size() > kMaxTags)
    return ssmError("TooManyTagsError",
                    "You exceeded the maximum number of tags allowed for this resource. The "
                    "maximum is 50.");
  for (const auto& t : in.as_object().at("Tags").as_array())
    tx.exec(
        "INSERT OR REPLACE INTO ssm_tags (account_id, region, name, tag_key, tag_value) VALUES "
        "(?, ?, ?, ?, ?)",
        {ctx.account_id, ctx.region, name, str(t, "Key"), str(t, "Value")});
  invalidateAfterCommit(tx, ctx.account_id, ctx.region, name);
  return json::value(json::object{});
}

Result<json::value> removeTagsFromResource(RequestContext& ctx, const json::value& in) {
  TRY_VOID(requireParameterType(in));
  const std::string name = nameFromInput(str(in, "ResourceId"));
  auto& tx = ctx.tx();
  if (!loadCurrentTx(tx, ctx.account_id, ctx.region, name)) return invalidResourceId();
  for (const auto& k : in.as_object().at("TagKeys").as_array())
    tx.exec("DELETE FROM ssm_tags WHERE account_id = ? AND region = ? AND name = ? AND tag_key = ?",
            {ctx.account_id, ctx.region, name, std::string(k.as_string())});
  invalidateAfterCommit(tx, ctx.account_id, ctx.region, name);
  return json::value(json::object{});
}

Result<json::value> listTagsForResource(RequestContext& ctx, const json::value& in) {
  TRY_VOID(requireParameterType(in));
  const std::string name = nameFromInput(str(in, "ResourceId"));
  auto cur = loadCurrent(ctx, name);
  if (!cur) return invalidResourceId();
  json::array tags;
  for (const auto& [k, v] : cur->tags) tags.push_back(json::object{{"Key", k}, {"Value", v}});
  return json::value(json::object{{"TagList", std::move(tags)}});
}

}  // namespace citadel::ssm
