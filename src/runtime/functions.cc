#include "runtime/functions.h"

#include <cctype>
#include <cstdint>
#include <mutex>
#include <shared_mutex>

#include "crypto/crypto.h"

namespace citadel::runtime {
namespace {

constexpr std::string_view kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr std::string_view kLower = "abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kDigits = "0123456789";
// AWS: GetRandomPassword's punctuation set is the 32 printable ASCII punctuation characters.
constexpr std::string_view kPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

std::string without(std::string_view set, std::string_view exclude) {
  std::string out;
  for (char c : set)
    if (exclude.find(c) == std::string_view::npos) out += c;
  return out;
}

/// A uniformly drawn index below n (1 <= n <= 65536) from the DRBG, by rejection sampling.
size_t uniformIndex(size_t n) {
  const uint32_t limit = 65536 - (65536 % n);  // largest multiple of n not above 2^16
  for (;;) {
    std::string b = crypto::randomBytes(2);
    uint32_t v = (static_cast<unsigned char>(b[0]) << 8) | static_cast<unsigned char>(b[1]);
    if (v < limit) return v % n;
  }
}

std::shared_mutex& resolverMutex() {
  static std::shared_mutex mu;
  return mu;
}
FunctionResolver& resolver() {
  static FunctionResolver r;
  return r;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos - start));
    if (pos == std::string::npos) return parts;
    start = pos + 1;
  }
}

bool validName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}

bool validQualifier(const std::string& q) {
  if (q == "$LATEST") return true;
  if (q.empty() || q.size() > 128) return false;
  for (char c : q)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}

bool validAccount(const std::string& a) {
  if (a.size() != 12) return false;
  for (char c : a)
    if (c < '0' || c > '9') return false;
  return true;
}

AwsError malformed(const std::string& ref) {
  return AwsError::validation(
      "1 validation error detected: Value '" + ref +
      "' at 'functionName' failed to satisfy constraint: Member must be a function name, a "
      "partial ARN (<account>:function:<name>) or a function ARN "
      "(arn:aws:lambda:<region>:<account>:function:<name>), optionally with :<qualifier>");
}

}  // namespace

Result<std::string> SecretVersions::randomPassword(const std::string& exclude_characters) {
  return generatePassword(exclude_characters);
}

Result<std::string> generatePassword(std::string_view exclude_characters, size_t length) {
  std::vector<std::string> classes;
  for (std::string_view set : {kUpper, kLower, kDigits, kPunctuation}) {
    std::string left = without(set, exclude_characters);
    if (!left.empty()) classes.push_back(std::move(left));
  }
  std::string all;
  for (const auto& c : classes) all += c;
  if (all.empty())
    return AwsError::validation("The password cannot be generated: every character is excluded.");
  if (length < classes.size() || length > 4096)
    return AwsError::validation("The password length must be between " +
                                std::to_string(classes.size()) + " and 4096.");
  // One character of each class, the rest from the union, then a Fisher-Yates shuffle so the
  // class representatives sit at random positions.
  std::string out;
  out.reserve(length);
  for (const auto& c : classes) out += c[uniformIndex(c.size())];
  while (out.size() < length) out += all[uniformIndex(all.size())];
  for (size_t i = out.size() - 1; i > 0; --i) {
    std::swap(out[i], out[uniformIndex(i + 1)]);
  }
  return out;
}

std::vector<BuiltinFunction>& builtinFunctions() {
  static std::vector<BuiltinFunction> list;
  return list;
}

void setFunctionResolver(FunctionResolver r) {
  std::unique_lock lock(resolverMutex());
  resolver() = std::move(r);
}

std::string functionArn(const std::string& region, const std::string& account_id,
                        const std::string& name) {
  return "arn:aws:lambda:" + region + ":" + account_id + ":function:" + name;
}

Result<FunctionRef> parseFunctionRef(const std::string& ref, const std::string& region,
                                     const std::string& account_id) {
  FunctionRef out{region, account_id, "", ""};
  auto parts = split(ref, ':');
  if (ref.rfind("arn:", 0) == 0) {
    // arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]
    if (parts.size() < 7 || parts.size() > 8 || parts[2] != "lambda" || parts[5] != "function" ||
        parts[3].empty())
      return malformed(ref);
    out.region = parts[3];
    out.account_id = parts[4];
    out.name = parts[6];
    if (parts.size() == 8) out.qualifier = parts[7];
  } else if (parts.size() >= 3 && parts[1] == "function") {
    // <account>:function:<name>[:<qualifier>]
    if (parts.size() > 4) return malformed(ref);
    out.account_id = parts[0];
    out.name = parts[2];
    if (parts.size() == 4) out.qualifier = parts[3];
  } else {
    // <name>[:<qualifier>]
    if (parts.size() > 2) return malformed(ref);
    out.name = parts[0];
    if (parts.size() == 2) out.qualifier = parts[1];
  }
  if (!validName(out.name) || !validAccount(out.account_id) ||
      (parts.size() > 1 && ref.back() == ':') ||
      (!out.qualifier.empty() && !validQualifier(out.qualifier)))
    return malformed(ref);
  return out;
}

AwsError functionError(std::string error_type, std::string message) {
  AwsError e{std::move(error_type), std::move(message), 200, false, {}};
  e.extra.emplace_back("FunctionError", "Unhandled");
  return e;
}

Result<boost::json::value> invoke(Services& services, const RequestContext& caller,
                                  const std::string& function_arn,
                                  const boost::json::value& event) {
  return invoke(services, caller, function_arn, event, InvocationClients{});
}

Result<boost::json::value> invoke(Services& services, const RequestContext& caller,
                                  const std::string& function_arn, const boost::json::value& event,
                                  const InvocationClients& clients) {
  TRY_ASSIGN(FunctionRef ref, parseFunctionRef(function_arn, caller.region, caller.account_id));
  Invocation inv;
  inv.services = &services;
  inv.caller = &caller;
  inv.function_arn = ref.arn();
  inv.function_name = ref.name;
  inv.region = ref.region;
  inv.account_id = ref.account_id;
  inv.clients = clients;

  // Built-ins have one version: $LATEST (or no qualifier).
  if (ref.qualifier.empty() || ref.qualifier == "$LATEST") {
    for (const auto& f : builtinFunctions())
      if (f.name == ref.name) return f.handler(inv, event);
  }
  std::optional<FunctionHandler> handler;
  {
    std::shared_lock lock(resolverMutex());
    if (resolver()) handler = resolver()(services, inv.function_arn, ref.qualifier);
  }
  if (handler && *handler) return (*handler)(inv, event);
  // AWS: Lambda Invoke answers 404 ResourceNotFoundException "Function not found: <arn>"
  // (with the qualifier when one was given).
  std::string shown = inv.function_arn + (ref.qualifier.empty() ? "" : ":" + ref.qualifier);
  return AwsError{"ResourceNotFoundException", "Function not found: " + shown, 404, true, {}};
}

}  // namespace citadel::runtime
