#include "runtime/metrics.h"

#include <cstdio>
#include <map>
#include <vector>

namespace citadel::runtime {

void Metrics::record(const std::string& service, const std::string& operation, int status,
                     double seconds) {
  std::string key;
  key.reserve(service.size() + operation.size() + 6);
  key.append(service).push_back('\0');
  key.append(operation).push_back('\0');
  key.append(std::to_string(status));
  std::lock_guard lock(mu_);
  ++counts_[key];
  auto& h = latency_[service];
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

std::string Metrics::render(const std::string& extra) const {
  std::map<std::string, uint64_t> counts;
  std::map<std::string, Histogram> latency;
  {
    std::lock_guard lock(mu_);
    counts.insert(counts_.begin(), counts_.end());
    latency.insert(latency_.begin(), latency_.end());
  }
  std::string out;
  out += "# HELP citadel_requests_total Requests answered, by service, operation and status.\n";
  out += "# TYPE citadel_requests_total counter\n";
  for (const auto& [k, v] : counts) {
    auto a = k.find('\0'), b = k.find('\0', a + 1);
    out += "citadel_requests_total{service=\"" + k.substr(0, a) + "\",operation=\"" +
           k.substr(a + 1, b - a - 1) + "\",status=\"" + k.substr(b + 1) + "\"} " +
           std::to_string(v) + "\n";
  }
  out += "# HELP citadel_request_duration_seconds Request latency, by service.\n";
  out += "# TYPE citadel_request_duration_seconds histogram\n";
  char buf[64];
  for (const auto& [svc, h] : latency) {
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%g", kBuckets[i]);
      out += "citadel_request_duration_seconds_bucket{service=\"" + svc + "\",le=\"" + buf +
             "\"} " + std::to_string(h.buckets[i]) + "\n";
    }
    out += "citadel_request_duration_seconds_bucket{service=\"" + svc + "\",le=\"+Inf\"} " +
           std::to_string(h.count) + "\n";
    std::snprintf(buf, sizeof buf, "%.6f", h.sum);
    out += "citadel_request_duration_seconds_sum{service=\"" + svc + "\"} " + buf + "\n";
    out += "citadel_request_duration_seconds_count{service=\"" + svc + "\"} " +
           std::to_string(h.count) + "\n";
  }
  out += extra;
  return out;
}

}  // namespace citadel::runtime
