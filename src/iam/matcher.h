#pragma once
/// Compiled globs for the policy language: `*` and `?` wildcards, policy variables
/// (`${aws:username}`, `${aws:PrincipalTag/team}`, `${*}`, `${?}`, `${$}`, defaults
/// `${key, 'value'}`), actions (case-insensitive, service prefix split) and ARN patterns
/// (case-sensitive, matched per ARN segment). No std::regex; matching does not allocate
/// (a pattern with variables expands into a reused thread-local buffer).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "iam/context_keys.h"

namespace citadel::iam {

/// One unit of a compiled glob: a literal byte (0..255), kGlobStar or kGlobAny.
using GlobUnit = int16_t;
/// `*`: any run of characters (including none).
inline constexpr GlobUnit kGlobStar = -1;
/// `?`: exactly one character.
inline constexpr GlobUnit kGlobAny = -2;

/// Whole-string match of `s` against the units; ASCII case folding when case_insensitive.
bool globMatch(const GlobUnit* p, size_t n, std::string_view s, bool case_insensitive);

/// A string pattern compiled once: literal text, wildcards and policy variables.
class Pattern {
 public:
  /// Compiles `text`. `wildcards`: `*`/`?` are wildcards (Like operators, Resource) or literal
  /// (Equals operators). `variables`: `${...}` is substituted (policy version 2012-10-17).
  static Pattern compile(std::string_view text, bool wildcards, bool variables);
  /// Whole-string match; variables resolved from ctx. False when a variable is unresolvable
  /// (absent or multi-valued key, no default).
  bool match(std::string_view s, const ContextKeys* ctx, bool case_insensitive) const;
  /// True when the pattern is exactly `*` (matches everything).
  bool matchesAll() const { return all_; }
  /// True when the pattern contains at least one policy variable.
  bool hasVariables() const { return !pieces_.empty(); }

 private:
  struct Piece {
    bool is_variable = false;
    std::vector<GlobUnit> units;  ///< literal piece
    std::string key;              ///< variable: lower-case context key
    bool has_default = false;
    std::string default_value;
  };
  bool all_ = false;
  std::vector<GlobUnit> flat_;  ///< the whole pattern when it has no variables
  std::vector<Piece> pieces_;   ///< non-empty when it has variables
};

/// Splits an ARN into its six parts (arn, partition, service, region, account, resource).
/// False when it has fewer than five colons.
bool splitArn(std::string_view arn, std::array<std::string_view, 6>& parts);

/// An action pattern such as `s3:Get*`: service prefix and name, both case-insensitive.
class ActionPattern {
 public:
  /// Compiles a validated action string (`*` or `vendor:name`).
  static ActionPattern compile(std::string_view text);
  /// Matches a request action such as `s3:GetObject`.
  bool match(std::string_view action) const;

 private:
  bool all_ = false;
  bool whole_ = false;  ///< no colon in the pattern: match the whole action
  Pattern service_;
  Pattern name_;
};

/// A resource ARN pattern: `*`, or per-segment globs (a wildcard never crosses the colons
/// between partition, service, region and account; the resource part may contain colons).
class ArnPattern {
 public:
  /// Compiles a Resource/NotResource entry or an Arn* condition value.
  static ArnPattern compile(std::string_view text, bool variables);
  /// Matches a request ARN; variables resolved from ctx.
  bool match(std::string_view arn, const ContextKeys* ctx) const;

 private:
  bool all_ = false;
  bool segmented_ = false;
  Pattern whole_;
  std::array<Pattern, 6> parts_;
};

}  // namespace citadel::iam
