// Input validation against the botocore model constraints, with AWS's error wording:
//   "1 validation error detected: Value 'x' at 'keyId' failed to satisfy constraint: ..."

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <regex>
#include <shared_mutex>
#include <unordered_map>

#include "protocol/internal.h"

namespace citadel::protocol::detail {

namespace {

namespace json = boost::json;

// Patterns longer inputs are not matched against: libstdc++'s std::regex recurses per
// character and would exhaust the stack on large documents (policies, templates).
constexpr size_t kMaxPatternInput = 4096;

/// Compiled pattern per shape; nullptr when the botocore (Java) pattern does not compile as
/// ECMAScript (e.g. \p{L}), in which case the constraint is skipped.
const std::regex* compiledPattern(const Shape* shape) {
  static std::shared_mutex mu;
  static std::unordered_map<const Shape*, std::unique_ptr<std::regex>> cache;
  {
    std::shared_lock lock(mu);
    auto it = cache.find(shape);
    if (it != cache.end()) return it->second.get();
  }
  std::unique_ptr<std::regex> re;
  // Java-only constructs compile in ECMAScript with another meaning ("\\p{L}" would match a
  // literal 'p'): skip such patterns rather than reject valid input.
  static constexpr std::string_view kJavaOnly[] = {"\\p", "\\P", "\\A", "\\Z", "\\z",
                                                   "\\h", "\\Q", "\\G"};
  bool java_only = false;
  for (auto j : kJavaOnly)
    if (shape->pattern.find(j) != std::string::npos) java_only = true;
  if (!java_only) try {
    re = std::make_unique<std::regex>(shape->pattern, std::regex::ECMAScript |
                                                          std::regex::optimize);
  } catch (const std::regex_error&) {
    re.reset();
  }
  std::unique_lock lock(mu);
  auto [it, inserted] = cache.emplace(shape, std::move(re));
  return it->second.get();
}

bool isAscii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

std::string lowerFirst(std::string_view s) {
  std::string out(s);
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z') out[0] = static_cast<char>(out[0] + 32);
  return out;
}

std::string formatNumber(double d) {
  if (std::floor(d) == d && std::fabs(d) < 1e18) return std::to_string(static_cast<int64_t>(d));
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

/// Java-like rendering of a value, as AWS's messages print it.
std::string render(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: return std::string(v.get_string());
    case json::kind::int64: return std::to_string(v.get_int64());
    case json::kind::uint64: return std::to_string(v.get_uint64());
    case json::kind::double_: return formatNumber(v.get_double());
    case json::kind::bool_: return v.get_bool() ? "true" : "false";
    case json::kind::null: return "null";
    case json::kind::array: {
      std::string s = "[";
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) s += ", ";
        first = false;
        s += render(e);
      }
      return s + "]";
    }
    case json::kind::object: {
      std::string s = "{";
      bool first = true;
      for (const auto& [k, e] : v.get_object()) {
        if (!first) s += ", ";
        first = false;
        s += std::string(k) + "=" + render(e);
      }
      return s + "}";
    }
  }
  return {};
}

std::optional<double> asNumber(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

struct Problem {
  std::string path;
  std::string text;  // full "Value ... at ... failed to satisfy constraint: ..." sentence
};

class Validator {
 public:
  explicit Validator(const ServiceModel& model) : model_(model) {}

  std::vector<Problem> problems;
  std::vector<std::string> missing;  // wire names of missing top-level required members

  void check(const Shape* shape, const json::value& v, const std::string& path, bool sensitive,
             int depth) {
    if (!shape || depth > 64) return;
    bool hide = sensitive || shape->sensitive;
    switch (shape->type) {
      case ShapeType::kStructure:
        if (shape->is_document) return;
        if (!v.is_object()) return typeProblem(path, shape);
        structure(shape, v.get_object(), path, depth);
        return;
      case ShapeType::kList: {
        if (!v.is_array()) return typeProblem(path, shape);
        const auto& arr = v.get_array();
        lengthCheck(shape, static_cast<double>(arr.size()), v, path, hide);
        size_t i = 1;
        for (const auto& e : arr) {
          check(shape->member->shape, e, path + "." + std::to_string(i) + ".member",
                hide, depth + 1);
          ++i;
        }
        return;
      }
      case ShapeType::kMap: {
        if (!v.is_object()) return typeProblem(path, shape);
        const auto& obj = v.get_object();
        lengthCheck(shape, static_cast<double>(obj.size()), v, path, hide);
        for (const auto& [k, e] : obj) {
          json::value key(k);
          check(shape->key->shape, key, path + "." + std::string(k) + ".key", hide, depth + 1);
          check(shape->value->shape, e, path + "." + std::string(k) + ".value", hide,
                depth + 1);
        }
        return;
      }
      case ShapeType::kString: {
        if (!v.is_string()) return typeProblem(path, shape);
        std::string_view s = v.get_string();
        if (!shape->enum_values.empty()) {
          bool found = false;
          for (const auto& e : shape->enum_values)
            if (e == s) {
              found = true;
              break;
            }
          if (!found) {
            std::string set = "[";
            for (size_t i = 0; i < shape->enum_values.size(); ++i) {
              if (i) set += ", ";
              set += shape->enum_values[i];
            }
            add(path, v, hide, "Member must satisfy enum value set: " + set + "]");
          }
        }
        lengthCheck(shape, static_cast<double>(codePoints(s)), v, path, hide);
        if (!shape->pattern.empty() && s.size() <= kMaxPatternInput && isAscii(s)) {
          if (const std::regex* re = compiledPattern(shape)) {
            if (!std::regex_search(s.begin(), s.end(), *re))
              add(path, v, hide,
                  "Member must satisfy regular expression pattern: " + shape->pattern);
          }
        }
        return;
      }
      case ShapeType::kBlob:
        if (!v.is_string()) return typeProblem(path, shape);
        // Byte length; AWS does not echo blob values.
        lengthCheck(shape, static_cast<double>(v.get_string().size()), v, path, true);
        return;
      case ShapeType::kInteger:
      case ShapeType::kLong: {
        if (!v.is_int64() && !v.is_uint64()) return typeProblem(path, shape);
        valueCheck(shape, *asNumber(v), v, path, hide);
        return;
      }
      case ShapeType::kFloat:
      case ShapeType::kDouble: {
        auto n = asNumber(v);
        if (!n) return typeProblem(path, shape);
        valueCheck(shape, *n, v, path, hide);
        return;
      }
      case ShapeType::kBoolean:
        if (!v.is_bool()) return typeProblem(path, shape);
        return;
      case ShapeType::kTimestamp:
        if (!asNumber(v)) return typeProblem(path, shape);
        return;
      case ShapeType::kBigDecimal:
        if (!v.is_string() && !asNumber(v)) return typeProblem(path, shape);
        return;
    }
  }

  void structure(const Shape* shape, const json::object& obj, const std::string& path,
                 int depth) {
    for (const auto& req : shape->required) {
      auto* v = obj.if_contains(req);
      if (!v || v->is_null()) {
        std::string p = join(path, req);
        if (depth == 0) {
          const Member* m = shape->findMember(req);
          missing.push_back(m ? wireName(*m) : req);
        }
        problems.push_back(
            {p, "Value null at '" + p + "' failed to satisfy constraint: Member must not be null"});
      }
    }
    for (const auto& m : shape->members) {
      auto* v = obj.if_contains(m.name);
      if (!v || v->is_null()) continue;
      check(m.shape, *v, join(path, m.name), m.shape->sensitive, depth + 1);
    }
  }

 private:
  static std::string join(const std::string& path, std::string_view member) {
    if (path.empty()) return lowerFirst(member);
    return path + "." + lowerFirst(member);
  }

  std::string wireName(const Member& m) const {
    if (model_.protocol == Protocol::kEc2 && !m.query_name.empty()) return m.query_name;
    if (model_.protocol == Protocol::kEc2 && m.has_location_name) {
      std::string n = m.location_name;
      if (!n.empty() && n[0] >= 'a' && n[0] <= 'z') n[0] = static_cast<char>(n[0] - 32);
      return n;
    }
    if (m.has_location_name) return m.location_name;
    return m.name;
  }

  static size_t codePoints(std::string_view s) {
    size_t n = 0;
    for (unsigned char c : s)
      if ((c & 0xc0) != 0x80) ++n;
    return n;
  }

  void add(const std::string& path, const json::value& v, bool hide, const std::string& what) {
    std::string text = hide ? "Value at '" + path + "'"
                            : "Value '" + render(v) + "' at '" + path + "'";
    problems.push_back({path, text + " failed to satisfy constraint: " + what});
  }

  void typeProblem(const std::string& path, const Shape* shape) {
    problems.push_back({path, "Value at '" + path +
                                  "' failed to satisfy constraint: Member must be of type " +
                                  typeName(shape->type)});
  }

  static const char* typeName(ShapeType t) {
    switch (t) {
      case ShapeType::kStructure: return "structure";
      case ShapeType::kList: return "list";
      case ShapeType::kMap: return "map";
      case ShapeType::kString: return "string";
      case ShapeType::kInteger: return "integer";
      case ShapeType::kLong: return "long";
      case ShapeType::kFloat: return "float";
      case ShapeType::kDouble: return "double";
      case ShapeType::kBoolean: return "boolean";
      case ShapeType::kBlob: return "blob";
      case ShapeType::kTimestamp: return "timestamp";
      case ShapeType::kBigDecimal: return "bigdecimal";
    }
    return "value";
  }

  void lengthCheck(const Shape* shape, double len, const json::value& v, const std::string& path,
                   bool hide) {
    if (shape->min && len < *shape->min)
      add(path, v, hide,
          "Member must have length greater than or equal to " + formatNumber(*shape->min));
    if (shape->max && len > *shape->max)
      add(path, v, hide,
          "Member must have length less than or equal to " + formatNumber(*shape->max));
  }

  void valueCheck(const Shape* shape, double n, const json::value& v, const std::string& path,
                  bool hide) {
    if (shape->min && n < *shape->min)
      add(path, v, hide,
          "Member must have value greater than or equal to " + formatNumber(*shape->min));
    if (shape->max && n > *shape->max)
      add(path, v, hide,
          "Member must have value less than or equal to " + formatNumber(*shape->max));
  }

  const ServiceModel& model_;
};

}  // namespace

Result<void> validateInput(const ServiceModel& model, const Shape* shape,
                           const boost::json::value& doc) {
  if (!shape || shape->type != ShapeType::kStructure) return okResult();
  Validator v(model);
  if (doc.is_object())
    v.structure(shape, doc.get_object(), "", 0);
  else if (!doc.is_null())
    v.check(shape, doc, "", false, 0);
  else
    v.structure(shape, json::object(), "", 0);
  if (v.problems.empty()) return okResult();

  bool query_family = model.protocol == Protocol::kQuery || model.protocol == Protocol::kEc2;
  if (query_family && !v.missing.empty()) {
    // AWS: query/ec2 services answer a missing required parameter with MissingParameter.
    return AwsError{"MissingParameter",
                    "The request must contain the parameter " + v.missing.front(), 400, true,
                    {}};
  }
  size_t n = v.problems.size();
  std::string msg = std::to_string(n) + (n == 1 ? " validation error" : " validation errors") +
                    " detected: ";
  for (size_t i = 0; i < n; ++i) {
    if (i) msg += "; ";
    msg += v.problems[i].text;
  }
  if (query_family)
    return AwsError{model.protocol == Protocol::kEc2 ? "InvalidParameterValue" : "ValidationError",
                    std::move(msg), 400, true, {}};
  return AwsError::validation(std::move(msg));
}

}  // namespace citadel::protocol::detail
