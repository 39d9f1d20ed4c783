"""KMS key policies, kms:* condition keys, grants and cross-account use, end to end with boto3
and the aws CLI: a key policy is required (IAM policies alone are not enough), the default key
policy delegates to IAM policies, a key policy can name a user directly, explicit denies with
kms:EncryptionContext:*, kms:ViaService through Secrets Manager, cross-account Decrypt through
the key policy and the other account's IAM policy, the lockout safety check, ReEncryptFrom /
ReEncryptTo, and every grant operation (constraints, tokens, retiring, revoking)."""

import base64
import json
import tempfile
import unittest
import uuid

import botocore.exceptions

import harness


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def stmt(actions, principal=None, effect="Allow", condition=None, resource="*", sid=None):
    st = {"Effect": effect, "Action": actions, "Resource": resource}
    if principal is not None:
        st["Principal"] = principal
    if condition:
        st["Condition"] = condition
    if sid:
        st["Sid"] = sid
    return st


class KmsPolicyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.CitadelServer(dev=True)  # dev: the clock moves (scheduled deletion)
        cls.s.start()
        cls.kms = cls.s.client("kms")
        cls.iam = cls.s.client("iam")
        cls.sm = cls.s.client("secretsmanager")
        cls.acct = cls.s.account_id
        cls.region = cls.s.region
        cls.root = f"arn:aws:iam::{cls.acct}:root"

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    # ---- helpers ---------------------------------------------------------------------------

    def assert_error(self, code, fn, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        return cm.exception.response["Error"].get("Message", "")

    def user(self, identity_policy=None, iam=None):
        """A new IAM user (optionally with an inline policy): (arn, kms client, creds)."""
        iam = iam or self.iam
        name = "u" + uuid.uuid4().hex[:10]
        arn = iam.create_user(UserName=name)["User"]["Arn"]
        if identity_policy:
            iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=identity_policy)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        creds = dict(access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
        return arn, self.s.client("kms", **creds), creds

    def key(self, *statements, bypass=True):
        """A key whose policy is the account root's default plus `statements`."""
        sts = [stmt("kms:*", {"AWS": self.root}, sid="root")] + list(statements)
        return self.kms.create_key(Policy=policy(*sts),
                                   BypassPolicyLockoutSafetyCheck=bypass)["KeyMetadata"]

    # ---- key policies ----------------------------------------------------------------------

    def test_key_policy_is_required(self):
        # A key whose policy names another account only: even kms:* in IAM does not help.
        other = "arn:aws:iam::111111111111:root"
        md = self.kms.create_key(Policy=policy(stmt("kms:*", {"AWS": other})),
                                 BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]
        _, admin, _ = self.user(policy(stmt("kms:*")))
        msg = self.assert_error("AccessDeniedException", admin.encrypt, KeyId=md["KeyId"],
                                Plaintext=b"x")
        self.assertIn("kms:Encrypt", msg)
        self.assertIn(md["Arn"], msg)
        self.assertIn("because no resource-based policy allows the kms:Encrypt action", msg)
        # Not even the account's root user.
        self.assert_error("AccessDeniedException", self.kms.describe_key, KeyId=md["KeyId"])

    def test_default_policy_delegates_to_iam(self):
        md = self.kms.create_key()["KeyMetadata"]
        _, nobody, _ = self.user()
        self.assert_error("AccessDeniedException", nobody.encrypt, KeyId=md["KeyId"],
                          Plaintext=b"x")
        _, allowed, _ = self.user(policy(stmt(["kms:Encrypt", "kms:Decrypt"], resource=md["Arn"])))
        blob = allowed.encrypt(KeyId=md["KeyId"], Plaintext=b"x")["CiphertextBlob"]
        self.assertEqual(allowed.decrypt(CiphertextBlob=blob)["Plaintext"], b"x")
        self.assert_error("AccessDeniedException", allowed.describe_key, KeyId=md["KeyId"])

    def test_key_policy_naming_the_user(self):
        name = "u" + uuid.uuid4().hex[:10]
        arn = self.iam.create_user(UserName=name)["User"]["Arn"]
        k = self.iam.create_access_key(UserName=name)["AccessKey"]
        direct = self.s.client("kms", access_key=k["AccessKeyId"], secret_key=k["SecretAccessKey"])
        md = self.key(stmt(["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], {"AWS": arn}))
        blob = direct.encrypt(KeyId=md["Arn"], Plaintext=b"direct")["CiphertextBlob"]
        self.assertEqual(direct.decrypt(CiphertextBlob=blob)["Plaintext"], b"direct")
        self.assertEqual(direct.describe_key(KeyId=md["KeyId"])["KeyMetadata"]["Arn"], md["Arn"])
        self.assert_error("AccessDeniedException", direct.disable_key, KeyId=md["KeyId"])

    def test_explicit_deny_with_encryption_context(self):
        arn, u, _ = self.user(policy(stmt("kms:*")))
        md = self.key(stmt(["kms:Encrypt", "kms:Decrypt"], {"AWS": arn}, effect="Deny",
                           condition={"StringEquals": {"kms:EncryptionContext:stage": "prod"}}))
        blob = u.encrypt(KeyId=md["KeyId"], Plaintext=b"d",
                         EncryptionContext={"stage": "dev"})["CiphertextBlob"]
        self.assertEqual(u.decrypt(CiphertextBlob=blob, EncryptionContext={"stage": "dev"})
                         ["Plaintext"], b"d")
        msg = self.assert_error("AccessDeniedException", u.encrypt, KeyId=md["KeyId"],
                                Plaintext=b"p", EncryptionContext={"stage": "prod"})
        self.assertIn("explicit deny", msg)
        # kms:EncryptionContextKeys: a key policy naming the user can require a context key
        # (the user's IAM policy no longer allows KMS, so only that statement can allow).
        md2 = self.key(stmt("kms:Encrypt", {"AWS": arn},
                            condition={"ForAnyValue:StringEquals":
                                       {"kms:EncryptionContextKeys": "tenant"}}))
        self.iam.put_user_policy(UserName=arn.split("/")[-1], PolicyName="p",
                                 PolicyDocument=policy(stmt("iam:GetUser")))
        self.assert_error("AccessDeniedException", u.encrypt, KeyId=md2["KeyId"], Plaintext=b"x")
        u.encrypt(KeyId=md2["KeyId"], Plaintext=b"x", EncryptionContext={"tenant": "a"})

    def test_condition_keys_of_the_key(self):
        arn, u, _ = self.user()
        md = self.key(stmt("kms:Encrypt", {"AWS": arn}, condition={
            "StringEquals": {"kms:KeySpec": "SYMMETRIC_DEFAULT", "kms:KeyUsage": "ENCRYPT_DECRYPT",
                             "kms:KeyOrigin": "AWS_KMS", "kms:CallerAccount": self.acct,
                             "kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
                             "aws:ResourceTag/team": "blue"},
            "Bool": {"kms:MultiRegion": "false"}}))
        self.assert_error("AccessDeniedException", u.encrypt, KeyId=md["KeyId"], Plaintext=b"x")
        self.kms.tag_resource(KeyId=md["KeyId"], Tags=[{"TagKey": "team", "TagValue": "blue"}])
        u.encrypt(KeyId=md["KeyId"], Plaintext=b"x")
        self.kms.untag_resource(KeyId=md["KeyId"], TagKeys=["team"])
        self.assert_error("AccessDeniedException", u.encrypt, KeyId=md["KeyId"], Plaintext=b"x")
        # kms:RequestAlias / kms:ResourceAliases.
        alias = "alias/pol-" + uuid.uuid4().hex[:8]
        md2 = self.key(stmt("kms:Encrypt", {"AWS": arn},
                            condition={"StringEquals": {"kms:RequestAlias": alias}}),
                       stmt("kms:Decrypt", {"AWS": arn},
                            condition={"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias}}))
        blob = self.kms.encrypt(KeyId=md2["KeyId"], Plaintext=b"a")["CiphertextBlob"]
        self.assert_error("AccessDeniedException", u.encrypt, KeyId=md2["KeyId"], Plaintext=b"x")
        self.assert_error("AccessDeniedException", u.decrypt, CiphertextBlob=blob)
        self.kms.create_alias(AliasName=alias, TargetKeyId=md2["KeyId"])
        u.encrypt(KeyId=alias, Plaintext=b"x")
        self.assertEqual(u.decrypt(CiphertextBlob=blob)["Plaintext"], b"a")

    def test_via_service_through_secrets_manager(self):
        # The key lets the user decrypt only through Secrets Manager.
        via = f"secretsmanager.{self.region}.amazonaws.com"
        name = "u" + uuid.uuid4().hex[:10]
        arn = self.iam.create_user(UserName=name)["User"]["Arn"]
        md = self.key(stmt(["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"], {"AWS": arn},
                           condition={"StringEquals": {"kms:ViaService": via}}))
        secret = self.sm.create_secret(Name="via/" + uuid.uuid4().hex[:8], SecretString="s3cret",
                                       KmsKeyId=md["Arn"])["ARN"]
        self.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy(
            stmt("secretsmanager:GetSecretValue", resource=secret)))
        k = self.iam.create_access_key(UserName=name)["AccessKey"]
        creds = dict(access_key=k["AccessKeyId"], secret_key=k["SecretAccessKey"])
        sm = self.s.client("secretsmanager", **creds)
        self.assertEqual(sm.get_secret_value(SecretId=secret)["SecretString"], "s3cret")
        direct = self.s.client("kms", **creds)
        blob = self.kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x")["CiphertextBlob"]
        self.assert_error("AccessDeniedException", direct.decrypt, CiphertextBlob=blob)

    def test_lockout_safety_check(self):
        other = policy(stmt("kms:*", {"AWS": "arn:aws:iam::111111111111:root"}))
        msg = self.assert_error("MalformedPolicyDocumentException", self.kms.create_key,
                                Policy=other)
        self.assertEqual(msg, "The new key policy will not allow you to update the key policy "
                              "in the future.")
        md = self.kms.create_key()["KeyMetadata"]
        self.assert_error("MalformedPolicyDocumentException", self.kms.put_key_policy,
                          KeyId=md["KeyId"], PolicyName="default", Policy=other)
        # A policy that keeps kms:PutKeyPolicy for the caller passes; so does the bypass.
        keep = policy(stmt(["kms:PutKeyPolicy", "kms:GetKeyPolicy"], {"AWS": self.root}))
        self.kms.put_key_policy(KeyId=md["KeyId"], PolicyName="default", Policy=keep)
        self.kms.put_key_policy(KeyId=md["KeyId"], PolicyName="default", Policy=other,
                                BypassPolicyLockoutSafetyCheck=True)
        self.assert_error("AccessDeniedException", self.kms.get_key_policy, KeyId=md["KeyId"])
        # The check evaluates the caller's IAM policies: a user allowed by IAM keeps access
        # through root delegation; one without IAM permission does not.
        _, admin, _ = self.user(policy(stmt("kms:*")))
        md2 = self.kms.create_key()["KeyMetadata"]
        admin.put_key_policy(KeyId=md2["KeyId"], PolicyName="default",
                             Policy=policy(stmt("kms:*", {"AWS": self.root})))
        _, limited, _ = self.user(policy(stmt(["kms:CreateKey"])))
        self.assert_error("MalformedPolicyDocumentException", limited.create_key,
                          Policy=policy(stmt("kms:*", {"AWS": self.root})))

    def test_reencrypt_from_and_to(self):
        arn, u, _ = self.user()
        src = self.key(stmt("kms:ReEncryptFrom", {"AWS": arn}))
        dst = self.key(stmt("kms:ReEncryptTo", {"AWS": arn}))
        blob = self.kms.encrypt(KeyId=src["KeyId"], Plaintext=b"r")["CiphertextBlob"]
        out = u.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dst["KeyId"])
        self.assertEqual(out["KeyId"], dst["Arn"])
        # Without ReEncryptTo on the destination (the source's policy does not help).
        msg = self.assert_error("AccessDeniedException", u.re_encrypt, CiphertextBlob=blob,
                                DestinationKeyId=src["KeyId"])
        self.assertIn("kms:ReEncryptTo", msg)
        back = self.kms.encrypt(KeyId=dst["KeyId"], Plaintext=b"r")["CiphertextBlob"]
        msg = self.assert_error("AccessDeniedException", u.re_encrypt, CiphertextBlob=back,
                                DestinationKeyId=dst["KeyId"])
        self.assertIn("kms:ReEncryptFrom", msg)
        # kms:ReEncryptOnSameKey.
        same = self.key(stmt("kms:ReEncrypt*", {"AWS": arn},
                             condition={"Bool": {"kms:ReEncryptOnSameKey": "true"}}))
        b2 = self.kms.encrypt(KeyId=same["KeyId"], Plaintext=b"s")["CiphertextBlob"]
        u.re_encrypt(CiphertextBlob=b2, DestinationKeyId=same["KeyId"])
        self.assert_error("AccessDeniedException", u.re_encrypt, CiphertextBlob=b2,
                          DestinationKeyId=dst["KeyId"])

    # ---- cross-account ---------------------------------------------------------------------

    def other_account(self):
        _, other = harness.run_admin("create-account", data_dir=self.s.data_dir)
        creds = dict(access_key=other["AWS_ACCESS_KEY_ID"],
                     secret_key=other["AWS_SECRET_ACCESS_KEY"])
        return other["CITADEL_ACCOUNT_ID"], self.s.client("iam", **creds)

    def test_cross_account_decrypt(self):
        dev_acct, dev_iam = self.other_account()
        shared = self.key(stmt(["kms:Decrypt", "kms:DescribeKey"],
                               {"AWS": f"arn:aws:iam::{dev_acct}:root"}))
        private = self.kms.create_key()["KeyMetadata"]
        blob = self.kms.encrypt(KeyId=shared["KeyId"], Plaintext=b"cross")["CiphertextBlob"]
        blob2 = self.kms.encrypt(KeyId=private["KeyId"], Plaintext=b"no")["CiphertextBlob"]
        _, dev, _ = self.user(policy(stmt(["kms:Decrypt", "kms:DescribeKey"])), iam=dev_iam)
        out = dev.decrypt(CiphertextBlob=blob, KeyId=shared["Arn"])
        self.assertEqual((out["Plaintext"], out["KeyId"]), (b"cross", shared["Arn"]))
        self.assertEqual(dev.decrypt(CiphertextBlob=blob)["Plaintext"], b"cross")
        self.assertEqual(dev.describe_key(KeyId=shared["Arn"])["KeyMetadata"]["AWSAccountId"],
                         self.acct)
        # Without the key policy statement: denied.
        msg = self.assert_error("AccessDeniedException", dev.decrypt, CiphertextBlob=blob2)
        self.assertIn(private["Arn"], msg)
        # Without the other account's IAM policy: denied.
        _, dev_nobody, _ = self.user(policy(stmt("iam:GetUser")), iam=dev_iam)
        self.assert_error("AccessDeniedException", dev_nobody.decrypt, CiphertextBlob=blob)
        # Management operations do not work across accounts (the key is not found).
        self.assert_error("NotFoundException", dev.disable_key, KeyId=shared["Arn"])
        # With the aws CLI: the same user decrypts across accounts.
        _, _, creds = self.user(policy(stmt("kms:Decrypt")), iam=dev_iam)
        with tempfile.NamedTemporaryFile(suffix=".bin") as f:
            f.write(blob)
            f.flush()
            out = self.s.aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{f.name}",
                             "--query", "Plaintext", **creds)
        self.assertEqual(base64.b64decode(out.json), b"cross")

    # ---- grants ----------------------------------------------------------------------------

    def test_grants(self):
        grantee_arn, grantee, _ = self.user()
        retiring_arn, retiring, _ = self.user(policy(stmt("kms:ListRetirableGrants")))
        md = self.kms.create_key()["KeyMetadata"]
        self.assert_error("AccessDeniedException", grantee.encrypt, KeyId=md["KeyId"],
                          Plaintext=b"x")
        g = self.kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=grantee_arn,
                                  RetiringPrincipal=retiring_arn,
                                  Operations=["Encrypt", "Decrypt", "DescribeKey"],
                                  Name="app-grant")
        self.assertEqual(len(g["GrantId"]), 64)
        # The grant token is usable at once.
        blob = grantee.encrypt(KeyId=md["KeyId"], Plaintext=b"g",
                               GrantTokens=[g["GrantToken"]])["CiphertextBlob"]
        self.assertEqual(grantee.decrypt(CiphertextBlob=blob)["Plaintext"], b"g")
        grantee.describe_key(KeyId=md["KeyId"])
        self.assert_error("AccessDeniedException", grantee.generate_data_key, KeyId=md["KeyId"],
                          KeySpec="AES_256")
        # Name idempotency: the same grant again gives the same id.
        again = self.kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=grantee_arn,
                                      RetiringPrincipal=retiring_arn,
                                      Operations=["Encrypt", "Decrypt", "DescribeKey"],
                                      Name="app-grant")
        self.assertEqual(again["GrantId"], g["GrantId"])
        listed = self.kms.list_grants(KeyId=md["KeyId"])["Grants"]
        self.assertEqual([x["GrantId"] for x in listed], [g["GrantId"]])
        self.assertEqual(listed[0]["GranteePrincipal"], grantee_arn)
        self.assertEqual(listed[0]["RetiringPrincipal"], retiring_arn)
        self.assertEqual(listed[0]["IssuingAccount"], self.root)
        self.assertEqual(listed[0]["KeyId"], md["Arn"])
        self.assertEqual(listed[0]["Name"], "app-grant")
        retirable = retiring.list_retirable_grants(RetiringPrincipal=retiring_arn)["Grants"]
        self.assertEqual([x["GrantId"] for x in retirable], [g["GrantId"]])
        # Only the retiring principal (or the grantee with RetireGrant) retires it.
        self.assert_error("AccessDeniedException", grantee.retire_grant,
                          GrantToken=g["GrantToken"])
        retiring.retire_grant(KeyId=md["Arn"], GrantId=g["GrantId"])
        self.assertEqual(self.kms.list_grants(KeyId=md["KeyId"])["Grants"], [])
        self.assert_error("AccessDeniedException", grantee.encrypt, KeyId=md["KeyId"],
                          Plaintext=b"x")
        self.assert_error("InvalidGrantTokenException", retiring.retire_grant,
                          GrantToken=g["GrantToken"])

    def test_grant_constraints(self):
        grantee_arn, grantee, _ = self.user()
        md = self.kms.create_key()["KeyMetadata"]
        self.kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=grantee_arn,
                              Operations=["Encrypt", "Decrypt", "DescribeKey"],
                              Constraints={"EncryptionContextSubset": {"tenant": "a"}})
        blob = grantee.encrypt(KeyId=md["KeyId"], Plaintext=b"x",
                               EncryptionContext={"tenant": "a", "extra": "1"})["CiphertextBlob"]
        grantee.decrypt(CiphertextBlob=blob, EncryptionContext={"tenant": "a", "extra": "1"})
        # Keys compare without case, values with case (AWS).
        grantee.encrypt(KeyId=md["KeyId"], Plaintext=b"x", EncryptionContext={"TENANT": "a"})
        for bad in ({"tenant": "b"}, {"tenant": "A"}, {}):
            self.assert_error("AccessDeniedException", grantee.encrypt, KeyId=md["KeyId"],
                              Plaintext=b"x", EncryptionContext=bad)
        grantee.describe_key(KeyId=md["KeyId"])  # constraints do not apply to DescribeKey
        # EncryptionContextEquals: exactly the pairs.
        eq_arn, eq_user, _ = self.user()
        self.kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=eq_arn,
                              Operations=["GenerateDataKey"],
                              Constraints={"EncryptionContextEquals": {"app": "x"}})
        eq_user.generate_data_key(KeyId=md["KeyId"], KeySpec="AES_256",
                                  EncryptionContext={"app": "x"})
        self.assert_error("AccessDeniedException", eq_user.generate_data_key, KeyId=md["KeyId"],
                          KeySpec="AES_256", EncryptionContext={"app": "x", "more": "y"})
        listed = self.kms.list_grants(KeyId=md["KeyId"], GranteePrincipal=eq_arn)["Grants"]
        self.assertEqual(listed[0]["Constraints"], {"EncryptionContextEquals": {"app": "x"}})
        self.assert_error("ValidationException", self.kms.create_grant, KeyId=md["KeyId"],
                          GranteePrincipal=eq_arn, Operations=["Encrypt"],
                          Constraints={"EncryptionContextEquals": {"a": "1"},
                                       "EncryptionContextSubset": {"b": "2"}})

    def test_grant_for_role_sessions_and_create_grant(self):
        trust = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": self.root}, "Action": "sts:AssumeRole"}]})
        role_name = "r" + uuid.uuid4().hex[:8]
        role_arn = self.iam.create_role(RoleName=role_name, Path="/app/",
                                        AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        self.iam.put_role_policy(RoleName=role_name, PolicyName="p",
                                 PolicyDocument=policy(stmt("iam:GetUser")))
        md = self.kms.create_key()["KeyMetadata"]
        self.kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=role_arn,
                              Operations=["Encrypt", "CreateGrant"])
        _, _, creds = self.user(policy(stmt("sts:AssumeRole", resource=role_arn)))
        sts = self.s.client("sts", **creds)
        c = sts.assume_role(RoleArn=role_arn, RoleSessionName="s1")["Credentials"]
        session = self.s.client("kms", access_key=c["AccessKeyId"],
                                secret_key=c["SecretAccessKey"], session_token=c["SessionToken"])
        session.encrypt(KeyId=md["KeyId"], Plaintext=b"role")
        # CreateGrant through a grant: only operations of that grant.
        other_arn, other, _ = self.user()
        session.create_grant(KeyId=md["Arn"], GranteePrincipal=other_arn, Operations=["Encrypt"])
        other.encrypt(KeyId=md["KeyId"], Plaintext=b"x")
        self.assert_error("AccessDeniedException", session.create_grant, KeyId=md["Arn"],
                          GranteePrincipal=other_arn, Operations=["Decrypt"])

    def test_revoke_and_errors(self):
        grantee_arn, grantee, _ = self.user()
        md = self.kms.create_key()["KeyMetadata"]
        g = self.kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=grantee_arn,
                                  Operations=["Encrypt", "RetireGrant"])
        grantee.encrypt(KeyId=md["KeyId"], Plaintext=b"x")
        self.kms.revoke_grant(KeyId=md["KeyId"], GrantId=g["GrantId"])
        self.assert_error("AccessDeniedException", grantee.encrypt, KeyId=md["KeyId"],
                          Plaintext=b"x")
        self.assert_error("NotFoundException", self.kms.revoke_grant, KeyId=md["KeyId"],
                          GrantId=g["GrantId"])
        self.assert_error("InvalidGrantIdException", self.kms.revoke_grant, KeyId=md["KeyId"],
                          GrantId="not-a-grant")
        self.assert_error("InvalidGrantTokenException", self.kms.encrypt, KeyId=md["KeyId"],
                          Plaintext=b"x", GrantTokens=["bogus-token"])
        self.assert_error("InvalidGrantTokenException", self.kms.retire_grant,
                          GrantToken="bogus-token")
        # CloudTrail records the failures.
        events = self.s.lookup_all(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "Encrypt"}])
        failed = [r for r in harness.cloudtrail_records(events)
                  if r.get("errorCode") == "InvalidGrantTokenException"]
        self.assertTrue(failed)
        events = self.s.lookup_all(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "RevokeGrant"}])
        codes = [r.get("errorCode") for r in harness.cloudtrail_records(events)]
        self.assertIn("InvalidGrantIdException", codes)
        self.assertIn(None, codes)  # the successful revocation
        # The grantee retires a grant that lists RetireGrant.
        g2 = self.kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=grantee_arn,
                                   Operations=["Encrypt", "RetireGrant"])
        grantee.retire_grant(GrantToken=g2["GrantToken"])
        # kms:GrantOperations / kms:GranteePrincipal in a key policy.
        arn, u, _ = self.user()
        limited = self.key(stmt("kms:CreateGrant", {"AWS": arn}, condition={
            "ForAllValues:StringEquals": {"kms:GrantOperations": ["Encrypt", "Decrypt"]},
            "StringEquals": {"kms:GranteePrincipal": grantee_arn}}))
        u.create_grant(KeyId=limited["Arn"], GranteePrincipal=grantee_arn, Operations=["Encrypt"])
        self.assert_error("AccessDeniedException", u.create_grant, KeyId=limited["Arn"],
                          GranteePrincipal=grantee_arn, Operations=["Encrypt", "CreateGrant"])
        self.assert_error("AccessDeniedException", u.create_grant, KeyId=limited["Arn"],
                          GranteePrincipal=arn, Operations=["Encrypt"])

    def test_deleting_a_key_deletes_its_grants(self):
        grantee_arn, grantee, _ = self.user(policy(stmt("kms:ListRetirableGrants")))
        md = self.kms.create_key()["KeyMetadata"]
        self.kms.create_grant(KeyId=md["KeyId"], GranteePrincipal=grantee_arn,
                              RetiringPrincipal=grantee_arn, Operations=["Encrypt"])
        self.assertEqual(len(grantee.list_retirable_grants(
            RetiringPrincipal=grantee_arn)["Grants"]), 1)
        self.kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
        self.assertEqual(self.s.move_clock(advance_seconds=8 * 86400).status, 200)
        self.assertEqual(grantee.list_retirable_grants(RetiringPrincipal=grantee_arn)["Grants"],
                         [])

if __name__ == "__main__":
    unittest.main()
