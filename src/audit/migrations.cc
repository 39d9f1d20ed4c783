// Schema of the CloudTrail event history.

#include "audit/audit.h"

namespace citadel::audit {

std::vector<store::Migration> migrations() {
  // `scope` is a 63-bit hash of (account, region): CloudTrail event history is per account
  // and region, and an integer prefix keeps every index small and cheap to compare (the
  // account_id and region columns are still checked, so a collision cannot leak events).
  // `seq` (the rowid) orders events committed in the same millisecond; SQLite appends it to
  // every index, so each LookupEvents attribute is one backward walk of an index on
  // (scope, attribute, event_time[, seq]) and the NextToken cursor is a range bound on it.
  // Resource types and names live in their own tables, one row per distinct value per event.
  // Every index costs each of the thousands of inserts per second, so there are none for
  // ReadOnly (half the events match: a filtered walk of the time index is as good) nor for
  // the retention purge (events arrive in time order: it walks seq, the rowid).
  return {
      {"audit", 1,
       "CREATE TABLE audit_events("
       "  seq INTEGER PRIMARY KEY,"
       "  event_id TEXT NOT NULL UNIQUE,"
       "  scope INTEGER NOT NULL,"
       "  event_time INTEGER NOT NULL,"
       "  account_id TEXT NOT NULL,"
       "  region TEXT NOT NULL,"
       "  event_name TEXT NOT NULL,"
       "  event_source TEXT NOT NULL,"
       "  username TEXT NOT NULL,"
       "  access_key_id TEXT NOT NULL,"
       "  read_only INTEGER NOT NULL,"
       "  resources TEXT NOT NULL,"
       "  record TEXT NOT NULL);"
       "CREATE INDEX audit_events_by_time ON audit_events(scope, event_time);"
       "CREATE INDEX audit_events_by_name ON audit_events(scope, event_name, event_time);"
       "CREATE INDEX audit_events_by_source ON audit_events(scope, event_source, event_time);"
       "CREATE INDEX audit_events_by_user ON audit_events(scope, username, event_time);"
       "CREATE INDEX audit_events_by_key ON audit_events(scope, access_key_id, event_time);"
       "CREATE TABLE audit_event_resource_types("
       "  scope INTEGER NOT NULL,"
       "  resource_type TEXT NOT NULL,"
       "  event_time INTEGER NOT NULL,"
       "  seq INTEGER NOT NULL,"
       "  PRIMARY KEY(scope, resource_type, event_time, seq)"
       ") WITHOUT ROWID;"
       "CREATE TABLE audit_event_resource_names("
       "  scope INTEGER NOT NULL,"
       "  resource_name TEXT NOT NULL,"
       "  event_time INTEGER NOT NULL,"
       "  seq INTEGER NOT NULL,"
       "  PRIMARY KEY(scope, resource_name, event_time, seq)"
       ") WITHOUT ROWID;"},
      // Version 2: besides the event id's unique index, one index per event instead of five
      // plus resource rows. The time index
      // is ordered by (event_time, seq) like the pages and carries the attribute columns,
      // so a lookup filters it in order without reading the records;
      // audit_seconds says in which seconds a value occurs, so a rare value over a busy
      // history still reads only the seconds that hold it. A busy second costs one row per
      // distinct value there, not one index entry per event per attribute.
      {"audit", 2,
       "DROP INDEX audit_events_by_time;"
       "DROP INDEX audit_events_by_name;"
       "DROP INDEX audit_events_by_source;"
       "DROP INDEX audit_events_by_user;"
       "DROP INDEX audit_events_by_key;"
       "CREATE INDEX audit_events_by_time ON audit_events(scope, event_time, seq, event_name,"
       "  event_source, username, access_key_id, read_only);"
       "CREATE TABLE audit_seconds("
       "  scope INTEGER NOT NULL,"
       "  attr INTEGER NOT NULL,"  // 1 EventName 2 EventSource 3 Username 4 AccessKeyId
       "  value TEXT NOT NULL,"    // 6 ResourceType 7 ResourceName
       "  second INTEGER NOT NULL,"
       "  PRIMARY KEY(scope, attr, value, second)"
       ") WITHOUT ROWID;"
       "INSERT INTO audit_seconds SELECT scope, 1, event_name, event_time / 1000 FROM audit_events"
       "  WHERE event_name <> '' ON CONFLICT DO NOTHING;"
       "INSERT INTO audit_seconds SELECT scope, 2, event_source, event_time / 1000"
       "  FROM audit_events WHERE event_source <> '' ON CONFLICT DO NOTHING;"
       "INSERT INTO audit_seconds SELECT scope, 3, username, event_time / 1000 FROM audit_events"
       "  WHERE username <> '' ON CONFLICT DO NOTHING;"
       "INSERT INTO audit_seconds SELECT scope, 4, access_key_id, event_time / 1000"
       "  FROM audit_events WHERE access_key_id <> '' ON CONFLICT DO NOTHING;"
       "INSERT INTO audit_seconds SELECT scope, 6, resource_type, event_time / 1000"
       "  FROM audit_event_resource_types WHERE true ON CONFLICT DO NOTHING;"
       "INSERT INTO audit_seconds SELECT scope, 7, resource_name, event_time / 1000"
       "  FROM audit_event_resource_names WHERE true ON CONFLICT DO NOTHING;"
       "DROP TABLE audit_event_resource_types;"
       "DROP TABLE audit_event_resource_names;"},
      // Version 3: events are stored a group commit at a time, one row per (account, region,
      // second) of each commit holding its events LZ4-compressed (audit/batch_codec.h):
      // writing an event costs its share of one row instead of a row and two index entries.
      // Lookups walk the seconds (audit_seconds, or the batches' own index) and filter the
      // decoded events. Event ids that do not carry their event's time (anything but a
      // version-7 UUID of a millisecond in the event's second) are indexed in
      // audit_event_ids. The version-2 rows are then moved into batches in C++ (compression
      // is not SQL), in the same transaction, and audit_events is dropped.
      {"audit", 3,
       "DROP INDEX audit_events_by_time;"
       "CREATE TABLE audit_batches("
       "  seq INTEGER PRIMARY KEY,"  // sequence number of the first event; one per event
       "  scope INTEGER NOT NULL,"
       "  second INTEGER NOT NULL,"
       "  account_id TEXT NOT NULL,"
       "  region TEXT NOT NULL,"
       "  count INTEGER NOT NULL,"
       "  min_ms INTEGER NOT NULL,"  // earliest and latest event time in the batch
       "  max_ms INTEGER NOT NULL,"
       "  raw_size INTEGER NOT NULL,"
       "  events BLOB NOT NULL);"  // last: reading the other columns skips its pages
       // A second's batches latest event first: a lookup reads them in that order and stops
       // as soon as no further batch can hold an event of its page.
       "CREATE INDEX audit_batches_by_second ON audit_batches(scope, second, max_ms, seq);"
       "CREATE INDEX audit_batches_by_age ON audit_batches(second);"
       "CREATE TABLE audit_event_ids("
       "  event_id TEXT PRIMARY KEY,"
       "  scope INTEGER NOT NULL,"
       "  event_time INTEGER NOT NULL"
       ") WITHOUT ROWID;",
       moveVersion2Rows},
  };
}

}  // namespace citadel::audit
