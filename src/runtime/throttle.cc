#include "runtime/throttle.h"

#include <algorithm>

namespace citadel::runtime {

void Throttle::enable(const std::string& service) {
  std::lock_guard lock(mu_);
  enabled_.insert(service);
  any_enabled_.store(true);
}

void Throttle::setRate(const std::string& service, const std::string& quota, double per_second) {
  std::lock_guard lock(mu_);
  overrides_[service + "/" + quota] = per_second;
}

bool Throttle::enabled(const std::string& service) const {
  std::lock_guard lock(mu_);
  return enabled_.count(service) > 0;
}

bool Throttle::allow(const ServiceSpec& spec, const std::string& operation,
                     const std::string& account, const std::string& region,
                     std::chrono::steady_clock::time_point now) {
  if (!any_enabled_.load(std::memory_order_relaxed)) return true;
  std::lock_guard lock(mu_);
  if (!enabled_.count(spec.model)) return true;
  for (const auto& q : spec.quotas) {
    if (std::find(q.operations.begin(), q.operations.end(), operation) == q.operations.end())
      continue;
    double rate = q.rate_per_second;
    if (auto it = overrides_.find(spec.model + "/" + q.name); it != overrides_.end())
      rate = it->second;
    if (rate <= 0) return false;
    double capacity = std::max(1.0, rate);
    auto& b = buckets_[spec.model + "/" + q.name + "/" + account + "/" + region];
    if (!b.primed) {
      b.tokens = capacity;
      b.last = now;
      b.primed = true;
    }
    double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(capacity, b.tokens + elapsed * rate);
    b.last = now;
    if (b.tokens < 1.0) return false;
    b.tokens -= 1.0;
  }
  return true;
}

}  // namespace citadel::runtime
