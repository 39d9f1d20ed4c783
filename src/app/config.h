#pragma once
/// citadel's configuration: defaults, then the JSON config file, then the environment, then the
/// command line (each overrides the one before).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/server.h"

namespace citadel::app {

struct Config {
  std::string listen = "127.0.0.1:4566";
  std::string data_dir = "./data";
  std::string tls_cert;
  std::string tls_key;
  unsigned threads = 0;
  std::string region = "us-east-1";
  std::optional<std::string> account_id;          ///< CITADEL_ACCOUNT_ID
  std::optional<std::string> root_access_key_id;  ///< CITADEL_ROOT_ACCESS_KEY_ID
  std::optional<std::string> root_secret_access_key;
  http::Limits limits;
  /// Throttling switched on per service; optional per-quota rate overrides.
  std::map<std::string, std::map<std::string, double>> throttling;
  std::string log_level = "info";
  /// Headers a trusted VPC-endpoint front sets (lower-cased), for aws:SourceVpc/SourceVpce.
  std::string source_vpc_header;
  std::string source_vpce_header;
  /// Development credentials mode (--dev, CITADEL_DEV=1): unknown access key ids act as an
  /// account's root; also switches on state reset and time travel.
  bool dev = false;
  bool allow_reset = false;        ///< --allow-reset: POST /_citadel/reset without --dev
  bool allow_time_travel = false;  ///< --allow-time-travel: POST /_citadel/time without --dev
  std::string seed_file;           ///< --seed FILE (JSON or YAML subset)
  std::string init_dir;            ///< --init-dir DIR (boot.d, ready.d, shutdown.d)
  unsigned init_timeout_seconds = 60;  ///< --init-timeout: each init script's time limit
  /// A PKCS#11 token standing in for a CloudHSM cluster (KMS custom key stores).
  struct HsmCluster {
    std::string module;       ///< PKCS#11 module path
    std::string token_label;  ///< token label
  };
  /// kms.hsm.cloudhsm_clusters: CloudHSM cluster id -> token.
  std::map<std::string, HsmCluster> cloudhsm_clusters;
  /// --encode-authorization-messages: IAM prefixes ("kms", "iam" ...) or "all" whose denials
  /// carry an encoded authorization failure message, as EC2's do. Empty = none.
  std::vector<std::string> encode_authorization_messages;
};

/// Reads a JSON config file into `cfg`. Throws std::runtime_error naming the bad entry.
void loadConfigFile(const std::string& path, Config& cfg);
/// Applies CITADEL_* environment variables.
void applyEnvironment(Config& cfg);
/// Parses "kms,iam" or "all" (--encode-authorization-messages): lower-cased service prefixes.
/// Throws std::runtime_error naming a bad entry.
std::vector<std::string> parseServiceList(std::string_view text, const std::string& what);
/// Splits "HOST:PORT" ("[::1]:0" too). Throws std::runtime_error.
std::pair<std::string, uint16_t> splitListen(const std::string& listen);

}  // namespace citadel::app
