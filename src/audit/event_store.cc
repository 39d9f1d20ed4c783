// CloudTrail event history: append in the caller's transaction, group-commit queue for
// read-only calls, events stored a commit's (account, region, second) at a time in one
// compressed batch row; LookupEvents walks seconds newest first (those of an attribute value
// from audit_seconds, an event id's from the id itself or audit_event_ids) and filters the
// decoded events.

#include <boost/json.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "audit/audit.h"
#include "audit/batch_codec.h"
#include "core/encoding.h"
#include "core/log.h"

namespace citadel::audit {

namespace {

constexpr const char* kInsertBatch =
    "INSERT INTO audit_batches(seq, scope, second, account_id, region, count, min_ms, max_ms, "
    "raw_size, events) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
// One row per (history, attribute, value, second) that has an event: LookupEvents walks the
// seconds in which a value occurs, newest first, and reads only those seconds' batches. A
// busy second adds one row per distinct value, not one index entry per event.
constexpr const char* kInsertSecond =
    "INSERT INTO audit_seconds(scope, attr, value, second) VALUES (?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING";
constexpr const char* kInsertEventId =
    "INSERT INTO audit_event_ids(event_id, scope, event_time) VALUES (?, ?, ?)";
constexpr const char* kNextSeq = "SELECT seq + count FROM audit_batches ORDER BY seq DESC LIMIT 1";

constexpr uint8_t kTokenVersion = 1;

/// FNV-1a, 63 bits: the integer key of an (account, region) event history.
int64_t scopeOf(std::string_view account_id, std::string_view region) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  for (unsigned char c : account_id) mix(c);
  mix(0);
  for (unsigned char c : region) mix(c);
  return static_cast<int64_t>(h & 0x7fffffffffffffffull);
}

/// Floor division, for seconds of negative or extreme millisecond bounds.
int64_t secondOf(int64_t ms) { return ms >= 0 ? ms / 1000 : -((-(ms + 1)) / 1000) - 1; }

/// The lookup attributes that have second rows (EventId has its own unique index).
enum Attr : int64_t {
  kEventName = 1,
  kEventSource = 2,
  kUsername = 3,
  kAccessKeyId = 4,
  // 5 is unused: ReadOnly matches about half of all events, so its lookups walk every
  // second of the range.
  kResourceType = 6,
  kResourceName = 7,
};

struct SecondKey {
  int64_t scope;
  int64_t attr;
  std::string value;
  int64_t second;
  bool operator<(const SecondKey& o) const {
    return std::tie(scope, attr, second, value) < std::tie(o.scope, o.attr, o.second, o.value);
  }
};

/// The (attribute, value, second) rows a commit writes, each once. Consecutive events mostly
/// repeat their values: a repeat is recognised without building a key.
class SecondsCollector {
 public:
  void add(const AuditEvent& ev) {
    const int64_t scope = scopeOf(ev.account_id, ev.region);
    const int64_t second = secondOf(toEpochMillis(ev.event_time));
    add(scope, kEventName, ev.event_name, second);
    add(scope, kEventSource, ev.event_source, second);
    add(scope, kUsername, ev.username, second);
    add(scope, kAccessKeyId, ev.access_key_id, second);
    for (const auto& r : ev.resources) {
      add(scope, kResourceType, r.type, second);
      add(scope, kResourceName, r.name, second);
    }
  }
  const std::set<SecondKey>& keys() const { return keys_; }

 private:
  void add(int64_t scope, Attr a, const std::string& v, int64_t second) {
    if (v.empty()) return;
    Last& l = last_[static_cast<size_t>(a)];
    if (l.valid && l.scope == scope && l.second == second && l.value == v) return;
    keys_.insert(SecondKey{scope, a, v, second});
    l.valid = true;
    l.scope = scope;
    l.second = second;
    l.value = v;
  }
  struct Last {
    bool valid = false;
    int64_t scope = 0;
    int64_t second = 0;
    std::string value;
  };
  std::array<Last, 8> last_;
  std::set<SecondKey> keys_;
};

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// The millisecond a version-7 UUID carries (RFC 9562); nullopt for any other id.
std::optional<int64_t> uuid7Millis(std::string_view id) {
  if (id.size() != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' ||
      id[14] != '7') {
    return std::nullopt;
  }
  for (size_t i = 0; i < id.size(); ++i) {
    if (i != 8 && i != 13 && i != 18 && i != 23 && hexDigit(id[i]) < 0) return std::nullopt;
  }
  int64_t ms = 0;
  for (size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12}) ms = (ms << 4) | hexDigit(id[i]);
  return ms;
}

/// True when the event's id says where it is stored: a version-7 UUID of a millisecond in
/// the event's second (event times have whole-second precision, the id the request's ms).
bool idCarriesTime(const AuditEvent& ev) {
  auto ms = uuid7Millis(ev.event_id);
  return ms && secondOf(*ms) == secondOf(toEpochMillis(ev.event_time));
}

/// Writes `events` in the caller's transaction: one batch row per (account, region, second),
/// their attribute seconds, and the ids that need indexing. An event whose indexed id is
/// already stored is skipped (`strict`: throws instead). Returns how many were written.
size_t writeEvents(store::Tx& tx, const std::vector<const AuditEvent*>& events, bool strict) {
  struct GroupKey {
    std::string_view account, region;
    int64_t second;
    bool operator<(const GroupKey& o) const {
      return std::tie(account, region, second) < std::tie(o.account, o.region, o.second);
    }
  };
  std::map<GroupKey, std::vector<const AuditEvent*>> groups;
  SecondsCollector seconds;
  size_t written = 0;
  for (const AuditEvent* ev : events) {
    const int64_t t = toEpochMillis(ev->event_time);
    if (!idCarriesTime(*ev) &&
        tx.exec(kInsertEventId, {ev->event_id, scopeOf(ev->account_id, ev->region), t}) ==
            store::ExecStatus::kConstraint) {
      if (strict) throw store::StoreError("audit: duplicate CloudTrail event id " + ev->event_id);
      log::warn("audit: duplicate CloudTrail event id skipped", {{"event_id", ev->event_id}});
      continue;
    }
    groups[GroupKey{ev->account_id, ev->region, secondOf(t)}].push_back(ev);
    seconds.add(*ev);
    ++written;
  }
  if (groups.empty()) return 0;
  auto next = tx.query(kNextSeq);
  int64_t seq = next.empty() ? 1 : next[0].integer(0);
  std::string raw;
  std::string record;
  for (const auto& [key, evs] : groups) {
    raw.clear();
    int64_t min_ms = std::numeric_limits<int64_t>::max();
    int64_t max_ms = std::numeric_limits<int64_t>::min();
    for (const AuditEvent* ev : evs) {
      const int64_t t = toEpochMillis(ev->event_time);
      min_ms = std::min(min_ms, t);
      max_ms = std::max(max_ms, t);
      if (ev->record_json.empty()) {
        record = boost::json::serialize(ev->record);
        batch::appendEvent(raw, *ev, record);
      } else {
        batch::appendEvent(raw, *ev, ev->record_json);
      }
    }
    const auto count = static_cast<int64_t>(evs.size());
    tx.exec(kInsertBatch, {seq, scopeOf(key.account, key.region), key.second,
                           std::string(key.account), std::string(key.region), count, min_ms,
                           max_ms, static_cast<int64_t>(raw.size()),
                           store::Blob{batch::compress(raw)}});
    seq += count;
  }
  for (const auto& k : seconds.keys()) {
    tx.exec(kInsertSecond, {k.scope, k.attr, k.value, k.second});
  }
  return written;
}

/// The events of one batch row (seq, count, raw_size, events); throws on a corrupt row.
struct DecodedBatch {
  int64_t seq = 0;
  std::string raw;  // the views point into it
  std::vector<batch::EventView> events;
};

void decodeBatch(const store::Row& row, size_t seq_col, DecodedBatch& out) {
  out.seq = row.integer(seq_col);
  const int64_t count = row.integer(seq_col + 1);
  const int64_t raw_size = row.integer(seq_col + 2);
  auto raw = raw_size < 0 || count < 0
                 ? std::nullopt
                 : batch::decompress(row.text(seq_col + 3), static_cast<size_t>(raw_size));
  if (!raw) throw store::StoreError("audit: event batch " + std::to_string(out.seq) + " is corrupt");
  out.raw = std::move(*raw);
  out.events.clear();
  if (!batch::decode(out.raw, static_cast<size_t>(count), out.events)) {
    throw store::StoreError("audit: event batch " + std::to_string(out.seq) + " is corrupt");
  }
}

AuditEvent materialize(const batch::EventView& v, const std::string& account_id,
                       const std::string& region) {
  AuditEvent ev;
  ev.event_id = v.event_id;
  ev.event_time = fromEpochMillis(v.time_ms);
  ev.event_name = v.event_name;
  ev.event_source = v.event_source;
  ev.username = v.username;
  ev.access_key_id = v.access_key_id;
  ev.account_id = account_id;
  ev.region = region;
  ev.read_only = v.read_only;
  ev.resources.reserve(v.resources.size());
  for (const auto& [type, name] : v.resources) {
    ev.resources.push_back(EventResource{std::string(type), std::string(name)});
  }
  ev.record_json = v.record;
  return ev;
}

/// FNV-1a over the query parameters a NextToken is bound to.
uint64_t queryFingerprint(const LookupQuery& q, int64_t start, int64_t end) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;  // field separator that no UTF-8 text contains
    h *= 1099511628211ull;
  };
  mix(q.account_id);
  mix(q.region);
  mix(q.attribute_key.value_or(""));
  mix(q.attribute_key ? q.attribute_value : "");
  mix(std::to_string(start));
  mix(std::to_string(end));
  return h;
}

void putU64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t getU64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

/// Position after the last event of a page: (event_time, seq), walked downwards.
struct Cursor {
  int64_t event_time;
  int64_t seq;
};

std::string encodeToken(uint64_t fingerprint, const Cursor& c) {
  std::string raw;
  raw.push_back(static_cast<char>(kTokenVersion));
  putU64(raw, fingerprint);
  putU64(raw, static_cast<uint64_t>(c.event_time));
  putU64(raw, static_cast<uint64_t>(c.seq));
  return base64Encode(raw);
}

std::optional<Cursor> decodeToken(std::string_view token, uint64_t fingerprint) {
  auto raw = base64Decode(token);
  if (!raw || raw->size() != 1 + 8 + 8 + 8) return std::nullopt;
  std::string_view r(*raw);
  if (static_cast<uint8_t>(r[0]) != kTokenVersion) return std::nullopt;
  if (getU64(r.substr(1, 8)) != fingerprint) return std::nullopt;
  Cursor c{static_cast<int64_t>(getU64(r.substr(9, 8))),
           static_cast<int64_t>(getU64(r.substr(17, 8)))};
  if (c.seq <= 0) return std::nullopt;
  return c;
}

AwsError invalidAttributes(std::string message) {
  return AwsError{"InvalidLookupAttributesException", std::move(message), 400, true, {}};
}

}  // namespace

EventStore::EventStore(store::Store& db, size_t max_queue)
    : db_(db), max_queue_(max_queue == 0 ? 1 : max_queue) {
  writer_ = std::thread([this] { writerLoop(); });
}

EventStore::~EventStore() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  drained_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void EventStore::append(store::Tx& tx, const AuditEvent& event) {
  writeEvents(tx, {&event}, true);
  // Counted as written and as flushed at once: append never waits in the queue.
  std::lock_guard<std::mutex> lk(mu_);
  ++enqueued_;
  ++committed_;
}

void EventStore::enqueue(AuditEvent event) {
  std::unique_lock<std::mutex> lk(mu_);
  if (queue_.size() >= max_queue_) {
    // Back-pressure: wait for the writer rather than drop.
    drained_.wait(lk, [this] { return queue_.size() < max_queue_ || stop_; });
  }
  queue_.push_back(std::move(event));
  ++enqueued_;
  // INVARIANT: the writer sleeps only while the queue is empty, so only the first event
  // pushed into an empty queue needs to wake it.
  const bool wake = queue_.size() == 1;
  lk.unlock();
  if (wake) cv_.notify_one();
}

void EventStore::flush() {
  std::unique_lock<std::mutex> lk(mu_);
  const uint64_t target = enqueued_;
  if (committed_ < target) {
    // Someone waits for these events: the writer stops lingering.
    urgent_ = true;
    cv_.notify_one();
  }
  drained_.wait(lk, [&] { return committed_ >= target; });
}

namespace {
// A commit costs about as much as encoding a few hundred events: under load the writer
// waits up to 5 ms for more (halving its wake-ups and commits against 2 ms). A reader
// (LookupEvents, flush) never waits for the linger.
constexpr size_t kLingerBatch = 1024;
constexpr auto kLinger = std::chrono::milliseconds(5);
}  // namespace

void EventStore::writerLoop() {
  std::deque<AuditEvent> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [this] { return !queue_.empty() || stop_; });
      if (queue_.empty()) return;  // stop_ and drained
      // Linger briefly so a busy second commits hundreds of events at once: each commit
      // rewrites the index pages it touches, so larger batches cost less per event.
      if (!stop_ && !urgent_ && queue_.size() < kLingerBatch)
        cv_.wait_for(lk, kLinger, [this] { return stop_ || urgent_; });
      urgent_ = false;
      batch.swap(queue_);
    }
    // Producers blocked on a full queue may proceed while this batch commits.
    drained_.notify_all();

    int failures = 0;
    for (;;) {
      try {
        auto tx = db_.begin(true);
        std::vector<const AuditEvent*> events;
        events.reserve(batch.size());
        for (const auto& ev : batch) events.push_back(&ev);
        writeEvents(*tx, events, false);
        tx->commit();
        break;
      } catch (const std::exception& e) {
        ++failures;
        bool stopping;
        {
          std::lock_guard<std::mutex> lk(mu_);
          stopping = stop_;
        }
        if (stopping && failures >= 3) {
          log::error("audit: event history write failed at shutdown; events lost",
                     {{"error", e.what()}, {"events", std::to_string(batch.size())}});
          break;
        }
        log::error("audit: event history write failed; retrying",
                   {{"error", e.what()}, {"events", std::to_string(batch.size())}});
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5000, 50 << failures)));
      }
    }
    const size_t n = batch.size();
    batch.clear();
    // Memory freed after a burst goes back to the system by jemalloc's own decay.
    {
      std::lock_guard<std::mutex> lk(mu_);
      committed_ += n;
    }
    drained_.notify_all();
  }
}

Result<LookupPage> EventStore::lookup(const LookupQuery& q) {
  if (q.max_results < 1 || q.max_results > 50) {
    return AwsError{
        "InvalidMaxResultsException", "Value for MaxResults is not valid.", 400, true, {}};
  }
  const int64_t start =
      q.start_time ? toEpochMillis(*q.start_time) : std::numeric_limits<int64_t>::min();
  const int64_t end = q.end_time ? toEpochMillis(*q.end_time) : std::numeric_limits<int64_t>::max();
  if (start > end) {
    return AwsError{
        "InvalidTimeRangeException", "Start time must be before end time", 400, true, {}};
  }

  // Which events match, and where the seconds holding them are listed: audit_seconds for
  // the attributes it indexes, the event id itself (or audit_event_ids) for EventId, the
  // batches' own index otherwise.
  enum class Key { kNone, kEventId, kName, kSource, kUser, kAccessKey, kReadOnly, kType, kRName };
  struct AttributeKind {
    std::string_view name;
    Key key;
    std::optional<Attr> seconds;
  };
  static constexpr AttributeKind kAttributes[] = {
      {"EventId", Key::kEventId, std::nullopt},
      {"EventName", Key::kName, kEventName},
      {"Username", Key::kUser, kUsername},
      {"EventSource", Key::kSource, kEventSource},
      {"AccessKeyId", Key::kAccessKey, kAccessKeyId},
      {"ReadOnly", Key::kReadOnly, std::nullopt},
      {"ResourceType", Key::kType, kResourceType},
      {"ResourceName", Key::kRName, kResourceName},
  };
  Key key = Key::kNone;
  std::optional<Attr> seconds_attr;
  bool read_only_value = false;
  if (q.attribute_key) {
    const AttributeKind* kind = nullptr;
    for (const auto& a : kAttributes) {
      if (a.name == *q.attribute_key) kind = &a;
    }
    if (kind == nullptr) return invalidAttributes("Invalid attribute key: " + *q.attribute_key);
    key = kind->key;
    seconds_attr = kind->seconds;
    if (key == Key::kReadOnly) {
      std::string v = toLower(q.attribute_value);
      if (v != "true" && v != "false") {
        return invalidAttributes("ReadOnly must be true or false");
      }
      read_only_value = v == "true";
    }
  }
  const std::string_view value = q.attribute_value;
  auto matches = [&](const batch::EventView& e) {
    switch (key) {
      case Key::kNone: return true;
      case Key::kEventId: return e.event_id == value;
      case Key::kName: return e.event_name == value;
      case Key::kSource: return e.event_source == value;
      case Key::kUser: return e.username == value;
      case Key::kAccessKey: return e.access_key_id == value;
      case Key::kReadOnly: return e.read_only == read_only_value;
      case Key::kType:
      case Key::kRName:
        for (const auto& [type, name] : e.resources) {
          if ((key == Key::kType ? type : name) == value) return true;
        }
        return false;
    }
    return false;
  };

  const uint64_t fp = queryFingerprint(q, start, end);
  std::optional<Cursor> cursor;
  if (q.next_token) {
    cursor = decodeToken(*q.next_token, fp);
    if (!cursor) return AwsError{"InvalidNextTokenException", "Invalid NextToken", 400, true, {}};
  }
  // The cursor folds into the upper time bound; the tie at its millisecond is settled by seq.
  const int64_t upper = cursor ? std::min(end, cursor->event_time) : end;
  const int64_t scope = scopeOf(q.account_id, q.region);
  const size_t want = static_cast<size_t>(q.max_results) + 1;

  // LookupEvents sees every event enqueued before it.
  bool pending;
  {
    std::lock_guard<std::mutex> lk(mu_);
    pending = committed_ < enqueued_;
  }
  if (pending) flush();

  auto tx = db_.begin(false);
  struct Found {
    AuditEvent event;
    int64_t seq;
  };
  std::vector<Found> found;
  // Decoded batches of the second being read; a deque, so the views into them stay valid.
  std::deque<DecodedBatch> batches;
  struct Hit {
    const batch::EventView* view;
    int64_t seq;
    bool operator>(const Hit& o) const {
      return std::tie(view->time_ms, seq) > std::tie(o.view->time_ms, o.seq);
    }
  };
  std::vector<Hit> hits;
  // Adds the matching events of one second, newest first, until `want` are found. Seconds
  // are visited newest first, so the events found stay in order. Within the second, batches
  // are read latest event first and only while one could still hold an event of the page: a
  // lookup of the newest events of a busy second decodes a batch or a few, not them all.
  auto readSecond = [&](int64_t second) {
    const int64_t lo = std::max(start, second * 1000);
    const int64_t hi = std::min(upper, second * 1000 + 999);
    if (lo > hi) return;
    const size_t need = want - found.size();
    batches.clear();
    hits.clear();
    // Position of the walk: below (bound_ms, bound_seq) in (max_ms, seq) order.
    int64_t bound_ms = std::numeric_limits<int64_t>::max();
    int64_t bound_seq = std::numeric_limits<int64_t>::max();
    int64_t chunk = 4;
    bool done = false;
    while (!done) {
      std::vector<store::Row> rows;
      if (bound_seq != std::numeric_limits<int64_t>::max()) {
        rows = tx->query(detail::kBatchesAtMs, {scope, second, bound_ms, bound_seq, q.account_id,
                                                q.region, chunk});
      }
      if (static_cast<int64_t>(rows.size()) < chunk) {
        for (auto& r : tx->query(detail::kBatchesBeforeMs,
                                 {scope, second, bound_ms, q.account_id, q.region,
                                  chunk - static_cast<int64_t>(rows.size())})) {
          rows.push_back(std::move(r));
        }
      }
      if (static_cast<int64_t>(rows.size()) < chunk) done = true;
      for (const store::Row& row : rows) {
        const int64_t first_seq = row.integer(0);
        const int64_t last_seq = first_seq + row.integer(1) - 1;
        const int64_t min_ms = row.integer(4);
        const int64_t max_ms = row.integer(5);
        bound_ms = max_ms;
        bound_seq = first_seq;
        // This batch and every later one hold only events at or below (max_ms, last_seq).
        if (max_ms < lo) {
          done = true;
          break;
        }
        if (hits.size() >= need) {
          std::nth_element(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(need - 1),
                           hits.end(), std::greater<Hit>());
          const Hit& kth = hits[need - 1];
          if (std::tie(kth.view->time_ms, kth.seq) > std::tie(max_ms, last_seq)) {
            done = true;
            break;
          }
        }
        if (min_ms > hi) continue;
        if (cursor && min_ms >= cursor->event_time && first_seq >= cursor->seq) continue;
        DecodedBatch& b = batches.emplace_back();
        decodeBatch(row, 0, b);
        for (size_t i = 0; i < b.events.size(); ++i) {
          const batch::EventView& e = b.events[i];
          const int64_t seq = b.seq + static_cast<int64_t>(i);
          if (e.time_ms < lo || e.time_ms > hi) continue;
          if (cursor && e.time_ms == cursor->event_time && seq >= cursor->seq) continue;
          if (matches(e)) hits.push_back(Hit{&e, seq});
        }
      }
      chunk = std::min<int64_t>(chunk * 4, 64);
    }
    std::sort(hits.begin(), hits.end(), std::greater<Hit>());
    for (const Hit& h : hits) {
      if (found.size() >= want) break;
      found.push_back(Found{materialize(*h.view, q.account_id, q.region), h.seq});
    }
  };
  const int64_t lo_second = secondOf(start);
  const int64_t hi_second = secondOf(upper);
  if (key == Key::kEventId) {
    // The event's second: from audit_event_ids, else from a version-7 id's own time.
    std::optional<int64_t> ms;
    auto rows = tx->query(detail::kEventIdQuery, {std::string(value), scope});
    if (!rows.empty()) {
      ms = rows[0].integer(0);
    } else {
      ms = uuid7Millis(value);
    }
    if (ms && secondOf(*ms) >= lo_second && secondOf(*ms) <= hi_second) {
      readSecond(secondOf(*ms));
    }
  } else {
    // Walk the seconds holding the value (or holding any event), newest first, in chunks
    // that grow: most lookups end in the first second or two, and listing a busy second
    // walks one index entry per batch.
    int64_t chunk = 2;
    int64_t next_hi = hi_second;
    while (found.size() < want && next_hi >= lo_second) {
      auto seconds =
          seconds_attr ? tx->query(detail::kSecondsQuery, {scope, int64_t{*seconds_attr},
                                                           q.attribute_value, lo_second, next_hi,
                                                           chunk})
                       : tx->query(detail::kBatchSecondsQuery, {scope, lo_second, next_hi, chunk});
      for (const auto& sr : seconds) {
        readSecond(sr.integer(0));
        if (found.size() >= want) break;
      }
      if (static_cast<int64_t>(seconds.size()) < chunk) break;
      next_hi = seconds.back().integer(0) - 1;
      chunk = std::min<int64_t>(chunk * 4, 256);
    }
  }
  tx->commit();

  LookupPage page;
  const size_t limit = static_cast<size_t>(q.max_results);
  page.events.reserve(std::min(found.size(), limit));
  for (size_t i = 0; i < found.size() && i < limit; ++i) {
    page.events.push_back(std::move(found[i].event));
  }
  if (found.size() > limit) {
    page.next_token = encodeToken(
        fp, Cursor{toEpochMillis(page.events.back().event_time), found[limit - 1].seq});
  }
  return page;
}

int64_t EventStore::purgeOlderThan(SysTime cutoff) {
  flush();
  const int64_t t = toEpochMillis(cutoff);
  const int64_t cut_second = secondOf(t);
  auto tx = db_.begin(true);
  // A second that the cutoff splits keeps its rows: they only make a lookup look there.
  tx->exec("DELETE FROM audit_seconds WHERE second < ?", {cut_second});
  tx->exec("DELETE FROM audit_event_ids WHERE event_time < ?", {t});
  int64_t n = tx->query("SELECT COALESCE(SUM(count), 0) FROM audit_batches WHERE second < ?",
                        {cut_second})
                  .at(0)
                  .integer(0);
  tx->exec("DELETE FROM audit_batches WHERE second < ?", {cut_second});
  // The batches of the split second keep their newer events.
  auto split = tx->query(
      "SELECT seq, count, raw_size, events, account_id, region FROM audit_batches "
      "WHERE second = ?",
      {cut_second});
  DecodedBatch decoded;
  std::string raw;
  for (const auto& row : split) {
    decodeBatch(row, 0, decoded);
    raw.clear();
    int64_t kept = 0;
    for (const auto& v : decoded.events) {
      if (v.time_ms < t) continue;
      AuditEvent ev = materialize(v, row.text(4), row.text(5));
      batch::appendEvent(raw, ev, ev.record_json);
      ++kept;
    }
    const auto count = static_cast<int64_t>(decoded.events.size());
    if (kept == count) continue;
    n += count - kept;
    if (kept == 0) {
      tx->exec("DELETE FROM audit_batches WHERE seq = ?", {decoded.seq});
    } else {
      tx->exec("UPDATE audit_batches SET count = ?, raw_size = ?, events = ? WHERE seq = ?",
               {kept, static_cast<int64_t>(raw.size()), store::Blob{batch::compress(raw)},
                decoded.seq});
    }
  }
  tx->commit();
  return n;
}

void moveVersion2Rows(store::Tx& tx) {
  // A chunk at a time: the version-2 rows are read, written as batches and deleted.
  constexpr int64_t kChunk = 4096;
  int64_t moved = 0;
  for (;;) {
    auto rows = tx.query(
        "SELECT seq, event_id, event_time, account_id, region, event_name, event_source, "
        "username, access_key_id, read_only, resources, record FROM audit_events "
        "ORDER BY seq LIMIT ?",
        {kChunk});
    if (rows.empty()) break;
    std::vector<AuditEvent> events;
    events.reserve(rows.size());
    for (const auto& row : rows) {
      AuditEvent ev;
      ev.event_id = row.text(1);
      ev.event_time = fromEpochMillis(row.integer(2));
      ev.account_id = row.text(3);
      ev.region = row.text(4);
      ev.event_name = row.text(5);
      ev.event_source = row.text(6);
      ev.username = row.text(7);
      ev.access_key_id = row.text(8);
      ev.read_only = row.integer(9) != 0;
      boost::system::error_code ec;
      auto res = boost::json::parse(row.text(10), ec);
      if (!ec && res.is_array()) {
        for (const auto& item : res.get_array()) {
          const auto* pair = item.if_array();
          if (pair != nullptr && pair->size() == 2 && (*pair)[0].is_string() &&
              (*pair)[1].is_string()) {
            ev.resources.push_back(EventResource{std::string((*pair)[0].get_string()),
                                                 std::string((*pair)[1].get_string())});
          }
        }
      }
      ev.record_json = row.text(11);
      events.push_back(std::move(ev));
    }
    std::vector<const AuditEvent*> ptrs;
    ptrs.reserve(events.size());
    for (const auto& ev : events) ptrs.push_back(&ev);
    writeEvents(tx, ptrs, false);
    tx.exec("DELETE FROM audit_events WHERE seq <= ?", {rows.back().integer(0)});
    moved += static_cast<int64_t>(rows.size());
  }
  tx.exec("DROP TABLE audit_events");
  if (moved > 0) {
    log::info("audit: event history moved to the version-3 layout",
              {{"events", std::to_string(moved)}});
  }
}

void clearHistory(store::Tx& tx) {
  tx.exec("DELETE FROM audit_seconds");
  tx.exec("DELETE FROM audit_event_ids");
  tx.exec("DELETE FROM audit_batches");
}

uint64_t EventStore::written() const {
  // mu_ guards the counters; the header keeps it non-mutable.
  std::lock_guard<std::mutex> lk(const_cast<std::mutex&>(mu_));
  return committed_;
}

}  // namespace citadel::audit
