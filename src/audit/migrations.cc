// Schema of the CloudTrail event history.

#include "audit/audit.h"

namespace citadel::audit {

std::vector<store::Migration> migrations() {
  // Every LookupEvents attribute is served by an index whose suffix is
  // (event_time, event_id): the query walks it backwards, newest first, and the NextToken
  // cursor is a range bound on that suffix.
  // Resource types and names live in their own tables, deduplicated per event, so a page is
  // one ordered index walk for them too.
  return {
      {"audit", 1,
       "CREATE TABLE audit_events("
       "  event_id TEXT NOT NULL PRIMARY KEY,"
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
       "CREATE INDEX audit_events_by_time ON audit_events(account_id, region, event_time, "
       "  event_id);"
       "CREATE INDEX audit_events_by_name ON audit_events(account_id, region, event_name, "
       "  event_time, event_id);"
       "CREATE INDEX audit_events_by_source ON audit_events(account_id, region, event_source, "
       "  event_time, event_id);"
       "CREATE INDEX audit_events_by_user ON audit_events(account_id, region, username, "
       "  event_time, event_id);"
       "CREATE INDEX audit_events_by_key ON audit_events(account_id, region, access_key_id, "
       "  event_time, event_id);"
       "CREATE INDEX audit_events_by_read_only ON audit_events(account_id, region, read_only, "
       "  event_time, event_id);"
       "CREATE INDEX audit_events_by_age ON audit_events(event_time);"
       "CREATE TABLE audit_event_resource_types("
       "  account_id TEXT NOT NULL,"
       "  region TEXT NOT NULL,"
       "  resource_type TEXT NOT NULL,"
       "  event_time INTEGER NOT NULL,"
       "  event_id TEXT NOT NULL,"
       "  PRIMARY KEY(account_id, region, resource_type, event_time, event_id)"
       ") WITHOUT ROWID;"
       "CREATE TABLE audit_event_resource_names("
       "  account_id TEXT NOT NULL,"
       "  region TEXT NOT NULL,"
       "  resource_name TEXT NOT NULL,"
       "  event_time INTEGER NOT NULL,"
       "  event_id TEXT NOT NULL,"
       "  PRIMARY KEY(account_id, region, resource_name, event_time, event_id)"
       ") WITHOUT ROWID;"},
  };
}

}  // namespace citadel::audit
