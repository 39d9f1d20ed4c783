// IAM virtual MFA devices: create (a sealed TOTP seed), enable with two consecutive codes,
// deactivate, delete, list; and the code check STS runs for SerialNumber/TokenCode.
#include <algorithm>

#include "auth/totp.h"
#include "core/encoding.h"
#include "crypto/crypto.h"
#include "runtime/services.h"
#include "services/iam/internal.h"
#include "services/iam/qr_code.h"

namespace citadel::iamsvc {

namespace {

/// AWS: a user may have up to eight MFA devices assigned.
constexpr int64_t kMaxDevicesPerUser = 8;
/// Bytes of a seed (AWS's Base32StringSeed is 64 characters: 40 bytes).
constexpr size_t kSeedBytes = 40;
/// How far (in 30-second steps, either way) ResyncMFADevice looks for the device's clock: ten
/// minutes. AWS documents no figure; two consecutive codes make a chance match negligible.
constexpr int kResyncWindowSteps = 20;

struct Device {
  std::string serial;
  std::string account_id;
  std::string seed_sealed;
  std::string user_id;  ///< AIDA... of the user it is assigned to, the account id for root; ""
  int64_t enable_ms = 0;
  int64_t last_step = -1;  ///< the latest TOTP step accepted (codes at or before it are spent)
  int64_t drift = 0;  ///< steps the device's clock runs ahead (negative: behind), from a resync
};

std::optional<Device> findDevice(store::Tx& tx, const std::string& account,
                                 const std::string& serial) {
  auto rows = tx.query(
      "SELECT serial, account_id, seed, user_id, enable_ms, last_step, drift FROM "
      "iam_mfa_devices WHERE serial = ? AND account_id = ?",
      {serial, account});
  if (rows.empty()) return std::nullopt;
  const auto& r = rows[0];
  return Device{r.text(0),    r.text(1),    r.text(2),   r.text(3),
                r.integer(4), r.integer(5), r.integer(6)};
}

Result<Device> requireDevice(store::Tx& tx, const std::string& account, const std::string& serial) {
  auto d = findDevice(tx, account, serial);
  if (!d) return noSuchEntity("VirtualMFADevice with serial number " + serial + " doesn't exist.");
  return *d;
}

/// The seed of a device, opened by the barrier (AAD = the serial number, i.e. the device ARN).
Result<std::string> openSeed(const RequestContext& ctx, const Device& d) {
  auto seed = ctx.services->barrier.open(d.seed_sealed, d.serial);
  if (!seed)
    return AwsError{"ServiceFailure", "The MFA device seed cannot be read.", 500, false, {}};
  return std::move(*seed);
}

/// A user by id (the ids devices are assigned by), or nullopt.
std::optional<Entity> userById(store::Tx& tx, const std::string& id) {
  auto rows =
      tx.query("SELECT account_id, name FROM iam_entities WHERE kind = 'user' AND id = ?", {id});
  if (rows.empty()) return std::nullopt;
  return findEntity(tx, "user", rows[0].text(0), rows[0].text(1));
}

/// The principal an MFA operation addresses: (id, name) of UserName, else of the caller.
Result<std::pair<std::string, std::string>> mfaOwner(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  std::string name = str(in, "UserName");
  if (!name.empty()) {
    TRY_ASSIGN(Entity u, requireEntity(tx, "user", ctx.account_id, name));
    return std::make_pair(u.id, u.name);
  }
  if (ctx.principal.type == runtime::Principal::Type::kRoot)
    return std::make_pair(ctx.account_id, std::string("root"));
  if (ctx.principal.type == runtime::Principal::Type::kIamUser) {
    if (auto u = findEntityByArn(tx, ctx.principal.arn)) return std::make_pair(u->id, u->name);
  }
  return AwsError{"ValidationError",
                  "Must specify userName when calling with non-User credentials",
                  400,
                  true,
                  {}};
}

AwsError invalidAuthenticationCode() {
  return AwsError{
      "InvalidAuthenticationCode", "Authentication code for device is not valid.", 403, true, {}};
}

/// The User structure of a device's owner (root: its account id and root ARN).
std::optional<json::object> ownerDoc(store::Tx& tx, const std::string& account,
                                     const std::string& user_id) {
  if (user_id == account) {
    json::object u;
    u["Path"] = "/";
    u["UserName"] = "root";
    u["UserId"] = account;
    u["Arn"] = "arn:aws:iam::" + account + ":root";
    u["CreateDate"] = seconds(0);
    return u;
  }
  if (auto e = userById(tx, user_id)) return entityDoc(tx, *e, false);
  return std::nullopt;
}

}  // namespace

Result<json::value> createVirtualMfaDevice(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  const std::string name = str(in, "VirtualMFADeviceName");
  const std::string path = pathOr(in, "Path");
  const std::string serial = iamArn(ctx.account_id, "mfa", path, name);
  if (findDevice(tx, ctx.account_id, serial))
    return entityAlreadyExists("MFADevice entity at the same path and name already exists.");
  std::string seed = crypto::randomBytes(kSeedBytes);
  const std::string sealed = ctx.services->barrier.seal(seed, serial);
  tx.exec(
      "INSERT INTO iam_mfa_devices(serial, account_id, name, path, seed, created_ms) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      {serial, ctx.account_id, name, path, store::Blob{sealed}, toEpochMillis(ctx.time)});
  TRY_VOID(putTags(tx, serial, in.as_object().if_contains("Tags")));

  json::object d;
  d["SerialNumber"] = serial;
  std::string base32 = auth::base32Encode(seed, false);
  crypto::wipe(seed);
  d["Base32StringSeed"] = base32;  // a blob: the Base32 text's bytes (base64 on the wire)
  // AWS: QRCodePNG encodes otpauth://totp/$virtualMFADeviceName@$AccountName?secret=$Base32String
  // (AccountName: the account id, as the device has no user yet).
  std::string uri = "otpauth://totp/" + name + "@" + ctx.account_id + "?secret=" + base32;
  crypto::wipe(base32);
  if (auto qr = encodeQr(uri)) {
    std::string png = qrPng(*qr);
    d["QRCodePNG"] = png;  // a blob (base64 on the wire)
    crypto::wipe(png);
    for (auto& row : qr->modules) std::fill(row.begin(), row.end(), false);
  }
  crypto::wipe(uri);
  auto tags = tagsOf(tx, serial);
  if (!tags.empty()) d["Tags"] = std::move(tags);
  ctx.resources.push_back({"AWS::IAM::VirtualMFADevice", serial});
  return json::value(json::object{{"VirtualMFADevice", std::move(d)}});
}

Result<json::value> enableMfaDevice(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity user, requireEntity(tx, "user", ctx.account_id, str(in, "UserName")));
  TRY_ASSIGN(Device d, requireDevice(tx, ctx.account_id, str(in, "SerialNumber")));
  if (!d.user_id.empty()) return entityAlreadyExists("MFA Device is already in use.");
  auto n = tx.query("SELECT COUNT(*) FROM iam_mfa_devices WHERE user_id = ?", {user.id});
  if (!n.empty() && n[0].integer(0) >= kMaxDevicesPerUser)
    return limitExceeded("Cannot exceed quota for MFA devices per user: 8.");
  TRY_ASSIGN(std::string seed, openSeed(ctx, d));
  // The first code may be up to two steps old (a person reads two codes 30 s apart); the
  // second must be the one right after it.
  const std::string code2 = str(in, "AuthenticationCode2");
  auto step = auth::totpMatch(seed, str(in, "AuthenticationCode1"), ctx.time, 2, 0);
  bool ok = step && *step > d.last_step &&
            crypto::constantTimeEqual(auth::totpAt(seed, *step + 1), code2);
  crypto::wipe(seed);
  if (!ok) return invalidAuthenticationCode();
  tx.exec(
      "UPDATE iam_mfa_devices SET user_id = ?, enable_ms = ?, last_step = ?, drift = 0 "
      "WHERE serial = ?",
      {user.id, toEpochMillis(ctx.time), *step + 1, d.serial});
  return json::value(json::object{});
}

// AWS: https://docs.aws.amazon.com/IAM/latest/APIReference/API_ResyncMFADevice.html
// Two consecutive codes of the user's own assigned device, searched within ten minutes either
// way; their position becomes the device's drift, by which later codes are expected.
Result<json::value> resyncMfaDevice(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Entity user, requireEntity(tx, "user", ctx.account_id, str(in, "UserName")));
  const std::string serial = str(in, "SerialNumber");
  auto d = findDevice(tx, ctx.account_id, serial);
  if (!d || d->user_id != user.id)
    return noSuchEntity("MFA Device with serial number " + serial + " does not exist.");
  TRY_ASSIGN(std::string seed, openSeed(ctx, *d));
  auto step = auth::totpMatch(seed, str(in, "AuthenticationCode1"), ctx.time, kResyncWindowSteps,
                              kResyncWindowSteps - 1);
  // INVARIANT: spent codes stay spent, a resync included.
  bool ok =
      step && *step > d->last_step &&
      crypto::constantTimeEqual(auth::totpAt(seed, *step + 1), str(in, "AuthenticationCode2"));
  crypto::wipe(seed);
  if (!ok) return invalidAuthenticationCode();
  const int64_t drift = *step + 1 - auth::totpStep(ctx.time);
  tx.exec("UPDATE iam_mfa_devices SET last_step = ?, drift = ? WHERE serial = ?",
          {*step + 1, drift, d->serial});
  return json::value(json::object{});
}

Result<json::value> deactivateMfaDevice(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(auto owner, mfaOwner(ctx, in));
  const std::string serial = str(in, "SerialNumber");
  auto d = findDevice(tx, ctx.account_id, serial);
  if (!d || d->user_id != owner.first)
    return noSuchEntity("MFA Device with serial number " + serial + " does not exist.");
  // The device stays, unassigned; its spent steps stay spent.
  tx.exec("UPDATE iam_mfa_devices SET user_id = '', enable_ms = 0 WHERE serial = ?", {serial});
  return json::value(json::object{});
}

Result<json::value> deleteVirtualMfaDevice(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(Device d, requireDevice(tx, ctx.account_id, str(in, "SerialNumber")));
  if (!d.user_id.empty())
    return deleteConflict("VMFA is in use and cannot be deleted. Deactivate it first.");
  tx.exec("DELETE FROM iam_mfa_devices WHERE serial = ?", {d.serial});
  tx.exec("DELETE FROM iam_tags WHERE entity_id = ?", {d.serial});
  return json::value(json::object{});
}

Result<json::value> listMfaDevices(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  TRY_ASSIGN(auto owner, mfaOwner(ctx, in));
  std::vector<std::pair<std::string, json::value>> items;
  for (const auto& r : tx.query(
           "SELECT serial, enable_ms FROM iam_mfa_devices WHERE account_id = ? AND user_id = ? "
           "ORDER BY serial",
           {ctx.account_id, owner.first})) {
    json::object o;
    o["UserName"] = owner.second;
    o["SerialNumber"] = r.text(0);
    o["EnableDate"] = seconds(r.integer(1));
    items.emplace_back(r.text(0), std::move(o));
  }
  json::object out;
  page(out, "MFADevices", std::move(items), in);
  return json::value(std::move(out));
}

Result<json::value> listVirtualMfaDevices(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  std::string status = str(in, "AssignmentStatus");
  if (status.empty()) status = "Any";
  std::vector<std::pair<std::string, json::value>> items;
  for (const auto& r :
       tx.query("SELECT serial, user_id, enable_ms FROM iam_mfa_devices WHERE account_id = ? "
                "ORDER BY serial",
                {ctx.account_id})) {
    const bool assigned = !r.text(1).empty();
    if ((status == "Assigned" && !assigned) || (status == "Unassigned" && assigned)) continue;
    json::object o;
    o["SerialNumber"] = r.text(0);
    if (assigned) {
      if (auto u = ownerDoc(tx, ctx.account_id, r.text(1))) o["User"] = std::move(*u);
      o["EnableDate"] = seconds(r.integer(2));
    }
    auto tags = tagsOf(tx, r.text(0));
    if (!tags.empty()) o["Tags"] = std::move(tags);
    items.emplace_back(r.text(0), std::move(o));
  }
  json::object out;
  page(out, "VirtualMFADevices", std::move(items), in);
  return json::value(std::move(out));
}

Result<void> verifyMfaCode(store::Tx& tx, const crypto::Barrier& barrier,
                           const runtime::Principal& caller, const std::string& serial,
                           const std::string& code, SysTime now) {
  auto d = findDevice(tx, caller.account_id, serial);
  // AWS: the device must be the caller's own (a role session has none).
  if (!d || d->user_id.empty() || d->user_id != caller.principal_id)
    return AwsError{"AccessDenied",
                    "MultiFactorAuthentication failed, unable to validate MFA code.",
                    403,
                    true,
                    {}};
  auto seed = barrier.open(d->seed_sealed, d->serial);
  if (!seed)
    return AwsError{"InternalFailure", "The MFA device seed cannot be read.", 500, false, {}};
  // Codes are expected by the device's clock (its drift, set by ResyncMFADevice).
  auto step = auth::totpMatch(*seed, code,
                              now + std::chrono::seconds(d->drift * auth::kTotpStepSeconds), 1, 1);
  crypto::wipe(*seed);
  // INVARIANT: a code is accepted once: its step must be later than every step accepted before.
  if (!step || *step <= d->last_step)
    return AwsError{"AccessDenied",
                    "MultiFactorAuthentication failed with invalid MFA one time pass code.",
                    403,
                    true,
                    {}};
  tx.exec("UPDATE iam_mfa_devices SET last_step = ? WHERE serial = ?", {*step, d->serial});
  return okResult();
}

}  // namespace citadel::iamsvc
