#include "app/dev_endpoints.h"

#include <boost/json.hpp>
#include <cmath>
#include <mutex>

#include "app/admin_event.h"
#include "core/log.h"
#include "core/time.h"
#include "protocol/model.h"
#include "runtime/event_outbox.h"

namespace citadel::app {
namespace json = boost::json;

namespace {

void answer(HttpResponse& resp, int status, const json::object& body) {
  resp.status = status;
  resp.setHeader("Content-Type", "application/json");
  resp.body = json::serialize(body);
}

void refuse(HttpResponse& resp, int status, const std::string& code, const std::string& message) {
  answer(resp, status, json::object{{"error", code}, {"message", message}});
}

/// Serializes resets and time moves (each is one consistent step).
std::mutex& devMutex() {
  static std::mutex mu;
  return mu;
}

}  // namespace

Result<json::object> resetState(runtime::Services& services,
                                const std::optional<std::string>& service,
                                const std::string& region) {
  const runtime::ServiceSpec* only = nullptr;
  if (service) {
    only = services.service(*service);
    if (!only)
      return AwsError{"InvalidParameterValue",
                      "Unknown service \"" + *service + "\"; known: the services citadel "
                      "implements (see /_localstack/health).",
                      400,
                      true,
                      {}};
  }
  log::warn("state reset", {{"scope", service ? *service : std::string("all")}});
  // Queued (group-committed) records land before the wipe instead of after it.
  services.events.flush();
  auto tx = services.store.begin(true);
  json::array wiped;
  for (const auto& spec : services.all()) {
    if (only && &spec != only) continue;
    if (spec.reset) {
      spec.reset(services, *tx);
      wiped.push_back(json::string(spec.model));
    }
  }
  if (!only) services.scheduler.cancelAll(*tx);
  std::string account = services.identity.defaultAccount(*tx).value_or("");
  json::object params{{"scope", service ? *service : std::string("all")}};
  if (!account.empty()) services.events.append(*tx, adminEvent("ResetState", account, region, params));
  tx->commit();
  log::info("state reset done", {{"scope", service ? *service : std::string("all")}});
  return json::object{{"reset", service ? json::value(json::string(*service)) : json::value("all")},
                      {"services", std::move(wiped)},
                      {"scheduled_jobs", only ? "kept" : "cancelled"}};
}

DevEndpoints::DevEndpoints(runtime::Services& services, DevSwitches switches, std::string version,
                           const InitScripts* init)
    : services_(services), switches_(switches), version_(std::move(version)), init_(init) {}

bool DevEndpoints::handle(const HttpRequest& req, HttpResponse& resp) {
  const std::string& p = req.path;
  if (p == "/_citadel/reset" || p == "/_localstack/state/reset" || p == "/moto-api/reset") {
    if (req.method != "POST") return false;
    reset(req, resp);
    return true;
  }
  if (p == "/_citadel/time" && req.method == "POST") {
    time(req, resp);
    return true;
  }
  // GET /_citadel/events[?source=aws.ssm&account=..&detail-type=..&after=SEQ]: the service
  // events waiting in the shared outbox (runtime/event_outbox.h), oldest first, for tests; dev
  // mode only, like the endpoints above.
  if (p == "/_citadel/events" && req.method == "GET") {
    if (!switches_.allow_reset && !switches_.allow_time_travel) {
      refuse(resp, 403, "AccessDenied", "The event outbox is readable only with --dev.");
      return true;
    }
    runtime::OutboxQuery q;
    auto param = [&req](const char* name) {
      const QueryParam* v = req.queryParam(name);
      return v ? v->value : std::string();
    };
    q.source = param("source");
    q.account = param("account");
    q.detail_type = param("detail-type");
    const std::string after = param("after");
    if (!after.empty() && after.size() < 19 &&
        after.find_first_not_of("0123456789") == std::string::npos)
      q.after_seq = std::stoll(after);
    auto tx = services_.store.begin(false);
    json::array events;
    int64_t last = q.after_seq;
    for (const auto& e : runtime::listEvents(*tx, q)) {
      events.push_back(json::parse(runtime::eventJson(e)));
      last = e.seq;
    }
    answer(resp, 200, json::object{{"events", std::move(events)}, {"last_seq", last}});
    return true;
  }
  if (p == "/_localstack/health" && (req.method == "GET" || req.method == "HEAD")) {
    resp.status = 200;
    resp.setHeader("Content-Type", "application/json");
    resp.body = localstackHealth();
    return true;
  }
  if (p == "/_localstack/init" && req.method == "GET") {
    json::object o = init_ ? init_->localstackJson() : json::object{};
    answer(resp, 200, o);
    return true;
  }
  return false;
}

void DevEndpoints::reset(const HttpRequest& req, HttpResponse& resp) {
  if (!switches_.allow_reset)
    return refuse(resp, 403, "AccessDenied",
                  "State reset is off; start citadel with --dev or --allow-reset.");
  std::optional<std::string> service;
  if (const QueryParam* q = req.queryParam("service"); q && !q->value.empty()) service = q->value;
  std::lock_guard lock(devMutex());
  try {
    auto r = resetState(services_, service, services_.config.default_region);
    if (!r.ok()) return refuse(resp, r.error().http_status, r.error().code, r.error().message);
    answer(resp, 200, *r);
  } catch (const std::exception& e) {
    log::error("state reset failed", {{"error", e.what()}});
    refuse(resp, 500, "InternalFailure", "State reset failed; nothing was changed.");
  }
}

void DevEndpoints::time(const HttpRequest& req, HttpResponse& resp) {
  if (!switches_.allow_time_travel)
    return refuse(resp, 403, "AccessDenied",
                  "Time travel is off; start citadel with --dev or --allow-time-travel.");
  boost::system::error_code ec;
  json::value doc = json::parse(req.body, ec);
  auto number = [](const json::value* v) -> std::optional<double> {
    if (!v || !v->is_number()) return std::nullopt;
    double d = v->to_number<double>();
    if (!std::isfinite(d) || std::fabs(d) > 1e10) return std::nullopt;  // ~300 years
    return d;
  };
  const json::object* o = (!ec && doc.is_object()) ? &doc.as_object() : nullptr;
  std::optional<double> advance = o ? number(o->if_contains("advance_seconds")) : std::nullopt;
  std::optional<double> offset = o ? number(o->if_contains("offset_seconds")) : std::nullopt;
  if (!o || o->size() != 1 || (advance.has_value() == offset.has_value()))
    return refuse(resp, 400, "ValidationException",
                  "Send exactly one of {\"advance_seconds\": N} or {\"offset_seconds\": N} "
                  "(a number of seconds).");
  std::lock_guard lock(devMutex());
  int64_t before = Clock::offsetMillis();
  int64_t after = advance ? before + static_cast<int64_t>(std::llround(*advance * 1000))
                          : static_cast<int64_t>(std::llround(*offset * 1000));
  Clock::setOffsetMillis(after);
  log::warn("clock moved (test time source)",
            {{"offset_ms", std::to_string(after)}, {"previous_offset_ms", std::to_string(before)}});
  int ran = services_.scheduler.runDue();
  answer(resp, 200,
         json::object{{"now", formatIso8601(Clock::now(), true)},
                      {"offset_seconds", static_cast<double>(after) / 1000.0},
                      {"jobs_run", ran}});
}

std::string DevEndpoints::localstackHealth() const {
  // AWS-compatible emulators answer {"services": {name: state}, "edition", "version"}; the
  // services citadel implements are "running", the others it routes and validates are
  // "available" (they answer NotImplemented).
  json::object services;
  for (const auto& name : protocol::Models::names()) services[name] = "available";
  for (const auto& s : services_.all()) services[s.model] = "running";
  return json::serialize(json::object{{"services", std::move(services)},
                                      {"edition", "community"},
                                      {"version", version_}});
}

}  // namespace citadel::app
