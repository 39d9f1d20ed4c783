#include "runtime/services.h"

#include "runtime/iam_authorizer.h"

namespace citadel::runtime {

Services::Services(store::Store& db, const crypto::Barrier& b, audit::EventStore& ev,
                   Identity& id, RuntimeConfig cfg)
    : store(db), barrier(b), events(ev), identity(id), config(std::move(cfg)),
      authorizer(std::make_unique<IamAuthorizer>(*this)) {}

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
  for (auto& m : Scheduler::migrations()) out.push_back(m);
  for (const auto& s : declaredServices())
    for (const auto& m : s.migrations) out.push_back(m);
  return out;
}

}  // namespace citadel::runtime
