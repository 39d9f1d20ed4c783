#pragma once
/// citadel's built-in Secrets Manager rotation functions for PostgreSQL, the counterparts of
/// AWS's SecretsManagerRDSPostgreSQLRotationSingleUser / ...MultiUser templates. They change a
/// real role's password through libpq and prove the new one logs in before finishing.
///
/// ARNs (every account and region; see runtime/functions.h):
///   arn:aws:lambda:<region>:<account>:function:citadel-builtin-postgresql-single-user
///   arn:aws:lambda:<region>:<account>:function:citadel-builtin-postgresql-alternating-users
///
/// Event: {"SecretId", "ClientRequestToken", "Step"} with Step one of createSecret, setSecret,
/// testSecret, finishSecret; result: null. The secret's value is AWS's JSON structure for
/// PostgreSQL: {"engine": "postgres", "host", "username", "password", "dbname" (default
/// "postgres"), "port" (default 5432), "ssl" (optional: true = require TLS, false = no TLS,
/// absent = TLS when the server offers it), "masterarn" (alternating users: the secret whose
/// AWSCURRENT credentials may create roles and change passwords)}.
///
/// Single user: the role's own AWSCURRENT (or AWSPREVIOUS) credentials change its password.
/// Alternating users: the master credentials create `<username>_clone` (a member of the
/// original role, so it has the same privileges) on the first rotation; each rotation then
/// changes the password of the user that is not current, and AWSCURRENT alternates.

namespace citadel::functions {

/// "citadel-builtin-postgresql-single-user"
extern const char kPostgresSingleUser[];
/// "citadel-builtin-postgresql-alternating-users"
extern const char kPostgresAlternatingUsers[];
/// The characters left out of generated passwords (AWS's template default: / @ " ' \).
extern const char kPostgresExcludeCharacters[];

}  // namespace citadel::functions
