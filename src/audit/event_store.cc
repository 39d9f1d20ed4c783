// CloudTrail event history: append in the caller's transaction, group-commit queue for
// read-only calls, LookupEvents over the covering time index, guided by audit_seconds for
// attribute values (EventId through its unique index).

#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <limits>
#include <set>
#include <tuple>

#include "audit/audit.h"
#include "core/encoding.h"
#include "core/log.h"

namespace citadel::audit {

namespace {

constexpr const char* kInsertEvent =
    "INSERT INTO audit_events(seq, event_id, scope, event_time, account_id, region, "
    "event_name, event_source, username, access_key_id, read_only, resources, record) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
// One row per (history, attribute, value, second) that has an event: LookupEvents walks the
// seconds in which a value occurs, newest first, and reads only those seconds of the time
// index. A busy second adds one row per distinct value, not one index entry per event.
constexpr const char* kInsertSecond =
    "INSERT INTO audit_seconds(scope, attr, value, second) VALUES (?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING";
constexpr const char* kLastSeq = "SELECT COALESCE(MAX(seq), 0) FROM audit_events";

constexpr const char* kEventColumns =
    "e.event_id, e.event_time, e.account_id, e.region, e.event_name, e.event_source, "
    "e.username, e.access_key_id, e.read_only, e.resources, e.record, e.seq";

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

/// The highest sequence number stored (0 when empty); the caller holds a write transaction.
int64_t lastSeq(store::Tx& tx) { return tx.query(kLastSeq).at(0).integer(0); }

/// Writes one event as number `seq`; false when its event id is already stored. Its
/// attribute seconds are written by the caller (writeSeconds).
bool insertEvent(store::Tx& tx, const AuditEvent& ev, int64_t seq) {
  const int64_t t = toEpochMillis(ev.event_time);
  const int64_t scope = scopeOf(ev.account_id, ev.region);
  boost::json::array resources;
  resources.reserve(ev.resources.size());
  for (const auto& r : ev.resources) resources.push_back(boost::json::array{r.type, r.name});
  auto st = tx.exec(kInsertEvent,
                    {seq, ev.event_id, scope, t, ev.account_id, ev.region, ev.event_name,
                     ev.event_source, ev.username, ev.access_key_id, int64_t{ev.read_only ? 1 : 0},
                     boost::json::serialize(resources),
                     ev.record_json.empty() ? boost::json::serialize(ev.record) : ev.record_json});
  return st != store::ExecStatus::kConstraint;
}

/// Floor division, for seconds of negative or extreme millisecond bounds.
int64_t secondOf(int64_t ms) { return ms >= 0 ? ms / 1000 : -((-(ms + 1)) / 1000) - 1; }

/// The lookup attributes that have second rows (EventId has its own unique index).
enum Attr : int64_t {
  kEventName = 1,
  kEventSource = 2,
  kUsername = 3,
  kAccessKeyId = 4,
  // 5 is unused: ReadOnly matches about half of all events, so its lookups walk the time
  // index itself (read_only is one of its columns).
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

/// Adds the (attribute, value, second) keys of `ev` to `keys`.
void collectSeconds(const AuditEvent& ev, std::set<SecondKey>& keys) {
  const int64_t scope = scopeOf(ev.account_id, ev.region);
  const int64_t second = secondOf(toEpochMillis(ev.event_time));
  auto add = [&](Attr a, const std::string& v) {
    if (!v.empty()) keys.insert(SecondKey{scope, a, v, second});
  };
  add(kEventName, ev.event_name);
  add(kEventSource, ev.event_source);
  add(kUsername, ev.username);
  add(kAccessKeyId, ev.access_key_id);
  for (const auto& r : ev.resources) {
    add(kResourceType, r.type);
    add(kResourceName, r.name);
  }
}

void writeSeconds(store::Tx& tx, const std::set<SecondKey>& keys) {
  for (const auto& k : keys) tx.exec(kInsertSecond, {k.scope, k.attr, k.value, k.second});
}

AuditEvent eventFromRow(const store::Row& row) {
  AuditEvent ev;
  ev.event_id = row.text(0);
  ev.event_time = fromEpochMillis(row.integer(1));
  ev.account_id = row.text(2);
  ev.region = row.text(3);
  ev.event_name = row.text(4);
  ev.event_source = row.text(5);
  ev.username = row.text(6);
  ev.access_key_id = row.text(7);
  ev.read_only = row.integer(8) != 0;
  boost::system::error_code ec;
  auto res = boost::json::parse(row.text(9), ec);
  if (!ec && res.is_array()) {
    for (const auto& item : res.get_array()) {
      const auto* pair = item.if_array();
      if (pair == nullptr || pair->size() != 2 || !(*pair)[0].is_string() ||
          !(*pair)[1].is_string()) {
        continue;
      }
      ev.resources.push_back(EventResource{std::string((*pair)[0].get_string()),
                                           std::string((*pair)[1].get_string())});
    }
  }
  ev.record_json = row.text(10);
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
  if (!insertEvent(tx, event, lastSeq(tx) + 1)) {
    throw store::StoreError("audit: duplicate CloudTrail event id " + event.event_id);
  }
  std::set<SecondKey> keys;
  collectSeconds(event, keys);
  writeSeconds(tx, keys);
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
constexpr size_t kLingerBatch = 256;
constexpr auto kLinger = std::chrono::milliseconds(2);
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
        int64_t seq = lastSeq(*tx);
        std::set<SecondKey> keys;
        for (const auto& ev : batch) {
          if (insertEvent(*tx, ev, seq + 1)) {
            ++seq;
            collectSeconds(ev, keys);
          } else {
            log::warn("audit: duplicate CloudTrail event id skipped", {{"event_id", ev.event_id}});
          }
        }
        writeSeconds(*tx, keys);
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

  // How the attribute is found: a filter on the time index's own columns (the seconds in
  // which the value occurs come from audit_seconds), a resource of the event, or EventId's
  // unique index.
  std::string filter;
  std::optional<Attr> seconds_attr;
  store::Value attr_value;
  if (q.attribute_key) {
    const std::string& key = *q.attribute_key;
    attr_value = q.attribute_value;
    if (key == "EventId") {
      filter = "e.event_id = ?";
    } else if (key == "EventName") {
      filter = "e.event_name = ?";
      seconds_attr = kEventName;
    } else if (key == "Username") {
      filter = "e.username = ?";
      seconds_attr = kUsername;
    } else if (key == "EventSource") {
      filter = "e.event_source = ?";
      seconds_attr = kEventSource;
    } else if (key == "AccessKeyId") {
      filter = "e.access_key_id = ?";
      seconds_attr = kAccessKeyId;
    } else if (key == "ReadOnly") {
      filter = "e.read_only = ?";
      std::string v = toLower(q.attribute_value);
      if (v != "true" && v != "false") {
        return invalidAttributes("ReadOnly must be true or false");
      }
      attr_value = int64_t{v == "true" ? 1 : 0};
    } else if (key == "ResourceType") {
      filter = detail::kResourceTypeFilter;
      seconds_attr = kResourceType;
    } else if (key == "ResourceName") {
      filter = detail::kResourceNameFilter;
      seconds_attr = kResourceName;
    } else {
      return invalidAttributes("Invalid attribute key: " + key);
    }
  }

  const uint64_t fp = queryFingerprint(q, start, end);
  std::optional<Cursor> cursor;
  if (q.next_token) {
    cursor = decodeToken(*q.next_token, fp);
    if (!cursor) return AwsError{"InvalidNextTokenException", "Invalid NextToken", 400, true, {}};
  }
  // The cursor folds into the upper time bound; the tie at its millisecond is settled by seq.
  const int64_t upper = cursor ? std::min(end, cursor->event_time) : end;
  const int64_t scope = scopeOf(q.account_id, q.region);
  const std::string sql = detail::eventQuery(filter, cursor.has_value());
  const size_t want = static_cast<size_t>(q.max_results) + 1;

  // LookupEvents sees every event enqueued before it.
  bool pending;
  {
    std::lock_guard<std::mutex> lk(mu_);
    pending = committed_ < enqueued_;
  }
  if (pending) flush();

  auto tx = db_.begin(false);
  std::vector<store::Row> rows;
  // Events of [lo, hi] newest first, at most `want` in all.
  auto readRange = [&](int64_t lo, int64_t hi) {
    std::vector<store::Value> params{scope, lo, hi};
    if (cursor) {
      params.emplace_back(cursor->event_time);
      params.emplace_back(cursor->seq);
    }
    if (!filter.empty()) params.push_back(attr_value);
    params.emplace_back(q.account_id);
    params.emplace_back(q.region);
    params.emplace_back(static_cast<int64_t>(want - rows.size()));
    for (auto& r : tx->query(sql, params)) rows.push_back(std::move(r));
  };
  if (!seconds_attr) {
    readRange(start, upper);
  } else {
    // Walk the seconds holding the value, newest first, a chunk of them at a time.
    constexpr int64_t kChunk = 64;
    int64_t hi_second = secondOf(upper);
    const int64_t lo_second = secondOf(start);
    while (rows.size() < want && hi_second >= lo_second) {
      auto seconds = tx->query(detail::kSecondsQuery, {scope, int64_t{*seconds_attr},
                                                       q.attribute_value, lo_second, hi_second,
                                                       kChunk});
      for (const auto& sr : seconds) {
        const int64_t sec = sr.integer(0);
        readRange(std::max(start, sec * 1000), std::min(upper, sec * 1000 + 999));
        if (rows.size() >= want) break;
      }
      if (static_cast<int64_t>(seconds.size()) < kChunk) break;
      hi_second = seconds.back().integer(0) - 1;
    }
  }
  tx->commit();

  LookupPage page;
  const size_t limit = static_cast<size_t>(q.max_results);
  page.events.reserve(std::min(rows.size(), limit));
  for (size_t i = 0; i < rows.size() && i < limit; ++i) {
    page.events.push_back(eventFromRow(rows[i]));
  }
  if (rows.size() > limit) {
    const store::Row& last = rows[limit - 1];
    page.next_token = encodeToken(fp, Cursor{last.integer(1), last.integer(11)});
  }
  return page;
}

int64_t EventStore::purgeOlderThan(SysTime cutoff) {
  flush();
  const int64_t t = toEpochMillis(cutoff);
  auto tx = db_.begin(true);
  // A second that the cutoff splits keeps its rows: they only make a lookup look there.
  tx->exec("DELETE FROM audit_seconds WHERE second < ?", {secondOf(t)});
  // Events are appended in (nearly) time order, so the old ones are a prefix of seq: find
  // the first event inside the retention window by walking the rowid, and delete below it.
  auto first_kept = tx->query(
      "SELECT seq FROM audit_events WHERE event_time >= ? ORDER BY seq LIMIT 1", {t});
  if (first_kept.empty()) {
    tx->exec("DELETE FROM audit_events WHERE event_time < ?", {t});
  } else {
    tx->exec("DELETE FROM audit_events WHERE seq < ? AND event_time < ?",
             {first_kept[0].integer(0), t});
  }
  const int64_t n = tx->changes();
  tx->commit();
  return n;
}

void clearHistory(store::Tx& tx) {
  tx.exec("DELETE FROM audit_seconds");
  tx.exec("DELETE FROM audit_events");
}

namespace detail {

std::string eventQuery(const std::string& filter, bool cursor) {
  std::string sql = "SELECT ";
  sql += kEventColumns;
  sql += " FROM audit_events e WHERE e.scope = ? AND e.event_time >= ? AND e.event_time <= ?";
  if (cursor) sql += " AND (e.event_time < ? OR e.seq < ?)";
  if (!filter.empty()) sql += " AND " + filter;
  // Scope is a hash: the real account and region are checked on the rows it selects.
  sql += " AND e.account_id = ? AND e.region = ? ORDER BY e.event_time DESC, e.seq DESC LIMIT ?";
  return sql;
}

}  // namespace detail

uint64_t EventStore::written() const {
  // mu_ guards the counters; the header keeps it non-mutable.
  std::lock_guard<std::mutex> lk(const_cast<std::mutex&>(mu_));
  return committed_;
}

}  // namespace citadel::audit
