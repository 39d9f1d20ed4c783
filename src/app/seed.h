#pragma once
/// Seed files (`citadel serve --seed FILE`, JSON or the YAML subset of yaml_subset.h): the
/// state a test suite or a development setup expects at start, created idempotently in one
/// transaction (all or nothing). The format (every section, field and rule) is documented in
/// README.md, "Coming from LocalStack / moto".

#include <boost/json/value.hpp>
#include <string>

#include "core/result.h"
#include "runtime/services.h"

namespace citadel::app {

/// Reads and parses a seed file: JSON when the name ends in .json or the text starts with '{',
/// else the YAML subset. Errors name the file and the line.
Result<boost::json::value> loadSeedFile(const std::string& path);

/// What a seed run did.
struct SeedSummary {
  int accounts_created = 0;
  int users_created = 0;
  int access_keys = 0;
};

/// Checks the whole document first (unknown fields, types, duplicate ids, key material), then
/// applies it in one write transaction with its audit records. An error names the entry
/// ("iam.users[1] (alice): ...") and nothing is created.
Result<SeedSummary> applySeed(runtime::Services& services, const boost::json::value& doc,
                              const std::string& default_account, const std::string& region);

}  // namespace citadel::app
