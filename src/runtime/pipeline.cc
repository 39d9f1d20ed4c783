#include "runtime/pipeline.h"

#include <boost/json.hpp>
#include <chrono>

#include "core/ids.h"
#include "core/log.h"
#include "protocol/detect.h"
#include "protocol/protocol.h"
#include "runtime/audit_record.h"
#include "runtime/invoke.h"
#include "runtime/router.h"

namespace citadel::runtime {
namespace json = boost::json;
using protocol::Protocol;

namespace {

bool jsonFamily(Protocol p) {
  return p == Protocol::kJson || p == Protocol::kRestJson || p == Protocol::kRpcV2Cbor;
}

/// Authentication errors carry different codes per protocol family, as AWS answers them.
AwsError adaptAuthError(AwsError e, Protocol p) {
  if (p == Protocol::kRestXml) return e;
  if (jsonFamily(p)) {
    if (e.code == "SignatureDoesNotMatch") {
      e.code = "InvalidSignatureException";
      e.http_status = 400;
    } else if (e.code == "InvalidClientTokenId") {
      e.code = "UnrecognizedClientException";
      e.http_status = 400;
    } else if (e.code == "MissingAuthenticationToken") {
      e.code = "MissingAuthenticationTokenException";
      e.http_status = 400;
    } else if (e.code == "ExpiredToken") {
      e.code = "ExpiredTokenException";
      e.http_status = 400;
    } else if (e.code == "IncompleteSignature") {
      e.code = "IncompleteSignatureException";
      e.http_status = 400;
    }
  } else if (p == Protocol::kEc2) {
    if (e.code == "InvalidClientTokenId" || e.code == "SignatureDoesNotMatch") {
      e.code = "AuthFailure";
      e.http_status = 401;
    }
  }
  return e;
}

AwsError unknownKey(Protocol p) {
  if (p == Protocol::kRestXml)
    return AwsError{"InvalidAccessKeyId",
                    "The AWS Access Key Id you provided does not exist in our records.", 403,
                    true, {}};
  return adaptAuthError(AwsError{"InvalidClientTokenId",
                                 "The security token included in the request is invalid.", 403,
                                 true, {}},
                        p);
}

AwsError missingAuth(Protocol p) {
  if (p == Protocol::kRestXml) return AwsError{"AccessDenied", "Access Denied", 403, true, {}};
  return adaptAuthError(AwsError{"MissingAuthenticationToken",
                                 "Request is missing Authentication Token", 403, true, {}},
                        p);
}

AwsError notImplemented(const std::string& service, const std::string& op) {
  return AwsError{"NotImplemented",
                  "The operation " + op + " of service " + service +
                      " is not implemented by citadel.",
                  501, false, {}};
}

/// The service named by a credential scope even when the rest of the signature is malformed,
/// so that the error can be rendered in that service's protocol.
std::string scopeServiceHint(const HttpRequest& req) {
  std::string_view cred;
  if (const std::string* auth = req.header("authorization")) {
    auto pos = auth->find("Credential=");
    if (pos != std::string::npos) cred = std::string_view(*auth).substr(pos + 11);
  } else if (const QueryParam* q = req.queryParam("X-Amz-Credential")) {
    cred = q->value;
  }
  cred = cred.substr(0, cred.find_first_of(", "));
  // AKID/date/region/service/aws4_request
  size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    start = cred.find('/', start);
    if (start == std::string_view::npos) return {};
    ++start;
  }
  auto end = cred.find('/', start);
  return std::string(cred.substr(start, end == std::string_view::npos ? end : end - start));
}

}  // namespace

Pipeline::Pipeline(Services& services) : services_(services) {}

void Pipeline::handle(HttpRequest& req, HttpResponse& resp) {
  auto started = std::chrono::steady_clock::now();
  if (internal_.handle && internal_.handle(req, resp)) return;

  RequestContext ctx;
  ctx.request_id = newUuid();
  ctx.time = Clock::now();
  ctx.http = &req;
  ctx.services = &services_;
  ctx.source_ip = req.remote_ip;
  if (const std::string* ua = req.header("user-agent")) ctx.user_agent = *ua;
  ctx.region = services_.config.default_region;

  std::string metric_service = "unknown", metric_op = "unknown";
  auto finish = [&](int status) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    services_.metrics.record(metric_service, metric_op, status, secs);
  };

  // 1. Signature claims (the scope names the service) and routing.
  auto sig = auth::parseSignature(req);
  std::string scope_service =
      sig.ok() ? (sig->present ? sig->service : std::string()) : scopeServiceHint(req);
  auto route = routeRequest(req, scope_service);
  if (!route) {
    const std::string* ct = req.header("content-type");
    Protocol style = (req.header("x-amz-target") || (ct && ct->find("json") != std::string::npos))
                         ? Protocol::kJson
                         : Protocol::kQuery;
    protocol::serializeBareError(
        style, AwsError{"UnknownOperationException", "No AWS service matches this request.", 400, true, {}},
        ctx.request_id, resp);
    return finish(resp.status);
  }
  const protocol::ServiceModel* model = protocol::Models::get(route->meta->name);
  if (!model) {
    protocol::serializeBareError(Protocol::kJson, AwsError::internal("Service model unavailable."),
                                 ctx.request_id, resp);
    return finish(resp.status);
  }
  metric_service = model->name;
  const ServiceSpec* spec = services_.service(model->name);
  ctx.service = model->name;
  ctx.event_source = spec ? spec->event_source : model->endpoint_prefix + ".amazonaws.com";
  Protocol proto = protocol::detectProtocol(*model, req);

  const protocol::Operation* op = nullptr;
  json::value input;
  bool have_input = false;

  auto fail = [&](const AwsError& err, bool audit_it) {
    if (audit_it) {
      services_.events.enqueue(buildAuditEvent(ctx, op, have_input ? &input : nullptr, nullptr, &err));
    }
    protocol::serializeError(*model, proto, op, err, ctx.request_id, resp);
    finish(resp.status);
  };

  try {
    // 2. Which operation (needed for auth-less operations).
    auto match = protocol::matchOperation(*model, req);
    if (match.ok()) {
      op = match->op;
      proto = match->protocol;
      ctx.operation = op->name;
      metric_op = op->name;
    }

    // 3. Authentication.
    if (!sig.ok()) return fail(adaptAuthError(sig.error(), proto), false);
    if (!sig->present) {
      if (!(op && op->auth_none)) return fail(missingAuth(proto), false);
    } else {
      auto cred = services_.identity.lookup(sig->access_key_id);
      // Development credentials mode: a key citadel never issued acts as an account's root,
      // unverified (its secret is unknown). Keys citadel issued are verified below as always.
      bool dev_key = false;
      if (!cred) {
        cred = services_.identity.devCredential(sig->access_key_id);
        dev_key = cred.has_value();
      }
      if (!cred || !cred->active) return fail(unknownKey(proto), false);
      ctx.principal = cred->principal;
      ctx.principal.session_token = cred->session_token_sha256.empty() ? std::string()
                                                                       : sig->session_token;
      ctx.account_id = cred->principal.account_id;
      if (!sig->region.empty()) ctx.region = sig->region;
      auth::ErrorStyle style = proto == Protocol::kRestXml ? auth::ErrorStyle::kS3
                               : jsonFamily(proto)        ? auth::ErrorStyle::kJson
                                                          : auth::ErrorStyle::kQuery;
      // The signature's clock skew and presigned expiry are judged against real time: a
      // test that moved citadel's clock (POST /_citadel/time) still signs with its own.
      SysTime real_now = ctx.time - std::chrono::milliseconds(Clock::offsetMillis());
      auto verified = dev_key ? Result<void>(okResult())
                              : auth::verifySignature(req, *sig, cred->secret_access_key,
                                                      real_now, key_cache_, style);
      if (!verified.ok()) {
        if (ctx.operation.empty()) ctx.operation = "UnknownOperation";
        return fail(adaptAuthError(verified.error(), proto), true);
      }
      auto session = Identity::checkSessionToken(*cred, sig->session_token, ctx.time);
      if (!session.ok()) {
        if (ctx.operation.empty()) ctx.operation = "UnknownOperation";
        return fail(adaptAuthError(session.error(), proto), true);
      }
      if (sig->payload_mode == auth::PayloadMode::kStreamingSigned ||
          sig->payload_mode == auth::PayloadMode::kStreamingSignedTrailer ||
          sig->payload_mode == auth::PayloadMode::kStreamingUnsignedTrailer) {
        if (dev_key)  // TODO(#6): unverified aws-chunked decoding for development credentials
          return fail(AwsError{"NotImplemented",
                               "Streaming (aws-chunked) payloads are not supported with "
                               "development credentials yet.",
                               501, false, {}},
                      true);
        std::string key = key_cache_.get(sig->access_key_id, cred->secret_access_key, sig->date,
                                         sig->region, sig->service);
        auto decoded = auth::decodeStreamingBody(req.body, *sig, key);
        if (!decoded.ok()) return fail(decoded.error(), true);
        req.body = std::move(decoded).value();
      }
    }
    if (!route->virtual_host_bucket.empty()) {
      // The signature covered the path as sent; the operation is found on the path-style form.
      applyVirtualHost(*route, req);
      match = protocol::matchOperation(*model, req);
    }
    if (!match.ok()) {
      if (ctx.operation.empty()) ctx.operation = "UnknownOperation";
      return fail(match.error(), sig->present);
    }
    op = match->op;
    proto = match->protocol;
    ctx.operation = op->name;
    metric_op = op->name;

    // 4. Parse and validate.
    auto parsed = protocol::parseInput(*model, *match, req);
    if (!parsed.ok()) return fail(parsed.error(), true);
    input = std::move(parsed).value();
    have_input = true;

    // 5. Is there a handler?
    const OperationSpec* ospec = nullptr;
    if (spec) {
      auto it = spec->operations.find(op->name);
      if (it != spec->operations.end()) ospec = &it->second;
    }
    ctx.read_only = ospec ? ospec->read_only
                          : (op->name.rfind("Get", 0) == 0 || op->name.rfind("List", 0) == 0 ||
                             op->name.rfind("Describe", 0) == 0);
    if (!ospec) return fail(notImplemented(model->name, op->name), true);

    // 6. Authorization (the operation's auth_inputs and the request's tag keys included; an
    // error of auth_inputs is answered and audited like a denial).
    std::string action = iamActionOf(*spec, *ospec, model->endpoint_prefix, op->name);
    std::vector<std::string> resources =
        ospec->resources ? ospec->resources(ctx, input) : std::vector<std::string>{};
    if (auto allowed = authorizeOperation(ctx, *ospec, op, input, action, resources);
        !allowed.ok()) {
      AwsError e = allowed.error();
      if (jsonFamily(proto) && e.code == "AccessDenied") e.code = "AccessDeniedException";
      return fail(e, true);
    }

    // 7. Throttling (only when configured).
    if (!services_.throttle.allow(*spec, op->name, ctx.account_id, ctx.region,
                                  std::chrono::steady_clock::now())) {
      return fail(AwsError{spec->throttle_code, spec->throttle_message, 400, true, {}}, true);
    }

    // 8. The handler, in one transaction with its audit record.
    auto out = ospec->handler(ctx, input);
    if (!out.ok()) {
      if (ctx.tx_) ctx.tx_->rollback();
      ctx.tx_.reset();
      return fail(out.error(), true);
    }
    auto event = buildAuditEvent(ctx, op, &input, &out.value(), nullptr);
    if (ctx.read_only) {
      if (ctx.tx_) ctx.tx_->rollback();
      ctx.tx_.reset();
      services_.events.enqueue(std::move(event));
    } else {
      // INVARIANT: a state change commits only together with its audit record.
      store::Tx& tx = ctx.tx();
      services_.events.append(tx, event);
      tx.commit();
      ctx.tx_.reset();
    }
    protocol::serializeOutput(*model, *match, out.value(), ctx.request_id, resp);
    finish(resp.status);
  } catch (const std::exception& e) {
    log::error("internal failure", {{"request_id", ctx.request_id},
                                     {"service", ctx.service},
                                     {"operation", ctx.operation},
                                     {"error", e.what()}});
    resp = HttpResponse{};
    ctx.tx_.reset();
    AwsError err = AwsError::internal("An internal error occurred. Request id " + ctx.request_id);
    try {
      fail(err, !ctx.principal.arn.empty());
    } catch (...) {
      resp.status = 500;
      resp.body = "internal error";
    }
  }
}

}  // namespace citadel::runtime
