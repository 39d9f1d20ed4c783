"""Issue 6: drop-in for LocalStack and moto users — development credentials (--dev), state
reset, the test time source, seed files, init scripts and LocalStack's health endpoint."""

import base64
import json
import os
import stat
import tempfile
import textwrap
import unittest
import uuid

import botocore.exceptions

import harness
from harness import CitadelServer


def error_code(exc):
    return exc.response["Error"]["Code"]


def write_script(directory, stage, name, body):
    """Writes an executable shell script DIR/<stage>.d/<name>."""
    d = os.path.join(directory, f"{stage}.d")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + textwrap.dedent(body))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def read(path):
    with open(path) as f:
        return f.read()


def tmpdir(testcase):
    d = tempfile.mkdtemp(prefix="citadel-dev-")
    testcase.addCleanup(lambda: __import__("shutil").rmtree(d, ignore_errors=True))
    return d


class DevCredentialsTest(unittest.TestCase):
    def setUp(self):
        self.server = harness.start_server(self, dev=True)

    def test_test_credentials_act_as_root_of_default_account(self):
        s = self.server
        ident = s.client("sts", access_key="test", secret_key="test").get_caller_identity()
        self.assertEqual(ident["Account"], s.account_id)
        self.assertEqual(ident["Arn"], f"arn:aws:iam::{s.account_id}:root")
        # moto's habitual dummy keys, and the aws CLI, work the same way.
        out = s.aws("sts", "get-caller-identity", access_key="FOOBARKEY", secret_key="FOOBARSECRET")
        self.assertEqual(out.json["Arn"], f"arn:aws:iam::{s.account_id}:root")

    def test_dev_mode_logged_loudly(self):
        self.assertIn("DEVELOPMENT CREDENTIALS MODE", self.server.stderr())
        self.assertTrue(self.server.health().json()["dev_mode"])

    def test_twelve_digit_key_id_lands_in_that_account(self):
        s = self.server
        account = harness.random_account_id()
        while account == s.account_id:
            account = harness.random_account_id()
        iam = s.client("iam", access_key=account, secret_key="test")
        ident = s.client("sts", access_key=account, secret_key="x").get_caller_identity()
        self.assertEqual(ident["Account"], account)
        self.assertEqual(ident["Arn"], f"arn:aws:iam::{account}:root")
        user = iam.create_user(UserName="in-that-account")["User"]
        self.assertEqual(user["Arn"], f"arn:aws:iam::{account}:user/in-that-account")
        # The account is created once: a second caller with the same id sees the same state.
        again = s.client("iam", access_key=account, secret_key="other")
        self.assertEqual([u["UserName"] for u in again.list_users()["Users"]], ["in-that-account"])
        default_users = s.client("iam", access_key="test", secret_key="test").list_users()["Users"]
        self.assertNotIn("in-that-account", [u["UserName"] for u in default_users])
        proc, _ = harness.run_admin("list-accounts", data_dir=s.data_dir)
        self.assertIn(account, proc.stdout)

    def test_user_created_in_dev_mode_is_verified_and_denied_without_policy(self):
        s = self.server
        iam = s.client("iam", access_key="test", secret_key="test")
        iam.create_user(UserName="dev-user")
        key = iam.create_access_key(UserName="dev-user")["AccessKey"]
        as_user = s.client("iam", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            as_user.list_users()
        self.assertEqual(error_code(cm.exception), "AccessDenied")
        self.assertIn("dev-user", str(cm.exception))
        # A key citadel issued is still verified: the wrong secret is refused.
        wrong = s.client("sts", access_key=key["AccessKeyId"], secret_key="not-the-secret")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            wrong.get_caller_identity()
        self.assertEqual(error_code(cm.exception), "SignatureDoesNotMatch")
        # With a policy the same user is allowed.
        iam.put_user_policy(UserName="dev-user", PolicyName="list", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]}))
        names = [u["UserName"] for u in as_user.list_users()["Users"]]
        self.assertIn("dev-user", names)

    def test_dev_callers_are_audited_as_root(self):
        s = self.server
        iam = s.client("iam", access_key="test", secret_key="test")
        iam.create_user(UserName="audited")
        events = s.lookup_all(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "CreateUser"}])
        self.assertEqual(len(events), 1)
        rec = json.loads(events[0]["CloudTrailEvent"])
        self.assertEqual(rec["userIdentity"]["type"], "Root")
        self.assertEqual(rec["userIdentity"]["arn"], f"arn:aws:iam::{s.account_id}:root")
        self.assertEqual(rec["userIdentity"]["accessKeyId"], "test")


class KmsDevTest(unittest.TestCase):
    def setUp(self):
        self.server = harness.start_server(self, dev=True)

    def test_test_credentials_create_and_use_a_kms_key(self):
        s = self.server
        kms = s.client("kms", access_key="test", secret_key="test")
        meta = kms.create_key(Description="dev key")["KeyMetadata"]
        self.assertTrue(meta["Arn"].startswith(f"arn:aws:kms:{s.region}:{s.account_id}:key/"))
        ct = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"hello dev")["CiphertextBlob"]
        self.assertEqual(kms.decrypt(CiphertextBlob=ct)["Plaintext"], b"hello dev")

    def test_reset_wipes_keys_and_events(self):
        s = self.server
        kms = s.client("kms", access_key="test", secret_key="test")
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/dev-reset", TargetKeyId=key_id)
        s.client("iam").create_user(UserName="stays-with-kms-only-reset")
        r = s.reset(service="kms")
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(key_id, [k["KeyId"] for k in kms.list_keys()["Keys"]])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            kms.describe_key(KeyId="alias/dev-reset")
        self.assertEqual(error_code(cm.exception), "NotFoundException")
        self.assertEqual([u["UserName"] for u in s.client("iam").list_users()["Users"]],
                         ["stays-with-kms-only-reset"])
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        self.assertEqual(s.reset().status, 200)
        self.assertNotIn(key_id, [k["KeyId"] for k in kms.list_keys()["Keys"]])
        names = [e["EventName"] for e in s.lookup_all()]
        self.assertNotIn("CreateKey", names)
        self.assertIn("ResetState", names)


class DevModeOffTest(unittest.TestCase):
    def test_test_credentials_refused_without_dev(self):
        s = harness.start_server(self)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s.client("sts", access_key="test", secret_key="test").get_caller_identity()
        self.assertEqual(error_code(cm.exception), "InvalidClientTokenId")
        self.assertFalse(s.health().json()["dev_mode"])

    def test_reset_and_time_refused_without_flags(self):
        s = harness.start_server(self)
        r = s.reset()
        self.assertEqual(r.status, 403, r)
        self.assertIn("--allow-reset", r.json()["message"])
        self.assertEqual(s.http("POST", "/_localstack/state/reset").status, 403)
        self.assertEqual(s.http("POST", "/moto-api/reset").status, 403)
        r = s.move_clock(advance_seconds=60)
        self.assertEqual(r.status, 403, r)
        self.assertIn("--allow-time-travel", r.json()["message"])

    def test_allow_reset_without_dev_keeps_verifying(self):
        s = harness.start_server(self, extra_args=["--allow-reset"])
        s.client("iam").create_user(UserName="gone-after-reset")
        self.assertEqual(s.reset().status, 200)
        self.assertEqual(s.client("iam").list_users()["Users"], [])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s.client("sts", access_key="test", secret_key="test").get_caller_identity()
        self.assertEqual(error_code(cm.exception), "InvalidClientTokenId")

    def test_citadel_dev_environment_variable(self):
        s = harness.start_server(self, env={"CITADEL_DEV": "1"})
        ident = s.client("sts", access_key="test", secret_key="test").get_caller_identity()
        self.assertEqual(ident["Account"], s.account_id)


class ResetTest(unittest.TestCase):
    def setUp(self):
        self.server = harness.start_server(self, dev=True)

    def test_reset_wipes_resources_and_events_keeps_root_credentials(self):
        s = self.server
        iam = s.client("iam")
        iam.create_user(UserName="u1")
        iam.create_group(GroupName="g1")
        key = iam.create_access_key(UserName="u1")["AccessKey"]
        s.client("sts").get_caller_identity()
        self.assertTrue(s.lookup_all())
        r = s.reset()
        self.assertEqual(r.status, 200, r)
        self.assertIn("iam", r.json()["services"])
        self.assertEqual(iam.list_users()["Users"], [])
        self.assertEqual(iam.list_groups()["Groups"], [])
        # The user's key is gone with the user (in dev mode an unknown key id is the default
        # account's root); the printed root credentials still work.
        after = s.client("sts", access_key=key["AccessKeyId"],
                         secret_key=key["SecretAccessKey"]).get_caller_identity()
        self.assertEqual(after["Arn"], f"arn:aws:iam::{s.account_id}:root")
        self.assertEqual(s.client("sts").get_caller_identity()["Account"], s.account_id)
        # Event history: only the reset's own record (and what came after it) remains.
        names = [e["EventName"] for e in s.lookup_all()]
        self.assertIn("ResetState", names)
        self.assertNotIn("CreateUser", names)
        self.assertNotIn("CreateGroup", names)
        self.assertIn("state reset", s.stderr())

    def test_reset_one_service(self):
        s = self.server
        s.client("iam").create_user(UserName="u2")
        r = s.reset(service="iam")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["services"], ["iam"])
        self.assertEqual(s.client("iam").list_users()["Users"], [])
        # CloudTrail was not reset: the CreateUser record is still there.
        names = [e["EventName"] for e in s.lookup_all()]
        self.assertIn("CreateUser", names)

    def test_reset_unknown_service(self):
        r = self.server.reset(service="no-such-service")
        self.assertEqual(r.status, 400, r)
        self.assertIn("no-such-service", r.json()["message"])

    def test_localstack_and_moto_reset_paths(self):
        s = self.server
        s.client("iam").create_user(UserName="u3")
        self.assertEqual(s.http("POST", "/_localstack/state/reset").status, 200)
        self.assertEqual(s.client("iam").list_users()["Users"], [])
        s.client("iam").create_user(UserName="u4")
        self.assertEqual(s.http("POST", "/moto-api/reset").status, 200)
        self.assertEqual(s.client("iam").list_users()["Users"], [])

    def test_reset_wipes_sessions(self):
        s = harness.start_server(self, extra_args=["--allow-reset"])
        creds = s.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
        sess = s.client("sts", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                        session_token=creds["SessionToken"])
        sess.get_caller_identity()
        self.assertEqual(s.reset().status, 200)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sess.get_caller_identity()
        self.assertEqual(error_code(cm.exception), "InvalidClientTokenId")


class TimeTravelTest(unittest.TestCase):
    def test_moving_the_clock_expires_sessions(self):
        s = harness.start_server(self, extra_args=["--allow-time-travel"])
        creds = s.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
        sess = s.client("sts", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                        session_token=creds["SessionToken"])
        sess.get_caller_identity()
        r = s.move_clock(advance_seconds=1000)
        self.assertEqual(r.status, 200, r)
        self.assertAlmostEqual(r.json()["offset_seconds"], 1000, delta=0.01)
        self.assertIn("jobs_run", r.json())
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sess.get_caller_identity()
        self.assertEqual(error_code(cm.exception), "ExpiredToken")
        # Requests signed with the client's real clock are still accepted.
        s.client("sts").get_caller_identity()
        # offset_seconds sets the offset absolutely: back to real time, the session is valid.
        r = s.move_clock(offset_seconds=0)
        self.assertEqual(r.json()["offset_seconds"], 0)
        sess.get_caller_identity()

    def test_bad_time_requests(self):
        s = harness.start_server(self, dev=True)
        for body in ({}, {"advance_seconds": "soon"}, {"advance_seconds": 1, "offset_seconds": 2},
                     {"rewind": 5}):
            r = s.post_json("/_citadel/time", body)
            self.assertEqual(r.status, 400, (body, r))
        r = s.http("POST", "/_citadel/time", body=b"not json")
        self.assertEqual(r.status, 400)


class LocalStackHealthTest(unittest.TestCase):
    def test_health_shape(self):
        s = harness.start_server(self)
        r = s.http("GET", "/_localstack/health")
        self.assertEqual(r.status, 200)
        doc = r.json()
        self.assertEqual(doc["services"]["sts"], "running")
        self.assertEqual(doc["services"]["iam"], "running")
        self.assertIn(doc["services"].get("kms"), ("running", "available"))
        self.assertEqual(doc["edition"], "community")
        self.assertTrue(doc["version"])


SEED_YAML = """\
# accounts and users a test suite expects
accounts:
  - id: "{other}"
iam:
  users:
    - name: alice
      access_keys:
        - id: {alice_key}
          secret: "{alice_secret}"
      inline_policies:
        read-users: |
          {{"Version": "2012-10-17",
           "Statement": [{{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}}]}}
    - name: bob        # in the other account
      account: "{other}"
      path: /team/
      access_keys:
        - id: {bob_key}
          secret: '{bob_secret}'
"""


KMS_SEED = """\
kms:
  keys:
    - id: {key_id}
      description: seeded
      material: {material}
      aliases: [alias/seeded]
"""


class SeedTest(unittest.TestCase):
    def make_seed(self, directory):
        self.other = harness.random_account_id()
        self.alice = (harness.random_access_key_id(), harness.random_secret_key())
        self.bob = (harness.random_access_key_id(), harness.random_secret_key())
        path = os.path.join(directory, "seed.yaml")
        with open(path, "w") as f:
            f.write(SEED_YAML.format(other=self.other, alice_key=self.alice[0],
                                     alice_secret=self.alice[1], bob_key=self.bob[0],
                                     bob_secret=self.bob[1]))
        return path

    def check_seeded(self, s):
        alice = s.client("sts", access_key=self.alice[0], secret_key=self.alice[1])
        self.assertEqual(alice.get_caller_identity()["Arn"],
                         f"arn:aws:iam::{s.account_id}:user/alice")
        iam_alice = s.client("iam", access_key=self.alice[0], secret_key=self.alice[1])
        self.assertIn("alice", [u["UserName"] for u in iam_alice.list_users()["Users"]])
        bob = s.client("sts", access_key=self.bob[0], secret_key=self.bob[1])
        self.assertEqual(bob.get_caller_identity()["Arn"],
                         f"arn:aws:iam::{self.other}:user/team/bob")
        # bob has no policy: denied.
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s.client("iam", access_key=self.bob[0], secret_key=self.bob[1]).list_users()
        self.assertEqual(error_code(cm.exception), "AccessDenied")

    def test_yaml_seed_creates_accounts_users_keys_idempotently(self):
        d = tmpdir(self)
        seed = self.make_seed(d)
        data = os.path.join(d, "data")
        with CitadelServer(data_dir=data, seed=seed) as s:
            self.check_seeded(s)
            s.restart()  # same seed again: nothing duplicated, nothing fails
            self.check_seeded(s)
            users = s.client("iam").list_users()["Users"]
            self.assertEqual([u["UserName"] for u in users], ["alice"])
            keys = s.client("iam").list_access_keys(UserName="alice")["AccessKeyMetadata"]
            self.assertEqual([k["AccessKeyId"] for k in keys], [self.alice[0]])

    def test_seeded_kms_key_decrypts_ciphertext_of_a_previous_fresh_start(self):
        d = tmpdir(self)
        key_id = str(uuid.uuid4())
        seed = os.path.join(d, "seed.yaml")
        with open(seed, "w") as f:
            f.write(KMS_SEED.format(key_id=key_id, material=base64.b64encode(os.urandom(32)).decode()))
        # The same account on both starts (a blob names the key's account and id).
        env = {"CITADEL_ACCOUNT_ID": harness.random_account_id()}
        with CitadelServer(data_dir=os.path.join(d, "run1"), seed=seed, env=env) as s:
            kms = s.client("kms")
            meta = kms.describe_key(KeyId="alias/seeded")["KeyMetadata"]
            self.assertEqual(meta["KeyId"], key_id)
            self.assertEqual((meta["Origin"], meta["KeyState"]), ("EXTERNAL", "Enabled"))
            blob = kms.encrypt(KeyId="alias/seeded", Plaintext=b"kept across starts",
                               EncryptionContext={"app": "seed"})["CiphertextBlob"]
            s.restart()  # the same seed again on the same data: nothing fails, nothing doubles
            self.assertEqual(len(s.client("kms").list_aliases(KeyId=key_id)["Aliases"]), 1)
        # A fresh data directory (a new root key): the seed recreates the key from its material.
        with CitadelServer(data_dir=os.path.join(d, "run2"), seed=seed, env=env) as s:
            out = s.client("kms").decrypt(CiphertextBlob=blob, EncryptionContext={"app": "seed"})
            self.assertEqual(out["Plaintext"], b"kept across starts")
            self.assertTrue(out["KeyId"].endswith(key_id))
            events = s.client("cloudtrail").lookup_events(LookupAttributes=[
                {"AttributeKey": "EventName", "AttributeValue": "ImportKeyMaterial"}])["Events"]
            self.assertEqual(len(events), 1)

    def test_json_seed(self):
        d = tmpdir(self)
        key = (harness.random_access_key_id(), harness.random_secret_key())
        path = os.path.join(d, "seed.json")
        with open(path, "w") as f:
            json.dump({"iam": {"users": [{"name": "carol", "access_keys": [
                {"id": key[0], "secret": key[1]}],
                "managed_policies": ["arn:aws:iam::aws:policy/AdministratorAccess"]}]}}, f)
        s = harness.start_server(self, seed=path)
        iam = s.client("iam", access_key=key[0], secret_key=key[1])
        self.assertEqual([u["UserName"] for u in iam.list_users()["Users"]], ["carol"])


    def test_secrets_and_parameters(self):
        d = tmpdir(self)
        path = os.path.join(d, "seed.yaml")
        body = textwrap.dedent("""\
            secretsmanager:
              secrets:
                - name: app/db
                  value: "{secret}"
                  description: seeded
                - name: app/blob
                  binary: AAECAw==
            ssm:
              parameters:
                - name: /app/db/host
                  value: {host}
                - name: /app/db/password
                  type: SecureString
                  value: s3cret
            """)
        with open(path, "w") as f:
            f.write(body.format(secret="pw-1", host="db.local"))
        with CitadelServer(data_dir=os.path.join(d, "data"), seed=path) as s:
            sm, ssm = s.client("secretsmanager"), s.client("ssm")
            self.assertEqual(sm.get_secret_value(SecretId="app/db")["SecretString"], "pw-1")
            self.assertEqual(sm.get_secret_value(SecretId="app/blob")["SecretBinary"],
                             bytes([0, 1, 2, 3]))
            p = ssm.get_parameter(Name="/app/db/host")["Parameter"]
            self.assertEqual((p["Value"], p["Version"]), ("db.local", 1))
            p = ssm.get_parameter(Name="/app/db/password", WithDecryption=True)["Parameter"]
            self.assertEqual((p["Type"], p["Value"]), ("SecureString", "s3cret"))
            s.restart()  # unchanged seed: no new versions
            ssm = s.client("ssm")
            p = ssm.get_parameter(Name="/app/db/host")["Parameter"]
            self.assertEqual(p["Version"], 1)
            with open(path, "w") as f:
                f.write(body.format(secret="pw-2", host="db2.local"))
            s.restart()  # changed values: stored as new versions
            sm, ssm = s.client("secretsmanager"), s.client("ssm")
            self.assertEqual(sm.get_secret_value(SecretId="app/db")["SecretString"], "pw-2")
            p = ssm.get_parameter(Name="/app/db/host")["Parameter"]
            self.assertEqual((p["Value"], p["Version"]), ("db2.local", 2))


class SeedBadInputTest(unittest.TestCase):
    def fail_with(self, content, expected, name="seed.yaml"):
        d = tmpdir(self)
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(content)
        data = os.path.join(d, "data")
        proc = harness.serve_expect_failure(["--seed", path], data_dir=data)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(expected, proc.stderr)
        return data

    def test_unknown_field_names_the_entry(self):
        self.fail_with("iam:\n  users:\n    - name: alice\n      pasword: x\n",
                       'iam.users[0] (alice): unknown field "pasword"')

    def test_unknown_section(self):
        self.fail_with('{"lambda": {}}', 'unknown field "lambda"', name="seed.json")

    def test_duplicate_ids(self):
        key = harness.random_access_key_id()
        self.fail_with(textwrap.dedent(f"""\
            iam:
              users:
                - name: a
                  access_keys: [{{"id": "{key}", "secret": "s"}}]
            """), "line 4")  # flow mappings are outside the YAML subset
        self.fail_with(textwrap.dedent(f"""\
            iam:
              users:
                - name: a
                  access_keys:
                    - id: {key}
                      secret: s1
                - name: b
                  access_keys:
                    - id: {key}
                      secret: s2
            """), f"iam.users[1] (b).access_keys[0]: duplicate access key id {key}")
        self.fail_with("iam:\n  users:\n    - name: dup\n    - name: DUP\n",
                       "iam.users[1] (DUP): duplicate user DUP")
        self.fail_with("accounts:\n  - id: '111111111111'\n  - id: '111111111111'\n",
                       "accounts[1] (111111111111): duplicate account id")
        self.fail_with("iam:\n  users:\n    - name: a\n      name: b\n", "line 4: duplicate key")

    def test_invalid_key_material(self):
        self.fail_with(textwrap.dedent("""\
            kms:
              keys:
                - id: 1234abcd-12ab-34cd-56ef-1234567890ab
                  material: "not base64!"
            """), 'kms.keys[0] (1234abcd-12ab-34cd-56ef-1234567890ab): "material" is not valid base64')
        self.fail_with(textwrap.dedent("""\
            kms:
              keys:
                - id: 1234abcd-12ab-34cd-56ef-1234567890ab
                  material: AAAA
            """), '"material" must be 32 bytes')

    def test_other_service_entries_fail_clearly(self):
        self.fail_with("ssm:\n  parameters:\n    - name: /app/x\n      type: Text\n      value: v\n",
                       "ssm.parameters[0] (/app/x): \"type\" must be String, StringList or SecureString")
        self.fail_with("secretsmanager:\n  secrets:\n    - name: app/db\n",
                       'secretsmanager.secrets[0] (app/db): give exactly one of "value" and "binary"')

    def test_kms_key_that_exists_with_other_material_stops_the_start(self):
        d = tmpdir(self)
        data = os.path.join(d, "data")
        key_id = str(uuid.uuid4())
        first = os.path.join(d, "first.yaml")
        with open(first, "w") as f:
            f.write(KMS_SEED.format(key_id=key_id, material=base64.b64encode(b"A" * 32).decode()))
        with CitadelServer(data_dir=data, seed=first):
            pass
        second = os.path.join(d, "second.yaml")
        with open(second, "w") as f:
            f.write(KMS_SEED.format(key_id=key_id, material=base64.b64encode(b"B" * 32).decode()))
        proc = harness.serve_expect_failure(["--seed", second], data_dir=data)
        self.assertIn(f"kms.keys[0] ({key_id}): ImportKeyMaterial: IncorrectKeyMaterialException",
                      proc.stderr)

    def test_nothing_half_created(self):
        other = harness.random_account_id()
        data = self.fail_with(textwrap.dedent(f"""\
            accounts:
              - id: "{other}"
            iam:
              users:
                - name: first
                - name: second
                  managed_policies: [arn:aws:iam::{other}:policy/does-not-exist]
            """), "iam.users[1] (second): managed policy")
        proc, _ = harness.run_admin("list-accounts", data_dir=data)
        self.assertNotIn(other, proc.stdout)
        with CitadelServer(data_dir=data) as s:
            self.assertEqual(s.client("iam").list_users()["Users"], [])


class InitScriptsTest(unittest.TestCase):
    def test_stages_environment_and_health(self):
        d = tmpdir(self)
        out = os.path.join(d, "out")
        os.makedirs(out)
        write_script(d, "boot", "10-boot.sh", f"""\
            echo "boot $AWS_DEFAULT_REGION" > {out}/boot
            echo hello-from-boot
            """)
        write_script(d, "ready", "10-first.sh", f"""\
            python3 -c 'import urllib.request,os; print(urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/_citadel/health").status)' > {out}/health
            aws sts get-caller-identity --query Arn --output text > {out}/arn
            """)
        write_script(d, "ready", "20-second.sh", f"ls {out} > {out}/order\n")
        write_script(d, "shutdown", "10-down.sh", f"""\
            python3 -c 'import urllib.request,os; print(urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/_citadel/health").status)' > {out}/down
            """)
        s = harness.start_server(self, init_dir=d)
        self.assertEqual(read(os.path.join(out, "boot")).strip(), f"boot {s.region}")
        health = s.wait_until(
            lambda: (lambda h: h if h["init"]["ready"]["completed"] else None)(s.health().json()),
            timeout=60, what="ready.d to complete")
        self.assertEqual(health["status"], "ok")
        self.assertFalse(health["init_failed"])
        self.assertEqual([x["name"] for x in health["init"]["ready"]["scripts"]],
                         ["10-first.sh", "20-second.sh"])
        self.assertEqual(read(os.path.join(out, "health")).strip(), "200")
        self.assertEqual(read(os.path.join(out, "arn")).strip(),
                         f"arn:aws:iam::{s.account_id}:root")
        # 20-second ran after 10-first had finished.
        self.assertIn("arn", read(os.path.join(out, "order")).split())
        self.assertIn("hello-from-boot", s.stderr())
        ls = s.http("GET", "/_localstack/init").json()
        self.assertTrue(ls["completed"]["READY"])
        self.assertIn({"stage": "BOOT", "name": "10-boot.sh", "state": "SUCCESSFUL"}, ls["scripts"])
        self.assertEqual(s.stop(), 0)
        # shutdown.d ran while the server still answered.
        self.assertEqual(read(os.path.join(out, "down")).strip(), "200")

    def test_failing_ready_script_reported(self):
        d = tmpdir(self)
        write_script(d, "ready", "fail.sh", "echo about-to-fail; exit 3\n")
        s = harness.start_server(self, init_dir=d)
        health = s.wait_until(
            lambda: (lambda h: h if h["init"]["ready"]["completed"] else None)(s.health().json()),
            timeout=60, what="ready.d to complete")
        self.assertEqual(health["status"], "degraded")
        self.assertTrue(health["init_failed"])
        self.assertEqual(health["init"]["ready"]["scripts"],
                         [{"name": "fail.sh", "state": "error", "exit_code": 3}])
        self.assertIn("about-to-fail", s.stderr())

    def test_hanging_boot_script_killed_server_starts(self):
        d = tmpdir(self)
        write_script(d, "boot", "hang.sh", "sleep 600\n")
        s = harness.start_server(self, init_dir=d, init_timeout=1)
        health = s.health().json()
        self.assertEqual(health["init"]["boot"]["scripts"], [{"name": "hang.sh", "state": "timeout"}])
        self.assertTrue(health["init_failed"])
        self.assertEqual(s.client("sts").get_caller_identity()["Account"], s.account_id)
        self.assertIn("init script timed out", s.stderr())

    def test_bad_init_options(self):
        d = tmpdir(self)
        proc = harness.serve_expect_failure(["--init-dir", os.path.join(d, "missing")],
                                            data_dir=os.path.join(d, "data"))
        self.assertIn("is not a directory", proc.stderr)
        proc = harness.serve_expect_failure(["--init-dir", d, "--init-timeout", "0"],
                                            data_dir=os.path.join(d, "data"))
        self.assertIn("--init-timeout", proc.stderr)


if __name__ == "__main__":
    unittest.main()
