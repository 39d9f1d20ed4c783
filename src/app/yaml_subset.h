#pragma once
/// A small, documented YAML subset for seed files, parsed into JSON values:
///  - block mappings (`key: value`, `key:` + an indented block) and block sequences (`- item`,
///    `- key: value` continuing on the following lines), indentation by spaces only;
///  - scalars: plain (`true`/`false` → bool, `null`/`~` → null, decimal integers → number,
///    anything else → string), 'single-quoted' and "double-quoted" (\" \\ \n \t \/ \uXXXX)
///    strings, literal block scalars `|` / `|-`;
///  - flow sequences of scalars `[a, "b", 3]`, the empty mapping `{}`;
///  - `#` comments, one leading `---`.
/// Anything else (anchors, aliases, tags, flow mappings with content, several documents,
/// duplicate keys) is an error naming the line, never silently misread.

#include <boost/json/value.hpp>
#include <string>

#include "core/result.h"

namespace citadel::app {

/// Parses `text` (the subset above). Errors carry "line N: ..." in their message.
Result<boost::json::value> parseYamlSubset(const std::string& text);

}  // namespace citadel::app
