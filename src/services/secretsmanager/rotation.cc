// Secrets Manager: RotateSecret / CancelRotateSecret, the four-step rotation through the
// function-invocation interface, and the scheduler jobs (rotation when due, deletion after the
// recovery window).
#include <boost/json.hpp>

#include "core/ids.h"
#include "core/log.h"
#include "runtime/functions.h"
#include "runtime/audit_record.h"
#include "runtime/services.h"
#include "services/secretsmanager/internal.h"
#include "services/secretsmanager/schedule.h"

namespace citadel::secretsmanager {

namespace {

/// AWS records rotation milestones and the end of a recovery window as service events of
/// secretsmanager.amazonaws.com ("RotationStarted", "RotationSucceeded", "RotationFailed" ...).
void serviceEvent(runtime::Services& s, store::Tx& tx, const std::string& name,
                  const std::string& account, const std::string& region, const std::string& arn,
                  const json::object& additional) {
  runtime::ServiceEvent ev;
  ev.event_source = kServicePrincipal;
  ev.event_name = name;
  ev.account_id = account;
  ev.region = region;
  ev.time = Clock::now();
  ev.invoked_by = kServicePrincipal;
  ev.resources = {{"AWS::SecretsManager::Secret", arn}};
  ev.additional_event_data = json::serialize(additional);
  runtime::appendServiceEvent(s, tx, ev);
}

/// The SecretVersions a rotation function works through: the secrets of the rotating request's
/// account and region, read and written in its transaction.
class RotationVersions : public runtime::SecretVersions {
 public:
  explicit RotationVersions(RequestContext& ctx) : ctx_(ctx) {}

  Result<Description> describe(const std::string& secret_id) override {
    auto snap = findSecretForUpdate(ctx_, secret_id);
    if (!snap) return notFound();
    Description d;
    d.arn = snap->record.arn;
    d.rotation_enabled = snap->record.rotation_enabled;
    for (const auto& v : snap->versions)
      if (!v.stages.empty()) d.version_stages[v.version_id] = v.stages;
    return d;
  }

  Result<std::string> getValue(const std::string& secret_id, const std::string& version_id,
                               const std::string& stage) override {
    auto snap = findSecretForUpdate(ctx_, secret_id);
    if (!snap) return notFound();
    if (snap->record.deleted()) return markedForDeletion();
    TRY_ASSIGN(const VersionRecord* v, selectVersion(*snap, version_id, stage));
    if (v->binary)
      return smError("ResourceNotFoundException",
                     "Secrets Manager can't find the specified secret value: the version holds "
                     "SecretBinary.");
    TRY_ASSIGN(Plain value, openValue(ctx_, snap->record, *v));
    return std::move(value.bytes);
  }

  Result<void> putPending(const std::string& secret_id, const std::string& token,
                          const std::string& secret_string) override {
    TRY_ASSIGN(Snapshot snap, requireLive(ctx_, secret_id));
    TRY_ASSIGN(std::string version,
               addVersion(ctx_, snap, token, Plain(secret_string, false), {kPending}));
    (void)version;
    return okResult();
  }

  Result<void> updateStage(const std::string& secret_id, const std::string& stage,
                           const std::string& move_to_version_id,
                           const std::string& remove_from_version_id) override {
    TRY_ASSIGN(Snapshot snap, requireLive(ctx_, secret_id));
    TRY_VOID(moveStage(snap, stage, move_to_version_id, remove_from_version_id));
    snap.record.last_changed = Clock::now();
    updateSecret(ctx_.tx(), snap.record);
    saveStages(ctx_, snap);
    return okResult();
  }

  Result<std::string> randomPassword(const std::string& exclude_characters) override {
    PasswordOptions o;
    o.exclude_characters = exclude_characters;
    return secretsmanager::randomPassword(o);
  }

 private:
  RequestContext& ctx_;
};

std::optional<RotationSchedule> scheduleOf(const SecretRecord& r) {
  if (r.rotation_days <= 0 && r.rotation_schedule.empty()) return std::nullopt;
  auto s = parseRotationRules(r.rotation_days, r.rotation_schedule, r.rotation_duration);
  if (!s.ok()) return std::nullopt;
  return std::move(s).value();
}

/// A request context for work the scheduler starts: the secret's account acting through
/// Secrets Manager (the KMS calls it makes are recorded as invoked by the service).
void jobContext(RequestContext& ctx, runtime::Services& s, const std::string& account,
                const std::string& region) {
  ctx.request_id = newUuid();
  ctx.time = Clock::now();
  ctx.services = &s;
  ctx.service = "secretsmanager";
  ctx.event_source = kServicePrincipal;
  ctx.operation = "RotateSecret";
  ctx.region = region;
  ctx.account_id = account;
  ctx.principal.type = runtime::Principal::Type::kRoot;
  ctx.principal.arn = "arn:aws:iam::" + account + ":root";
  ctx.principal.account_id = account;
  ctx.principal.principal_id = account;
  ctx.principal.user_name = "root";
  ctx.source_ip = kServicePrincipal;
  ctx.user_agent = kServicePrincipal;
  ctx.read_only = false;
}

/// Rotates a secret from a scheduler job, in its own write transaction.
void rotateFromScheduler(runtime::Services& s, const std::string& arn, const std::string& account,
                         const std::string& region) {
  try {
    RequestContext ctx;
    jobContext(ctx, s, account, region);
    auto outcome = runRotation(ctx, arn, "");
    if (!outcome.ok() && outcome.error().code == "InternalFailure")
      log::warn("scheduled rotation could not run",
                {{"secret", arn}, {"error", outcome.error().message}});
    if (ctx.tx_) ctx.tx_->commit();
  } catch (const std::exception& e) {
    log::error("scheduled rotation failed", {{"secret", arn}, {"error", e.what()}});
  }
}

Result<void> runRotateJob(runtime::Services& s, store::Tx& tx, const runtime::Job& job) {
  auto snap = loadSnapshot(tx, job.account_id, job.region, job.key);
  if (!snap || snap->record.deleted() || !snap->record.rotation_enabled || snap->record.isReplica())
    return okResult();
  // If the process stops before the rotation ends, the job runs again in ten minutes; the
  // rotation replaces this guard with the next window when it finishes.
  runtime::Job guard = job;
  guard.due = Clock::now() + std::chrono::minutes(10);
  s.scheduler.schedule(tx, guard);
  tx.afterCommit([&s, arn = job.key, account = job.account_id, region = job.region] {
    rotateFromScheduler(s, arn, account, region);
  });
  return okResult();
}

Result<void> runDeleteJob(runtime::Services& s, store::Tx& tx, const runtime::Job& job) {
  auto snap = loadSnapshot(tx, job.account_id, job.region, job.key);
  if (!snap || !snap->record.deleted()) return okResult();
  if (*snap->record.deletion_date > Clock::now()) {
    runtime::Job again = job;
    again.due = *snap->record.deletion_date;
    s.scheduler.schedule(tx, again);
    return okResult();
  }
  s.scheduler.cancel(tx, kRotateJob, snap->record.arn);
  deleteSecretRows(tx, snap->record);
  serviceEvent(s, tx, "DeleteSecret", job.account_id, job.region, snap->record.arn,
               json::object{{"SecretId", snap->record.arn}, {"RecoveryWindowEnded", true}});
  return okResult();
}

}  // namespace

void registerJobs(runtime::Services& s) {
  s.scheduler.registerKind(kRotateJob, runRotateJob);
  s.scheduler.registerKind(kDeleteJob, runDeleteJob);
}

void scheduleRotation(runtime::Services& s, store::Tx& tx, const SecretRecord& r) {
  auto sched = scheduleOf(r);
  if (!r.rotation_enabled || r.deleted() || r.isReplica() || !sched) {
    s.scheduler.cancel(tx, kRotateJob, r.arn);
    tx.exec("UPDATE sm_secrets SET next_rotation_ms = NULL WHERE arn = ?", {r.arn});
    invalidateAfterCommit(tx, r.arn);
    return;
  }
  SysTime now = Clock::now();
  auto window = nextWindow(*sched, r.last_rotated.value_or(now));
  if (window && window->end < now) window = nextWindow(*sched, now);
  if (!window) {
    s.scheduler.cancel(tx, kRotateJob, r.arn);
    return;
  }
  runtime::Job job;
  job.kind = kRotateJob;
  job.key = r.arn;
  job.due = window->start;
  job.account_id = r.account_id;
  job.region = r.region;
  s.scheduler.schedule(tx, job);
  tx.exec("UPDATE sm_secrets SET next_rotation_ms = ? WHERE arn = ?",
          {toEpochMillis(window->end), r.arn});
  invalidateAfterCommit(tx, r.arn);
  tx.afterCommit([&s] { s.scheduler.wake(); });
}

Result<void> runRotation(RequestContext& ctx, const std::string& arn, const std::string& token_in) {
  runtime::Services& s = *ctx.services;
  TRY_ASSIGN(Snapshot snap, requireLive(ctx, arn));
  if (snap.record.rotation_lambda.empty())
    return smError("InvalidRequestException",
                   "No Lambda rotation function ARN is associated with this secret.");
  store::Tx& tx = ctx.tx();
  std::string token = token_in;
  const VersionRecord* current = snap.byStage(kCurrent);
  if (const VersionRecord* stale = snap.byStage(kPending); stale && stale != current) {
    // AWS: a rotation that did not finish is reattempted with its version.
    if (token.empty()) token = stale->version_id;
  }
  if (token.empty()) token = newUuid();
  if (const VersionRecord* v = snap.byId(token); v && v == current) return okResult();
  // INVARIANT (runtime/functions.h): before createSecret the version `token` exists with the
  // label AWSPENDING (without a value when new) and the secret reports rotation enabled.
  if (!snap.byId(token)) {
    VersionRecord placeholder;
    placeholder.version_id = token;
    placeholder.created = Clock::now();
    insertVersion(tx, snap.record, placeholder);
    snap.versions.push_back(std::move(placeholder));
  }
  const VersionRecord* pending_holder = snap.byStage(kPending);
  std::string pending_from =
      pending_holder && pending_holder->version_id != token ? pending_holder->version_id : "";
  TRY_VOID(moveStage(snap, kPending, token, pending_from));
  saveStages(ctx, snap);
  serviceEvent(s, tx, "RotationStarted", snap.record.account_id, snap.record.region, arn,
               json::object{{"SecretId", arn}});

  RotationVersions versions(ctx);
  runtime::InvocationClients clients;
  clients.secrets = &versions;
  const std::string function = snap.record.rotation_lambda;
  std::optional<AwsError> failure;
  std::string failed_step;
  for (const char* step : {"createSecret", "setSecret", "testSecret", "finishSecret"}) {
    json::object event{{"Step", step}, {"SecretId", arn}, {"ClientRequestToken", token}};
    auto r = runtime::invoke(s, ctx, function, event, clients);
    if (!r.ok()) {
      failure = std::move(r).error();
      failed_step = step;
      break;
    }
  }
  // Re-read: the function changed the secret through `versions`.
  TRY_ASSIGN(Snapshot after, requireLive(ctx, arn));
  const VersionRecord* now_current = after.byStage(kCurrent);
  if (!failure && (!now_current || now_current->version_id != token)) {
    failure = smError("InvalidRequestException",
                      "finishSecret did not move AWSCURRENT to version " + token + ".");
    failed_step = "finishSecret";
  }
  if (failure) {
    // AWS: AWSCURRENT stays where it was; AWSPENDING stays on the failed version.
    log::warn("secret rotation failed",
              {{"secret", arn}, {"step", failed_step}, {"error", failure->code}});
    serviceEvent(s, tx, "RotationFailed", after.record.account_id, after.record.region, arn,
                 json::object{{"SecretId", arn},
                              {"ClientRequestToken", token},
                              {"Step", failed_step},
                              {"ErrorCode", failure->code},
                              {"ErrorMessage", failure->message.substr(0, 1024)}});
    scheduleRotation(s, tx, after.record);
    return *failure;
  }
  // AWS: after finishSecret the new AWSCURRENT version no longer carries AWSPENDING.
  TRY_VOID(moveStage(after, kPending, "", token));
  after.record.last_rotated = Clock::now();
  after.record.last_changed = *after.record.last_rotated;
  updateSecret(tx, after.record);
  saveStages(ctx, after);
  scheduleRotation(s, tx, after.record);
  serviceEvent(s, tx, "RotationSucceeded", after.record.account_id, after.record.region, arn,
               json::object{{"SecretId", arn}, {"ClientRequestToken", token}});
  return okResult();
}

// ---------------------------------------------------------------------------------------
// Handlers

Result<json::value> rotateSecret(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Snapshot snap, requireLive(ctx, str(in, "SecretId")));
  nameResource(ctx, snap.record.arn);
  SecretRecord& r = snap.record;
  std::string lambda = str(in, "RotationLambdaARN");
  if (lambda.empty()) lambda = r.rotation_lambda;
  if (lambda.empty())
    return smError("InvalidRequestException",
                   "No Lambda rotation function ARN is associated with this secret.");
  auto ref = runtime::parseFunctionRef(lambda, ctx.region, ctx.account_id);
  if (!ref.ok()) return smError("InvalidParameterException", ref.error().message);
  r.rotation_lambda = ref->arn() + (ref->qualifier.empty() ? "" : ":" + ref->qualifier);
  if (const json::value* rules = in.as_object().if_contains("RotationRules");
      rules && rules->is_object()) {
    int64_t days = 0;
    if (const json::value* d = rules->as_object().if_contains("AutomaticallyAfterDays");
        d && d->is_number())
      days = d->to_number<int64_t>();
    std::string expr = str(*rules, "ScheduleExpression");
    std::string duration = str(*rules, "Duration");
    TRY_ASSIGN(RotationSchedule parsed, parseRotationRules(days, expr, duration));
    (void)parsed;
    r.rotation_days = days;
    r.rotation_schedule = expr;
    r.rotation_duration = duration;
  }
  r.rotation_enabled = true;
  r.last_changed = Clock::now();
  store::Tx& tx = ctx.tx();
  updateSecret(tx, r);
  json::object out{{"ARN", r.arn}, {"Name", r.name}};
  if (boolean(in, "RotateImmediately", true)) {
    auto outcome = runRotation(ctx, r.arn, str(in, "ClientRequestToken"));
    // A failed step is recorded (RotationFailed, AWSPENDING left on its version) and the
    // request still succeeds, as AWS's asynchronous rotation does; other errors fail it.
    auto fresh = findSecretForUpdate(ctx, r.arn);
    if (fresh)
      if (const VersionRecord* p = fresh->byStage(kPending)) out["VersionId"] = p->version_id;
    if (fresh && !out.contains("VersionId"))
      if (const VersionRecord* c = fresh->byStage(kCurrent)) out["VersionId"] = c->version_id;
    if (!outcome.ok() && outcome.error().code == "ResourceNotFoundException" && !fresh)
      return std::move(outcome).error();
  } else {
    scheduleRotation(*ctx.services, tx, r);
  }
  return json::value(std::move(out));
}

Result<json::value> cancelRotateSecret(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Snapshot snap, requireLive(ctx, str(in, "SecretId")));
  nameResource(ctx, snap.record.arn);
  SecretRecord& r = snap.record;
  if (r.rotation_lambda.empty())
    return smError("InvalidRequestException",
                   "You tried to enable rotation on a secret that doesn't already have a Lambda "
                   "function ARN configured and you didn't include such an ARN as a parameter in "
                   "this call.");
  r.rotation_enabled = false;
  r.next_rotation.reset();
  r.last_changed = Clock::now();
  store::Tx& tx = ctx.tx();
  updateSecret(tx, r);
  scheduleRotation(*ctx.services, tx, r);
  json::object out{{"ARN", r.arn}, {"Name", r.name}};
  if (const VersionRecord* p = snap.byStage(kPending); p && p != snap.byStage(kCurrent))
    out["VersionId"] = p->version_id;
  return json::value(std::move(out));
}

}  // namespace citadel::secretsmanager
