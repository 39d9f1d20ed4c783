// CloudTrail event history: append in the caller's transaction, group-commit queue for
// read-only calls, LookupEvents over indexed (attribute, event_time, event_id) walks.

#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <limits>

#include "audit/audit.h"
#include "core/encoding.h"
#include "core/log.h"

namespace citadel::audit {

namespace {

constexpr const char* kInsertEvent =
    "INSERT INTO audit_events(event_id, event_time, account_id, region, event_name, "
    "event_source, username, access_key_id, read_only, resources, record) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kInsertResourceType =
    "INSERT INTO audit_event_resource_types(account_id, region, resource_type, event_time, "
    "event_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING";
constexpr const char* kInsertResourceName =
    "INSERT INTO audit_event_resource_names(account_id, region, resource_name, event_time, "
    "event_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING";

constexpr const char* kEventColumns =
    "e.event_id, e.event_time, e.account_id, e.region, e.event_name, e.event_source, "
    "e.username, e.access_key_id, e.read_only, e.resources, e.record";

constexpr uint8_t kTokenVersion = 1;

/// Writes one event; false when its event id is already stored.
bool insertEvent(store::Tx& tx, const AuditEvent& ev) {
  const int64_t t = toEpochMillis(ev.event_time);
  boost::json::array resources;
  resources.reserve(ev.resources.size());
  for (const auto& r : ev.resources) resources.push_back(boost::json::array{r.type, r.name});
  auto st = tx.exec(kInsertEvent, {ev.event_id, t, ev.account_id, ev.region, ev.event_name,
                                   ev.event_source, ev.username, ev.access_key_id,
                                   int64_t{ev.read_only ? 1 : 0},
                                   boost::json::serialize(resources),
                                   boost::json::serialize(ev.record)});
  if (st == store::ExecStatus::kConstraint) return false;
  for (const auto& r : ev.resources) {
    if (!r.type.empty()) {
      tx.exec(kInsertResourceType, {ev.account_id, ev.region, r.type, t, ev.event_id});
    }
    if (!r.name.empty()) {
      tx.exec(kInsertResourceName, {ev.account_id, ev.region, r.name, t, ev.event_id});
    }
  }
  return true;
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
  auto rec = boost::json::parse(row.text(10), ec);
  if (!ec && rec.is_object()) ev.record = std::move(rec.get_object());
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

struct Cursor {
  int64_t event_time;
  std::string event_id;
};

std::string encodeToken(uint64_t fingerprint, const Cursor& c) {
  std::string raw;
  raw.push_back(static_cast<char>(kTokenVersion));
  putU64(raw, fingerprint);
  putU64(raw, static_cast<uint64_t>(c.event_time));
  raw += c.event_id;
  return base64Encode(raw);
}

std::optional<Cursor> decodeToken(std::string_view token, uint64_t fingerprint) {
  auto raw = base64Decode(token);
  if (!raw || raw->size() < 1 + 8 + 8 + 1) return std::nullopt;
  std::string_view r(*raw);
  if (static_cast<uint8_t>(r[0]) != kTokenVersion) return std::nullopt;
  if (getU64(r.substr(1, 8)) != fingerprint) return std::nullopt;
  Cursor c{static_cast<int64_t>(getU64(r.substr(9, 8))), std::string(r.substr(17))};
  if (!isValidUtf8(c.event_id)) return std::nullopt;
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
  if (!insertEvent(tx, event)) {
    throw store::StoreError("audit: duplicate CloudTrail event id " + event.event_id);
  }
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
  drained_.wait(lk, [&] { return committed_ >= target; });
}

void EventStore::writerLoop() {
  std::deque<AuditEvent> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [this] { return !queue_.empty() || stop_; });
      if (queue_.empty()) return;  // stop_ and drained
      batch.swap(queue_);
    }
    // Producers blocked on a full queue may proceed while this batch commits.
    drained_.notify_all();

    int failures = 0;
    for (;;) {
      try {
        auto tx = db_.begin(true);
        for (const auto& ev : batch) {
          if (!insertEvent(*tx, ev)) {
            log::warn("audit: duplicate CloudTrail event id skipped", {{"event_id", ev.event_id}});
          }
        }
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
    {
      std::lock_guard<std::mutex> lk(mu_);
      committed_ += n;
    }
    drained_.notify_all();
  }
}

Result<LookupPage> EventStore::lookup(const LookupQuery& q) {
  if (q.max_results < 1 || q.max_results > 50) {
    return AwsError{"InvalidMaxResultsException", "Value for MaxResults is not valid.", 400,
                    true, {}};
  }
  const int64_t start = q.start_time ? toEpochMillis(*q.start_time)
                                     : std::numeric_limits<int64_t>::min();
  const int64_t end = q.end_time ? toEpochMillis(*q.end_time)
                                 : std::numeric_limits<int64_t>::max();
  if (start > end) {
    return AwsError{"InvalidTimeRangeException", "Start time must be before end time", 400, true,
                    {}};
  }

  // Which table and column the attribute is served by.
  const char* table = "audit_events";
  const char* column = nullptr;
  const char* time_col = "e.event_time";
  const char* id_col = "e.event_id";
  store::Value attr_value;
  if (q.attribute_key) {
    const std::string& key = *q.attribute_key;
    attr_value = q.attribute_value;
    if (key == "EventId") {
      column = "e.event_id";
    } else if (key == "EventName") {
      column = "e.event_name";
    } else if (key == "Username") {
      column = "e.username";
    } else if (key == "EventSource") {
      column = "e.event_source";
    } else if (key == "AccessKeyId") {
      column = "e.access_key_id";
    } else if (key == "ReadOnly") {
      column = "e.read_only";
      std::string v = toLower(q.attribute_value);
      if (v != "true" && v != "false") {
        return invalidAttributes("ReadOnly must be true or false");
      }
      attr_value = int64_t{v == "true" ? 1 : 0};
    } else if (key == "ResourceType") {
      table = "audit_event_resource_types";
      column = "r.resource_type";
    } else if (key == "ResourceName") {
      table = "audit_event_resource_names";
      column = "r.resource_name";
    } else {
      return invalidAttributes("Invalid attribute key: " + key);
    }
  }
  const bool via_resources = std::strcmp(table, "audit_events") != 0;
  const char* scope = via_resources ? "r" : "e";
  if (via_resources) {
    time_col = "r.event_time";
    id_col = "r.event_id";
  }

  const uint64_t fp = queryFingerprint(q, start, end);
  std::optional<Cursor> cursor;
  if (q.next_token) {
    cursor = decodeToken(*q.next_token, fp);
    if (!cursor) return AwsError{"InvalidNextTokenException", "Invalid NextToken", 400, true, {}};
  }

  std::string sql = "SELECT ";
  sql += kEventColumns;
  if (via_resources) {
    sql += " FROM ";
    sql += table;
    sql += " r JOIN audit_events e ON e.event_id = r.event_id";
  } else {
    sql += " FROM audit_events e";
  }
  sql += " WHERE ";
  sql += scope;
  sql += ".account_id = ? AND ";
  sql += scope;
  sql += ".region = ?";
  std::vector<store::Value> params{q.account_id, q.region};
  if (column != nullptr) {
    sql += " AND ";
    sql += column;
    sql += " = ?";
    params.push_back(std::move(attr_value));
  }
  sql += " AND ";
  sql += time_col;
  sql += " >= ? AND ";
  sql += time_col;
  sql += " <= ?";
  params.emplace_back(start);
  params.emplace_back(end);
  if (cursor) {
    sql += " AND (";
    sql += time_col;
    sql += ", ";
    sql += id_col;
    sql += ") < (?, ?)";
    params.emplace_back(cursor->event_time);
    params.emplace_back(std::move(cursor->event_id));
  }
  sql += " ORDER BY ";
  sql += time_col;
  sql += " DESC, ";
  sql += id_col;
  sql += " DESC LIMIT ?";
  params.emplace_back(int64_t{q.max_results + 1});

  // LookupEvents sees every event enqueued before it.
  bool pending;
  {
    std::lock_guard<std::mutex> lk(mu_);
    pending = committed_ < enqueued_;
  }
  if (pending) flush();

  auto tx = db_.begin(false);
  auto rows = tx->query(sql, params);
  tx->commit();

  LookupPage page;
  const size_t limit = static_cast<size_t>(q.max_results);
  page.events.reserve(std::min(rows.size(), limit));
  for (size_t i = 0; i < rows.size() && i < limit; ++i) {
    page.events.push_back(eventFromRow(rows[i]));
  }
  if (rows.size() > limit) {
    const AuditEvent& last = page.events.back();
    page.next_token = encodeToken(fp, Cursor{toEpochMillis(last.event_time), last.event_id});
  }
  return page;
}

int64_t EventStore::purgeOlderThan(SysTime cutoff) {
  flush();
  const int64_t t = toEpochMillis(cutoff);
  auto tx = db_.begin(true);
  tx->exec("DELETE FROM audit_event_resource_types WHERE event_time < ?", {t});
  tx->exec("DELETE FROM audit_event_resource_names WHERE event_time < ?", {t});
  tx->exec("DELETE FROM audit_events WHERE event_time < ?", {t});
  const int64_t n = tx->changes();
  tx->commit();
  return n;
}

uint64_t EventStore::written() const {
  // mu_ guards the counters; the header keeps it non-mutable.
  std::lock_guard<std::mutex> lk(const_cast<std::mutex&>(mu_));
  return committed_;
}

}  // namespace citadel::audit
