// The role AWS Organizations creates in every account it creates (OrganizationAccountAccessRole
// unless CreateAccount names it).
#include "core/ids.h"
#include "core/time.h"
#include "services/iam/internal.h"
#include "services/iam/provider.h"

namespace citadel::iamsvc {

// AWS: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access.html
// The role trusts the management account and has AdministratorAccess attached.
Result<void> createOrganizationAccountAccessRole(store::Tx& tx, const std::string& account_id,
                                                 const std::string& management_account, SysTime now,
                                                 const std::string& role_name) {
  // Members set from std::string values: GCC 12 reports a false -Wrestrict on assigning
  // string literals to this freshly made struct's members.
  Entity e;
  e.kind = std::string("role");
  e.account_id = account_id;
  e.name = role_name;
  e.path = std::string("/");
  e.id = "AROA" + randomUpperAlnum(16);
  e.arn = iamArn(account_id, "role", "/", e.name);
  e.created_ms = toEpochMillis(now);
  e.trust_policy =
      "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
      "\"arn:aws:iam::" +
      management_account + ":root\"},\"Action\":\"sts:AssumeRole\"}]}";
  TRY_VOID(insertEntity(tx, e));
  tx.exec("INSERT INTO iam_attachments(entity_id, policy_arn) VALUES (?, ?)",
          {e.id, std::string("arn:aws:iam::aws:policy/AdministratorAccess")});
  policiesChanged(tx);
  return okResult();
}

}  // namespace citadel::iamsvc
