"""STS GetSessionToken: temporary credentials that authenticate with their token, appear in
CloudTrail with a session context, and are refused with a wrong or missing token."""

import json
import unittest

import botocore.exceptions

import harness


class SessionTokenTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)

    def session(self, **kwargs):
        return self.s.client("sts").get_session_token(**kwargs)["Credentials"]

    def test_session_credentials_act_as_the_caller(self):
        creds = self.session(DurationSeconds=900)
        self.assertTrue(creds["AccessKeyId"].startswith("ASIA"), creds["AccessKeyId"])
        sts = self.s.client("sts", access_key=creds["AccessKeyId"],
                            secret_key=creds["SecretAccessKey"],
                            session_token=creds["SessionToken"])
        ident = sts.get_caller_identity()
        self.assertEqual(ident["Account"], self.s.account_id)
        self.assertEqual(ident["Arn"], f"arn:aws:iam::{self.s.account_id}:root")
        # The call is recorded with the temporary key and a session context.
        events = self.s.client("cloudtrail").lookup_events(LookupAttributes=[
            {"AttributeKey": "AccessKeyId", "AttributeValue": creds["AccessKeyId"]}])
        self.assertEqual(len(events["Events"]), 1, events)
        record = json.loads(events["Events"][0]["CloudTrailEvent"])
        self.assertIn("sessionContext", record["userIdentity"])
        self.assertEqual(
            record["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"], "false")
        # The secret never reaches the event history.
        issue = self.s.client("cloudtrail").lookup_events(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "GetSessionToken"}])
        self.assertNotIn(creds["SecretAccessKey"], issue["Events"][0]["CloudTrailEvent"])

    def test_wrong_or_missing_token_is_refused(self):
        creds = self.session(DurationSeconds=900)
        real = creds["SessionToken"]
        wrong = ("y" if real[0] == "x" else "x") + real[1:]  # always differs from the real one
        for token in (wrong, None):
            sts = self.s.client("sts", access_key=creds["AccessKeyId"],
                                secret_key=creds["SecretAccessKey"], session_token=token)
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                sts.get_caller_identity()
            self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidClientTokenId")

    def test_root_sessions_last_at_most_an_hour(self):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.session(DurationSeconds=7200)
        self.assertEqual(cm.exception.response["Error"]["Code"], "ValidationError")

    def test_session_credentials_cannot_make_sessions(self):
        creds = self.session(DurationSeconds=900)
        sts = self.s.client("sts", access_key=creds["AccessKeyId"],
                            secret_key=creds["SecretAccessKey"],
                            session_token=creds["SessionToken"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sts.get_session_token()
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")

    def test_mfa_code_for_a_device_the_caller_does_not_have_is_refused(self):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.session(SerialNumber=f"arn:aws:iam::{self.s.account_id}:mfa/dev",
                         TokenCode="123456")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")


class AccessKeyInfoTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)

    def test_names_the_owning_account_of_long_term_and_temporary_keys(self):
        sts = self.s.client("sts")
        self.assertEqual(sts.get_access_key_info(AccessKeyId=self.s.access_key)["Account"],
                         self.s.account_id)
        creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
        self.assertEqual(sts.get_access_key_info(AccessKeyId=creds["AccessKeyId"])["Account"],
                         self.s.account_id)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sts.get_access_key_info(AccessKeyId="AKIAUNKNOWNUNKNOWN00")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidParameterValue")

    def test_needs_permission(self):
        iam = self.s.client("iam")
        iam.create_user(UserName="nokeyinfo")
        key = iam.create_access_key(UserName="nokeyinfo")["AccessKey"]
        sts = self.s.client("sts", access_key=key["AccessKeyId"],
                            secret_key=key["SecretAccessKey"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sts.get_access_key_info(AccessKeyId=self.s.access_key)
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")


if __name__ == "__main__":
    unittest.main()
