#include "app/config.h"

#include <boost/json.hpp>

#include "core/encoding.h"
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace citadel::app {
namespace json = boost::json;

namespace {
std::string str(const json::value& v, const std::string& name) {
  if (!v.is_string()) throw std::runtime_error("config: \"" + name + "\" must be a string");
  return std::string(v.as_string());
}
int64_t num(const json::value& v, const std::string& name) {
  if (!v.is_int64() && !v.is_uint64())
    throw std::runtime_error("config: \"" + name + "\" must be an integer");
  return v.to_number<int64_t>();
}
bool boolean(const json::value& v, const std::string& name) {
  if (!v.is_bool()) throw std::runtime_error("config: \"" + name + "\" must be true or false");
  return v.as_bool();
}
bool envFlag(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return false;
  std::string s = toLower(v);
  return s == "1" || s == "true" || s == "yes" || s == "on";
}

/// "kms": {"hsm": {"cloudhsm_clusters": {"cluster-...": {"module": PATH, "token_label": L}}}}
void loadKmsConfig(const json::value& v, Config& cfg) {
  if (!v.is_object()) throw std::runtime_error("config: \"kms\" must be an object");
  for (const auto& [kk, kv] : v.as_object()) {
    if (kk != "hsm") throw std::runtime_error("config: unknown entry kms." + std::string(kk));
    if (!kv.is_object()) throw std::runtime_error("config: \"kms.hsm\" must be an object");
    for (const auto& [hk, hv] : kv.as_object()) {
      if (hk != "cloudhsm_clusters")
        throw std::runtime_error("config: unknown entry kms.hsm." + std::string(hk));
      if (!hv.is_object())
        throw std::runtime_error("config: \"kms.hsm.cloudhsm_clusters\" must be an object");
      for (const auto& [id, cv] : hv.as_object()) {
        std::string n = "kms.hsm.cloudhsm_clusters." + std::string(id);
        // AWS: CloudHsmClusterIdType is cluster-[2-7a-zA-Z]{11,16}.
        bool valid = id.size() >= 19 && id.size() <= 24 && id.starts_with("cluster-");
        for (size_t i = 8; valid && i < id.size(); ++i) {
          char c = id[i];
          valid = (c >= '2' && c <= '7') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        }
        if (!valid) throw std::runtime_error("config: " + n + ": not a CloudHSM cluster id");
        if (!cv.is_object()) throw std::runtime_error("config: " + n + " must be an object");
        Config::HsmCluster c;
        for (const auto& [ck, ckv] : cv.as_object()) {
          if (ck == "module") c.module = str(ckv, n + ".module");
          else if (ck == "token_label") c.token_label = str(ckv, n + ".token_label");
          else throw std::runtime_error("config: unknown entry " + n + "." + std::string(ck));
        }
        if (c.module.empty() || c.token_label.empty())
          throw std::runtime_error("config: " + n + " needs \"module\" and \"token_label\"");
        cfg.cloudhsm_clusters[std::string(id)] = std::move(c);
      }
    }
  }
}
}  // namespace

void loadConfigFile(const std::string& path, Config& cfg) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("config: cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  boost::system::error_code ec;
  json::value doc = json::parse(ss.str(), ec);
  if (ec || !doc.is_object())
    throw std::runtime_error("config: " + path + " is not a JSON object: " + ec.message());
  for (const auto& [k, v] : doc.as_object()) {
    std::string key(k);
    if (key == "listen") cfg.listen = str(v, key);
    else if (key == "data_dir") cfg.data_dir = str(v, key);
    else if (key == "region") cfg.region = str(v, key);
    else if (key == "account_id") cfg.account_id = str(v, key);
    else if (key == "root_access_key_id") cfg.root_access_key_id = str(v, key);
    else if (key == "root_secret_access_key") cfg.root_secret_access_key = str(v, key);
    else if (key == "threads") cfg.threads = static_cast<unsigned>(num(v, key));
    else if (key == "log_level") cfg.log_level = str(v, key);
    else if (key == "dev") cfg.dev = boolean(v, key);
    else if (key == "allow_reset") cfg.allow_reset = boolean(v, key);
    else if (key == "allow_time_travel") cfg.allow_time_travel = boolean(v, key);
    else if (key == "seed") cfg.seed_file = str(v, key);
    else if (key == "init_dir") cfg.init_dir = str(v, key);
    else if (key == "init_timeout_seconds") {
      int64_t t = num(v, key);
      if (t <= 0) throw std::runtime_error("config: init_timeout_seconds must be positive");
      cfg.init_timeout_seconds = static_cast<unsigned>(t);
    }
    else if (key == "trusted_headers") {
      if (!v.is_object()) throw std::runtime_error("config: \"trusted_headers\" must be an object");
      for (const auto& [hk, hv] : v.as_object()) {
        if (hk == "source_vpc") cfg.source_vpc_header = toLower(str(hv, "trusted_headers.source_vpc"));
        else if (hk == "source_vpce") cfg.source_vpce_header = toLower(str(hv, "trusted_headers.source_vpce"));
        else throw std::runtime_error("config: unknown entry trusted_headers." + std::string(hk));
      }
    }
    else if (key == "tls") {
      if (!v.is_object()) throw std::runtime_error("config: \"tls\" must be an object");
      for (const auto& [tk, tv] : v.as_object()) {
        if (tk == "cert") cfg.tls_cert = str(tv, "tls.cert");
        else if (tk == "key") cfg.tls_key = str(tv, "tls.key");
        else throw std::runtime_error("config: unknown entry tls." + std::string(tk));
      }
    } else if (key == "limits") {
      if (!v.is_object()) throw std::runtime_error("config: \"limits\" must be an object");
      for (const auto& [lk, lv] : v.as_object()) {
        std::string n = "limits." + std::string(lk);
        int64_t x = num(lv, n);
        if (x <= 0) throw std::runtime_error("config: " + n + " must be positive");
        if (lk == "max_body_bytes") cfg.limits.max_body_bytes = static_cast<uint64_t>(x);
        else if (lk == "max_header_bytes") cfg.limits.max_header_bytes = static_cast<uint32_t>(x);
        else if (lk == "header_timeout_ms") cfg.limits.header_timeout = std::chrono::milliseconds(x);
        else if (lk == "body_timeout_ms") cfg.limits.body_timeout = std::chrono::milliseconds(x);
        else if (lk == "idle_timeout_ms") cfg.limits.idle_timeout = std::chrono::milliseconds(x);
        else if (lk == "write_timeout_ms") cfg.limits.write_timeout = std::chrono::milliseconds(x);
        else if (lk == "drain_timeout_ms") cfg.limits.drain_timeout = std::chrono::milliseconds(x);
        else throw std::runtime_error("config: unknown entry " + n);
      }
    } else if (key == "throttling") {
      if (!v.is_object()) throw std::runtime_error("config: \"throttling\" must be an object");
      for (const auto& [svc, sv] : v.as_object()) {
        std::string n = "throttling." + std::string(svc);
        if (sv.is_bool()) {
          if (sv.as_bool()) cfg.throttling[std::string(svc)];
        } else if (sv.is_object()) {
          auto& rates = cfg.throttling[std::string(svc)];
          for (const auto& [q, qv] : sv.as_object()) {
            if (!qv.is_number()) throw std::runtime_error("config: " + n + "." + std::string(q) + " must be a number");
            rates[std::string(q)] = qv.to_number<double>();
          }
        } else {
          throw std::runtime_error("config: " + n + " must be true/false or an object of rates");
        }
      }
    } else if (key == "kms") {
      loadKmsConfig(v, cfg);
    } else if (key == "encode_authorization_messages") {
      // "all", "kms,iam" or ["kms", "iam"]
      std::string list;
      if (v.is_string()) {
        list = str(v, key);
      } else if (v.is_array()) {
        for (const auto& e : v.as_array()) {
          if (!list.empty()) list += ',';
          list += str(e, key + "[]");
        }
      } else {
        throw std::runtime_error("config: \"" + key + "\" must be a string or a list of strings");
      }
      cfg.encode_authorization_messages = parseServiceList(list, "config: " + key);
    } else {
      throw std::runtime_error("config: unknown entry \"" + key + "\"");
    }
  }
}

void applyEnvironment(Config& cfg) {
  if (const char* v = std::getenv("CITADEL_ACCOUNT_ID"); v && *v) cfg.account_id = v;
  if (const char* v = std::getenv("CITADEL_ROOT_ACCESS_KEY_ID"); v && *v) cfg.root_access_key_id = v;
  if (const char* v = std::getenv("CITADEL_ROOT_SECRET_ACCESS_KEY"); v && *v)
    cfg.root_secret_access_key = v;
  if (const char* v = std::getenv("CITADEL_REGION"); v && *v) cfg.region = v;
  if (const char* v = std::getenv("CITADEL_LOG_LEVEL"); v && *v) cfg.log_level = v;
  if (envFlag("CITADEL_DEV")) cfg.dev = true;
  if (envFlag("CITADEL_ALLOW_RESET")) cfg.allow_reset = true;
  if (envFlag("CITADEL_ALLOW_TIME_TRAVEL")) cfg.allow_time_travel = true;
  if (const char* v = std::getenv("CITADEL_SEED"); v && *v) cfg.seed_file = v;
  if (const char* v = std::getenv("CITADEL_INIT_DIR"); v && *v) cfg.init_dir = v;
}

std::vector<std::string> parseServiceList(std::string_view text, const std::string& what) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string name = toLower(trim(text.substr(start, comma - start)));
    start = comma + 1;
    if (name.empty()) continue;
    for (char c : name) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
        throw std::runtime_error(what + ": \"" + name + "\" is not a service name (kms, iam ...)");
    }
    out.push_back(std::move(name));
  }
  return out;
}

std::pair<std::string, uint16_t> splitListen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("--listen wants HOST:PORT, got " + listen);
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port = listen.substr(colon + 1);
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end || p < 0 || p > 65535)
    throw std::runtime_error("--listen: invalid port in " + listen);
  return {host.empty() ? "127.0.0.1" : host, static_cast<uint16_t>(p)};
}

}  // namespace citadel::app
