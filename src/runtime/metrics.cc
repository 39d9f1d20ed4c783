#include "runtime/metrics.h"

#include <atomic>
#include <cstdio>
#include <map>
#include <vector>

namespace citadel::runtime {

uint64_t Metrics::nextId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}

Metrics::Shard& Metrics::shard() {
  // Each thread finds its shard of this Metrics once (a process has one or two Metrics).
  thread_local std::vector<std::pair<uint64_t, Shard*>> mine;
  for (const auto& [id, sh] : mine)
    if (id == id_) return *sh;
  std::lock_guard lock(mu_);
  shards_.push_back(std::make_unique<Shard>());
  mine.emplace_back(id_, shards_.back().get());
  return *shards_.back();
}

void Metrics::record(const std::string& service, const std::string& operation, int status,
                     double seconds) {
  std::string key;
  key.reserve(service.size() + operation.size() + 6);
  key.append(service).push_back('\0');
  key.append(operation).push_back('\0');
  key.append(std::to_string(status));
  Shard& sh = shard();
  std::lock_guard lock(sh.mu);
  ++sh.counts[key];
  auto& h = sh.latency[service];
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
    for (const auto& sh : shards_) {
      std::lock_guard shard_lock(sh->mu);
      for (const auto& [k, v] : sh->counts) counts[k] += v;
      for (const auto& [svc, h] : sh->latency) {
        auto& into = latency[svc];
        for (size_t i = 0; i < kBuckets.size(); ++i) into.buckets[i] += h.buckets[i];
        into.count += h.count;
        into.sum += h.sum;
      }
    }
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
