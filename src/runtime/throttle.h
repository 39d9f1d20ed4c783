#pragma once
/// Throttling like AWS, when asked: one token bucket per (service quota, account, region),
/// off by default, switched on per service by configuration.

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "runtime/registry.h"

namespace citadel::runtime {

class Throttle {
 public:
  /// Turns throttling on for a service (its declared quotas apply).
  void enable(const std::string& service);
  /// Overrides a quota's rate ("LookupEvents" of "cloudtrail") in requests per second.
  void setRate(const std::string& service, const std::string& quota, double per_second);
  bool enabled(const std::string& service) const;
  /// Takes a token for the operation; false when the caller must be throttled.
  bool allow(const ServiceSpec& spec, const std::string& operation, const std::string& account,
             const std::string& region, std::chrono::steady_clock::time_point now);

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point last{};
    bool primed = false;
  };
  mutable std::mutex mu_;
  std::atomic<bool> any_enabled_{false};  // fast path: no lock while throttling is off
  std::set<std::string> enabled_;
  std::unordered_map<std::string, double> overrides_;  // "service/quota"
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace citadel::runtime
