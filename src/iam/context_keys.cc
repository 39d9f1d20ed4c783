#include "iam/context_keys.h"

#include <algorithm>

#include "core/encoding.h"

namespace citadel::iam {

void ContextKeys::set(std::string_view key, std::string value) {
  std::vector<std::string> v;
  v.push_back(std::move(value));
  values_[toLower(key)] = std::move(v);
}

void ContextKeys::setMulti(std::string_view key, std::vector<std::string> values) {
  values_[toLower(key)] = std::move(values);
}

void ContextKeys::erase(std::string_view key) {
  auto it = values_.find(toLower(key));
  if (it != values_.end()) values_.erase(it);
}

const std::vector<std::string>* ContextKeys::findLower(std::string_view lower_key) const {
  auto it = values_.find(lower_key);
  return it == values_.end() ? nullptr : &it->second;
}

const std::vector<std::string>* ContextKeys::find(std::string_view key) const {
  return findLower(toLower(key));
}

std::vector<std::pair<std::string, std::vector<std::string>>> ContextKeys::sorted() const {
  std::vector<std::pair<std::string, std::vector<std::string>>> out(values_.begin(), values_.end());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace citadel::iam
