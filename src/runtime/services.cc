#include "runtime/services.h"

namespace citadel::runtime {

Services::Services(store::Store& db, const crypto::Barrier& b, audit::EventStore& ev,
                   Identity& id, RuntimeConfig cfg)
    : store(db), barrier(b), events(ev), identity(id), config(std::move(cfg)),
      authorizer(std::make_unique<RootOnlyAuthorizer>()) {}

const ServiceSpec* Services::service(std::string_view model) const {
  for (const auto& s : declaredServices())
    if (s.model == model) return &s;
  return nullptr;
}

const std::vector<ServiceSpec>& Services::all() const { return declaredServices(); }

void Services::initServices() {
  for (auto& s : declaredServices())
    if (s.init) s.init(*this);
}

std::vector<store::Migration> Services::migrations() const {
  auto out = Identity::migrations();
  for (auto& m : audit::migrations()) out.push_back(m);
  for (const auto& s : declaredServices())
    for (const auto& m : s.migrations) out.push_back(m);
  return out;
}

Result<void> RootOnlyAuthorizer::authorize(const RequestContext& ctx, const std::string& action,
                                           const std::vector<std::string>& resources) {
  const auto& p = ctx.principal;
  if (p.type == Principal::Type::kRoot && p.account_id == ctx.account_id) return okResult();
  std::string resource = resources.empty() ? std::string("*") : resources.front();
  return AwsError{"AccessDenied",
                  "User: " + p.arn + " is not authorized to perform: " + action +
                      " on resource: " + resource,
                  403, true, {}};
}

}  // namespace citadel::runtime
