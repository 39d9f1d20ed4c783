// Encoding of a stored batch of events. Per event: event time (zigzag varint, ms), read-only
// flag (one byte), then length-prefixed strings: event id, name, source, username, access
// key id, the resource count and each resource's type and name, and the record.

#include "audit/batch_codec.h"

#include <lz4.h>

#include <limits>
#include <stdexcept>

#include "audit/audit.h"
#include "core/time.h"

namespace citadel::audit::batch {

namespace {

void putVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void putString(std::string& out, std::string_view s) {
  putVarint(out, s.size());
  out.append(s);
}

/// Reads the encoding; any overrun or malformed varint clears `ok`.
struct Reader {
  const unsigned char* p;
  const unsigned char* end;
  bool ok = true;

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p == end) break;
      const unsigned char b = *p++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    ok = false;
    return 0;
  }
  std::string_view string() {
    const uint64_t n = varint();
    if (!ok || n > static_cast<uint64_t>(end - p)) {
      ok = false;
      return {};
    }
    std::string_view s(reinterpret_cast<const char*>(p), n);
    p += n;
    return s;
  }
  unsigned char byte() {
    if (p == end) {
      ok = false;
      return 0;
    }
    return *p++;
  }
};

}  // namespace

void appendEvent(std::string& raw, const AuditEvent& ev, std::string_view record_json) {
  const int64_t t = toEpochMillis(ev.event_time);
  putVarint(raw, (static_cast<uint64_t>(t) << 1) ^ static_cast<uint64_t>(t >> 63));
  raw.push_back(ev.read_only ? 1 : 0);
  putString(raw, ev.event_id);
  putString(raw, ev.event_name);
  putString(raw, ev.event_source);
  putString(raw, ev.username);
  putString(raw, ev.access_key_id);
  putVarint(raw, ev.resources.size());
  for (const auto& r : ev.resources) {
    putString(raw, r.type);
    putString(raw, r.name);
  }
  putString(raw, record_json);
}

std::string compress(std::string_view raw) {
  if (raw.size() > kMaxRawSize) throw std::length_error("audit batch too large");
  std::string out(static_cast<size_t>(LZ4_compressBound(static_cast<int>(raw.size()))), '\0');
  const int n = LZ4_compress_default(raw.data(), out.data(), static_cast<int>(raw.size()),
                                     static_cast<int>(out.size()));
  if (n <= 0) throw std::runtime_error("audit batch compression failed");
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> decompress(std::string_view block, size_t raw_size) {
  if (raw_size > kMaxRawSize ||
      block.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return std::nullopt;
  }
  std::string raw(raw_size, '\0');
  const int n = LZ4_decompress_safe(block.data(), raw.data(), static_cast<int>(block.size()),
                                    static_cast<int>(raw.size()));
  if (n < 0 || static_cast<size_t>(n) != raw_size) return std::nullopt;
  return raw;
}

bool decode(std::string_view raw, size_t count, std::vector<EventView>& out) {
  Reader r{reinterpret_cast<const unsigned char*>(raw.data()),
           reinterpret_cast<const unsigned char*>(raw.data()) + raw.size()};
  for (size_t i = 0; i < count; ++i) {
    EventView ev;
    const uint64_t z = r.varint();
    ev.time_ms = static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
    const unsigned char ro = r.byte();
    if (ro > 1) return false;
    ev.read_only = ro == 1;
    ev.event_id = r.string();
    ev.event_name = r.string();
    ev.event_source = r.string();
    ev.username = r.string();
    ev.access_key_id = r.string();
    const uint64_t resources = r.varint();
    // Each resource takes at least two bytes: a count beyond that is corrupt, not a reason
    // to reserve memory.
    if (!r.ok || resources > static_cast<uint64_t>(r.end - r.p) / 2) return false;
    ev.resources.reserve(resources);
    for (uint64_t k = 0; k < resources; ++k) {
      std::string_view type = r.string();
      std::string_view name = r.string();
      ev.resources.emplace_back(type, name);
    }
    ev.record = r.string();
    if (!r.ok) return false;
    out.push_back(std::move(ev));
  }
  return r.p == r.end;
}

}  // namespace citadel::audit::batch
