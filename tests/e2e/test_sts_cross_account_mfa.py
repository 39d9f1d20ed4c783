"""Cross-account AssumeRole with both an external id and MFA: account B's role trusts a user of
account A only with the agreed sts:ExternalId and aws:MultiFactorAuthPresent. A wrong external
id and a missing MFA code are both refused (by the trust policy, not by the code check); the
correct call returns a session that acts in account B with the role's policies."""

import base64
import hashlib
import hmac
import json
import struct
import time
import unittest

import botocore.exceptions

import harness

STEP = 30


def totp(seed_b32, step):
    """RFC 6238 TOTP (HMAC-SHA1, 6 digits) of a time step, from the device's Base32 seed."""
    mac = hmac.new(base64.b32decode(seed_b32), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1000000)


def now_step():
    return int(time.time()) // STEP


class CrossAccountMfaTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)
        self.iam_a = self.s.client("iam")
        self.acct_a = self.s.account_id
        _, other = harness.run_admin("create-account", data_dir=self.s.data_dir)
        self.acct_b = other["CITADEL_ACCOUNT_ID"]
        self.iam_b = self.s.client("iam", access_key=other["AWS_ACCESS_KEY_ID"],
                                   secret_key=other["AWS_SECRET_ACCESS_KEY"])

    def assert_denied(self, fn, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(**kwargs)
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], "AccessDenied", cm.exception.response)
        return err["Message"]

    def test_external_id_and_mfa_across_accounts(self):
        # Account B: a role trusting alice of account A with an external id and MFA.
        self.iam_b.create_user(UserName="only-in-b")
        alice_arn = self.iam_a.create_user(UserName="alice")["User"]["Arn"]
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": alice_arn}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "partner-7731"},
                          "Bool": {"aws:MultiFactorAuthPresent": "true"}}}]})
        role_arn = self.iam_b.create_role(RoleName="partner", AssumeRolePolicyDocument=trust)[
            "Role"]["Arn"]
        self.assertIn(f"::{self.acct_b}:", role_arn)
        self.iam_b.put_role_policy(RoleName="partner", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]}))

        # Account A: alice may assume it, and has a virtual MFA device. The enabling codes are
        # two steps back, so the current and next steps stay available.
        self.iam_a.put_user_policy(UserName="alice", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]}))
        key = self.iam_a.create_access_key(UserName="alice")["AccessKey"]
        device = self.iam_a.create_virtual_mfa_device(VirtualMFADeviceName="alice-phone")
        serial = device["VirtualMFADevice"]["SerialNumber"]
        seed = device["VirtualMFADevice"]["Base32StringSeed"].decode()
        step = now_step()
        self.iam_a.enable_mfa_device(UserName="alice", SerialNumber=serial,
                                     AuthenticationCode1=totp(seed, step - 2),
                                     AuthenticationCode2=totp(seed, step - 1))
        sts = self.s.client("sts", access_key=key["AccessKeyId"],
                            secret_key=key["SecretAccessKey"])
        not_authorized = (f"User: {alice_arn} is not authorized to perform: sts:AssumeRole on "
                          f"resource: {role_arn}")

        # A valid MFA code with the wrong external id: the trust policy refuses.
        msg = self.assert_denied(sts.assume_role, RoleArn=role_arn, RoleSessionName="xs",
                                 ExternalId="partner-0000", SerialNumber=serial,
                                 TokenCode=totp(seed, step))
        self.assertEqual(msg, not_authorized)
        # The right external id without MFA: refused too.
        msg = self.assert_denied(sts.assume_role, RoleArn=role_arn, RoleSessionName="xs",
                                 ExternalId="partner-7731")
        self.assertEqual(msg, not_authorized)
        # No external id at all, with MFA: refused.
        msg = self.assert_denied(sts.assume_role, RoleArn=role_arn, RoleSessionName="xs",
                                 SerialNumber=serial, TokenCode=totp(seed, step))
        self.assertEqual(msg, not_authorized)

        # Both: the session is the role's, in account B.
        out = sts.assume_role(RoleArn=role_arn, RoleSessionName="xs", ExternalId="partner-7731",
                              SerialNumber=serial, TokenCode=totp(seed, step + 1))
        creds = out["Credentials"]
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         f"arn:aws:sts::{self.acct_b}:assumed-role/partner/xs")
        kw = dict(access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                  session_token=creds["SessionToken"])
        ident = self.s.client("sts", **kw).get_caller_identity()
        self.assertEqual(ident["Account"], self.acct_b)
        users = [u["UserName"] for u in self.s.client("iam", **kw).list_users()["Users"]]
        self.assertEqual(users, ["only-in-b"])
        # The role grants nothing else in B.
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s.client("iam", **kw).list_roles()
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")
        # The code is spent: the same call again is refused by the MFA check.
        msg = self.assert_denied(sts.assume_role, RoleArn=role_arn, RoleSessionName="xs",
                                 ExternalId="partner-7731", SerialNumber=serial,
                                 TokenCode=totp(seed, step + 1))
        self.assertIn("MultiFactorAuthentication failed", msg)


if __name__ == "__main__":
    unittest.main()
