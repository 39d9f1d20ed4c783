// SSM Parameter Store: AWS's rules for names, selectors, labels, policies and values. No I/O.
#include <cctype>
#include <regex>

#include "core/encoding.h"
#include "services/ssm/internal.h"

namespace citadel::ssm {

namespace {

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

bool nameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ||
         c == '/';
}

const char* kBadName =
    "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). If formed as "
    "a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as "
    "a mix of letters, numbers and the following 3 symbols .-_";

AwsError badAttribute(const std::string& why) {
  return ssmError("InvalidPolicyAttributeException",
                  "A policy attribute or its value is invalid. " + why);
}

}  // namespace

AwsError ssmError(std::string code, std::string message) {
  return AwsError{std::move(code), std::move(message), 400, true, {}};
}

AwsError validation(std::string message) { return AwsError::validation(std::move(message)); }

AwsError parameterNotFound(std::string_view name) {
  return ssmError("ParameterNotFound", "Parameter " + std::string(name) + " not found.");
}

std::string parameterArn(std::string_view account, std::string_view region, std::string_view name) {
  std::string out = "arn:aws:ssm:";
  out.append(region).append(":").append(account).append(":parameter");
  if (name.empty() || name.front() != '/') out += '/';
  out.append(name);
  return out;
}

std::string nameFromInput(std::string_view in) {
  if (in.rfind("arn:", 0) != 0) return std::string(in);
  // arn:aws:ssm:<region>:<account>:parameter/<name>
  size_t colons = 0, i = 0;
  for (; i < in.size() && colons < 5; ++i)
    if (in[i] == ':') ++colons;
  std::string_view rest = in.substr(i);
  if (rest.rfind("parameter/", 0) != 0) return std::string(in);
  std::string_view name = rest.substr(std::string_view("parameter").size());
  // "parameter/a/b" names "/a/b"; "parameter/a" names "a".
  if (name.find('/', 1) == std::string_view::npos) return std::string(name.substr(1));
  return std::string(name);
}

int hierarchyLevels(std::string_view name) {
  int levels = 0;
  bool in_segment = false;
  for (char c : name) {
    if (c == '/') {
      in_segment = false;
    } else if (!in_segment) {
      in_segment = true;
      ++levels;
    }
  }
  return levels;
}

Result<void> validateNewName(std::string_view name) {
  // AWS:
  // https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-su-create.html
  std::string_view bare = name;
  while (!bare.empty() && bare.front() == '/') bare.remove_prefix(1);
  const bool is_path = name.find('/') != std::string_view::npos;
  if (startsWithNoCase(name, "/aws/") && is_path)
    return ssmError("AccessDeniedException",
                    "No access to reserved parameter name: " + std::string(name) + ".");
  if (startsWithNoCase(bare, "aws") || startsWithNoCase(bare, "ssm")) {
    if (!is_path)
      return validation(
          "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).");
    return validation(kBadName);
  }
  bool ok = !name.empty();
  for (char c : name) ok = ok && nameChar(c);
  if (ok && is_path)
    ok = name.front() == '/' && name.back() != '/' && name.find("//") == std::string_view::npos;
  if (!ok) return validation(kBadName);
  // AWS: the fully qualified name (ARN prefix included) may have at most 1011 characters.
  if (name.size() > 1011)
    return validation(
        "Parameter name: the fully qualified parameter name can't exceed 1011 "
        "characters.");
  if (hierarchyLevels(name) > 15)
    return ssmError("HierarchyLevelLimitExceededException",
                    "A hierarchy can have a maximum of 15 levels. For more information, see "
                    "Requirements and constraints for parameter names in the AWS Systems "
                    "Manager User Guide.");
  return okResult();
}

Result<Selector> parseSelector(std::string_view text) {
  Selector s;
  const std::string plain = nameFromInput(text);
  size_t colon = plain.find(':');
  if (colon == std::string::npos) {
    s.name = plain;
    return s;
  }
  if (plain.find(':', colon + 1) != std::string::npos)
    return validation("Invalid parameter name or selector: " + plain + ".");
  s.name = plain.substr(0, colon);
  s.selector = plain.substr(colon + 1);
  if (s.selector.empty()) return validation("Invalid parameter name or selector: " + plain + ".");
  bool digits = true;
  for (char c : s.selector) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits) {
    if (s.selector.size() > 18) return validation("Invalid version selector: " + s.selector);
    s.version = std::stoll(s.selector);
  }
  return s;
}

bool validLabel(std::string_view label) {
  if (label.empty() || label.size() > 100) return false;
  if (std::isdigit(static_cast<unsigned char>(label.front()))) return false;
  if (startsWithNoCase(label, "aws") || startsWithNoCase(label, "ssm")) return false;
  for (char c : label)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
      return false;
  return true;
}

Result<std::vector<Policy>> parsePolicies(std::string_view text, SysTime now) {
  // AWS: https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-policies.html
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec || !doc.is_array())
    return badAttribute("The policies must be a JSON array of policy objects.");
  std::vector<Policy> out;
  if (doc.as_array().size() > 10)
    return ssmError("PoliciesLimitExceededException",
                    "You specified more than the maximum number of allowed policies for the "
                    "parameter. The maximum is 10.");
  for (const json::value& item : doc.as_array()) {
    if (!item.is_object()) return badAttribute("Each policy must be a JSON object.");
    const json::object& o = item.as_object();
    Policy p;
    p.text = json::serialize(item);
    const std::string type = str(item, "Type");
    if (type == "Expiration")
      p.type = PolicyType::kExpiration;
    else if (type == "ExpirationNotification")
      p.type = PolicyType::kExpirationNotification;
    else if (type == "NoChangeNotification")
      p.type = PolicyType::kNoChangeNotification;
    else
      return ssmError("InvalidPolicyTypeException",
                      "The policy type is not supported. Parameter Store supports the following "
                      "policy types: Expiration, ExpirationNotification, and "
                      "NoChangeNotification.");
    const std::string version = str(item, "Version");
    if (!version.empty() && version != "1.0")
      return badAttribute("The policy version must be 1.0.");
    const json::value* attrs = o.if_contains("Attributes");
    if (!attrs || !attrs->is_object()) return badAttribute("Attributes are required.");
    if (p.type == PolicyType::kExpiration) {
      auto ts = parseTimestamp(str(*attrs, "Timestamp"));
      if (!ts) return badAttribute("Timestamp must be an ISO 8601 date and time.");
      if (*ts <= now) return badAttribute("The expiration Timestamp must be in the future.");
      p.timestamp = *ts;
    } else {
      const char* member = p.type == PolicyType::kExpirationNotification ? "Before" : "After";
      const json::value* amount = attrs->as_object().if_contains(member);
      std::string digits;
      if (amount && amount->is_string()) digits = std::string(amount->as_string());
      if (amount && amount->is_int64()) digits = std::to_string(amount->as_int64());
      bool ok = !digits.empty() && digits.size() <= 6;
      for (char c : digits) ok = ok && std::isdigit(static_cast<unsigned char>(c));
      if (!ok || std::stoll(digits) < 1)
        return badAttribute(std::string(member) + " must be a positive whole number.");
      p.amount = std::stoll(digits);
      p.unit = str(*attrs, "Unit");
      if (p.unit.empty()) p.unit = "Days";
      if (p.unit != "Days" && p.unit != "Hours") return badAttribute("Unit must be Days or Hours.");
    }
    for (const Policy& prev : out)
      if (prev.type == p.type)
        return ssmError("IncompatiblePolicyException",
                        "There is a conflict in the policies specified for this parameter. You "
                        "can't, for example, specify two Expiration policies for a parameter. "
                        "Review your policies, and try again.");
    out.push_back(std::move(p));
  }
  return out;
}

bool validAmiId(std::string_view value) {
  static const std::regex kAmi("^ami-([0-9a-f]{8}|[0-9a-f]{17})$");
  return std::regex_match(value.begin(), value.end(), kAmi);
}

std::optional<bool> matchesPattern(const std::string& pattern, const std::string& value) {
  try {
    std::regex re(pattern, std::regex::ECMAScript);
    return std::regex_match(value, re);
  } catch (const std::regex_error&) {
    return std::nullopt;
  }
}

std::string str(const json::value& in, const char* member) {
  if (!in.is_object()) return {};
  const json::value* v = in.as_object().if_contains(member);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool flag(const json::value& in, const char* member) {
  if (!in.is_object()) return false;
  const json::value* v = in.as_object().if_contains(member);
  return v && v->is_bool() && v->as_bool();
}

}  // namespace citadel::ssm
