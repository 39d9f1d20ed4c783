#pragma once
/// The shared dependencies every service and the pipeline use, created once by the app.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.h"
#include "crypto/barrier.h"
#include "runtime/authorizer.h"
#include "runtime/identity.h"
#include "runtime/metrics.h"
#include "runtime/policy_provider.h"
#include "runtime/registry.h"
#include "runtime/scheduler.h"
#include "runtime/throttle.h"
#include "store/store.h"

namespace citadel::runtime {

/// A CloudHSM cluster id of KMS custom key stores mapped to a PKCS#11 token (config
/// kms.hsm.cloudhsm_clusters).
struct CloudHsmCluster {
  std::string module_path;  ///< the PKCS#11 module (.so)
  std::string token_label;  ///< the token's label in that module
};

/// Settings of the request path that come from configuration.
struct RuntimeConfig {
  std::string default_region = "us-east-1";
  std::string version = "0.1.0";
  /// Lower-case names of headers set by a trusted VPC-endpoint front carrying the VPC and
  /// VPC endpoint ids (aws:SourceVpc / aws:SourceVpce). Empty = not trusted, keys absent.
  std::string source_vpc_header;
  std::string source_vpce_header;
  /// KMS custom key stores: CloudHSM cluster id ("cluster-...") -> PKCS#11 token.
  std::map<std::string, CloudHsmCluster> cloudhsm_clusters;
  /// IAM prefixes of the services whose denials carry an encoded authorization failure
  /// message (EC2-style), or "all"; empty = none (AWS's behaviour for these services).
  std::vector<std::string> encode_authorization_messages;
};

class Services {
 public:
  Services(store::Store& db, const crypto::Barrier& barrier, audit::EventStore& events,
           Identity& identity, RuntimeConfig config);

  store::Store& store;
  const crypto::Barrier& barrier;
  audit::EventStore& events;
  Identity& identity;
  RuntimeConfig config;
  Throttle throttle;
  Metrics metrics;
  std::unique_ptr<Authorizer> authorizer;
  /// Installed by the IAM service's init; null until then (only root users can act).
  std::unique_ptr<PolicyProvider> policies;
  /// Installed by the Organizations service's init; null until then (no SCPs apply).
  std::unique_ptr<OrgPolicyProvider> organizations;
  /// Durable jobs (key deletion, rotation ...); services register their kinds in init.
  Scheduler scheduler{*this};

  /// The declared service for a botocore model name, or nullptr.
  const ServiceSpec* service(std::string_view model) const;
  /// Every declared service.
  const std::vector<ServiceSpec>& all() const;
  /// Runs every service's init hook (after migrations).
  void initServices();
  /// Migrations of every layer and service known to the runtime.
  std::vector<store::Migration> migrations() const;
};

}  // namespace citadel::runtime
