#pragma once
/// The request context as the policy engine sees it: condition keys and their values.

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace citadel::iam {

/// Condition-key values of one request. Key names are case-insensitive (stored lower-case);
/// every key holds one or more string values (multi-valued keys such as aws:TagKeys).
class ContextKeys {
 public:
  /// Sets a single-valued key (replaces any previous values).
  void set(std::string_view key, std::string value);
  /// Sets a multi-valued key (replaces any previous values; an empty list is still present).
  void setMulti(std::string_view key, std::vector<std::string> values);
  /// Removes a key.
  void erase(std::string_view key);
  /// The values of a key whose name is already lower-case; nullptr when absent. No allocation.
  const std::vector<std::string>* findLower(std::string_view lower_key) const;
  /// Case-insensitive lookup (allocates a lower-case copy of the name).
  const std::vector<std::string>* find(std::string_view key) const;
  /// Number of keys.
  size_t size() const { return values_.size(); }
  /// Every key (lower-case name) with its values, sorted by name. For reports about a
  /// decision, never on the evaluation path.
  std::vector<std::pair<std::string, std::vector<std::string>>> sorted() const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::vector<std::string>, Hash, std::equal_to<>> values_;
};

}  // namespace citadel::iam
