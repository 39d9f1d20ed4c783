#include "runtime/context.h"

#include "runtime/services.h"

namespace citadel::runtime {

store::Tx& RequestContext::tx() {
  if (!tx_) tx_ = services->store.begin(!read_only);
  return *tx_;
}

}  // namespace citadel::runtime
