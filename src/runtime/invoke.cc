#include "runtime/invoke.h"

#include <boost/json.hpp>
#include <optional>

#include "core/ids.h"
#include "protocol/model.h"
#include "runtime/audit_record.h"
#include "runtime/iam_authorizer.h"
#include "runtime/services.h"

namespace citadel::runtime {
namespace json = boost::json;

std::string iamActionOf(const ServiceSpec& spec, const OperationSpec& ospec,
                        std::string_view endpoint_prefix, std::string_view operation) {
  if (!ospec.iam_action.empty()) return ospec.iam_action;
  std::string action(spec.iam_prefix.empty() ? endpoint_prefix : spec.iam_prefix);
  action += ':';
  action += operation;
  return action;
}

Result<void> authorizeOperation(const RequestContext& ctx, const OperationSpec& ospec,
                                const protocol::Operation* op, const json::value& input,
                                const std::string& action,
                                const std::vector<std::string>& resources) {
  if (!ctx.services || !ctx.services->authorizer || !ospec.authorize) return okResult();
  std::optional<AuthInputs> inputs;
  if (ospec.auth_inputs) {
    auto computed = ospec.auth_inputs(ctx, input);
    if (!computed.ok()) return computed.error();
    inputs.emplace(std::move(computed).value());
  }
  if (op) addRequestTagKeys(*op, input, inputs);
  return ctx.services->authorizer->authorize(ctx, action, resources, inputs ? &*inputs : nullptr);
}

std::string viaServiceEndpoint(std::string_view via_service, std::string_view region) {
  constexpr std::string_view kSuffix = ".amazonaws.com";
  std::string_view name = via_service;
  if (name.size() > kSuffix.size() && name.substr(name.size() - kSuffix.size()) == kSuffix)
    name.remove_suffix(kSuffix.size());
  std::string out(name);
  out += '.';
  out += region;
  out += kSuffix;
  return out;
}

namespace {

bool jsonFamily(protocol::Protocol p) {
  return p == protocol::Protocol::kJson || p == protocol::Protocol::kRestJson ||
         p == protocol::Protocol::kRpcV2Cbor;
}

/// Lends the caller's transaction to the inner request for its lifetime and hands it back,
/// also when the handler throws.
class LentTx {
 public:
  LentTx(RequestContext& from, RequestContext& to) : from_(from), to_(to) {
    to_.tx_ = std::move(from_.tx_);
  }
  ~LentTx() { from_.tx_ = std::move(to_.tx_); }
  LentTx(const LentTx&) = delete;
  LentTx& operator=(const LentTx&) = delete;

 private:
  RequestContext& from_;
  RequestContext& to_;
};

}  // namespace

Result<json::value> invokeAs(RequestContext& caller, std::string_view model,
                             std::string_view operation, json::value input,
                             std::string_view via_service) {
  Services* services = caller.services;
  if (!services) return AwsError::internal("invokeAs: no services context.");
  const ServiceSpec* spec = services->service(model);
  const OperationSpec* ospec = nullptr;
  if (spec) {
    auto it = spec->operations.find(std::string(operation));
    if (it != spec->operations.end()) ospec = &it->second;
  }
  if (!ospec || !ospec->handler)
    return AwsError::internal("invokeAs: " + std::string(model) + " " + std::string(operation) +
                              " is not declared.");
  const protocol::ServiceModel* smodel = protocol::Models::get(model);
  const protocol::Operation* op = smodel ? smodel->findOperation(operation) : nullptr;

  RequestContext ctx;
  ctx.request_id = newUuid();
  ctx.time = caller.time;
  ctx.services = services;
  ctx.service = std::string(model);
  ctx.event_source = spec->event_source;
  ctx.operation = std::string(operation);
  ctx.region = caller.region;
  ctx.account_id = caller.account_id;
  ctx.principal = caller.principal;
  ctx.principal.invoked_by = std::string(via_service);
  ctx.source_ip = std::string(via_service);
  ctx.user_agent = std::string(via_service);
  ctx.via_service = viaServiceEndpoint(via_service, caller.region);
  ctx.read_only = ospec->read_only;

  // The caller's write transaction is shared; anything else gets its own.
  const bool shared = !caller.read_only;
  std::optional<LentTx> lent;
  if (shared) {
    caller.tx();  // begin it now if the caller has not written yet
    lent.emplace(caller, ctx);
    ctx.tx_->exec("SAVEPOINT citadel_invoke");
  }

  auto fail = [&](AwsError err) -> Result<json::value> {
    if (err.code == "AccessDenied" && smodel && jsonFamily(smodel->protocol))
      err.code = "AccessDeniedException";
    if (shared) {
      ctx.tx_->exec("ROLLBACK TO SAVEPOINT citadel_invoke");
      ctx.tx_->exec("RELEASE SAVEPOINT citadel_invoke");
    } else if (ctx.tx_) {
      ctx.tx_->rollback();
      ctx.tx_.reset();
    }
    services->events.enqueue(buildAuditEvent(ctx, op, &input, nullptr, &err));
    return err;
  };

  std::vector<std::string> resources =
      ospec->resources ? ospec->resources(ctx, input) : std::vector<std::string>{};
  std::string action =
      iamActionOf(*spec, *ospec, smodel ? smodel->endpoint_prefix : model, operation);
  auto allowed = authorizeOperation(ctx, *ospec, op, input, action, resources);
  if (!allowed.ok()) return fail(allowed.error());

  auto out = ospec->handler(ctx, input);
  if (!out.ok()) return fail(out.error());

  auto event = buildAuditEvent(ctx, op, &input, &out.value(), nullptr);
  if (shared) {
    ctx.tx_->exec("RELEASE SAVEPOINT citadel_invoke");
    // INVARIANT: the inner change and its record commit with the caller's change.
    services->events.append(*ctx.tx_, event);
  } else if (ctx.read_only) {
    if (ctx.tx_) ctx.tx_->rollback();
    ctx.tx_.reset();
    services->events.enqueue(std::move(event));
  } else {
    store::Tx& tx = ctx.tx();
    services->events.append(tx, event);
    tx.commit();
    ctx.tx_.reset();
  }
  return out;
}

}  // namespace citadel::runtime
