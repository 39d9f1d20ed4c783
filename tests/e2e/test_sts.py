"""STS GetCallerIdentity for root credentials: boto3, the aws CLI, bootstrap and admin keys."""

import unittest

import harness
from harness import CitadelServer


class GetCallerIdentityTest(unittest.TestCase):
    def setUp(self):
        self.server = harness.start_server(self)

    def assert_root_identity(self, ident, account_id):
        self.assertEqual(ident["Account"], account_id)
        self.assertEqual(ident["Arn"], f"arn:aws:iam::{account_id}:root")
        self.assertEqual(ident["UserId"], account_id)

    def test_startup_prints_endpoint_and_credentials(self):
        s = self.server
        self.assertRegex(s.endpoint, r"^http://127\.0\.0\.1:\d+$")
        self.assertNotEqual(s.port, 0)
        self.assertRegex(s.account_id, r"^\d{12}$")
        self.assertRegex(s.access_key, r"^[A-Z0-9]{16,128}$")
        self.assertGreaterEqual(len(s.secret_key), 20)
        self.assertEqual(s.region, "us-east-1")
        # CITADEL_READY=1 is the last KEY=VALUE line printed.
        kv_lines = [l for l in s.stdout_lines if harness.parse_key_values(l)]
        self.assertEqual(kv_lines[-1].strip(), "CITADEL_READY=1")

    def test_boto3_root_identity(self):
        resp = self.server.client("sts").get_caller_identity()
        self.assert_root_identity(resp, self.server.account_id)
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertTrue(resp["ResponseMetadata"]["RequestId"])

    def test_aws_cli_root_identity(self):
        out = self.server.aws("sts", "get-caller-identity").json
        self.assert_root_identity(out, self.server.account_id)

    def test_identity_in_other_region(self):
        resp = self.server.client("sts", region="eu-west-1").get_caller_identity()
        self.assert_root_identity(resp, self.server.account_id)

    def test_request_id_header_matches_metadata(self):
        resp = self.server.sts_query()
        self.assertEqual(resp.status, 200, resp)
        rid = resp.header("x-amzn-RequestId")
        self.assertTrue(rid)
        self.assertIn(f"<RequestId>{rid}</RequestId>", resp.text)
        self.assertIn(f"<Account>{self.server.account_id}</Account>", resp.text)
        self.assertIn("GetCallerIdentityResponse", resp.text)

    def test_admin_create_account_seen_by_running_server(self):
        s = self.server
        _, created = harness.run_admin("create-account", data_dir=s.data_dir)
        new_account = created["CITADEL_ACCOUNT_ID"]
        self.assertRegex(new_account, r"^\d{12}$")
        self.assertNotEqual(new_account, s.account_id)
        resp = s.client("sts", access_key=created["AWS_ACCESS_KEY_ID"],
                        secret_key=created["AWS_SECRET_ACCESS_KEY"]).get_caller_identity()
        self.assert_root_identity(resp, new_account)
        # The default account's key is unaffected.
        self.assert_root_identity(s.client("sts").get_caller_identity(), s.account_id)

    def test_admin_create_account_with_explicit_id(self):
        s = self.server
        wanted = harness.random_account_id()
        _, created = harness.run_admin("create-account", "--account-id", wanted,
                                       data_dir=s.data_dir)
        self.assertEqual(created["CITADEL_ACCOUNT_ID"], wanted)
        out = s.aws("sts", "get-caller-identity", access_key=created["AWS_ACCESS_KEY_ID"],
                    secret_key=created["AWS_SECRET_ACCESS_KEY"]).json
        self.assert_root_identity(out, wanted)

    def test_admin_create_root_key_adds_a_second_working_key(self):
        s = self.server
        _, created = harness.run_admin("create-root-key", "--account-id", s.account_id,
                                       data_dir=s.data_dir)
        self.assertNotEqual(created["AWS_ACCESS_KEY_ID"], s.access_key)
        resp = s.client("sts", access_key=created["AWS_ACCESS_KEY_ID"],
                        secret_key=created["AWS_SECRET_ACCESS_KEY"]).get_caller_identity()
        self.assert_root_identity(resp, s.account_id)
        self.assert_root_identity(s.client("sts").get_caller_identity(), s.account_id)


class BootstrapFromEnvironmentTest(unittest.TestCase):
    def test_environment_overrides_bootstrap(self):
        account = harness.random_account_id()
        key = harness.random_access_key_id()
        secret = harness.random_secret_key()
        env = {"CITADEL_ACCOUNT_ID": account, "CITADEL_ROOT_ACCESS_KEY_ID": key,
               "CITADEL_ROOT_SECRET_ACCESS_KEY": secret}
        with CitadelServer(env=env) as s:
            self.assertEqual(s.account_id, account)
            self.assertEqual(s.access_key, key)
            self.assertEqual(s.secret_key, secret)
            ident = s.client("sts", access_key=key, secret_key=secret).get_caller_identity()
            self.assertEqual(ident["Account"], account)
            self.assertEqual(ident["Arn"], f"arn:aws:iam::{account}:root")

    def test_config_file_account_id(self):
        account = harness.random_account_id()
        with CitadelServer(config={"account_id": account, "region": "us-east-1"}) as s:
            self.assertEqual(s.account_id, account)
            self.assertEqual(s.client("sts").get_caller_identity()["Account"], account)


if __name__ == "__main__":
    unittest.main()
