#include "runtime/event_outbox.h"

#include <boost/json.hpp>

#include "core/ids.h"

namespace citadel::runtime {

namespace {

constexpr const char* kOutboxV1 =
    "CREATE TABLE IF NOT EXISTS event_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "id TEXT NOT NULL, version TEXT NOT NULL, detail_type TEXT NOT NULL, source TEXT NOT NULL, "
    "account_id TEXT NOT NULL, time_ms INTEGER NOT NULL, region TEXT NOT NULL, "
    "resources TEXT NOT NULL, detail TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS event_outbox_source ON event_outbox (source, seq)";

}  // namespace

std::vector<store::Migration> eventOutboxMigrations() { return {{"outbox", 1, kOutboxV1}}; }

std::string putEvent(store::Tx& tx, const OutboxEvent& event) {
  const std::string id = event.id.empty() ? newUuid() : event.id;
  const SysTime t = event.time == SysTime{} ? Clock::now() : event.time;
  boost::json::array resources;
  for (const auto& r : event.resources) resources.emplace_back(r);
  tx.exec(
      "INSERT INTO event_outbox (id, version, detail_type, source, account_id, time_ms, region, "
      "resources, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {id, event.version, event.detail_type, event.source, event.account, toEpochMillis(t),
       event.region, boost::json::serialize(resources), event.detail});
  return id;
}

std::vector<OutboxEvent> listEvents(store::Tx& tx, const OutboxQuery& q) {
  std::string sql =
      "SELECT seq, id, version, detail_type, source, account_id, time_ms, region, resources, "
      "detail FROM event_outbox WHERE seq > ?";
  std::vector<store::Value> params{q.after_seq};
  if (!q.source.empty()) {
    sql += " AND source = ?";
    params.emplace_back(q.source);
  }
  if (!q.account.empty()) {
    sql += " AND account_id = ?";
    params.emplace_back(q.account);
  }
  if (!q.detail_type.empty()) {
    sql += " AND detail_type = ?";
    params.emplace_back(q.detail_type);
  }
  sql += " ORDER BY seq LIMIT ?";
  params.emplace_back(static_cast<int64_t>(q.limit));
  std::vector<OutboxEvent> out;
  for (const auto& r : tx.query(sql, params)) {
    OutboxEvent e;
    e.seq = r.integer(0);
    e.id = r.text(1);
    e.version = r.text(2);
    e.detail_type = r.text(3);
    e.source = r.text(4);
    e.account = r.text(5);
    e.time = fromEpochMillis(r.integer(6));
    e.region = r.text(7);
    boost::system::error_code ec;
    auto res = boost::json::parse(r.text(8), ec);
    if (!ec && res.is_array())
      for (const auto& v : res.as_array())
        if (v.is_string()) e.resources.emplace_back(v.as_string());
    e.detail = r.text(9);
    out.push_back(std::move(e));
  }
  return out;
}

std::string eventJson(const OutboxEvent& event) {
  boost::json::object o;
  o["version"] = event.version;
  o["id"] = event.id;
  o["detail-type"] = event.detail_type;
  o["source"] = event.source;
  o["account"] = event.account;
  o["time"] = formatIso8601(event.time);
  o["region"] = event.region;
  boost::json::array resources;
  for (const auto& r : event.resources) resources.emplace_back(r);
  o["resources"] = std::move(resources);
  boost::system::error_code ec;
  auto detail = boost::json::parse(event.detail, ec);
  o["detail"] = ec ? boost::json::value(boost::json::object{}) : std::move(detail);
  return boost::json::serialize(o);
}

void clearEvents(store::Tx& tx, const std::string& source) {
  if (source.empty())
    tx.exec("DELETE FROM event_outbox");
  else
    tx.exec("DELETE FROM event_outbox WHERE source = ?", {source});
}

}  // namespace citadel::runtime
