#include "iam/condition.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

#include "core/encoding.h"
#include "core/time.h"

namespace citadel::iam {
namespace {

struct OpName {
  std::string_view name;
  CondOp op;
};

constexpr OpName kOps[] = {
    {"StringEquals", CondOp::kStringEquals},
    {"StringNotEquals", CondOp::kStringNotEquals},
    {"StringEqualsIgnoreCase", CondOp::kStringEqualsIgnoreCase},
    {"StringNotEqualsIgnoreCase", CondOp::kStringNotEqualsIgnoreCase},
    {"StringLike", CondOp::kStringLike},
    {"StringNotLike", CondOp::kStringNotLike},
    {"NumericEquals", CondOp::kNumericEquals},
    {"NumericNotEquals", CondOp::kNumericNotEquals},
    {"NumericLessThan", CondOp::kNumericLessThan},
    {"NumericLessThanEquals", CondOp::kNumericLessThanEquals},
    {"NumericGreaterThan", CondOp::kNumericGreaterThan},
    {"NumericGreaterThanEquals", CondOp::kNumericGreaterThanEquals},
    {"DateEquals", CondOp::kDateEquals},
    {"DateNotEquals", CondOp::kDateNotEquals},
    {"DateLessThan", CondOp::kDateLessThan},
    {"DateLessThanEquals", CondOp::kDateLessThanEquals},
    {"DateGreaterThan", CondOp::kDateGreaterThan},
    {"DateGreaterThanEquals", CondOp::kDateGreaterThanEquals},
    {"Bool", CondOp::kBool},
    {"BinaryEquals", CondOp::kBinaryEquals},
    {"IpAddress", CondOp::kIpAddress},
    {"NotIpAddress", CondOp::kNotIpAddress},
    {"ArnEquals", CondOp::kArnEquals},
    {"ArnLike", CondOp::kArnLike},
    {"ArnNotEquals", CondOp::kArnNotEquals},
    {"ArnNotLike", CondOp::kArnNotLike},
    {"Null", CondOp::kNull},
};

bool isNumeric(CondOp op) { return op >= CondOp::kNumericEquals && op <= CondOp::kNumericGreaterThanEquals; }
bool isDate(CondOp op) { return op >= CondOp::kDateEquals && op <= CondOp::kDateGreaterThanEquals; }
bool isArn(CondOp op) { return op >= CondOp::kArnEquals && op <= CondOp::kArnNotLike; }
bool isString(CondOp op) { return op <= CondOp::kStringNotLike; }

std::optional<double> parseNumber(std::string_view s) {
  s = trim(s);
  if (s.empty() || s.size() > 64) return std::nullopt;
  char buf[65];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  char* end = nullptr;
  double d = std::strtod(buf, &end);
  if (end != buf + s.size()) return std::nullopt;
  return d;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

template <class T>
bool compareOrdered(CondOp op, T lhs, T rhs) {
  switch (op) {
    case CondOp::kNumericEquals:
    case CondOp::kNumericNotEquals:  // negation applied by the caller
    case CondOp::kDateEquals:
    case CondOp::kDateNotEquals:
      return lhs == rhs;
    case CondOp::kNumericLessThan:
    case CondOp::kDateLessThan:
      return lhs < rhs;
    case CondOp::kNumericLessThanEquals:
    case CondOp::kDateLessThanEquals:
      return lhs <= rhs;
    case CondOp::kNumericGreaterThan:
    case CondOp::kDateGreaterThan:
      return lhs > rhs;
    case CondOp::kNumericGreaterThanEquals:
    case CondOp::kDateGreaterThanEquals:
      return lhs >= rhs;
    default:
      return false;
  }
}

}  // namespace

std::optional<ParsedOperator> parseConditionOperator(std::string_view name) {
  ParsedOperator p;
  constexpr std::string_view kAll = "ForAllValues:", kAny = "ForAnyValue:", kIf = "IfExists";
  if (name.substr(0, kAll.size()) == kAll) {
    p.qualifier = SetQualifier::kForAllValues;
    name.remove_prefix(kAll.size());
  } else if (name.substr(0, kAny.size()) == kAny) {
    p.qualifier = SetQualifier::kForAnyValue;
    name.remove_prefix(kAny.size());
  }
  if (name.size() > kIf.size() && name.substr(name.size() - kIf.size()) == kIf) {
    p.if_exists = true;
    name.remove_suffix(kIf.size());
  }
  for (const auto& o : kOps) {
    if (o.name == name) {
      // AWS: Null has no IfExists form.
      if (o.op == CondOp::kNull && p.if_exists) return std::nullopt;
      p.op = o.op;
      return p;
    }
  }
  return std::nullopt;
}

bool isNegated(CondOp op) {
  switch (op) {
    case CondOp::kStringNotEquals:
    case CondOp::kStringNotEqualsIgnoreCase:
    case CondOp::kStringNotLike:
    case CondOp::kNumericNotEquals:
    case CondOp::kDateNotEquals:
    case CondOp::kNotIpAddress:
    case CondOp::kArnNotEquals:
    case CondOp::kArnNotLike:
      return true;
    default:
      return false;
  }
}

std::optional<int64_t> parseConditionDate(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  bool digits = true;
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    int64_t secs = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), secs);
    if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
    if (secs > INT64_MAX / 1000) return std::nullopt;
    return secs * 1000;
  }
  if (auto t = parseTimestamp(text)) return toEpochMillis(*t);
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') {  // date only: midnight UTC
    std::string full(text);
    full += "T00:00:00Z";
    if (auto t = parseTimestamp(full)) return toEpochMillis(*t);
  }
  return std::nullopt;
}

std::optional<IpNetwork> parseCidr(std::string_view text) {
  text = trim(text);
  IpNetwork net;
  std::string_view addr = text;
  int prefix = -1;
  auto slash = text.find('/');
  if (slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3) return std::nullopt;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc() || ptr != p.data() + p.size()) return std::nullopt;
  }
  if (addr.empty() || addr.size() > 45) return std::nullopt;
  char buf[46];
  std::memcpy(buf, addr.data(), addr.size());
  buf[addr.size()] = 0;
  if (addr.find(':') == std::string_view::npos) {
    uint8_t v4[4];
    if (inet_pton(AF_INET, buf, v4) != 1) return std::nullopt;
    if (prefix > 32) return std::nullopt;
    net.v4 = true;
    net.addr[10] = net.addr[11] = 0xff;
    std::memcpy(net.addr.data() + 12, v4, 4);
    net.prefix = (prefix < 0 ? 32 : prefix) + 96;
  } else {
    if (inet_pton(AF_INET6, buf, net.addr.data()) != 1) return std::nullopt;
    if (prefix > 128) return std::nullopt;
    net.prefix = prefix < 0 ? 128 : prefix;
  }
  return net;
}

bool ipInNetwork(std::string_view ip, const IpNetwork& net) {
  auto host = parseCidr(ip);
  if (!host) return false;
  for (int bit = 0; bit < net.prefix; bit += 8) {
    int n = std::min(8, net.prefix - bit);
    uint8_t mask = static_cast<uint8_t>(0xff << (8 - n));
    if ((host->addr[bit / 8] & mask) != (net.addr[bit / 8] & mask)) return false;
  }
  return true;
}

bool isValidConditionValue(CondOp op, std::string_view value) {
  if (isNumeric(op)) return parseNumber(value).has_value();
  if (isDate(op)) return parseConditionDate(value).has_value();
  if (op == CondOp::kIpAddress || op == CondOp::kNotIpAddress) return parseCidr(value).has_value();
  if (op == CondOp::kBinaryEquals) return base64Decode(value).has_value();
  return true;
}

Result<CompiledCondition> CompiledCondition::compile(const ConditionEntry& entry, bool variables) {
  auto parsed = parseConditionOperator(entry.op);
  if (!parsed) return malformedPolicy("Syntax errors in policy.");
  CompiledCondition c;
  c.op_ = *parsed;
  c.key_text_ = entry.key;
  c.key_lower_ = toLower(entry.key);
  CondOp op = parsed->op;
  for (const std::string& v : entry.values) {
    if (isString(op)) {
      bool like = op == CondOp::kStringLike || op == CondOp::kStringNotLike;
      c.strings_.push_back(Pattern::compile(v, like, variables));
    } else if (isArn(op)) {
      c.arns_.push_back(ArnPattern::compile(v, variables));
    } else if (isNumeric(op)) {
      auto d = parseNumber(v);
      if (!d) return malformedPolicy("The policy failed legacy parsing");
      c.numbers_.push_back(*d);
    } else if (isDate(op)) {
      auto d = parseConditionDate(v);
      if (!d) return malformedPolicy("The policy failed legacy parsing");
      c.dates_.push_back(*d);
    } else if (op == CondOp::kIpAddress || op == CondOp::kNotIpAddress) {
      auto n = parseCidr(v);
      if (!n) return malformedPolicy("The policy failed legacy parsing");
      c.networks_.push_back(*n);
    } else if (op == CondOp::kBinaryEquals) {
      auto b = base64Decode(v);
      if (!b) return malformedPolicy("The policy failed legacy parsing");
      c.binaries_.push_back(std::move(*b));
    } else {  // Bool, Null
      c.bools_.push_back(equalsIgnoreCase(v, "true"));
    }
  }
  return c;
}

bool CompiledCondition::matchOne(std::string_view v, const ContextKeys& ctx) const {
  CondOp op = op_.op;
  switch (op) {
    case CondOp::kStringEquals:
    case CondOp::kStringNotEquals:
    case CondOp::kStringLike:
    case CondOp::kStringNotLike:
      for (const auto& p : strings_) {
        if (p.match(v, &ctx, false)) return true;
      }
      return false;
    case CondOp::kStringEqualsIgnoreCase:
    case CondOp::kStringNotEqualsIgnoreCase:
      for (const auto& p : strings_) {
        if (p.match(v, &ctx, true)) return true;
      }
      return false;
    case CondOp::kBool:
      for (bool b : bools_) {
        if (equalsIgnoreCase(v, b ? "true" : "false")) return true;
      }
      return false;
    case CondOp::kBinaryEquals: {
      auto decoded = base64Decode(v);
      std::string_view bytes = decoded ? std::string_view(*decoded) : v;
      for (const auto& b : binaries_) {
        if (b == bytes) return true;
      }
      return false;
    }
    case CondOp::kIpAddress:
    case CondOp::kNotIpAddress:
      for (const auto& n : networks_) {
        if (ipInNetwork(v, n)) return true;
      }
      return false;
    case CondOp::kArnEquals:
    case CondOp::kArnLike:
    case CondOp::kArnNotEquals:
    case CondOp::kArnNotLike:
      for (const auto& a : arns_) {
        if (a.match(v, &ctx)) return true;
      }
      return false;
    case CondOp::kNull:
      return false;
    default:
      break;
  }
  if (isNumeric(op)) {
    auto d = parseNumber(v);
    if (!d) return false;
    for (double n : numbers_) {
      if (compareOrdered(op, *d, n)) return true;
    }
    return false;
  }
  if (isDate(op)) {
    auto d = parseConditionDate(v);
    if (!d) return false;
    for (int64_t n : dates_) {
      if (compareOrdered(op, *d, n)) return true;
    }
    return false;
  }
  return false;
}

bool CompiledCondition::evaluate(const ContextKeys& ctx) const {
  const std::vector<std::string>* vals = ctx.findLower(key_lower_);
  if (op_.op == CondOp::kNull) {
    bool present = vals != nullptr && !vals->empty();
    for (bool want_absent : bools_) {
      if (want_absent != present) return true;
    }
    return false;
  }
  bool negated = isNegated(op_.op);
  if (vals == nullptr || vals->empty()) {
    if (op_.if_exists) return true;
    switch (op_.qualifier) {
      case SetQualifier::kForAllValues:
        return true;
      case SetQualifier::kForAnyValue:
        return false;
      case SetQualifier::kNone:
        return negated;
    }
  }
  switch (op_.qualifier) {
    case SetQualifier::kNone: {
      bool any = false;
      for (const auto& v : *vals) {
        if (matchOne(v, ctx)) {
          any = true;
          break;
        }
      }
      return negated ? !any : any;
    }
    case SetQualifier::kForAnyValue:
      for (const auto& v : *vals) {
        if (matchOne(v, ctx) != negated) return true;
      }
      return false;
    case SetQualifier::kForAllValues:
      for (const auto& v : *vals) {
        if (matchOne(v, ctx) == negated) return false;
      }
      return true;
  }
  return false;
}

}  // namespace citadel::iam
