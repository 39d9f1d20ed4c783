#pragma once
/// CloudTrail event history: the record of every call, its storage and LookupEvents.

#include <boost/json/value.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "store/store.h"

namespace citadel::audit {

/// A resource named by an event (CloudTrail "resources" / LookupEvents ResourceType+Name).
struct EventResource {
  std::string type;  ///< e.g. "AWS::KMS::Key"
  std::string name;  ///< ARN or name
};

/// One CloudTrail event plus the fields LookupEvents filters on.
struct AuditEvent {
  std::string event_id;      ///< UUID
  SysTime event_time;
  std::string event_name;    ///< "GetCallerIdentity"
  std::string event_source;  ///< "sts.amazonaws.com"
  std::string username;      ///< LookupEvents Username (user name, role session name, "root")
  std::string access_key_id;
  std::string account_id;    ///< recipientAccountId
  std::string region;
  bool read_only = false;
  std::vector<EventResource> resources;
  boost::json::object record;  ///< the whole CloudTrail record, as AWS prints it
  /// The record already serialized. lookup() fills this instead of `record` (no re-parse);
  /// append()/enqueue() use it verbatim when set.
  std::string record_json;
};

/// Migrations of the audit tables.
std::vector<store::Migration> migrations();

/// LookupEvents query, already validated by the protocol layer.
struct LookupQuery {
  std::string account_id;
  std::string region;
  std::optional<std::string> attribute_key;  ///< EventId, EventName, ReadOnly, Username,
                                             ///< ResourceType, ResourceName, EventSource,
                                             ///< AccessKeyId
  std::string attribute_value;
  std::optional<SysTime> start_time;
  std::optional<SysTime> end_time;
  int max_results = 50;                  ///< 1..50
  std::optional<std::string> next_token;
};

struct LookupPage {
  std::vector<AuditEvent> events;        ///< newest first
  std::optional<std::string> next_token;
};

/// Stores events. Mutating requests append inside their own transaction (same commit);
/// read-only requests enqueue and a background writer group-commits them (never dropped:
/// when the queue is full, enqueue() blocks — back-pressure rather than loss).
class EventStore {
 public:
  explicit EventStore(store::Store& db, size_t max_queue = 8192);
  ~EventStore();
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  /// Inserts the event in the caller's write transaction.
  void append(store::Tx& tx, const AuditEvent& event);
  /// Queues the event for the group-commit writer.
  void enqueue(AuditEvent event);
  /// Blocks until every queued event is committed (used before reads and on shutdown).
  void flush();
  /// LookupEvents. InvalidNextTokenException etc. as AwsError.
  Result<LookupPage> lookup(const LookupQuery& q);
  /// Deletes events older than `cutoff` (90-day retention). Returns how many.
  int64_t purgeOlderThan(SysTime cutoff);
  /// Events written since start (metrics).
  uint64_t written() const;

 private:
  void writerLoop();

  store::Store& db_;
  size_t max_queue_;
  std::mutex mu_;
  std::condition_variable cv_;        // writer wakes
  std::condition_variable drained_;   // producers / flush wake
  std::deque<AuditEvent> queue_;
  uint64_t enqueued_ = 0;
  uint64_t committed_ = 0;
  bool stop_ = false;
  bool urgent_ = false;               // a flush() waits: commit without lingering
  std::thread writer_;
};

/// Moves the events schema version 2 stored one row each into batches and drops their table
/// (migration 3's data step), in the caller's transaction.
void moveVersion2Rows(store::Tx& tx);

/// Deletes the whole event history (development state reset), in the caller's transaction.
void clearHistory(store::Tx& tx);

namespace detail {
/// The statements lookup() runs, for the query-plan tests.
/// Seconds (newest first) in which an attribute value occurs:
/// (scope, attr, value, lowest second, highest second, limit).
inline constexpr const char* kSecondsQuery =
    "SELECT second FROM audit_seconds WHERE scope = ? AND attr = ? AND value = ? AND "
    "second >= ? AND second <= ? ORDER BY second DESC LIMIT ?";
/// Seconds (newest first) that hold any event: (scope, lowest second, highest second, limit).
inline constexpr const char* kBatchSecondsQuery =
    "SELECT DISTINCT second FROM audit_batches WHERE scope = ? AND second >= ? AND "
    "second <= ? ORDER BY second DESC LIMIT ?";
/// A second's batches of one history in (max_ms, seq) descending order, a chunk at a time,
/// each statement one index range. Those whose latest event is at `bound_ms`, below
/// `bound_seq`: (scope, second, bound_ms, bound_seq, account, region, limit); then those
/// whose latest event is before `bound_ms`: (scope, second, bound_ms, account, region,
/// limit). Scope is a hash: the real account and region are checked on the rows it selects.
inline constexpr const char* kBatchesAtMs =
    "SELECT seq, count, raw_size, events, min_ms, max_ms FROM audit_batches WHERE scope = ? "
    "AND second = ? AND max_ms = ? AND seq < ? AND account_id = ? AND region = ? "
    "ORDER BY seq DESC LIMIT ?";
inline constexpr const char* kBatchesBeforeMs =
    "SELECT seq, count, raw_size, events, min_ms, max_ms FROM audit_batches WHERE scope = ? "
    "AND second = ? AND max_ms < ? AND account_id = ? AND region = ? "
    "ORDER BY max_ms DESC, seq DESC LIMIT ?";
/// The time of an event whose id does not carry it: (event id, scope).
inline constexpr const char* kEventIdQuery =
    "SELECT event_time FROM audit_event_ids WHERE event_id = ? AND scope = ?";
}  // namespace detail

}  // namespace citadel::audit
