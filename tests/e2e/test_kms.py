"""KMS end to end with boto3 and the aws CLI: keys (CreateKey, DescribeKey, ListKeys, key id
forms), aliases, tags, descriptions, Enable/Disable, ScheduleKeyDeletion/CancelKeyDeletion, key
policies, symmetric cryptography (Encrypt/Decrypt/ReEncrypt/GenerateDataKey/GenerateRandom with
encryption context), envelope encryption with openssl, AWS's errors for bad input, and the
CloudTrail records of successes and failures."""

import base64
import json
import os
import subprocess
import tempfile
import unittest

import botocore.exceptions

import harness

DEFAULT_POLICY_FMT = (
    '{\n  "Version" : "2012-10-17",\n  "Id" : "key-default-1",\n  "Statement" : [ {\n'
    '    "Sid" : "Enable IAM User Permissions",\n    "Effect" : "Allow",\n'
    '    "Principal" : {\n      "AWS" : "arn:aws:iam::%s:root"\n    },\n'
    '    "Action" : "kms:*",\n    "Resource" : "*"\n  } ]\n}')


class KmsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.CitadelServer()
        cls.s.start()
        cls.kms = cls.s.client("kms")
        cls.acct = cls.s.account_id
        cls.region = cls.s.region

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def assert_error(self, code, fn, *args, message=None, **kwargs):
        return harness.expect_aws_error(self, code, fn, *args, message=message, **kwargs)

    def arn(self, key_id):
        return f"arn:aws:kms:{self.region}:{self.acct}:key/{key_id}"

    def new_key(self, **kwargs):
        return self.kms.create_key(**kwargs)["KeyMetadata"]

    def records(self, event_name):
        events = self.s.lookup_all(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": event_name}])
        return harness.cloudtrail_records(events)

    # ---- 1. keys -------------------------------------------------------------------------

    def test_create_and_describe_key_metadata(self):
        md = self.new_key(Description="orders", Tags=[{"TagKey": "team", "TagValue": "pay"}])
        self.assertRegex(md["KeyId"], r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                                      r"[0-9a-f]{12}$")
        self.assertEqual(md["Arn"], self.arn(md["KeyId"]))
        self.assertEqual(md["AWSAccountId"], self.acct)
        self.assertTrue(md["Enabled"])
        self.assertEqual(md["Description"], "orders")
        self.assertEqual(md["KeyUsage"], "ENCRYPT_DECRYPT")
        self.assertEqual(md["KeyState"], "Enabled")
        self.assertEqual(md["Origin"], "AWS_KMS")
        self.assertEqual(md["KeyManager"], "CUSTOMER")
        self.assertEqual(md["CustomerMasterKeySpec"], "SYMMETRIC_DEFAULT")
        self.assertEqual(md["KeySpec"], "SYMMETRIC_DEFAULT")
        self.assertEqual(md["EncryptionAlgorithms"], ["SYMMETRIC_DEFAULT"])
        self.assertFalse(md["MultiRegion"])
        self.assertNotIn("DeletionDate", md)
        self.assertLess(abs(md["CreationDate"].timestamp() - harness.utcnow().timestamp()), 120)
        again = self.kms.describe_key(KeyId=md["KeyId"])["KeyMetadata"]
        self.assertEqual(again, md)
        # The default key policy, exactly as AWS prints it.
        pol = self.kms.get_key_policy(KeyId=md["KeyId"], PolicyName="default")
        self.assertEqual(pol["Policy"], DEFAULT_POLICY_FMT % self.acct)
        self.assertEqual(pol["PolicyName"], "default")
        self.assertEqual(self.kms.list_key_policies(KeyId=md["KeyId"])["PolicyNames"],
                         ["default"])
        self.assertEqual(self.kms.list_resource_tags(KeyId=md["KeyId"])["Tags"],
                         [{"TagKey": "team", "TagValue": "pay"}])

    def test_key_id_forms(self):
        md = self.new_key()
        self.kms.create_alias(AliasName="alias/forms", TargetKeyId=md["KeyId"])
        alias_arn = f"arn:aws:kms:{self.region}:{self.acct}:alias/forms"
        for form in (md["KeyId"], md["Arn"], "alias/forms", alias_arn):
            self.assertEqual(self.kms.describe_key(KeyId=form)["KeyMetadata"]["KeyId"],
                             md["KeyId"], form)
            blob = self.kms.encrypt(KeyId=form, Plaintext=b"x")["CiphertextBlob"]
            self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["KeyId"], md["Arn"])
        # Operations that manage a key refuse aliases, as AWS does.
        self.assert_error("NotFoundException", self.kms.enable_key, KeyId="alias/forms")
        self.assert_error("NotFoundException", self.kms.describe_key, KeyId="not-a-key",
                          message="Invalid keyId not-a-key")
        missing = "11111111-2222-3333-4444-555555555555"
        self.assert_error("NotFoundException", self.kms.describe_key, KeyId=missing,
                          message=f"Key '{self.arn(missing)}' does not exist")
        self.assert_error("NotFoundException", self.kms.encrypt, KeyId="alias/nope",
                          Plaintext=b"x",
                          message=f"Alias arn:aws:kms:{self.region}:{self.acct}:alias/nope "
                                  "is not found.")

    def test_list_keys_paging(self):
        ids = {self.new_key()["KeyId"] for _ in range(5)}
        seen, marker, pages = [], None, 0
        while True:
            kw = {"Limit": 2}
            if marker:
                kw["Marker"] = marker
            page = self.kms.list_keys(**kw)
            pages += 1
            self.assertLessEqual(len(page["Keys"]), 2)
            for k in page["Keys"]:
                self.assertEqual(k["KeyArn"], self.arn(k["KeyId"]))
            seen += [k["KeyId"] for k in page["Keys"]]
            if not page["Truncated"]:
                self.assertNotIn("NextMarker", page)
                break
            marker = page["NextMarker"]
        self.assertGreaterEqual(pages, 3)
        self.assertEqual(len(seen), len(set(seen)))
        self.assertTrue(ids <= set(seen))
        # The CLI follows the markers itself.
        cli = self.s.aws("kms", "list-keys", "--page-size", "2").json
        self.assertTrue(ids <= {k["KeyId"] for k in cli["Keys"]})

    def test_multi_region_external_and_unsupported_specs(self):
        mrk = self.new_key(MultiRegion=True)
        self.assertRegex(mrk["KeyId"], r"^mrk-[0-9a-f]{32}$")
        self.assertTrue(mrk["MultiRegion"])
        self.assertEqual(mrk["MultiRegionConfiguration"]["MultiRegionKeyType"], "PRIMARY")
        self.assertEqual(mrk["MultiRegionConfiguration"]["PrimaryKey"],
                         {"Arn": mrk["Arn"], "Region": self.region})
        blob = self.kms.encrypt(KeyId=mrk["KeyId"], Plaintext=b"mr")["CiphertextBlob"]
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"mr")

        ext = self.new_key(Origin="EXTERNAL")
        self.assertEqual(ext["KeyState"], "PendingImport")
        self.assertFalse(ext["Enabled"])
        self.assertEqual(ext["Origin"], "EXTERNAL")
        self.assert_error("KMSInvalidStateException", self.kms.encrypt, KeyId=ext["KeyId"],
                          Plaintext=b"x", message=f"{ext['Arn']} is pending import.")
        self.assert_error("KMSInvalidStateException", self.kms.enable_key, KeyId=ext["KeyId"])

        self.assert_error("UnsupportedOperationException", self.kms.create_key,
                          Origin="AWS_CLOUDHSM")
        err = self.assert_error("UnsupportedOperationException", self.kms.create_key,
                                KeySpec="ML_DSA_44", KeyUsage="SIGN_VERIFY")
        self.assertIn("ML_DSA_44", err.response["Error"]["Message"])
        self.assert_error("ValidationException", self.kms.create_key, KeySpec="SYMMETRIC_DEFAULT",
                          KeyUsage="SIGN_VERIFY")
        self.assert_error("ValidationException", self.kms.create_key, KeySpec="SYMMETRIC_DEFAULT",
                          CustomerMasterKeySpec="SYMMETRIC_DEFAULT")

    def test_key_policies(self):
        policy = json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "root", "Effect": "Allow",
                           "Principal": {"AWS": f"arn:aws:iam::{self.acct}:root"},
                           "Action": "kms:*", "Resource": "*"}]})
        md = self.new_key(Policy=policy, BypassPolicyLockoutSafetyCheck=True)
        self.assertEqual(self.kms.get_key_policy(KeyId=md["KeyId"])["Policy"], policy)
        updated = policy.replace('"root"', '"admins"')
        self.kms.put_key_policy(KeyId=md["KeyId"], PolicyName="default", Policy=updated)
        self.assertEqual(self.kms.get_key_policy(KeyId=md["KeyId"])["Policy"], updated)
        self.assert_error("MalformedPolicyDocumentException", self.kms.put_key_policy,
                          KeyId=md["KeyId"], Policy="{not json")
        # A key policy needs a Principal (a resource-based policy).
        no_principal = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]})
        self.assert_error("MalformedPolicyDocumentException", self.kms.create_key,
                          Policy=no_principal)
        self.assert_error("NotFoundException", self.kms.get_key_policy, KeyId=md["KeyId"],
                          PolicyName="other")

    # ---- 2. aliases ----------------------------------------------------------------------

    def test_aliases(self):
        a = self.new_key()
        b = self.new_key()
        self.kms.create_alias(AliasName="alias/app", TargetKeyId=a["KeyId"])
        self.assert_error("AlreadyExistsException", self.kms.create_alias, AliasName="alias/app",
                          TargetKeyId=b["KeyId"],
                          message=f"An alias with the name arn:aws:kms:{self.region}:"
                                  f"{self.acct}:alias/app already exists")
        self.assert_error("NotAuthorizedException", self.kms.create_alias,
                          AliasName="alias/aws/mine", TargetKeyId=a["KeyId"])
        self.assert_error("ValidationException", self.kms.create_alias, AliasName="app2",
                          TargetKeyId=a["KeyId"])
        self.assert_error("ValidationException", self.kms.create_alias, AliasName="alias/b c",
                          TargetKeyId=a["KeyId"])
        self.assert_error("ValidationException", self.kms.create_alias, AliasName="alias/x",
                          TargetKeyId="alias/app")
        self.kms.create_alias(AliasName="alias/app-b", TargetKeyId=b["Arn"])
        mine = self.kms.list_aliases(KeyId=a["KeyId"])["Aliases"]
        self.assertEqual([x["AliasName"] for x in mine], ["alias/app"])
        self.assertEqual(mine[0]["TargetKeyId"], a["KeyId"])
        self.assertEqual(mine[0]["AliasArn"],
                         f"arn:aws:kms:{self.region}:{self.acct}:alias/app")
        self.assertIn("CreationDate", mine[0])
        # Paging.
        page = self.kms.list_aliases(Limit=1)
        self.assertTrue(page["Truncated"])
        rest = self.kms.list_aliases(Marker=page["NextMarker"])["Aliases"]
        self.assertNotIn(page["Aliases"][0]["AliasName"], [x["AliasName"] for x in rest])
        # UpdateAlias moves it; encryption through the alias now uses b.
        self.kms.update_alias(AliasName="alias/app", TargetKeyId=b["KeyId"])
        self.assertEqual(self.kms.encrypt(KeyId="alias/app", Plaintext=b"x")["KeyId"], b["Arn"])
        self.assert_error("NotFoundException", self.kms.update_alias, AliasName="alias/none",
                          TargetKeyId=b["KeyId"])
        self.kms.delete_alias(AliasName="alias/app")
        self.assert_error("NotFoundException", self.kms.describe_key, KeyId="alias/app")
        self.assert_error("NotFoundException", self.kms.delete_alias, AliasName="alias/app")
        self.assert_error("NotAuthorizedException", self.kms.delete_alias,
                          AliasName="alias/aws/s3")

    # ---- 3. tags, description, enable/disable, deletion -----------------------------------

    def test_tags_description_enable_disable(self):
        md = self.new_key()
        kid = md["KeyId"]
        self.kms.tag_resource(KeyId=kid, Tags=[{"TagKey": "b", "TagValue": "2"},
                                               {"TagKey": "a", "TagValue": "1"}])
        self.kms.tag_resource(KeyId=md["Arn"], Tags=[{"TagKey": "a", "TagValue": "one"}])
        self.assertEqual(self.kms.list_resource_tags(KeyId=kid)["Tags"],
                         [{"TagKey": "a", "TagValue": "one"}, {"TagKey": "b", "TagValue": "2"}])
        page = self.kms.list_resource_tags(KeyId=kid, Limit=1)
        self.assertTrue(page["Truncated"])
        self.kms.untag_resource(KeyId=kid, TagKeys=["a"])
        self.assertEqual(self.kms.list_resource_tags(KeyId=kid)["Tags"],
                         [{"TagKey": "b", "TagValue": "2"}])
        self.assert_error("TagException", self.kms.tag_resource, KeyId=kid,
                          Tags=[{"TagKey": "aws:x", "TagValue": "1"}])

        self.kms.update_key_description(KeyId=kid, Description="new words")
        self.assertEqual(self.kms.describe_key(KeyId=kid)["KeyMetadata"]["Description"],
                         "new words")

        blob = self.kms.encrypt(KeyId=kid, Plaintext=b"before")["CiphertextBlob"]
        self.kms.disable_key(KeyId=kid)
        d = self.kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual((d["KeyState"], d["Enabled"]), ("Disabled", False))
        self.assert_error("DisabledException", self.kms.encrypt, KeyId=kid, Plaintext=b"x",
                          message=f"{md['Arn']} is disabled.")
        self.assert_error("DisabledException", self.kms.decrypt, CiphertextBlob=blob)
        self.assert_error("DisabledException", self.kms.generate_data_key, KeyId=kid,
                          KeySpec="AES_256")
        self.kms.enable_key(KeyId=kid)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"before")

    def test_schedule_and_cancel_deletion(self):
        md = self.new_key()
        kid = md["KeyId"]
        for days in (6, 31):
            self.assert_error("ValidationException", self.kms.schedule_key_deletion, KeyId=kid,
                              PendingWindowInDays=days)
        out = self.kms.schedule_key_deletion(KeyId=kid)
        self.assertEqual(out["KeyId"], md["Arn"])
        self.assertEqual(out["KeyState"], "PendingDeletion")
        self.assertEqual(out["PendingWindowInDays"], 30)
        delta = out["DeletionDate"].timestamp() - harness.utcnow().timestamp()
        self.assertLess(abs(delta - 30 * 86400), 300)
        d = self.kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual(d["KeyState"], "PendingDeletion")
        self.assertFalse(d["Enabled"])
        self.assertEqual(d["PendingDeletionWindowInDays"], 30)
        self.assertEqual(d["DeletionDate"], out["DeletionDate"])
        pending = f"{md['Arn']} is pending deletion."
        self.assert_error("KMSInvalidStateException", self.kms.encrypt, KeyId=kid,
                          Plaintext=b"x", message=pending)
        self.assert_error("KMSInvalidStateException", self.kms.enable_key, KeyId=kid)
        self.assert_error("KMSInvalidStateException", self.kms.tag_resource, KeyId=kid,
                          Tags=[{"TagKey": "a", "TagValue": "b"}])
        self.assert_error("KMSInvalidStateException", self.kms.schedule_key_deletion, KeyId=kid)
        self.assertEqual(self.kms.cancel_key_deletion(KeyId=kid)["KeyId"], md["Arn"])
        d = self.kms.describe_key(KeyId=kid)["KeyMetadata"]
        self.assertEqual(d["KeyState"], "Disabled")
        self.assertNotIn("DeletionDate", d)
        self.assertNotIn("PendingDeletionWindowInDays", d)
        self.assert_error("KMSInvalidStateException", self.kms.cancel_key_deletion, KeyId=kid)
        # Seven days is the shortest window.
        other = self.new_key()["KeyId"]
        self.assertEqual(self.kms.schedule_key_deletion(
            KeyId=other, PendingWindowInDays=7)["PendingWindowInDays"], 7)

    # ---- 4. cryptography -----------------------------------------------------------------

    def test_encrypt_decrypt_with_context(self):
        md = self.new_key()
        ctx = {"tenant": "acme", "purpose": "test"}
        enc = self.kms.encrypt(KeyId=md["KeyId"], Plaintext=b"secret data",
                               EncryptionContext=ctx)
        self.assertEqual(enc["KeyId"], md["Arn"])
        self.assertEqual(enc["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT")
        blob = enc["CiphertextBlob"]
        self.assertNotIn(b"secret data", blob)
        # Same context in another order decrypts, without KeyId and with it.
        reordered = {"purpose": "test", "tenant": "acme"}
        out = self.kms.decrypt(CiphertextBlob=blob, EncryptionContext=reordered)
        self.assertEqual(out["Plaintext"], b"secret data")
        self.assertEqual(out["KeyId"], md["Arn"])
        self.assertEqual(out["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT")
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob, KeyId=md["Arn"],
                                          EncryptionContext=ctx)["Plaintext"], b"secret data")
        # Wrong or missing context, tampered or truncated blob: InvalidCiphertextException.
        self.assert_error("InvalidCiphertextException", self.kms.decrypt, CiphertextBlob=blob,
                          EncryptionContext={"tenant": "evil", "purpose": "test"})
        self.assert_error("InvalidCiphertextException", self.kms.decrypt, CiphertextBlob=blob)
        tampered = bytearray(blob)
        tampered[-20] ^= 1
        self.assert_error("InvalidCiphertextException", self.kms.decrypt,
                          CiphertextBlob=bytes(tampered), EncryptionContext=ctx)
        self.assert_error("InvalidCiphertextException", self.kms.decrypt,
                          CiphertextBlob=blob[:30], EncryptionContext=ctx)
        self.assert_error("InvalidCiphertextException", self.kms.decrypt,
                          CiphertextBlob=os.urandom(120))
        # A blob naming a key this account does not have.
        foreign = bytearray(blob)
        foreign[14:50] = b"11111111-2222-3333-4444-555555555555"
        self.assert_error("InvalidCiphertextException", self.kms.decrypt,
                          CiphertextBlob=bytes(foreign), EncryptionContext=ctx)
        # KeyId naming another key: IncorrectKeyException.
        other = self.new_key()
        self.assert_error("IncorrectKeyException", self.kms.decrypt, CiphertextBlob=blob,
                          KeyId=other["KeyId"], EncryptionContext=ctx)

    def test_reencrypt(self):
        a = self.new_key()
        b = self.new_key()
        blob = self.kms.encrypt(KeyId=a["KeyId"], Plaintext=b"move me",
                                EncryptionContext={"k": "1"})["CiphertextBlob"]
        out = self.kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"k": "1"},
                                  DestinationKeyId=b["KeyId"],
                                  DestinationEncryptionContext={"k": "2"})
        self.assertEqual(out["SourceKeyId"], a["Arn"])
        self.assertEqual(out["KeyId"], b["Arn"])
        self.assertEqual(out["SourceEncryptionAlgorithm"], "SYMMETRIC_DEFAULT")
        self.assertEqual(out["DestinationEncryptionAlgorithm"], "SYMMETRIC_DEFAULT")
        dec = self.kms.decrypt(CiphertextBlob=out["CiphertextBlob"],
                               EncryptionContext={"k": "2"})
        self.assertEqual((dec["Plaintext"], dec["KeyId"]), (b"move me", b["Arn"]))
        self.assert_error("InvalidCiphertextException", self.kms.re_encrypt, CiphertextBlob=blob,
                          DestinationKeyId=b["KeyId"])
        self.assert_error("IncorrectKeyException", self.kms.re_encrypt, CiphertextBlob=blob,
                          SourceKeyId=b["KeyId"], SourceEncryptionContext={"k": "1"},
                          DestinationKeyId=b["KeyId"])

    def test_generate_data_key_and_random(self):
        md = self.new_key()
        for spec, size in (("AES_256", 32), ("AES_128", 16)):
            out = self.kms.generate_data_key(KeyId=md["KeyId"], KeySpec=spec)
            self.assertEqual(len(out["Plaintext"]), size)
            self.assertEqual(out["KeyId"], md["Arn"])
            self.assertEqual(self.kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"],
                             out["Plaintext"])
        out = self.kms.generate_data_key(KeyId=md["KeyId"], NumberOfBytes=64,
                                         EncryptionContext={"a": "b"})
        self.assertEqual(len(out["Plaintext"]), 64)
        self.assert_error("ValidationException", self.kms.generate_data_key, KeyId=md["KeyId"],
                          message="Please specify either number of bytes or key spec.")
        self.assert_error("ValidationException", self.kms.generate_data_key, KeyId=md["KeyId"],
                          KeySpec="AES_256", NumberOfBytes=32)
        self.assert_error("ValidationException", self.kms.generate_data_key, KeyId=md["KeyId"],
                          NumberOfBytes=1025)
        wp = self.kms.generate_data_key_without_plaintext(KeyId=md["KeyId"], KeySpec="AES_256",
                                                          EncryptionContext={"x": "y"})
        self.assertNotIn("Plaintext", wp)
        self.assertEqual(len(self.kms.decrypt(CiphertextBlob=wp["CiphertextBlob"],
                                              EncryptionContext={"x": "y"})["Plaintext"]), 32)
        r1 = self.kms.generate_random(NumberOfBytes=1024)["Plaintext"]
        r2 = self.kms.generate_random(NumberOfBytes=1024)["Plaintext"]
        self.assertEqual(len(r1), 1024)
        self.assertNotEqual(r1, r2)
        self.assertEqual(len(self.kms.generate_random(NumberOfBytes=1)["Plaintext"]), 1)
        raw = self.s.client("kms", parameter_validation=False)
        for n in (0, 1025):
            self.assert_error("ValidationException", raw.generate_random, NumberOfBytes=n)

    def test_plaintext_limit_and_dry_run(self):
        kid = self.new_key()["KeyId"]
        self.assertEqual(len(self.kms.encrypt(KeyId=kid, Plaintext=b"a" * 4096)[
            "CiphertextBlob"]) > 4096, True)
        err = self.assert_error("ValidationException", self.kms.encrypt, KeyId=kid,
                                Plaintext=b"a" * 4097)
        self.assertIn("plaintext", err.response["Error"]["Message"])
        self.assertIn("4096", err.response["Error"]["Message"])
        self.assert_error("DryRunOperationException", self.kms.encrypt, KeyId=kid,
                          Plaintext=b"a", DryRun=True)

    def test_envelope_encryption_with_openssl(self):
        kid = self.new_key()["KeyId"]
        self.kms.create_alias(AliasName="alias/envelope", TargetKeyId=kid)
        ctx = {"file": "report.txt"}
        dk = self.kms.generate_data_key(KeyId="alias/envelope", KeySpec="AES_256",
                                        EncryptionContext=ctx)
        wrapped = dk["CiphertextBlob"]
        content = os.urandom(3000) + b"the quarterly report"
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "report.txt")
            enc = os.path.join(tmp, "report.enc")
            out = os.path.join(tmp, "report.out")
            with open(src, "wb") as f:
                f.write(content)
            iv = os.urandom(16).hex()
            subprocess.run(["openssl", "enc", "-aes-256-cbc", "-K", dk["Plaintext"].hex(),
                            "-iv", iv, "-in", src, "-out", enc], check=True)
            del dk  # drop the plaintext data key; keep only the wrapped one
            os.remove(src)
            key = self.kms.decrypt(CiphertextBlob=wrapped, EncryptionContext=ctx)["Plaintext"]
            subprocess.run(["openssl", "enc", "-d", "-aes-256-cbc", "-K", key.hex(),
                            "-iv", iv, "-in", enc, "-out", out], check=True)
            with open(out, "rb") as f:
                self.assertEqual(f.read(), content)

    def test_envelope_with_python_cryptography(self):
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError:
            self.skipTest("cryptography is not installed")
        kid = self.new_key()["KeyId"]
        dk = self.kms.generate_data_key(KeyId=kid, KeySpec="AES_256")
        nonce = os.urandom(12)
        sealed = AESGCM(dk["Plaintext"]).encrypt(nonce, b"local data", None)
        wrapped = dk["CiphertextBlob"]
        del dk
        key = self.kms.decrypt(CiphertextBlob=wrapped)["Plaintext"]
        self.assertEqual(AESGCM(key).decrypt(nonce, sealed, None), b"local data")

    def test_aws_cli_round_trip(self):
        kid = self.new_key()["KeyId"]
        with tempfile.TemporaryDirectory() as tmp:
            plain = os.path.join(tmp, "plain.bin")
            blob = os.path.join(tmp, "blob.bin")
            data = os.urandom(500)
            with open(plain, "wb") as f:
                f.write(data)
            enc = self.s.aws("kms", "encrypt", "--key-id", kid, "--plaintext",
                             f"fileb://{plain}", "--encryption-context", "app=cli").json
            with open(blob, "wb") as f:
                f.write(base64.b64decode(enc["CiphertextBlob"]))
            dec = self.s.aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}",
                             "--encryption-context", "app=cli").json
            self.assertEqual(base64.b64decode(dec["Plaintext"]), data)
            self.assertEqual(dec["KeyId"], self.arn(kid))
            bad = self.s.aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}",
                             check=False)
            self.assertNotEqual(bad.returncode, 0)
            self.assertIn("InvalidCiphertextException", bad.stderr)
            md = self.s.aws("kms", "describe-key", "--key-id", kid).json["KeyMetadata"]
            self.assertEqual(md["KeyState"], "Enabled")

    # ---- CloudTrail ----------------------------------------------------------------------

    def test_cloudtrail_records_kms_calls_and_failures(self):
        md = self.new_key()
        kid = md["KeyId"]
        self.kms.encrypt(KeyId=kid, Plaintext=b"TOP-SECRET-PLAINTEXT",
                         EncryptionContext={"dept": "audit"})
        with self.assertRaises(botocore.exceptions.ClientError):
            self.kms.decrypt(CiphertextBlob=b"\x01" + b"0" * 80)
        self.kms.disable_key(KeyId=kid)
        with self.assertRaises(botocore.exceptions.ClientError):
            self.kms.encrypt(KeyId=kid, Plaintext=b"x")
        self.s.lookup_all()  # let read events be written

        enc = [r for r in self.records("Encrypt")
               if r["requestParameters"].get("keyId") == kid]
        ok = [r for r in enc if "errorCode" not in r]
        failed = [r for r in enc if r.get("errorCode")]
        self.assertEqual(len(ok), 1)
        rec = ok[0]
        self.assertEqual(rec["eventSource"], "kms.amazonaws.com")
        self.assertTrue(rec["readOnly"])
        self.assertEqual(rec["requestParameters"]["encryptionContext"], {"dept": "audit"})
        self.assertEqual(rec["resources"], [{"accountId": self.acct, "type": "AWS::KMS::Key",
                                             "ARN": md["Arn"]}])
        self.assertNotIn("TOP-SECRET", json.dumps(rec))
        self.assertNotIn(base64.b64encode(b"TOP-SECRET-PLAINTEXT").decode(), json.dumps(rec))
        self.assertIsNone(rec["responseElements"])
        self.assertEqual(len(failed), 1)
        self.assertEqual(failed[0]["errorCode"], "DisabledException")
        self.assertEqual(failed[0]["errorMessage"], f"{md['Arn']} is disabled.")
        self.assertEqual(failed[0]["resources"][0]["ARN"], md["Arn"])

        dec_failures = [r for r in self.records("Decrypt")
                        if r.get("errorCode") == "InvalidCiphertextException"]
        self.assertTrue(dec_failures)
        self.assertNotIn("ciphertextBlob", dec_failures[0]["requestParameters"] or {})

        created = [r for r in self.records("CreateKey")
                   if (r.get("responseElements") or {}).get("keyMetadata", {}).get("keyId") == kid]
        self.assertEqual(len(created), 1)
        self.assertFalse(created[0]["readOnly"])
        disabled = [r for r in self.records("DisableKey")
                    if r["requestParameters"]["keyId"] == kid]
        self.assertEqual(disabled[0]["resources"][0]["ARN"], md["Arn"])


if __name__ == "__main__":
    unittest.main()
