#pragma once
/// The shared outbox of service events (EventBridge "aws.<service>" events: Parameter Store
/// changes and policy actions, KMS rotations ...). A service appends an event in the same
/// transaction as the change it describes, so an event exists exactly when the change
/// committed; the event bus (alerting issue) reads the outbox and delivers.
///
/// AWS: https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html

#include <cstdint>
#include <string>
#include <vector>

#include "core/time.h"
#include "store/store.h"

namespace citadel::runtime {

/// One event in EventBridge's envelope.
struct OutboxEvent {
  int64_t seq = 0;            ///< position in the outbox (set by the store; 0 when new)
  std::string version = "0";  ///< envelope "version"
  std::string id;             ///< envelope "id"; a new UUID when empty
  std::string detail_type;    ///< "Parameter Store Change"
  std::string source;         ///< "aws.ssm"
  std::string account;        ///< the account the event belongs to
  SysTime time{};             ///< the event's time (Clock::now() when default)
  std::string region;
  std::vector<std::string> resources;  ///< ARNs
  std::string detail = "{}";           ///< the "detail" member as JSON text
};

/// What list() returns.
struct OutboxQuery {
  std::string source;       ///< empty = every source
  std::string account;      ///< empty = every account
  std::string detail_type;  ///< empty = every detail-type
  int64_t after_seq = 0;    ///< only events with seq > after_seq
  size_t limit = 1000;
};

/// The outbox's table (component "outbox"). Idempotent: every producer may include these in
/// its own migrations; the store applies a (component, version) once.
std::vector<store::Migration> eventOutboxMigrations();

/// Appends `event` inside the caller's write transaction (it commits or rolls back with the
/// caller's change). Fills id and time when empty. Returns the event's id.
std::string putEvent(store::Tx& tx, const OutboxEvent& event);

/// Events in outbox order (oldest first) matching `q`.
std::vector<OutboxEvent> listEvents(store::Tx& tx, const OutboxQuery& q);

/// The event as EventBridge delivers it: {"version","id","detail-type","source","account",
/// "time","region","resources","detail"} (JSON text).
std::string eventJson(const OutboxEvent& event);

/// Removes every event of `source` (every event when empty): dev-mode state reset, in the
/// caller's transaction.
void clearEvents(store::Tx& tx, const std::string& source = {});

}  // namespace citadel::runtime
