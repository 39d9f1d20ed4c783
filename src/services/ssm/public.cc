// SSM Parameter Store: AWS's public parameters (/aws/service/...), readable by every account,
// read-only, outside any account's quota: the latest Amazon Linux AMI ids and the global
// infrastructure region list.
//
// AWS:
// https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-public-parameters.html
#include <algorithm>
#include <cstdint>
#include <map>

#include "core/encoding.h"
#include "services/ssm/internal.h"

namespace citadel::ssm {

namespace {

struct RegionInfo {
  const char* code;
  const char* long_name;
};

constexpr RegionInfo kRegions[] = {
    {"af-south-1", "Africa (Cape Town)"},
    {"ap-east-1", "Asia Pacific (Hong Kong)"},
    {"ap-northeast-1", "Asia Pacific (Tokyo)"},
    {"ap-northeast-2", "Asia Pacific (Seoul)"},
    {"ap-northeast-3", "Asia Pacific (Osaka)"},
    {"ap-south-1", "Asia Pacific (Mumbai)"},
    {"ap-southeast-1", "Asia Pacific (Singapore)"},
    {"ap-southeast-2", "Asia Pacific (Sydney)"},
    {"ca-central-1", "Canada (Central)"},
    {"eu-central-1", "Europe (Frankfurt)"},
    {"eu-north-1", "Europe (Stockholm)"},
    {"eu-south-1", "Europe (Milan)"},
    {"eu-west-1", "Europe (Ireland)"},
    {"eu-west-2", "Europe (London)"},
    {"eu-west-3", "Europe (Paris)"},
    {"me-south-1", "Middle East (Bahrain)"},
    {"sa-east-1", "South America (Sao Paulo)"},
    {"us-east-1", "US East (N. Virginia)"},
    {"us-east-2", "US East (Ohio)"},
    {"us-west-1", "US West (N. California)"},
    {"us-west-2", "US West (Oregon)"},
};

constexpr const char* kAmiNames[] = {
    "al2023-ami-kernel-default-x86_64",
    "al2023-ami-kernel-default-arm64",
    "al2023-ami-kernel-6.1-x86_64",
    "al2023-ami-kernel-6.1-arm64",
    "al2023-ami-minimal-kernel-default-x86_64",
    "amzn2-ami-hvm-x86_64-gp2",
    "amzn2-ami-hvm-arm64-gp2",
    "amzn2-ami-kernel-5.10-hvm-x86_64-gp2",
};

// 2026-01-15T00:00:00Z: when citadel's public parameters were last "published".
constexpr int64_t kPublishedMs = 1768435200000;

/// A stable, region-specific AMI id of the documented form (ami- and 17 hex digits).
std::string amiId(std::string_view region, std::string_view name) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (char c : region) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  h = (h ^ '/') * 1099511628211ULL;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  static const char* kHex = "0123456789abcdef";
  std::string out = "ami-0";
  for (int i = 0; i < 16; ++i) out += kHex[(h >> (i * 4)) & 0xf];
  return out;
}

/// Every public parameter of a region, by name.
std::map<std::string, std::string> all(std::string_view region) {
  std::map<std::string, std::string> out;
  for (const char* ami : kAmiNames)
    out[std::string("/aws/service/ami-amazon-linux-latest/") + ami] = amiId(region, ami);
  for (const RegionInfo& r : kRegions) {
    const std::string base = std::string("/aws/service/global-infrastructure/regions/") + r.code;
    out[base] = r.code;
    out[base + "/longName"] = r.long_name;
    out[base + "/partition"] = "aws";
    out[base + "/domain"] = "amazonaws.com";
  }
  return out;
}

ParamRecord record(std::string_view region, const std::string& name, const std::string& value) {
  ParamRecord p;
  p.name = name;
  p.version = 1;
  p.type = "String";
  p.value = value;
  p.tier = "Standard";
  p.data_type = "text";
  p.modified_ms = kPublishedMs;
  p.is_public = true;
  (void)region;
  return p;
}

}  // namespace

bool isPublicName(std::string_view name) {
  return toLower(name.substr(0, std::min<size_t>(name.size(), 13))) == "/aws/service/" ||
         toLower(name) == "/aws/service";
}

std::optional<ParamRecord> publicParameter(std::string_view region, std::string_view name) {
  auto params = all(region);
  auto it = params.find(std::string(name));
  if (it == params.end()) return std::nullopt;
  return record(region, it->first, it->second);
}

std::vector<ParamRecord> publicParametersByPath(std::string_view region, std::string_view path,
                                                bool recursive) {
  std::string prefix(path);
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  std::vector<ParamRecord> out;
  for (const auto& [name, value] : all(region)) {
    if (name.rfind(prefix, 0) != 0) continue;
    if (!recursive && name.find('/', prefix.size()) != std::string::npos) continue;
    out.push_back(record(region, name, value));
  }
  return out;
}

}  // namespace citadel::ssm
