#pragma once
/// Condition operators compiled once: String*, Numeric*, Date*, Bool, BinaryEquals,
/// IpAddress/NotIpAddress, Arn*, Null, every ...IfExists form and the ForAllValues: /
/// ForAnyValue: set qualifiers.
///
/// AWS: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
/// Semantics: operators in a block AND, keys within an operator AND, values of a key OR. A key
/// absent from the request makes a positive operator false and a negated one (StringNotEquals,
/// NotIpAddress, ArnNotLike ...) true; ...IfExists is true on an absent key; ForAllValues is
/// true on an absent key, ForAnyValue false.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "iam/context_keys.h"
#include "iam/matcher.h"
#include "iam/policy.h"

namespace citadel::iam {

/// The base operator (qualifier and IfExists stripped).
enum class CondOp {
  kStringEquals,
  kStringNotEquals,
  kStringEqualsIgnoreCase,
  kStringNotEqualsIgnoreCase,
  kStringLike,
  kStringNotLike,
  kNumericEquals,
  kNumericNotEquals,
  kNumericLessThan,
  kNumericLessThanEquals,
  kNumericGreaterThan,
  kNumericGreaterThanEquals,
  kDateEquals,
  kDateNotEquals,
  kDateLessThan,
  kDateLessThanEquals,
  kDateGreaterThan,
  kDateGreaterThanEquals,
  kBool,
  kBinaryEquals,
  kIpAddress,
  kNotIpAddress,
  kArnEquals,
  kArnLike,
  kArnNotEquals,
  kArnNotLike,
  kNull,
};

/// ForAllValues: / ForAnyValue: prefix.
enum class SetQualifier { kNone, kForAllValues, kForAnyValue };

/// An operator name taken apart.
struct ParsedOperator {
  CondOp op = CondOp::kStringEquals;
  SetQualifier qualifier = SetQualifier::kNone;
  bool if_exists = false;
};

/// Parses "ForAnyValue:StringLikeIfExists" and the like; nullopt for unknown operators.
std::optional<ParsedOperator> parseConditionOperator(std::string_view name);
/// True for the negated operators (StringNotEquals, NotIpAddress, ArnNotLike ...).
bool isNegated(CondOp op);
/// False when `value` cannot be a policy value of this operator (bad date, number, CIDR ...).
bool isValidConditionValue(CondOp op, std::string_view value);

/// Parses an ISO 8601 date/time or epoch seconds to epoch milliseconds.
std::optional<int64_t> parseConditionDate(std::string_view text);

/// An IPv4 or IPv6 network; IPv4 is held as ::ffff:a.b.c.d so one comparison serves both.
struct IpNetwork {
  std::array<uint8_t, 16> addr{};
  int prefix = 128;
  bool v4 = false;
};
/// Parses "192.0.2.0/24", "2001:db8::/32" or a bare address.
std::optional<IpNetwork> parseCidr(std::string_view text);
/// True when the address `ip` (text) is in the network.
bool ipInNetwork(std::string_view ip, const IpNetwork& net);

/// One compiled condition: operator, key (lower-case) and typed values.
class CompiledCondition {
 public:
  /// Compiles one (operator, key, values) entry of a validated document.
  static Result<CompiledCondition> compile(const ConditionEntry& entry, bool variables);
  /// Evaluates against the request context.
  bool evaluate(const ContextKeys& ctx) const;
  /// The key as written in the policy.
  const std::string& key() const { return key_text_; }

 private:
  bool matchOne(std::string_view ctx_value, const ContextKeys& ctx) const;

  ParsedOperator op_;
  std::string key_lower_;
  std::string key_text_;
  std::vector<Pattern> strings_;     ///< String*
  std::vector<ArnPattern> arns_;
  std::vector<double> numbers_;
  std::vector<int64_t> dates_;       ///< epoch ms
  std::vector<IpNetwork> networks_;
  std::vector<std::string> binaries_;  ///< decoded bytes
  std::vector<bool> bools_;          ///< Bool / Null
};

}  // namespace citadel::iam
