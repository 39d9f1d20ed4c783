#pragma once
/// Request metrics in Prometheus text format: counts by service/operation/status and a
/// latency histogram by service.

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <memory>
#include <unordered_map>
#include <vector>

namespace citadel::runtime {

class Metrics {
 public:
  /// Records one answered request.
  void record(const std::string& service, const std::string& operation, int status,
              double seconds);
  /// Prometheus exposition text; `extra` is appended as is (listener gauges).
  std::string render(const std::string& extra) const;

  static constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                      0.025,  0.05,  0.1,    0.25,  0.5,
                                                      1,      2.5,   5,      10};

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  /// One per recording thread, so requests on different I/O threads never contend.
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, uint64_t> counts;  // "service\0operation\0status"
    std::unordered_map<std::string, Histogram> latency;
  };
  Shard& shard();

  // Unique per Metrics object (a thread's shard list is keyed by it, never by address).
  const uint64_t id_ = nextId();
  static uint64_t nextId();
  mutable std::mutex mu_;  // guards shards_
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace citadel::runtime
