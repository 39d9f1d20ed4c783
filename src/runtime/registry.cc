#include "runtime/registry.h"
namespace citadel::runtime {
std::vector<ServiceSpec>& declaredServices() {
  static std::vector<ServiceSpec> specs;
  return specs;
}
}  // namespace citadel::runtime
