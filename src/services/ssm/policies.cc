// SSM Parameter Store: EventBridge events ("Parameter Store Change", "Parameter Store Policy
// Action") into the shared outbox, and parameter policies run as scheduler jobs.
//
// AWS: https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-policies.html
// AWS: https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-cwe.html
#include "core/log.h"
#include "runtime/event_outbox.h"
#include "runtime/services.h"
#include "services/ssm/internal.h"

namespace citadel::ssm {

namespace {

std::string jobKey(const std::string& account, const std::string& region, const std::string& name) {
  return account + "/" + region + "/" + name;
}

void outbox(store::Tx& tx, const std::string& account, const std::string& region,
            const std::string& name, const char* detail_type, json::object detail) {
  runtime::OutboxEvent e;
  e.detail_type = detail_type;
  e.source = "aws.ssm";
  e.account = account;
  e.region = region;
  e.resources = {parameterArn(account, region, name)};
  e.detail = json::serialize(detail);
  runtime::putEvent(tx, e);
}

void policyActionEvent(store::Tx& tx, const std::string& account, const std::string& region,
                       const ParamRecord& rec, const char* policy_type, std::string reason) {
  json::object d;
  d["parameter-name"] = rec.name;
  d["parameter-type"] = rec.tier;
  d["policy-type"] = policy_type;
  d["action-status"] = "Finished";
  d["action-reason"] = std::move(reason);
  outbox(tx, account, region, rec.name, "Parameter Store Policy Action", std::move(d));
}

std::string unitText(const Policy& p) {
  std::string unit = p.unit == "Hours" ? "hour" : "day";
  return std::to_string(p.amount) + " " + unit + (p.amount == 1 ? "" : "s");
}

/// The job's parameter and its policy of `type`, when both still exist.
struct Target {
  CurrentParam param;
  Policy policy;
  std::vector<Policy> all;
};
std::optional<Target> jobTarget(store::Tx& tx, const runtime::Job& job, PolicyType type) {
  auto name = json::parse(job.payload).as_object().at("name").as_string();
  auto cur = loadCurrentTx(tx, job.account_id, job.region, std::string(name));
  if (!cur || cur->rec.policies.empty()) return std::nullopt;
  // Validated when stored; the "now" bound only applies at PutParameter.
  auto policies = parsePolicies(cur->rec.policies, SysTime{});
  if (!policies.ok()) return std::nullopt;
  for (const Policy& p : *policies)
    if (p.type == type) return Target{std::move(*cur), p, *policies};
  return std::nullopt;
}

Result<void> runExpiration(runtime::Services& s, store::Tx& tx, const runtime::Job& job) {
  auto t = jobTarget(tx, job, PolicyType::kExpiration);
  if (!t) return okResult();
  if (Clock::now() < t->policy.timestamp) {  // the policy changed since: not due yet
    runtime::Job again = job;
    again.due = t->policy.timestamp;
    s.scheduler.schedule(tx, again);
    return okResult();
  }
  deleteParam(s, tx, job.account_id, job.region, t->param.rec.name);
  policyActionEvent(tx, job.account_id, job.region, t->param.rec, "Expiration",
                    "Deleted parameter as the expiration date was met.");
  changeEvent(tx, job.account_id, job.region, t->param.rec, "Delete");
  log::info("ssm parameter expired",
            {{"account", job.account_id}, {"region", job.region}, {"name", t->param.rec.name}});
  return okResult();
}

Result<void> runExpirationNotification(runtime::Services&, store::Tx& tx, const runtime::Job& job) {
  auto t = jobTarget(tx, job, PolicyType::kExpirationNotification);
  if (!t) return okResult();
  std::string when;
  for (const Policy& p : t->all)
    if (p.type == PolicyType::kExpiration) when = formatIso8601(p.timestamp);
  policyActionEvent(tx, job.account_id, job.region, t->param.rec, "ExpirationNotification",
                    "Expiration date of the parameter is approaching: the parameter expires " +
                        (when.empty() ? std::string("soon") : "at " + when) + " (notification " +
                        unitText(t->policy) + " before).");
  return okResult();
}

Result<void> runNoChange(runtime::Services& s, store::Tx& tx, const runtime::Job& job) {
  auto t = jobTarget(tx, job, PolicyType::kNoChangeNotification);
  if (!t) return okResult();
  const int64_t due = t->param.rec.modified_ms + t->policy.periodMillis();
  if (toEpochMillis(Clock::now()) < due) {  // changed since the job was set: wait again
    runtime::Job again = job;
    again.due = fromEpochMillis(due);
    s.scheduler.schedule(tx, again);
    return okResult();
  }
  // One notification per unchanged stretch; the next change re-arms the policy.
  policyActionEvent(tx, job.account_id, job.region, t->param.rec, "NoChangeNotification",
                    "The parameter has not been changed for " + unitText(t->policy) + ".");
  return okResult();
}

}  // namespace

void changeEvent(store::Tx& tx, const std::string& account, const std::string& region,
                 const ParamRecord& rec, const char* operation) {
  json::object d;
  d["operation"] = operation;
  d["name"] = rec.name;
  d["type"] = rec.type;
  d["description"] = rec.description;
  outbox(tx, account, region, rec.name, "Parameter Store Change", std::move(d));
}

void cancelPolicies(runtime::Services& s, store::Tx& tx, const std::string& account,
                    const std::string& region, const std::string& name) {
  const std::string key = jobKey(account, region, name);
  for (const char* kind : {kExpirationJob, kExpirationNotificationJob, kNoChangeJob})
    s.scheduler.cancel(tx, kind, key);
}

void schedulePolicies(runtime::Services& s, store::Tx& tx, const std::string& account,
                      const std::string& region, const ParamRecord& rec) {
  cancelPolicies(s, tx, account, region, rec.name);
  if (rec.policies.empty()) return;
  auto policies = parsePolicies(rec.policies, SysTime{});
  if (!policies.ok()) return;
  runtime::Job job;
  job.key = jobKey(account, region, rec.name);
  job.account_id = account;
  job.region = region;
  job.payload = json::serialize(json::object{{"name", rec.name}});
  SysTime expires{};
  for (const Policy& p : *policies)
    if (p.type == PolicyType::kExpiration) expires = p.timestamp;
  bool scheduled = false;
  for (const Policy& p : *policies) {
    switch (p.type) {
      case PolicyType::kExpiration:
        job.kind = kExpirationJob;
        job.due = p.timestamp;
        break;
      case PolicyType::kExpirationNotification:
        // AWS: the notification is relative to the Expiration policy; without one it is inert.
        if (expires == SysTime{}) continue;
        job.kind = kExpirationNotificationJob;
        job.due = expires - std::chrono::milliseconds(p.periodMillis());
        break;
      case PolicyType::kNoChangeNotification:
        job.kind = kNoChangeJob;
        job.due = fromEpochMillis(rec.modified_ms + p.periodMillis());
        break;
    }
    s.scheduler.schedule(tx, job);
    scheduled = true;
  }
  if (scheduled) tx.afterCommit([&s] { s.scheduler.wake(); });
}

void registerPolicyJobs(runtime::Services& s) {
  s.scheduler.registerKind(kExpirationJob, runExpiration);
  s.scheduler.registerKind(kExpirationNotificationJob, runExpirationNotification);
  s.scheduler.registerKind(kNoChangeJob, runNoChange);
}

json::array policiesDoc(const std::string& policies, int64_t modified_ms) {
  json::array out;
  if (policies.empty()) return out;
  auto parsed = parsePolicies(policies, SysTime{});
  if (!parsed.ok()) return out;
  const SysTime now = Clock::now();
  SysTime expires{};
  for (const Policy& p : *parsed)
    if (p.type == PolicyType::kExpiration) expires = p.timestamp;
  for (const Policy& p : *parsed) {
    json::object o;
    o["PolicyText"] = p.text;
    const char* type = "Expiration";
    const char* status = "Pending";
    if (p.type == PolicyType::kExpirationNotification) {
      type = "ExpirationNotification";
      if (expires != SysTime{} && now >= expires - std::chrono::milliseconds(p.periodMillis()))
        status = "Finished";
    } else if (p.type == PolicyType::kNoChangeNotification) {
      type = "NoChangeNotification";
      if (toEpochMillis(now) >= modified_ms + p.periodMillis()) status = "Finished";
    }
    o["PolicyType"] = type;
    o["PolicyStatus"] = status;
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace citadel::ssm
