"""Secrets Manager authorization end to end: a caller needs secretsmanager:GetSecretValue and,
for a customer key, kms:Decrypt; condition keys (secretsmanager:ResourceTag/*, aws:ResourceTag/*,
secretsmanager:VersionStage); the secret's resource policy (explicit deny, cross-account grant);
and the seed's "security account / dev account" scenario: a secret in the security account,
encrypted with a customer key there, read by a dev-account user only with the secret's resource
policy plus the key's policy (RAM cannot share secrets)."""

import json
import unittest
import uuid

import botocore.exceptions

import harness


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions, resource="*", condition=None, principal=None, effect="Allow"):
    st = {"Effect": effect, "Action": actions, "Resource": resource}
    if condition:
        st["Condition"] = condition
    if principal:
        st["Principal"] = principal
    return st


class SecretsAccessTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.CitadelServer()
        cls.s.start()
        cls.sm = cls.s.client("secretsmanager")
        cls.kms = cls.s.client("kms")
        cls.iam = cls.s.client("iam")
        cls.acct = cls.s.account_id
        cls.region = cls.s.region

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def assert_denied(self, fn, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException",
                         cm.exception.response)
        return cm.exception.response["Error"]["Message"]

    def user(self, iam, server_client, doc):
        name = "u" + uuid.uuid4().hex[:8]
        arn = iam.create_user(UserName=name)["User"]["Arn"]
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return arn, server_client("secretsmanager", access_key=key["AccessKeyId"],
                                  secret_key=key["SecretAccessKey"])

    def key_policy_enforced(self):
        """True once KMS enforces key policies (a key whose policy names nobody refuses even
        its own account's root)."""
        key = self.kms.create_key(Policy=policy(allow(
            "kms:*", principal={"AWS": "arn:aws:iam::111111111111:root"})),
            BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"]
        try:
            self.kms.encrypt(KeyId=key, Plaintext=b"x")
            return False
        except botocore.exceptions.ClientError:
            return True

    # ---- same account ---------------------------------------------------------------------

    def test_customer_key_needs_kms_decrypt_too(self):
        key = self.kms.create_key()["KeyMetadata"]
        name = "acc/" + uuid.uuid4().hex[:8]
        arn = self.sm.create_secret(Name=name, SecretString="v", KmsKeyId=key["Arn"])["ARN"]
        _, only_sm = self.user(self.iam, self.s.client,
                               policy(allow("secretsmanager:GetSecretValue", arn)))
        msg = self.assert_denied(only_sm.get_secret_value, SecretId=arn)
        self.assertEqual(msg, "Access to KMS is not allowed")
        _, both = self.user(self.iam, self.s.client, policy(
            allow("secretsmanager:GetSecretValue", arn), allow("kms:Decrypt", key["Arn"])))
        self.assertEqual(both.get_secret_value(SecretId=arn)["SecretString"], "v")
        _, only_kms = self.user(self.iam, self.s.client, policy(allow("kms:Decrypt", "*")))
        msg = self.assert_denied(only_kms.get_secret_value, SecretId=arn)
        self.assertIn("secretsmanager:GetSecretValue", msg)
        # The KMS denial is recorded as a Decrypt invoked by Secrets Manager.
        events = self.s.lookup_all(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "Decrypt"}])
        denied = [r for r in harness.cloudtrail_records(events)
                  if r.get("errorCode") and
                  r["userIdentity"].get("invokedBy") == "secretsmanager.amazonaws.com"]
        self.assertTrue(denied)

    def test_managed_key_needs_only_get_secret_value(self):
        if not self.key_policy_enforced():
            self.skipTest("waits for KMS key-policy enforcement: the aws/secretsmanager key "
                          "policy grants use through Secrets Manager to the account")
        name = "acc/" + uuid.uuid4().hex[:8]
        arn = self.sm.create_secret(Name=name, SecretString="v")["ARN"]
        _, only_sm = self.user(self.iam, self.s.client,
                               policy(allow("secretsmanager:GetSecretValue", arn)))
        self.assertEqual(only_sm.get_secret_value(SecretId=arn)["SecretString"], "v")

    def test_condition_keys(self):
        key = self.kms.create_key()["KeyMetadata"]
        blue = self.sm.create_secret(Name="acc/blue-" + uuid.uuid4().hex[:6], SecretString="b",
                                     KmsKeyId=key["Arn"],
                                     Tags=[{"Key": "team", "Value": "blue"}])["ARN"]
        green = self.sm.create_secret(Name="acc/green-" + uuid.uuid4().hex[:6],
                                      SecretString="g", KmsKeyId=key["Arn"],
                                      Tags=[{"Key": "team", "Value": "green"}])["ARN"]
        _, by_sm_tag = self.user(self.iam, self.s.client, policy(
            allow("secretsmanager:GetSecretValue", "*",
                  {"StringEquals": {"secretsmanager:ResourceTag/team": "blue"}}),
            allow("kms:Decrypt", key["Arn"])))
        self.assertEqual(by_sm_tag.get_secret_value(SecretId=blue)["SecretString"], "b")
        self.assert_denied(by_sm_tag.get_secret_value, SecretId=green)
        _, by_aws_tag = self.user(self.iam, self.s.client, policy(
            allow("secretsmanager:GetSecretValue", "*",
                  {"StringEquals": {"aws:ResourceTag/team": "green"}}),
            allow("kms:Decrypt", key["Arn"])))
        self.assertEqual(by_aws_tag.get_secret_value(SecretId=green)["SecretString"], "g")
        self.assert_denied(by_aws_tag.get_secret_value, SecretId=blue)
        _, current_only = self.user(self.iam, self.s.client, policy(
            allow("secretsmanager:GetSecretValue", "*",
                  {"StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT"}}),
            allow("kms:Decrypt", key["Arn"])))
        self.assertEqual(current_only.get_secret_value(SecretId=blue,
                                                       VersionStage="AWSCURRENT")["SecretString"],
                         "b")
        self.assert_denied(current_only.get_secret_value, SecretId=blue)  # no VersionStage given
        _, by_id = self.user(self.iam, self.s.client, policy(
            allow("secretsmanager:DescribeSecret", "*",
                  {"StringEquals": {"secretsmanager:SecretId": blue}})))
        by_id.describe_secret(SecretId=blue)
        self.assert_denied(by_id.describe_secret, SecretId=green)

    def test_resource_policy_explicit_deny(self):
        key = self.kms.create_key()["KeyMetadata"]
        name = "acc/deny-" + uuid.uuid4().hex[:6]
        arn = self.sm.create_secret(Name=name, SecretString="v", KmsKeyId=key["Arn"])["ARN"]
        user_arn, u = self.user(self.iam, self.s.client, policy(
            allow("secretsmanager:GetSecretValue", "*"), allow("kms:Decrypt", "*")))
        self.assertEqual(u.get_secret_value(SecretId=arn)["SecretString"], "v")
        self.sm.put_resource_policy(SecretId=arn, ResourcePolicy=policy(allow(
            "secretsmanager:GetSecretValue", "*", principal={"AWS": user_arn}, effect="Deny")))
        msg = self.assert_denied(u.get_secret_value, SecretId=arn)
        self.assertIn("explicit deny", msg)

    # ---- security account / dev account ---------------------------------------------------

    def dev_account(self):
        _, other = harness.run_admin("create-account", data_dir=self.s.data_dir)
        creds = dict(access_key=other["AWS_ACCESS_KEY_ID"],
                     secret_key=other["AWS_SECRET_ACCESS_KEY"])
        iam = self.s.client("iam", **creds)
        return other["CITADEL_ACCOUNT_ID"], iam

    def shared_secret(self, dev_acct, grant_key=True, grant_secret=True, managed=False):
        """In the security account (this server's default account): a key whose policy lets
        the dev account decrypt, and a secret whose policy lets it read."""
        statements = [allow("kms:*", principal={"AWS": f"arn:aws:iam::{self.acct}:root"})]
        if grant_key:
            statements.append(allow(["kms:Decrypt", "kms:DescribeKey"],
                                    principal={"AWS": f"arn:aws:iam::{dev_acct}:root"}))
        key = self.kms.create_key(Policy=policy(*statements))["KeyMetadata"]
        args = {} if managed else {"KmsKeyId": key["Arn"]}
        arn = self.sm.create_secret(Name="shared/" + uuid.uuid4().hex[:8],
                                    SecretString='{"db":"prod"}', **args)["ARN"]
        if grant_secret:
            self.sm.put_resource_policy(
                SecretId=arn, BlockPublicPolicy=True,
                ResourcePolicy=policy(allow("secretsmanager:GetSecretValue", "*",
                                            principal={"AWS": f"arn:aws:iam::{dev_acct}:root"})))
        return arn, key["Arn"]

    def dev_user(self, dev_iam, secret_arn, key_arn):
        return self.user(dev_iam, self.s.client, policy(
            allow("secretsmanager:GetSecretValue", secret_arn), allow("kms:Decrypt", key_arn)))[1]

    def test_cross_account_with_secret_policy_and_key_policy(self):
        dev_acct, dev_iam = self.dev_account()
        arn, key_arn = self.shared_secret(dev_acct)
        dev = self.dev_user(dev_iam, arn, key_arn)
        got = dev.get_secret_value(SecretId=arn)
        self.assertEqual(json.loads(got["SecretString"]), {"db": "prod"})
        # By name the dev account addresses a secret of its own account (which its policy does
        # not cover): cross-account access needs the ARN.
        name = arn.split(":secret:")[1][:-7]
        msg = self.assert_denied(dev.get_secret_value, SecretId=name)
        self.assertIn(f"arn:aws:secretsmanager:{self.region}:{dev_acct}:secret:{name}", msg)
        # A dev user whose own account grants nothing is refused.
        _, nobody = self.user(dev_iam, self.s.client, policy(allow("iam:ListUsers")))
        self.assert_denied(nobody.get_secret_value, SecretId=arn)

    def test_cross_account_without_secret_policy_is_denied(self):
        dev_acct, dev_iam = self.dev_account()
        arn, key_arn = self.shared_secret(dev_acct, grant_secret=False)
        dev = self.dev_user(dev_iam, arn, key_arn)
        msg = self.assert_denied(dev.get_secret_value, SecretId=arn)
        self.assertIn("secretsmanager:GetSecretValue", msg)

    def test_cross_account_without_key_policy_is_denied(self):
        if not self.key_policy_enforced():
            self.skipTest("waits for KMS key-policy enforcement (the key policy must grant the "
                          "dev account kms:Decrypt)")
        dev_acct, dev_iam = self.dev_account()
        arn, key_arn = self.shared_secret(dev_acct, grant_key=False)
        dev = self.dev_user(dev_iam, arn, key_arn)
        self.assertEqual(self.assert_denied(dev.get_secret_value, SecretId=arn),
                         "Access to KMS is not allowed")
        # AWS: the aws/secretsmanager key cannot be used from another account.
        arn2, _ = self.shared_secret(dev_acct, managed=True)
        dev2 = self.dev_user(dev_iam, arn2, "*")
        self.assertEqual(self.assert_denied(dev2.get_secret_value, SecretId=arn2),
                         "Access to KMS is not allowed")


if __name__ == "__main__":
    unittest.main()
