"""SSM Parameter Store end to end with boto3 and the aws CLI: String/StringList/SecureString
parameters, overwrite and versions (the 100-version limit), name:version and name:label
selectors, labels, history, GetParametersByPath (recursive, filters, paging),
DescribeParameters filters, tags, tiers (4 KB / 8 KB, Intelligent-Tiering), names and
hierarchy limits, AllowedPattern, DataType aws:ec2:image, parameter policy validation,
SecureString through KMS (aws/ssm or a customer key, the caller needing kms:Decrypt, CloudTrail
records of the KMS calls invoked by ssm.amazonaws.com), AWS's public parameters, persistence."""

import base64
import json
import unittest

import botocore.exceptions

import harness


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


class SsmTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.CitadelServer()
        cls.s.start()
        cls.ssm = cls.s.client("ssm")
        cls.kms = cls.s.client("kms")
        cls.acct = cls.s.account_id
        cls.region = cls.s.region

    @classmethod
    def tearDownClass(cls):
        cls.s.__exit__(None, None, None)

    def assert_error(self, code, fn, *args, message=None, **kwargs):
        return harness.expect_aws_error(self, code, fn, *args, message=message, **kwargs)

    def arn(self, name):
        return f"arn:aws:ssm:{self.region}:{self.acct}:parameter/{name.lstrip('/')}"

    # ---- basics --------------------------------------------------------------------------

    def test_put_get_overwrite_versions(self):
        out = self.ssm.put_parameter(Name="/basic/host", Value="db1", Type="String",
                                     Description="the host")
        self.assertEqual(out["Version"], 1)
        self.assertEqual(out["Tier"], "Standard")
        self.assert_error("ParameterAlreadyExists", self.ssm.put_parameter, Name="/basic/host",
                          Value="db2", Type="String",
                          message="The parameter already exists. To overwrite this value, set "
                                  "the overwrite option in the request to true.")
        self.assertEqual(self.ssm.put_parameter(Name="/basic/host", Value="db2",
                                                Overwrite=True)["Version"], 2)
        p = self.ssm.get_parameter(Name="/basic/host")["Parameter"]
        self.assertEqual(p["Value"], "db2")
        self.assertEqual(p["Version"], 2)
        self.assertEqual(p["Type"], "String")
        self.assertEqual(p["DataType"], "text")
        self.assertEqual(p["ARN"], self.arn("/basic/host"))
        self.assertLess(abs(p["LastModifiedDate"].timestamp() - harness.utcnow().timestamp()), 120)
        old = self.ssm.get_parameter(Name="/basic/host:1")["Parameter"]
        self.assertEqual((old["Value"], old["Selector"]), ("db1", ":1"))
        self.assert_error("ParameterVersionNotFound", self.ssm.get_parameter, Name="/basic/host:7",
                          message="Systems Manager could not find version 7 of /basic/host. "
                                  "Verify the version and try again.")
        self.assert_error("ParameterNotFound", self.ssm.get_parameter, Name="/basic/none")
        # StringList, by ARN, GetParameters with InvalidParameters.
        self.ssm.put_parameter(Name="/basic/list", Value="a,b,c", Type="StringList")
        self.assertEqual(self.ssm.get_parameter(Name=self.arn("/basic/list"))["Parameter"]["Value"],
                         "a,b,c")
        many = self.ssm.get_parameters(Names=["/basic/host", "/basic/list", "/basic/zzz"])
        self.assertEqual(sorted(p["Name"] for p in many["Parameters"]),
                         ["/basic/host", "/basic/list"])
        self.assertEqual(many["InvalidParameters"], ["/basic/zzz"])
        # Deletion.
        self.ssm.delete_parameter(Name="/basic/list")
        self.assert_error("ParameterNotFound", self.ssm.delete_parameter, Name="/basic/list",
                          message="Parameter /basic/list not found.")
        self.ssm.put_parameter(Name="/basic/d1", Value="x", Type="String")
        out = self.ssm.delete_parameters(Names=["/basic/d1", "/basic/d2"])
        self.assertEqual(out["DeletedParameters"], ["/basic/d1"])
        self.assertEqual(out["InvalidParameters"], ["/basic/d2"])

    def test_aws_cli_round_trip(self):
        self.s.aws("ssm", "put-parameter", "--name", "/cli/app/url", "--value", "db.internal:5432",
                   "--type", "String")
        self.s.aws("ssm", "put-parameter", "--name", "/cli/app/deep/key", "--value", "k",
                   "--type", "SecureString")
        got = self.s.aws("ssm", "get-parameter", "--name", "/cli/app/deep/key",
                         "--with-decryption").json
        self.assertEqual(got["Parameter"]["Value"], "k")
        by_path = self.s.aws("ssm", "get-parameters-by-path", "--path", "/cli", "--recursive",
                             "--with-decryption").json
        self.assertEqual({p["Name"]: p["Value"] for p in by_path["Parameters"]},
                         {"/cli/app/url": "db.internal:5432", "/cli/app/deep/key": "k"})
        described = self.s.aws("ssm", "describe-parameters", "--parameter-filters",
                               "Key=Path,Option=Recursive,Values=/cli",
                               "Key=Type,Values=SecureString").json
        self.assertEqual([p["Name"] for p in described["Parameters"]], ["/cli/app/deep/key"])
        self.assertEqual(described["Parameters"][0]["KeyId"], "alias/aws/ssm")
        self.s.aws("ssm", "add-tags-to-resource", "--resource-type", "Parameter",
                   "--resource-id", "/cli/app/url", "--tags", "Key=team,Value=web")
        tags = self.s.aws("ssm", "list-tags-for-resource", "--resource-type", "Parameter",
                          "--resource-id", "/cli/app/url").json
        self.assertEqual(tags["TagList"], [{"Key": "team", "Value": "web"}])
        self.s.aws("ssm", "label-parameter-version", "--name", "/cli/app/url", "--labels", "live")
        got = self.s.aws("ssm", "get-parameter", "--name", "/cli/app/url:live").json
        self.assertEqual(got["Parameter"]["Selector"], ":live")
        bad = self.s.aws("ssm", "get-parameter", "--name", "/cli/none", check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("ParameterNotFound", bad.stderr)

    # ---- hierarchies and filters ---------------------------------------------------------

    def test_by_path_recursive_filters_paging(self):
        for i in range(12):
            self.ssm.put_parameter(Name=f"/paged/n{i:02d}", Value=str(i), Type="String")
        self.ssm.put_parameter(Name="/paged/sub/x", Value="x", Type="StringList",
                               Tags=[{"Key": "env", "Value": "prod"}])
        page = self.ssm.get_parameters_by_path(Path="/paged", MaxResults=5)
        self.assertEqual(len(page["Parameters"]), 5)
        self.assertIn("NextToken", page)
        names = []
        for p in self.ssm.get_paginator("get_parameters_by_path").paginate(Path="/paged"):
            names += [x["Name"] for x in p["Parameters"]]
        self.assertEqual(len(names), 12)
        self.assertNotIn("/paged/sub/x", names)
        rec = [x["Name"] for p in self.ssm.get_paginator("get_parameters_by_path").paginate(
            Path="/paged", Recursive=True) for x in p["Parameters"]]
        self.assertEqual(len(rec), 13)
        typed = self.ssm.get_parameters_by_path(
            Path="/paged", Recursive=True,
            ParameterFilters=[{"Key": "Type", "Values": ["StringList"]}])
        self.assertEqual([p["Name"] for p in typed["Parameters"]], ["/paged/sub/x"])
        tagged = self.ssm.get_parameters_by_path(
            Path="/paged", Recursive=True,
            ParameterFilters=[{"Key": "tag:env", "Values": ["prod"]}])
        self.assertEqual([p["Name"] for p in tagged["Parameters"]], ["/paged/sub/x"])
        self.assert_error("InvalidFilterKey", self.ssm.get_parameters_by_path, Path="/paged",
                          ParameterFilters=[{"Key": "Name", "Values": ["x"]}])
        # DescribeParameters filters.
        def describe(**kw):
            out = []
            for p in self.ssm.get_paginator("describe_parameters").paginate(**kw):
                out += [x["Name"] for x in p["Parameters"]]
            return out
        self.assertEqual(len(describe(ParameterFilters=[
            {"Key": "Path", "Option": "Recursive", "Values": ["/paged"]}])), 13)
        self.assertEqual(describe(ParameterFilters=[
            {"Key": "Name", "Option": "Contains", "Values": ["sub/"]}]), ["/paged/sub/x"])
        self.assertEqual(describe(ParameterFilters=[
            {"Key": "Name", "Option": "BeginsWith", "Values": ["/paged/n1"]}]),
            ["/paged/n10", "/paged/n11"])
        self.assertEqual(describe(Filters=[{"Key": "Type", "Values": ["StringList"]}],)[-1:],
                         ["/paged/sub/x"])
        self.assertIn("/paged/n00", describe(ParameterFilters=[
            {"Key": "Tier", "Values": ["Standard"]}, {"Key": "DataType", "Values": ["text"]}]))
        self.assert_error("ValidationException", self.ssm.describe_parameters,
                          Filters=[{"Key": "Name", "Values": ["/p"]}],
                          ParameterFilters=[{"Key": "Name", "Values": ["/p"]}],
                          message="You can use either Filters or ParameterFilters in a single "
                                  "request.")
        self.assert_error("InvalidFilterOption", self.ssm.describe_parameters,
                          ParameterFilters=[{"Key": "Path", "Option": "Deep",
                                             "Values": ["/paged"]}])

    # ---- labels, history, version limit --------------------------------------------------

    def test_labels_move_and_history(self):
        name = "/labels/p"
        self.ssm.put_parameter(Name=name, Value="v1", Type="String")
        self.ssm.put_parameter(Name=name, Value="v2", Overwrite=True)
        out = self.ssm.label_parameter_version(Name=name, ParameterVersion=1,
                                               Labels=["prod", "awsbad", "1bad"])
        self.assertEqual(out["InvalidLabels"], ["awsbad", "1bad"])
        self.assertEqual(self.ssm.get_parameter(Name=f"{name}:prod")["Parameter"]["Value"], "v1")
        self.ssm.label_parameter_version(Name=name, Labels=["prod"])  # moves to version 2
        self.assertEqual(self.ssm.get_parameter(Name=f"{name}:prod")["Parameter"]["Value"], "v2")
        hist = self.ssm.get_parameter_history(Name=name)["Parameters"]
        self.assertEqual([(h["Version"], h["Labels"]) for h in hist], [(1, []), (2, ["prod"])])
        self.ssm.label_parameter_version(Name=name, Labels=[f"l{i}" for i in range(9)])
        self.assert_error("ParameterVersionLabelLimitExceeded",
                          self.ssm.label_parameter_version, Name=name, Labels=["eleven"])
        out = self.ssm.unlabel_parameter_version(Name=name, ParameterVersion=2,
                                                 Labels=["prod", "ghost"])
        self.assertEqual((out["RemovedLabels"], out["InvalidLabels"]), (["prod"], ["ghost"]))
        self.assert_error("ParameterVersionNotFound", self.ssm.label_parameter_version,
                          Name=name, ParameterVersion=5, Labels=["x"])

    def test_hundred_versions(self):
        name = "/versions/p"
        self.ssm.put_parameter(Name=name, Value="0", Type="String")
        for i in range(1, 100):
            self.ssm.put_parameter(Name=name, Value=str(i), Overwrite=True)
        self.ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["first"])
        err = self.assert_error("ParameterMaxVersionLimitExceeded", self.ssm.put_parameter,
                                Name=name, Value="x", Overwrite=True)
        self.assertIn("Version 1, the oldest version, can't be deleted",
                      err.response["Error"]["Message"])
        self.ssm.unlabel_parameter_version(Name=name, ParameterVersion=1, Labels=["first"])
        self.assertEqual(self.ssm.put_parameter(Name=name, Value="x", Overwrite=True)["Version"],
                         101)
        hist = [h["Version"] for p in self.ssm.get_paginator("get_parameter_history").paginate(
            Name=name) for h in p["Parameters"]]
        self.assertEqual((len(hist), min(hist), max(hist)), (100, 2, 101))

    # ---- validation ----------------------------------------------------------------------

    def test_names_tiers_patterns_and_data_types(self):
        deep = "".join(f"/l{i}" for i in range(15))
        self.ssm.put_parameter(Name=deep, Value="ok", Type="String")
        self.assert_error("HierarchyLevelLimitExceededException", self.ssm.put_parameter,
                          Name=deep + "/l15", Value="x", Type="String")
        for bad in ["/bad name", "/a//b", "/ssm/x", "awsname", "/x/y/"]:
            self.assert_error("ValidationException", self.ssm.put_parameter, Name=bad,
                              Value="x", Type="String")
        self.assert_error("AccessDeniedException", self.ssm.put_parameter,
                          Name="/aws/service/mine", Value="x", Type="String")
        self.assert_error("ValidationException", self.ssm.put_parameter, Name="/tier/big",
                          Value="x" * 4097, Type="String")
        self.assertEqual(self.ssm.put_parameter(Name="/tier/big", Value="x" * 4097, Type="String",
                                                Tier="Advanced")["Tier"], "Advanced")
        self.assert_error("ValidationException", self.ssm.put_parameter, Name="/tier/huge",
                          Value="x" * 8193, Type="String", Tier="Advanced")
        self.assertEqual(self.ssm.put_parameter(Name="/tier/it", Value="x" * 5000, Type="String",
                                                Tier="Intelligent-Tiering")["Tier"], "Advanced")
        self.assertEqual(self.ssm.put_parameter(Name="/tier/it2", Value="x", Type="String",
                                                Tier="Intelligent-Tiering")["Tier"], "Standard")
        self.assert_error("ValidationException", self.ssm.put_parameter, Name="/tier/big",
                          Value="x", Overwrite=True, Tier="Standard")
        self.assert_error("ParameterPatternMismatchException", self.ssm.put_parameter,
                          Name="/pat/p", Value="abc", Type="String", AllowedPattern="^\\d+$",
                          message="Parameter value, cannot be validated against allowedPattern: "
                                  "^\\d+$")
        self.assert_error("InvalidAllowedPatternException", self.ssm.put_parameter,
                          Name="/pat/p", Value="abc", Type="String", AllowedPattern="[")
        self.ssm.put_parameter(Name="/ami/id", Value="ami-0123456789abcdef0", Type="String",
                               DataType="aws:ec2:image")
        self.assertEqual(self.ssm.get_parameter(Name="/ami/id")["Parameter"]["DataType"],
                         "aws:ec2:image")
        self.assert_error("ValidationException", self.ssm.put_parameter, Name="/ami/bad",
                          Value="image-1", Type="String", DataType="aws:ec2:image")
        self.assert_error("ValidationException", self.ssm.put_parameter, Name="/ami/bad",
                          Value="x", Type="String", DataType="json")
        self.assert_error("ValidationException", self.ssm.put_parameter, Name="/t/tags",
                          Value="x", Type="String", Overwrite=True,
                          Tags=[{"Key": "a", "Value": "b"}])
        self.assert_error("ValidationException", self.ssm.put_parameter, Name="/t/notype",
                          Value="x",
                          message="A parameter type is required when you create a parameter.")

    def test_policy_validation_and_metadata(self):
        exp = {"Type": "Expiration", "Version": "1.0",
               "Attributes": {"Timestamp": "2099-01-01T00:00:00.000Z"}}
        notify = {"Type": "ExpirationNotification", "Version": "1.0",
                  "Attributes": {"Before": "5", "Unit": "Days"}}
        nochange = {"Type": "NoChangeNotification", "Version": "1.0",
                    "Attributes": {"After": "20", "Unit": "Hours"}}
        self.assert_error("ValidationException", self.ssm.put_parameter, Name="/pol/std",
                          Value="x", Type="String", Policies=json.dumps([exp]))
        self.assert_error("InvalidPolicyTypeException", self.ssm.put_parameter, Name="/pol/a",
                          Value="x", Type="String", Tier="Advanced",
                          Policies=json.dumps([{"Type": "Rotate", "Version": "1.0",
                                                "Attributes": {}}]))
        self.assert_error("InvalidPolicyAttributeException", self.ssm.put_parameter,
                          Name="/pol/a", Value="x", Type="String", Tier="Advanced",
                          Policies=json.dumps([dict(nochange, Attributes={"After": "x"})]))
        self.assert_error("IncompatiblePolicyException", self.ssm.put_parameter, Name="/pol/a",
                          Value="x", Type="String", Tier="Advanced",
                          Policies=json.dumps([exp, exp]))
        out = self.ssm.put_parameter(Name="/pol/a", Value="x", Type="String",
                                     Tier="Intelligent-Tiering",
                                     Policies=json.dumps([exp, notify, nochange]))
        self.assertEqual(out["Tier"], "Advanced")
        md = self.ssm.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Values": ["/pol/a"]}])["Parameters"][0]
        self.assertEqual([(p["PolicyType"], p["PolicyStatus"]) for p in md["Policies"]],
                         [("Expiration", "Pending"), ("ExpirationNotification", "Pending"),
                          ("NoChangeNotification", "Pending")])
        self.assertEqual(json.loads(md["Policies"][0]["PolicyText"]), exp)

    # ---- SecureString through KMS --------------------------------------------------------

    def test_secure_string_default_and_customer_keys(self):
        self.ssm.put_parameter(Name="/sec/pw", Value="s3cr3t-value", Type="SecureString")
        raw = self.ssm.get_parameter(Name="/sec/pw")["Parameter"]
        self.assertNotEqual(raw["Value"], "s3cr3t-value")
        self.assertGreater(len(base64.b64decode(raw["Value"])), len("s3cr3t-value"))
        managed = self.kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]
        self.assertEqual(managed["KeyManager"], "AWS")
        dec = self.ssm.get_parameter(Name="/sec/pw", WithDecryption=True)["Parameter"]
        self.assertEqual(dec["Value"], "s3cr3t-value")
        key = self.kms.create_key()["KeyMetadata"]
        self.ssm.put_parameter(Name="/sec/custom", Value="other", Type="SecureString",
                               KeyId=key["KeyId"])
        got = self.ssm.get_parameter(Name="/sec/custom", WithDecryption=True)["Parameter"]
        self.assertEqual(got["Value"], "other")
        # The stored value is a KMS ciphertext under AWS's encryption context (the caller may
        # decrypt it directly with a customer key; aws/ssm only allows calls via SSM).
        blob = base64.b64decode(
            self.ssm.get_parameter(Name="/sec/custom")["Parameter"]["Value"])
        plain = self.kms.decrypt(CiphertextBlob=blob,
                                 EncryptionContext={"PARAMETER_ARN": self.arn("/sec/custom")})
        self.assertEqual(plain["Plaintext"], b"other")
        self.assertEqual(plain["KeyId"], key["Arn"])
        self.assert_error("InvalidCiphertextException", self.kms.decrypt, CiphertextBlob=blob,
                          EncryptionContext={"PARAMETER_ARN": self.arn("/sec/pw")})
        md = self.ssm.describe_parameters(
            ParameterFilters=[{"Key": "KeyId", "Values": [key["KeyId"]]}])["Parameters"]
        self.assertEqual([m["Name"] for m in md], ["/sec/custom"])
        self.assert_error("InvalidKeyId", self.ssm.put_parameter, Name="/sec/bad", Value="x",
                          Type="SecureString", KeyId="alias/not-there")
        self.kms.disable_key(KeyId=key["KeyId"])
        self.assert_error("DisabledException", self.ssm.get_parameter, Name="/sec/custom",
                          WithDecryption=True)
        self.kms.enable_key(KeyId=key["KeyId"])
        hist = self.ssm.get_parameter_history(Name="/sec/custom", WithDecryption=True)
        self.assertEqual(hist["Parameters"][0]["Value"], "other")
        self.assertEqual(hist["Parameters"][0]["KeyId"], key["KeyId"])

    def test_caller_needs_kms_decrypt_on_a_customer_key(self):
        iam = self.s.client("iam")
        iam.create_user(UserName="ssm-reader")
        ak = iam.create_access_key(UserName="ssm-reader")["AccessKey"]
        iam.put_user_policy(UserName="ssm-reader", PolicyName="ssm", PolicyDocument=policy(
            {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}))
        user = self.s.client("ssm", access_key=ak["AccessKeyId"], secret_key=ak["SecretAccessKey"])
        key = self.kms.create_key()["KeyMetadata"]
        self.ssm.put_parameter(Name="/iam/secret", Value="guarded", Type="SecureString",
                               KeyId=key["Arn"])
        self.assertNotEqual(user.get_parameter(Name="/iam/secret")["Parameter"]["Value"],
                            "guarded")
        err = self.assert_error("AccessDeniedException", user.get_parameter, Name="/iam/secret",
                                WithDecryption=True)
        self.assertIn("kms:Decrypt", err.response["Error"]["Message"])
        iam.put_user_policy(UserName="ssm-reader", PolicyName="kms", PolicyDocument=policy(
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key["Arn"],
             "Condition": {"ForAnyValue:StringEquals": {"aws:CalledVia": "ssm.amazonaws.com"}}}))
        self.assertEqual(user.get_parameter(Name="/iam/secret", WithDecryption=True)
                         ["Parameter"]["Value"], "guarded")
        # No ssm:PutParameter: denied before anything happens.
        self.assert_error("AccessDeniedException", user.put_parameter, Name="/iam/x", Value="x",
                          Type="String")
        # Tag-based access: ssm:ResourceTag.
        iam.put_user_policy(UserName="ssm-reader", PolicyName="ssm", PolicyDocument=policy(
            {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*",
             "Condition": {"StringEquals": {"ssm:ResourceTag/team": "blue"}}}))
        self.ssm.put_parameter(Name="/iam/blue", Value="b", Type="String",
                               Tags=[{"Key": "team", "Value": "blue"}])
        self.ssm.put_parameter(Name="/iam/red", Value="r", Type="String",
                               Tags=[{"Key": "team", "Value": "red"}])
        self.assertEqual(user.get_parameter(Name="/iam/blue")["Parameter"]["Value"], "b")
        self.assert_error("AccessDeniedException", user.get_parameter, Name="/iam/red")

    def test_cloudtrail_records_kms_calls_invoked_by_ssm(self):
        self.ssm.put_parameter(Name="/trail/p", Value="trail-secret", Type="SecureString")
        self.ssm.get_parameter(Name="/trail/p", WithDecryption=True)
        events = self.s.lookup_all(LookupAttributes=[
            {"AttributeKey": "EventSource", "AttributeValue": "kms.amazonaws.com"}])
        recs = harness.cloudtrail_records(events)
        mine = [r for r in recs
                if ((r.get("requestParameters") or {}).get("encryptionContext") or {}).get(
                    "PARAMETER_ARN") == self.arn("/trail/p")]
        names = sorted(r["eventName"] for r in mine)
        self.assertIn("Encrypt", names)
        self.assertIn("Decrypt", names)
        for r in mine:
            self.assertEqual(r["userIdentity"]["invokedBy"], "ssm.amazonaws.com")
            self.assertEqual(r["sourceIPAddress"], "ssm.amazonaws.com")
        puts = harness.cloudtrail_records(self.s.lookup_all(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "PutParameter"}]))
        text = json.dumps(puts)
        self.assertIn("/trail/p", text)
        self.assertNotIn("trail-secret", text)

    # ---- public parameters ---------------------------------------------------------------

    def test_public_parameters(self):
        ami = self.ssm.get_parameter(
            Name="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")
        self.assertRegex(ami["Parameter"]["Value"], r"^ami-[0-9a-f]{17}$")
        self.assertEqual(ami["Parameter"]["ARN"],
                         f"arn:aws:ssm:{self.region}::parameter/aws/service/"
                         "ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")
        regions = []
        for p in self.ssm.get_paginator("get_parameters_by_path").paginate(
                Path="/aws/service/global-infrastructure/regions"):
            regions += [x["Value"] for x in p["Parameters"]]
        self.assertIn("us-east-1", regions)
        self.assertIn("eu-west-3", regions)
        long_name = self.s.aws("ssm", "get-parameter", "--name",
                               "/aws/service/global-infrastructure/regions/us-east-1/longName"
                               ).json["Parameter"]["Value"]
        self.assertEqual(long_name, "US East (N. Virginia)")
        self.assert_error("AccessDeniedException", self.ssm.put_parameter,
                          Name="/aws/service/global-infrastructure/regions/mars-1", Value="x",
                          Type="String")
        self.assertNotIn("/aws/service/global-infrastructure/regions/us-east-1",
                         [p["Name"] for p in self.ssm.describe_parameters(MaxResults=50)
                          ["Parameters"]])


    # ---- Secrets Manager references -------------------------------------------------------

    def test_secrets_manager_reference(self):
        sm = self.s.client("secretsmanager")
        secret = sm.create_secret(Name="db/master", SecretString='{"password":"pw-1"}')
        ref = "/aws/reference/secretsmanager/db/master"
        p = self.ssm.get_parameter(Name=ref, WithDecryption=True)["Parameter"]
        self.assertEqual(p["Value"], '{"password":"pw-1"}')
        self.assertEqual(p["Type"], "SecureString")
        self.assertEqual(p["Name"], ref)
        self.assertEqual(p["ARN"], secret["ARN"])
        source = json.loads(p["SourceResult"])
        self.assertEqual(source["Name"], "db/master")
        self.assertEqual(source["VersionId"], secret["VersionId"])
        self.assertNotIn("SecretString", source)
        self.assert_error("ValidationException", self.ssm.get_parameter, Name=ref,
                          message="WithDecryption flag must be True for retrieving a Secret "
                                  "Manager secret.")
        self.assert_error("ParameterNotFound", self.ssm.get_parameter,
                          Name="/aws/reference/secretsmanager/none", WithDecryption=True)
        cli = self.s.aws("ssm", "get-parameter", "--name", ref, "--with-decryption").json
        self.assertEqual(cli["Parameter"]["Value"], '{"password":"pw-1"}')


class SsmPersistenceTest(unittest.TestCase):
    def test_parameters_survive_restart(self):
        with harness.CitadelServer() as s:
            ssm = s.client("ssm")
            ssm.put_parameter(Name="/persist/p", Value="kept", Type="SecureString")
            ssm.put_parameter(Name="/persist/p", Value="kept2", Overwrite=True)
            ssm.label_parameter_version(Name="/persist/p", ParameterVersion=1, Labels=["one"])
            s.restart()
            ssm = s.client("ssm")
            self.assertEqual(ssm.get_parameter(Name="/persist/p", WithDecryption=True)
                             ["Parameter"]["Value"], "kept2")
            self.assertEqual(ssm.get_parameter(Name="/persist/p:one", WithDecryption=True)
                             ["Parameter"]["Value"], "kept")


if __name__ == "__main__":
    unittest.main()
