"""Virtual MFA devices end to end: a device is created with a Base32 seed, enabled with two
consecutive TOTP codes (computed here from the seed, as an authenticator app does), and its codes
make MFA sessions through GetSessionToken and AssumeRole that satisfy aws:MultiFactorAuthPresent
conditions, while the user's own keys do not; wrong and replayed codes are refused."""

import base64
import hashlib
import hmac
import json
import os
import struct
import tempfile
import time
import unittest

import botocore.exceptions

import harness

STEP = 30


def totp(seed_b32, step):
    """RFC 6238 TOTP (HMAC-SHA1, 6 digits) of a time step, from the device's Base32 seed."""
    key = base64.b32decode(seed_b32)
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1000000)


def now_step():
    return int(time.time()) // STEP


def wrong_code(seed_b32):
    """A six-digit code valid for no step near now."""
    near = {totp(seed_b32, now_step() + d) for d in range(-3, 4)}
    for candidate in ("123456", "654321", "000000", "999999"):
        if candidate not in near:
            return candidate
    raise AssertionError("unreachable")


def allow(actions, resource="*", condition=None):
    statement = {"Effect": "Allow", "Action": actions, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


MFA_CONDITION = {"Bool": {"aws:MultiFactorAuthPresent": "true"},
                 "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}


class MfaTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)
        self.iam = self.s.client("iam")
        self.acct = self.s.account_id

    def assert_error(self, code, fn, *args, message=None, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], code, cm.exception.response)
        if message is not None:
            self.assertEqual(err["Message"], message)

    def user_with_device(self, name, policy=None):
        """A user with access keys and an enabled virtual device: (key, serial, seed)."""
        self.iam.create_user(UserName=name)
        if policy:
            self.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        device = self.iam.create_virtual_mfa_device(VirtualMFADeviceName=name + "-mfa")
        serial = device["VirtualMFADevice"]["SerialNumber"]
        seed = device["VirtualMFADevice"]["Base32StringSeed"].decode()
        step = now_step()
        self.iam.enable_mfa_device(UserName=name, SerialNumber=serial,
                                   AuthenticationCode1=totp(seed, step - 1),
                                   AuthenticationCode2=totp(seed, step))
        return key, serial, seed

    def client_for(self, service, key):
        return self.s.client(service, access_key=key["AccessKeyId"],
                             secret_key=key["SecretAccessKey"],
                             session_token=key.get("SessionToken"))

    # ---- devices -------------------------------------------------------------------------

    def test_device_lifecycle(self):
        self.iam.create_user(UserName="alice")
        created = self.iam.create_virtual_mfa_device(
            VirtualMFADeviceName="alice-phone", Path="/team/",
            Tags=[{"Key": "owner", "Value": "alice"}])["VirtualMFADevice"]
        serial = created["SerialNumber"]
        self.assertEqual(serial, f"arn:aws:iam::{self.acct}:mfa/team/alice-phone")
        seed = created["Base32StringSeed"].decode()
        self.assertEqual(len(seed), 64)
        self.assertEqual(len(base64.b32decode(seed)), 40)
        self.assert_error("EntityAlreadyExists", self.iam.create_virtual_mfa_device,
                          VirtualMFADeviceName="alice-phone", Path="/team/")
        # The seed is secret: CloudTrail's record of the call does not carry it.
        events = self.s.client("cloudtrail").lookup_events(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "CreateVirtualMFADevice"}])["Events"]
        self.assertTrue(events)
        for event in events:
            self.assertNotIn(seed, event["CloudTrailEvent"])
            self.assertNotIn(base64.b64encode(seed.encode()).decode(), event["CloudTrailEvent"])

        unassigned = self.iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")
        self.assertEqual([d["SerialNumber"] for d in unassigned["VirtualMFADevices"]], [serial])
        self.assertNotIn("Base32StringSeed", unassigned["VirtualMFADevices"][0])

        step = now_step()
        invalid = "Authentication code for device is not valid."
        # A wrong first code, two equal codes, and codes in the wrong order are all refused.
        for code1, code2 in ((wrong_code(seed), totp(seed, step)),
                             (totp(seed, step), totp(seed, step)),
                             (totp(seed, step), totp(seed, step - 1))):
            self.assert_error("InvalidAuthenticationCode", self.iam.enable_mfa_device,
                              UserName="alice", SerialNumber=serial, AuthenticationCode1=code1,
                              AuthenticationCode2=code2, message=invalid)
        step = now_step()
        self.iam.enable_mfa_device(UserName="alice", SerialNumber=serial,
                                   AuthenticationCode1=totp(seed, step - 1),
                                   AuthenticationCode2=totp(seed, step))

        devices = self.iam.list_mfa_devices(UserName="alice")["MFADevices"]
        self.assertEqual([(d["UserName"], d["SerialNumber"]) for d in devices],
                         [("alice", serial)])
        assigned = self.iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")
        self.assertEqual(assigned["VirtualMFADevices"][0]["User"]["UserName"], "alice")
        self.assertIn("EnableDate", assigned["VirtualMFADevices"][0])
        self.assertEqual(
            self.iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"],
            [])
        self.iam.create_user(UserName="bob")
        self.assert_error("EntityAlreadyExists", self.iam.enable_mfa_device, UserName="bob",
                          SerialNumber=serial, AuthenticationCode1=totp(seed, step),
                          AuthenticationCode2=totp(seed, step + 1))

        self.assert_error("DeleteConflict", self.iam.delete_virtual_mfa_device,
                          SerialNumber=serial)
        # Nor can the user go while the device is assigned to it.
        self.assert_error("DeleteConflict", self.iam.delete_user, UserName="alice")
        self.assert_error("NoSuchEntity", self.iam.deactivate_mfa_device, UserName="bob",
                          SerialNumber=serial)
        self.iam.deactivate_mfa_device(UserName="alice", SerialNumber=serial)
        self.assertEqual(self.iam.list_mfa_devices(UserName="alice")["MFADevices"], [])
        self.iam.delete_virtual_mfa_device(SerialNumber=serial)
        self.assertEqual(self.iam.list_virtual_mfa_devices()["VirtualMFADevices"], [])
        self.assert_error("NoSuchEntity", self.iam.delete_virtual_mfa_device, SerialNumber=serial)

    def test_cli_writes_the_seed_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "seed.txt")
            proc = self.s.aws("iam", "create-virtual-mfa-device", "--virtual-mfa-device-name",
                              "cli-device", "--outfile", out, "--bootstrap-method",
                              "Base32StringSeed")
            self.assertEqual(proc.json["VirtualMFADevice"]["SerialNumber"],
                             f"arn:aws:iam::{self.acct}:mfa/cli-device")
            with open(out, "rb") as f:
                seed = f.read().decode()
        self.assertEqual(len(base64.b32decode(seed)), 40)

    # ---- STS -----------------------------------------------------------------------------

    def test_session_token_with_mfa_passes_mfa_conditions(self):
        key, serial, seed = self.user_with_device(
            "carol", allow(["iam:ListUsers"], condition=MFA_CONDITION))
        own_iam = self.client_for("iam", key)
        own_sts = self.client_for("sts", key)
        # The user's own keys are not MFA-authenticated: the condition fails.
        self.assert_error("AccessDenied", own_iam.list_users)
        # A session without MFA fails it too.
        plain = own_sts.get_session_token(DurationSeconds=900)["Credentials"]
        self.assert_error("AccessDenied", self.client_for("iam", plain).list_users)

        self.assert_error("AccessDenied", own_sts.get_session_token, SerialNumber=serial,
                          TokenCode=wrong_code(seed),
                          message="MultiFactorAuthentication failed with invalid MFA one time "
                                  "pass code.")
        # The enabling codes are spent; the next step's code is accepted once.
        code = totp(seed, now_step() + 1)
        creds = own_sts.get_session_token(SerialNumber=serial, TokenCode=code,
                                          DurationSeconds=900)["Credentials"]
        users = self.client_for("iam", creds).list_users()["Users"]
        self.assertIn("carol", [u["UserName"] for u in users])
        self.assert_error("AccessDenied", own_sts.get_session_token, SerialNumber=serial,
                          TokenCode=code)

        # Another user's device cannot authenticate carol.
        _, other_serial, other_seed = self.user_with_device("dave")
        self.assert_error("AccessDenied", own_sts.get_session_token, SerialNumber=other_serial,
                          TokenCode=totp(other_seed, now_step() + 1))

        # CloudTrail records the session as MFA-authenticated.
        events = self.s.client("cloudtrail").lookup_events(LookupAttributes=[
            {"AttributeKey": "AccessKeyId", "AttributeValue": creds["AccessKeyId"]}])["Events"]
        record = json.loads(events[0]["CloudTrailEvent"])
        self.assertEqual(
            record["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"], "true")

    def test_assume_role_with_trust_requiring_mfa(self):
        key, serial, seed = self.user_with_device("erin", allow(["sts:AssumeRole"]))
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.acct}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]})
        role_arn = self.iam.create_role(RoleName="admin", AssumeRolePolicyDocument=trust)[
            "Role"]["Arn"]
        self.iam.put_role_policy(RoleName="admin", PolicyName="p",
                                 PolicyDocument=allow(["iam:ListRoles"], condition=MFA_CONDITION))
        sts = self.client_for("sts", key)

        self.assert_error("AccessDenied", sts.assume_role, RoleArn=role_arn, RoleSessionName="ses")
        self.assert_error("AccessDenied", sts.assume_role, RoleArn=role_arn, RoleSessionName="ses",
                          SerialNumber=serial, TokenCode=wrong_code(seed))
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="ses", SerialNumber=serial,
                                TokenCode=totp(seed, now_step() + 1))["Credentials"]
        ident = self.client_for("sts", creds).get_caller_identity()
        self.assertEqual(ident["Arn"], f"arn:aws:sts::{self.acct}:assumed-role/admin/ses")
        # The role session is MFA-authenticated: the role's MFA-conditioned policy allows it.
        roles = self.client_for("iam", creds).list_roles()["Roles"]
        self.assertEqual([r["RoleName"] for r in roles], ["admin"])
        # A role session has no device of its own to chain with.
        self.assert_error("AccessDenied", self.client_for("sts", creds).assume_role,
                          RoleArn=role_arn, RoleSessionName="tes", SerialNumber=serial,
                          TokenCode=totp(seed, now_step() + 1))


if __name__ == "__main__":
    unittest.main()
