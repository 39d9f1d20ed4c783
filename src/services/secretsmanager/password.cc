// Secrets Manager: GetRandomPassword with every option, from OpenSSL's DRBG.
#include <cstdint>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "services/secretsmanager/internal.h"

namespace citadel::secretsmanager {

namespace {

/// A uniformly random index below n (rejection sampling over 32-bit draws).
size_t uniform(size_t n) {
  const uint64_t range = uint64_t{1} << 32;
  const uint64_t limit = range - range % n;
  while (true) {
    std::string b = crypto::randomBytes(4);
    uint64_t v = (uint64_t{static_cast<unsigned char>(b[0])} << 24) |
                 (uint64_t{static_cast<unsigned char>(b[1])} << 16) |
                 (uint64_t{static_cast<unsigned char>(b[2])} << 8) |
                 uint64_t{static_cast<unsigned char>(b[3])};
    if (v < limit) return static_cast<size_t>(v % n);
  }
}

std::string without(std::string_view set, std::string_view excluded) {
  std::string out;
  for (char c : set)
    if (excluded.find(c) == std::string_view::npos) out += c;
  return out;
}

}  // namespace

Result<std::string> randomPassword(const PasswordOptions& o) {
  // AWS: the punctuation set is the 32 printable ASCII punctuation characters.
  static constexpr std::string_view kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  static constexpr std::string_view kLower = "abcdefghijklmnopqrstuvwxyz";
  static constexpr std::string_view kDigits = "0123456789";
  static constexpr std::string_view kPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  if (o.length < 1 || o.length > 4096)
    return smError("InvalidParameterException",
                   "Password length must be between 1 and 4096 characters.");
  std::vector<std::string> types;  // each included type that still has characters
  std::string all;
  auto add = [&](bool excluded, std::string_view set, bool required) {
    if (excluded) return;
    std::string left = without(set, o.exclude_characters);
    if (left.empty()) return;
    all += left;
    if (required) types.push_back(std::move(left));
  };
  add(o.exclude_uppercase, kUpper, true);
  add(o.exclude_lowercase, kLower, true);
  add(o.exclude_numbers, kDigits, true);
  add(o.exclude_punctuation, kPunctuation, true);
  add(!o.include_space, " ", false);
  if (all.empty())
    return smError("InvalidParameterException",
                   "The password can't be generated: every character type is excluded.");
  const size_t length = static_cast<size_t>(o.length);
  if (o.require_each_included_type && types.size() > length)
    return smError("InvalidParameterException",
                   "The password length is too short to include one character of each required "
                   "type.");
  std::string out;
  out.reserve(length);
  if (o.require_each_included_type)
    for (const auto& t : types) out += t[uniform(t.size())];
  while (out.size() < length) out += all[uniform(all.size())];
  for (size_t i = out.size() - 1; i > 0; --i) std::swap(out[i], out[uniform(i + 1)]);
  return out;
}

Result<json::value> getRandomPassword(RequestContext&, const json::value& in) {
  PasswordOptions o;
  if (const json::value* n = in.as_object().if_contains("PasswordLength"); n && n->is_number())
    o.length = n->to_number<int64_t>();
  o.exclude_characters = str(in, "ExcludeCharacters");
  o.exclude_numbers = boolean(in, "ExcludeNumbers", false);
  o.exclude_punctuation = boolean(in, "ExcludePunctuation", false);
  o.exclude_uppercase = boolean(in, "ExcludeUppercase", false);
  o.exclude_lowercase = boolean(in, "ExcludeLowercase", false);
  o.include_space = boolean(in, "IncludeSpace", false);
  o.require_each_included_type = boolean(in, "RequireEachIncludedType", true);
  TRY_ASSIGN(std::string password, randomPassword(o));
  json::object out{{"RandomPassword", password}};
  crypto::wipe(password);
  return json::value(std::move(out));
}

}  // namespace citadel::secretsmanager
