"""Secrets Manager end to end with boto3 and the aws CLI: CreateSecret/Describe/List (filters,
sorting, IncludePlannedDeletion, paging), values by VersionId and VersionStage, staging labels as
AWS moves them, ClientRequestToken idempotency, BatchGetSecretValue, UpdateSecret, tags,
DeleteSecret/RestoreSecret, GetRandomPassword (every option), resource policies with
BlockPublicPolicy and ValidateResourcePolicy, replication to other regions, KMS envelope
encryption recorded in CloudTrail, and AWS's errors for bad input."""

import base64
import json
import string
import unittest
import uuid

import botocore.exceptions

import harness

NOT_FOUND = "Secrets Manager can't find the specified secret."
MARKED = ("You can't perform this operation on the secret because it was marked for "
          "deletion.")
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


class SecretsManagerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.CitadelServer()
        cls.s.start()
        cls.sm = cls.s.client("secretsmanager")
        cls.kms = cls.s.client("kms")
        cls.acct = cls.s.account_id
        cls.region = cls.s.region

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def assert_error(self, code, fn, *args, message=None, **kwargs):
        e = harness.expect_aws_error(self, code, fn, *args, message=message, **kwargs)
        return e.response["Error"].get("Message", "")

    def name(self, prefix="s"):
        return f"{prefix}/{uuid.uuid4().hex[:10]}"

    def stages(self, secret_id):
        return self.sm.describe_secret(SecretId=secret_id)["VersionIdsToStages"]

    # ---- 1. create, describe, get ---------------------------------------------------------

    def test_create_returns_arn_with_random_suffix_and_value_reads_back(self):
        name = self.name("app")
        out = self.sm.create_secret(Name=name, SecretString="hunter2", Description="d")
        self.assertRegex(out["ARN"], rf"^arn:aws:secretsmanager:{self.region}:{self.acct}:secret:"
                                     rf"{name}-[A-Za-z0-9]{{6}}$")
        self.assertEqual(out["Name"], name)
        for secret_id in (name, out["ARN"],
                          f"arn:aws:secretsmanager:{self.region}:{self.acct}:secret:{name}"):
            got = self.sm.get_secret_value(SecretId=secret_id)
            self.assertEqual(got["SecretString"], "hunter2")
            self.assertEqual(got["VersionId"], out["VersionId"])
            self.assertEqual(got["VersionStages"], ["AWSCURRENT"])
            self.assertEqual(got["ARN"], out["ARN"])
        d = self.sm.describe_secret(SecretId=name)
        self.assertEqual(d["Description"], "d")
        self.assertNotIn("KmsKeyId", d)  # aws/secretsmanager: omitted, as AWS does
        self.assertEqual(d["VersionIdsToStages"], {out["VersionId"]: ["AWSCURRENT"]})
        self.assertIn("LastAccessedDate", d)

    def test_binary_secret(self):
        name = self.name()
        blob = bytes(range(256))
        self.sm.create_secret(Name=name, SecretBinary=blob)
        got = self.sm.get_secret_value(SecretId=name)
        self.assertEqual(got["SecretBinary"], blob)
        self.assertNotIn("SecretString", got)

    def test_secret_without_value_has_no_version(self):
        name = self.name()
        out = self.sm.create_secret(Name=name)
        self.assertNotIn("VersionId", out)
        self.assert_error("ResourceNotFoundException", self.sm.get_secret_value, SecretId=name,
                          message="Secrets Manager can't find the specified secret value for "
                                  "staging label: AWSCURRENT")

    def test_create_errors(self):
        name = self.name()
        self.sm.create_secret(Name=name, SecretString="x")
        self.assert_error("ResourceExistsException", self.sm.create_secret, Name=name,
                          SecretString="y",
                          message=f"The operation failed because the secret {name} already "
                                  "exists.")
        self.assert_error("InvalidParameterException", self.sm.create_secret, Name="bad name!",
                          SecretString="x")
        self.assert_error("InvalidParameterException", self.sm.create_secret, Name=self.name(),
                          SecretString="x", SecretBinary=b"y")
        self.assert_error("ResourceNotFoundException", self.sm.describe_secret,
                          SecretId="does-not-exist", message=NOT_FOUND)
        self.assert_error("ResourceNotFoundException", self.sm.get_secret_value,
                          SecretId="does-not-exist", message=NOT_FOUND)
        # Validation by the model: a token shorter than 32 characters.
        raw = self.s.client("secretsmanager", parameter_validation=False)
        self.assert_error("ValidationException", raw.put_secret_value, SecretId=name,
                          SecretString="x", ClientRequestToken="short")

    def test_client_request_token_idempotency(self):
        name = self.name()
        token = str(uuid.uuid4())
        first = self.sm.create_secret(Name=name, SecretString="v1", ClientRequestToken=token)
        again = self.sm.create_secret(Name=name, SecretString="v1", ClientRequestToken=token)
        self.assertEqual(first["VersionId"], token)
        self.assertEqual(again["VersionId"], token)
        self.assert_error("ResourceExistsException", self.sm.create_secret, Name=name,
                          SecretString="other", ClientRequestToken=token)
        t2 = str(uuid.uuid4())
        self.sm.put_secret_value(SecretId=name, SecretString="v2", ClientRequestToken=t2)
        same = self.sm.put_secret_value(SecretId=name, SecretString="v2", ClientRequestToken=t2)
        self.assertEqual(same["VersionId"], t2)
        self.assert_error("ResourceExistsException", self.sm.put_secret_value, SecretId=name,
                          SecretString="v3", ClientRequestToken=t2)
        versions = self.sm.list_secret_version_ids(SecretId=name)["Versions"]
        self.assertEqual(len(versions), 2)

    # ---- 2. versions and staging labels ---------------------------------------------------

    def test_staging_labels_move_as_aws_moves_them(self):
        name = self.name()
        v1 = self.sm.create_secret(Name=name, SecretString="one")["VersionId"]
        v2 = self.sm.put_secret_value(SecretId=name, SecretString="two")["VersionId"]
        self.assertEqual(self.stages(name), {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]})
        v3 = self.sm.put_secret_value(SecretId=name, SecretString="three")["VersionId"]
        # v1 lost its last label: deprecated, hidden from VersionIdsToStages.
        self.assertEqual(self.stages(name), {v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT"]})
        self.assertEqual(self.sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
                         ["SecretString"], "two")
        self.assertEqual(self.sm.get_secret_value(SecretId=name, VersionId=v1)["SecretString"],
                         "one")
        listed = {v["VersionId"] for v in self.sm.list_secret_version_ids(SecretId=name)
                  ["Versions"]}
        self.assertEqual(listed, {v2, v3})
        listed = {v["VersionId"]
                  for v in self.sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)
                  ["Versions"]}
        self.assertEqual(listed, {v1, v2, v3})

        # A pending version (custom stages) leaves AWSCURRENT where it is.
        v4 = self.sm.put_secret_value(SecretId=name, SecretString="four",
                                      VersionStages=["AWSPENDING", "blue"])["VersionId"]
        self.assertEqual(self.stages(name)[v4], ["AWSPENDING", "blue"])
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], "three")
        # Moving AWSCURRENT needs RemoveFromVersionId, and AWSPREVIOUS follows.
        msg = self.assert_error("InvalidParameterException",
                                self.sm.update_secret_version_stage, SecretId=name,
                                VersionStage="AWSCURRENT", MoveToVersionId=v4)
        self.assertIn(v3, msg)
        self.sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT",
                                            MoveToVersionId=v4, RemoveFromVersionId=v3)
        st = self.stages(name)
        self.assertEqual(sorted(st[v4]), ["AWSCURRENT", "AWSPENDING", "blue"])
        self.assertEqual(st[v3], ["AWSPREVIOUS"])
        self.assertNotIn(v2, st)
        # Custom label moved, then removed.
        self.sm.update_secret_version_stage(SecretId=name, VersionStage="blue",
                                            MoveToVersionId=v3, RemoveFromVersionId=v4)
        self.assertIn("blue", self.stages(name)[v3])
        self.sm.update_secret_version_stage(SecretId=name, VersionStage="blue",
                                            RemoveFromVersionId=v3)
        self.assertEqual(self.stages(name)[v3], ["AWSPREVIOUS"])
        self.assert_error("InvalidParameterException", self.sm.update_secret_version_stage,
                          SecretId=name, VersionStage="AWSCURRENT", RemoveFromVersionId=v4)

    def test_unknown_versions_and_labels(self):
        name = self.name()
        v1 = self.sm.create_secret(Name=name, SecretString="one")["VersionId"]
        missing = str(uuid.uuid4())
        self.assert_error("ResourceNotFoundException", self.sm.get_secret_value, SecretId=name,
                          VersionId=missing,
                          message="Secrets Manager can't find the specified secret value for "
                                  f"VersionId: {missing}")
        self.assert_error("ResourceNotFoundException", self.sm.get_secret_value, SecretId=name,
                          VersionStage="nope",
                          message="Secrets Manager can't find the specified secret value for "
                                  "staging label: nope")
        self.assert_error("InvalidRequestException", self.sm.get_secret_value, SecretId=name,
                          VersionId=v1, VersionStage="AWSPREVIOUS")
        self.assertEqual(self.sm.get_secret_value(SecretId=name, VersionId=v1,
                                                  VersionStage="AWSCURRENT")["SecretString"],
                         "one")

    def test_update_secret_value_and_description(self):
        name = self.name()
        v1 = self.sm.create_secret(Name=name, SecretString="one")["VersionId"]
        out = self.sm.update_secret(SecretId=name, Description="new")
        self.assertNotIn("VersionId", out)
        out = self.sm.update_secret(SecretId=name, SecretString="two")
        self.assertEqual(self.stages(name), {v1: ["AWSPREVIOUS"], out["VersionId"]: ["AWSCURRENT"]})
        self.assertEqual(self.sm.describe_secret(SecretId=name)["Description"], "new")
        self.assert_error("InvalidRequestException", self.sm.put_secret_value, SecretId=name,
                          message="You must provide either SecretString or SecretBinary.")

    # ---- delete / restore -----------------------------------------------------------------

    def test_delete_restore_and_force_delete(self):
        name = self.name()
        self.sm.create_secret(Name=name, SecretString="x")
        self.assert_error("InvalidParameterException", self.sm.delete_secret, SecretId=name,
                          RecoveryWindowInDays=3,
                          message="The RecoveryWindowInDays value must be between 7 and 30 "
                                  "days (inclusive).")
        self.assert_error("InvalidParameterException", self.sm.delete_secret, SecretId=name,
                          RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
        out = self.sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
        days = (out["DeletionDate"] - harness.utcnow()).total_seconds() / 86400
        self.assertAlmostEqual(days, 7, delta=0.01)
        self.assert_error("InvalidRequestException", self.sm.get_secret_value, SecretId=name,
                          message=MARKED)
        self.assert_error("InvalidRequestException", self.sm.put_secret_value, SecretId=name,
                          SecretString="y", message=MARKED)
        self.assert_error("InvalidRequestException", self.sm.create_secret, Name=name,
                          SecretString="y")
        self.assertIn("DeletedDate", self.sm.describe_secret(SecretId=name))
        names = [s["Name"] for s in self.sm.list_secrets()["SecretList"]]
        self.assertNotIn(name, names)
        names = [s["Name"] for s in
                 self.sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]]
        self.assertIn(name, names)
        self.sm.restore_secret(SecretId=name)
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], "x")
        self.assertNotIn("DeletedDate", self.sm.describe_secret(SecretId=name))
        self.sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        self.assert_error("ResourceNotFoundException", self.sm.describe_secret, SecretId=name)
        # The name is free again, with a new ARN.
        self.sm.create_secret(Name=name, SecretString="again")

    # ---- tags, listing --------------------------------------------------------------------

    def test_tags(self):
        name = self.name()
        self.sm.create_secret(Name=name, SecretString="x", Tags=[{"Key": "a", "Value": "1"}])
        self.sm.tag_resource(SecretId=name, Tags=[{"Key": "b", "Value": "2"},
                                                  {"Key": "a", "Value": "9"}])
        tags = {t["Key"]: t["Value"] for t in self.sm.describe_secret(SecretId=name)["Tags"]}
        self.assertEqual(tags, {"a": "9", "b": "2"})
        self.sm.untag_resource(SecretId=name, TagKeys=["a"])
        self.assertEqual(self.sm.describe_secret(SecretId=name)["Tags"],
                         [{"Key": "b", "Value": "2"}])

    def test_list_filters_sorting_and_paging(self):
        base = "lst" + uuid.uuid4().hex[:6]
        made = []
        for i, (desc, tag) in enumerate([("Primary database", "blue"), ("cache node", "green"),
                                         ("Another Database", "blue")]):
            n = f"{base}/item{i}"
            self.sm.create_secret(Name=n, SecretString="x", Description=desc,
                                  Tags=[{"Key": "color", "Value": tag}])
            made.append(n)

        def names(**kw):
            out, token = [], None
            while True:
                args = dict(kw)
                if token:
                    args["NextToken"] = token
                r = self.sm.list_secrets(**args)
                out += [s["Name"] for s in r["SecretList"]]
                token = r.get("NextToken")
                if not token:
                    return out

        mine = [{"Key": "name", "Values": [base]}]
        self.assertEqual(names(Filters=mine), made)
        self.assertEqual(names(Filters=mine, SortOrder="desc"), made[::-1])
        self.assertEqual(names(Filters=mine, SortBy="name", SortOrder="desc"), made[::-1])
        self.assertEqual(names(Filters=mine, MaxResults=1), made)
        self.assertEqual(names(Filters=mine + [{"Key": "tag-value", "Values": ["blue"]}]),
                         [made[0], made[2]])
        self.assertEqual(names(Filters=mine + [{"Key": "tag-value", "Values": ["!blue"]}]),
                         [made[1]])
        self.assertEqual(names(Filters=mine + [{"Key": "description", "Values": ["primary"]}]),
                         [made[0]])
        self.assertEqual(names(Filters=mine + [{"Key": "all", "Values": ["database"]}]),
                         [made[0], made[2]])
        self.assertEqual(names(Filters=[{"Key": "name", "Values": [base.upper()]}]), [])
        entry = self.sm.list_secrets(Filters=[{"Key": "name", "Values": [made[0]]}])["SecretList"][0]
        self.assertIn("SecretVersionsToStages", entry)
        # The aws CLI pages on its own.
        cli = self.s.aws("secretsmanager", "list-secrets", "--filters",
                         f"Key=name,Values={base}", "--page-size", "1").json
        self.assertEqual([s["Name"] for s in cli["SecretList"]], made)

    def test_batch_get_secret_value(self):
        base = "batch" + uuid.uuid4().hex[:6]
        for i in range(3):
            self.sm.create_secret(Name=f"{base}/{i}", SecretString=f"value{i}")
        out = self.sm.batch_get_secret_value(SecretIdList=[f"{base}/0", f"{base}/2", "missing-x"])
        self.assertEqual([v["SecretString"] for v in out["SecretValues"]], ["value0", "value2"])
        self.assertEqual(out["Errors"][0]["SecretId"], "missing-x")
        self.assertEqual(out["Errors"][0]["ErrorCode"], "ResourceNotFoundException")
        got, token = [], None
        while True:
            args = {"Filters": [{"Key": "name", "Values": [base]}], "MaxResults": 2}
            if token:
                args["NextToken"] = token
            r = self.sm.batch_get_secret_value(**args)
            got += [v["SecretString"] for v in r["SecretValues"]]
            token = r.get("NextToken")
            if not token:
                break
        self.assertEqual(got, ["value0", "value1", "value2"])
        self.assert_error("InvalidParameterException", self.sm.batch_get_secret_value,
                          SecretIdList=[f"{base}/0"], Filters=[{"Key": "name", "Values": ["x"]}])

    # ---- GetRandomPassword ----------------------------------------------------------------

    def test_get_random_password_options(self):
        p = self.sm.get_random_password()["RandomPassword"]
        self.assertEqual(len(p), 32)
        for chars in (string.ascii_uppercase, string.ascii_lowercase, string.digits, PUNCTUATION):
            self.assertTrue(any(c in chars for c in p), p)
        p = self.sm.get_random_password(PasswordLength=100, ExcludePunctuation=True,
                                        ExcludeUppercase=True)["RandomPassword"]
        self.assertEqual(len(p), 100)
        self.assertTrue(set(p) <= set(string.ascii_lowercase + string.digits), p)
        p = self.sm.get_random_password(PasswordLength=60, ExcludeNumbers=True,
                                        ExcludeLowercase=True, ExcludeCharacters="ABC!")
        p = p["RandomPassword"]
        self.assertFalse(set(p) & set("ABC!" + string.digits + string.ascii_lowercase), p)
        # Digits and the space only: 200 characters without a space would be a 5e-9 event.
        p = self.sm.get_random_password(PasswordLength=200, IncludeSpace=True,
                                        ExcludeUppercase=True, ExcludeLowercase=True,
                                        ExcludePunctuation=True)["RandomPassword"]
        self.assertIn(" ", p)
        self.assertTrue(set(p) <= set(string.digits + " "), p)
        p = self.sm.get_random_password(PasswordLength=4, RequireEachIncludedType=False,
                                        ExcludeUppercase=True, ExcludeLowercase=True,
                                        ExcludePunctuation=True)["RandomPassword"]
        self.assertTrue(p.isdigit() and len(p) == 4)
        self.assert_error("InvalidParameterException", self.sm.get_random_password,
                          PasswordLength=3)
        self.assert_error("InvalidParameterException", self.sm.get_random_password,
                          ExcludeNumbers=True, ExcludeLowercase=True, ExcludeUppercase=True,
                          ExcludePunctuation=True)
        self.assert_error("ValidationException", self.sm.get_random_password,
                          PasswordLength=5000)
        cli = self.s.aws("secretsmanager", "get-random-password", "--password-length", "12",
                         "--exclude-punctuation").json
        self.assertTrue(cli["RandomPassword"].isalnum() and len(cli["RandomPassword"]) == 12)

    # ---- resource policies ----------------------------------------------------------------

    def test_resource_policy_block_public_and_validate(self):
        name = self.name()
        arn = self.sm.create_secret(Name=name, SecretString="x")["ARN"]
        public = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue",
            "Resource": "*"}]})
        scoped = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.acct}:root"},
            "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
        self.assert_error("PublicPolicyException", self.sm.put_resource_policy, SecretId=name,
                          ResourcePolicy=public, BlockPublicPolicy=True)
        self.sm.put_resource_policy(SecretId=name, ResourcePolicy=scoped, BlockPublicPolicy=True)
        got = self.sm.get_resource_policy(SecretId=name)
        self.assertEqual(json.loads(got["ResourcePolicy"]), json.loads(scoped))
        self.assertEqual(got["ARN"], arn)
        v = self.sm.validate_resource_policy(SecretId=name, ResourcePolicy=public)
        self.assertFalse(v["PolicyValidationPassed"])
        self.assertTrue(v["ValidationErrors"])
        v = self.sm.validate_resource_policy(ResourcePolicy=scoped)
        self.assertTrue(v["PolicyValidationPassed"])
        self.assertEqual(v["ValidationErrors"], [])
        self.assert_error("MalformedPolicyDocumentException", self.sm.put_resource_policy,
                          SecretId=name, ResourcePolicy='{"Statement": "nope"}')
        self.sm.delete_resource_policy(SecretId=name)
        self.assertNotIn("ResourcePolicy", self.sm.get_resource_policy(SecretId=name))
        # Without BlockPublicPolicy a public policy is accepted (AWS's default is to allow).
        self.sm.put_resource_policy(SecretId=name, ResourcePolicy=public)

    # ---- replication ----------------------------------------------------------------------

    def test_replication_to_other_regions(self):
        name = self.name("rep")
        other = "eu-west-1" if self.region != "eu-west-1" else "us-west-2"
        out = self.sm.create_secret(Name=name, SecretString="v1",
                                    AddReplicaRegions=[{"Region": other}])
        self.assertEqual(out["ReplicationStatus"][0]["Region"], other)
        self.assertEqual(out["ReplicationStatus"][0]["Status"], "InSync")
        suffix = out["ARN"][-6:]
        replica_sm = self.s.client("secretsmanager", region=other)
        rep = replica_sm.describe_secret(SecretId=name)
        self.assertEqual(rep["ARN"], f"arn:aws:secretsmanager:{other}:{self.acct}:secret:"
                                     f"{name}-{suffix}")
        self.assertEqual(rep["PrimaryRegion"], self.region)
        self.assertEqual(replica_sm.get_secret_value(SecretId=name)["SecretString"], "v1")
        # New values replicate, encrypted under the replica region's own key.
        self.sm.put_secret_value(SecretId=name, SecretString="v2")
        got = replica_sm.get_secret_value(SecretId=name)
        self.assertEqual(got["SecretString"], "v2")
        versions = replica_sm.list_secret_version_ids(SecretId=name)["Versions"]
        self.assertTrue(all(f":kms:{other}:" in v["KmsKeyIds"][0] for v in versions), versions)
        # A replica is read-only.
        self.assert_error("InvalidParameterException", replica_sm.put_secret_value,
                          SecretId=name, SecretString="nope")
        # A third region with a name taken there fails that replica only.
        third = "ap-southeast-2"
        self.s.client("secretsmanager", region=third).create_secret(Name=name, SecretString="t")
        r = self.sm.replicate_secret_to_regions(SecretId=name,
                                                AddReplicaRegions=[{"Region": third}])
        status = {x["Region"]: x["Status"] for x in r["ReplicationStatus"]}
        self.assertEqual(status, {other: "InSync", third: "Failed"})
        self.assert_error("InvalidParameterException", self.sm.replicate_secret_to_regions,
                          SecretId=name, AddReplicaRegions=[{"Region": self.region}],
                          message="Invalid replica region.")
        raw = self.s.client("secretsmanager", parameter_validation=False)
        self.assert_error("ValidationException", raw.replicate_secret_to_regions,
                          SecretId=name, AddReplicaRegions=[{"Region": "mars"}])
        # The primary cannot be deleted while it has replicas.
        self.assert_error("InvalidRequestException", self.sm.delete_secret, SecretId=name)
        self.sm.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=[third])
        # Promote the replica: it becomes a standalone secret.
        replica_sm.stop_replication_to_replica(SecretId=name)
        self.assertNotIn("PrimaryRegion", replica_sm.describe_secret(SecretId=name))
        replica_sm.put_secret_value(SecretId=name, SecretString="own")
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], "v2")
        self.assertNotIn("ReplicationStatus", self.sm.describe_secret(SecretId=name))

    # ---- 3. KMS envelope and CloudTrail ---------------------------------------------------

    def records(self, event_name):
        events = self.s.lookup_all(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": event_name}])
        return harness.cloudtrail_records(events)

    def test_values_encrypted_with_customer_key_and_kms_calls_in_cloudtrail(self):
        key = self.kms.create_key()["KeyMetadata"]
        name = self.name()
        out = self.sm.create_secret(Name=name, SecretString="s3cr3t-value", KmsKeyId=key["KeyId"])
        self.assertEqual(self.sm.describe_secret(SecretId=name)["KmsKeyId"], key["Arn"])
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], "s3cr3t-value")
        versions = self.sm.list_secret_version_ids(SecretId=name)["Versions"]
        self.assertEqual(versions[0]["KmsKeyIds"], [key["Arn"]])
        context = {"SecretARN": out["ARN"], "SecretVersionId": out["VersionId"]}
        for event in ("GenerateDataKey", "Decrypt"):
            recs = [r for r in self.records(event)
                    if r["requestParameters"].get("encryptionContext") == context]
            self.assertTrue(recs, event)
            r = recs[0]
            self.assertEqual(r["userIdentity"]["invokedBy"], "secretsmanager.amazonaws.com")
            self.assertEqual(r["sourceIPAddress"], "secretsmanager.amazonaws.com")
            self.assertEqual(r["resources"][0]["ARN"], key["Arn"])
        # The secret's own events never carry the value.
        for event in ("CreateSecret", "GetSecretValue"):
            for r in self.records(event):
                self.assertNotIn("s3cr3t-value", json.dumps(r))
        # A disabled key: the value cannot be decrypted.
        self.kms.disable_key(KeyId=key["KeyId"])
        self.assert_error("DecryptionFailure", self.sm.get_secret_value, SecretId=name)
        self.assert_error("EncryptionFailure", self.sm.put_secret_value, SecretId=name,
                          SecretString="new")
        self.kms.enable_key(KeyId=key["KeyId"])
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], "s3cr3t-value")

    def test_new_key_reencrypts_labelled_versions(self):
        old = self.kms.create_key()["KeyMetadata"]
        new = self.kms.create_key()["KeyMetadata"]
        name = self.name()
        self.sm.create_secret(Name=name, SecretString="one", KmsKeyId=old["KeyId"])
        self.sm.put_secret_value(SecretId=name, SecretString="two")
        self.sm.update_secret(SecretId=name, KmsKeyId=new["Arn"])
        versions = self.sm.list_secret_version_ids(SecretId=name)["Versions"]
        self.assertEqual([v["KmsKeyIds"] for v in versions], [[new["Arn"]], [new["Arn"]]])
        # The old key is no longer needed.
        self.kms.disable_key(KeyId=old["KeyId"])
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], "two")
        self.assertEqual(self.sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
                         ["SecretString"], "one")

    def test_default_key_is_the_aws_managed_key(self):
        name = self.name()
        self.sm.create_secret(Name=name, SecretString="x")
        alias = [a for a in self.kms.list_aliases()["Aliases"]
                 if a["AliasName"] == "alias/aws/secretsmanager"]
        self.assertEqual(len(alias), 1)
        key_arn = (f"arn:aws:kms:{self.region}:{self.acct}:key/{alias[0]['TargetKeyId']}")
        versions = self.sm.list_secret_version_ids(SecretId=name)["Versions"]
        self.assertEqual(versions[0]["KmsKeyIds"], [key_arn])

    # ---- the aws CLI ----------------------------------------------------------------------

    def test_aws_cli_round_trip(self):
        name = self.name("cli")
        created = self.s.aws("secretsmanager", "create-secret", "--name", name,
                             "--secret-string", '{"user":"u","password":"p"}').json
        got = self.s.aws("secretsmanager", "get-secret-value", "--secret-id", name).json
        self.assertEqual(json.loads(got["SecretString"]), {"user": "u", "password": "p"})
        self.assertEqual(got["ARN"], created["ARN"])
        self.s.aws("secretsmanager", "put-secret-value", "--secret-id", name,
                   "--secret-string", "two")
        prev = self.s.aws("secretsmanager", "get-secret-value", "--secret-id", name,
                          "--version-stage", "AWSPREVIOUS").json
        self.assertEqual(prev["VersionId"], created["VersionId"])
        failed = self.s.aws("secretsmanager", "get-secret-value", "--secret-id", "nope-cli",
                            check=False)
        self.assertNotEqual(failed.returncode, 0)
        self.assertIn("ResourceNotFoundException", failed.stderr)
        self.s.aws("secretsmanager", "delete-secret", "--secret-id", name,
                   "--force-delete-without-recovery")


if __name__ == "__main__":
    unittest.main()
