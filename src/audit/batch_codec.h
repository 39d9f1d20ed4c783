#pragma once
/// How a batch of CloudTrail events is stored in one row: each event's lookup fields and its
/// record, one after another, LZ4-compressed together. Consecutive records share most of
/// their text, so a batch compresses many times over and the history writes a fraction of
/// the bytes one row per event would.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace citadel::audit {

struct AuditEvent;

namespace batch {

/// One stored event; its strings point into the decompressed batch.
struct EventView {
  int64_t time_ms = 0;
  bool read_only = false;
  std::string_view event_id;
  std::string_view event_name;
  std::string_view event_source;
  std::string_view username;
  std::string_view access_key_id;
  std::vector<std::pair<std::string_view, std::string_view>> resources;  ///< (type, name)
  std::string_view record;  ///< the CloudTrail record, JSON
};

/// Appends the encoding of `ev`, whose record serializes to `record_json`, to `raw`.
void appendEvent(std::string& raw, const AuditEvent& ev, std::string_view record_json);

/// The LZ4 block of `raw`.
std::string compress(std::string_view raw);

/// Largest decompressed batch accepted (a batch holds at most one group commit).
inline constexpr size_t kMaxRawSize = size_t{1} << 30;

/// The `raw_size` bytes compressed in `block`; nullopt when `block` is not exactly that.
std::optional<std::string> decompress(std::string_view block, size_t raw_size);

/// Decodes `count` events from `raw` into `out` (appended); false when `raw` is not exactly
/// `count` encoded events (then `out` may hold some of them).
bool decode(std::string_view raw, size_t count, std::vector<EventView>& out);

}  // namespace batch
}  // namespace citadel::audit
