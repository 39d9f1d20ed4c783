"""State survives restarts: generated root keys, admin-made accounts and keys, audit events."""

import os
import shutil
import signal
import tempfile
import unittest

import harness
from harness import CitadelServer, by_request_id


class PersistenceTest(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="citadel-e2e-persist-")
        self.addCleanup(shutil.rmtree, self.data_dir, True)

    def server(self, **kwargs):
        return harness.start_server(self, data_dir=self.data_dir, **kwargs)

    def test_generated_root_keys_are_reused_after_restart(self):
        s = self.server()
        first = (s.account_id, s.access_key, s.secret_key)
        self.assertEqual(s.restart(), 0)
        self.assertEqual((s.account_id, s.access_key, s.secret_key), first)
        ident = s.client("sts", access_key=first[1], secret_key=first[2]).get_caller_identity()
        self.assertEqual(ident["Account"], first[0])

    def test_generated_secret_is_not_stored_in_clear(self):
        s = self.server()
        secret = s.secret_key.encode()
        s.client("sts").get_caller_identity()
        self.assertEqual(s.stop(), 0)
        for root, _, files in os.walk(self.data_dir):
            for name in files:
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    self.assertNotIn(secret, f.read(), f"secret key in clear in {path}")

    def test_admin_account_made_while_stopped_is_served_after_start(self):
        wanted = harness.random_account_id()
        _, created = harness.run_admin("create-account", "--account-id", wanted,
                                       data_dir=self.data_dir)
        self.assertEqual(created["CITADEL_ACCOUNT_ID"], wanted)
        _, extra = harness.run_admin("create-root-key", "--account-id", wanted,
                                     data_dir=self.data_dir)
        s = self.server()
        for keys in (created, extra):
            ident = s.client("sts", access_key=keys["AWS_ACCESS_KEY_ID"],
                             secret_key=keys["AWS_SECRET_ACCESS_KEY"]).get_caller_identity()
            self.assertEqual(ident["Account"], wanted)
            self.assertEqual(ident["Arn"], f"arn:aws:iam::{wanted}:root")

    def test_admin_account_made_while_running_survives_restart(self):
        s = self.server()
        _, created = harness.run_admin("create-account", data_dir=self.data_dir)
        self.assertEqual(s.restart(), 0)
        ident = s.client("sts", access_key=created["AWS_ACCESS_KEY_ID"],
                         secret_key=created["AWS_SECRET_ACCESS_KEY"]).get_caller_identity()
        self.assertEqual(ident["Account"], created["CITADEL_ACCOUNT_ID"])

    def test_events_recorded_before_restart_are_found_after(self):
        s = self.server()
        sts = s.client("sts")
        rids = [sts.get_caller_identity()["ResponseMetadata"]["RequestId"] for _ in range(3)]
        before = by_request_id(s.lookup_all())
        self.assertTrue(set(rids) <= set(before))
        self.assertEqual(s.restart(), 0)
        after = by_request_id(s.lookup_all(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}]))
        for rid in rids:
            self.assertIn(rid, after)
            self.assertEqual(after[rid][0]["EventId"], before[rid][0]["EventId"])
            self.assertEqual(after[rid][1], before[rid][1])

    def test_answered_calls_survive_sigkill(self):
        s = self.server()
        sts = s.client("sts")
        rids = [sts.get_caller_identity()["ResponseMetadata"]["RequestId"] for _ in range(5)]
        _, created = harness.run_admin("create-account", data_dir=self.data_dir)
        s.stop(signal.SIGKILL)
        s.start()
        found = by_request_id(s.lookup_all())
        for rid in rids:
            self.assertIn(rid, found, "an answered call lost its audit record after SIGKILL")
        ident = s.client("sts", access_key=created["AWS_ACCESS_KEY_ID"],
                         secret_key=created["AWS_SECRET_ACCESS_KEY"]).get_caller_identity()
        self.assertEqual(ident["Account"], created["CITADEL_ACCOUNT_ID"])

    def test_environment_keys_with_existing_data_dir(self):
        account = harness.random_account_id()
        key = harness.random_access_key_id()
        secret = harness.random_secret_key()
        env = {"CITADEL_ACCOUNT_ID": account, "CITADEL_ROOT_ACCESS_KEY_ID": key,
               "CITADEL_ROOT_SECRET_ACCESS_KEY": secret}
        s = self.server(env=env)
        rid = s.client("sts").get_caller_identity()["ResponseMetadata"]["RequestId"]
        self.assertEqual(s.restart(), 0)
        self.assertEqual((s.account_id, s.access_key), (account, key))
        self.assertIn(rid, by_request_id(s.lookup_all()))


if __name__ == "__main__":
    unittest.main()
