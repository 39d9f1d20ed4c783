#include "runtime/context.h"

#include <utility>

#include "runtime/services.h"

namespace citadel::runtime {

namespace {
constexpr std::pair<Principal::Type, const char*> kTypeNames[] = {
    {Principal::Type::kRoot, "Root"},
    {Principal::Type::kIamUser, "IAMUser"},
    {Principal::Type::kAssumedRole, "AssumedRole"},
    {Principal::Type::kFederatedUser, "FederatedUser"},
    {Principal::Type::kAwsService, "AWSService"},
    {Principal::Type::kAnonymous, "AWSAccount"},
};
}  // namespace

const char* principalTypeName(Principal::Type t) {
  for (const auto& [type, name] : kTypeNames)
    if (type == t) return name;
  return "Unknown";
}

Principal::Type principalTypeFromName(std::string_view name) {
  for (const auto& [type, n] : kTypeNames)
    if (name == n) return type;
  return Principal::Type::kAnonymous;
}

store::Tx& RequestContext::tx() {
  if (!tx_) tx_ = services->store.begin(!read_only);
  return *tx_;
}

}  // namespace citadel::runtime
