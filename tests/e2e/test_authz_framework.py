"""The framework's generic authorization inputs end to end: aws:RequestTag/<key> and
aws:TagKeys come from every operation's tags (here IAM CreateUser, TagUser, UntagUser) and
reach the caller's policies, exactly as in AWS."""

import json
import unittest

import botocore.exceptions

import harness


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


class RequestTagKeysTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)
        self.iam = self.s.client("iam")
        self.acct = self.s.account_id
        self.iam.create_user(UserName="tagger")
        key = self.iam.create_access_key(UserName="tagger")["AccessKey"]
        self.client = self.s.client("iam", access_key=key["AccessKeyId"],
                                    secret_key=key["SecretAccessKey"])

    def grant(self, *statements):
        self.iam.put_user_policy(UserName="tagger", PolicyName="tags",
                                 PolicyDocument=policy(*statements))

    def assert_denied(self, action, fn, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(**kwargs)
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], "AccessDenied", cm.exception.response)
        self.assertIn(f"arn:aws:iam::{self.acct}:user/tagger is not authorized to perform: "
                      f"{action}", err["Message"])
        self.assertIn(f"because no identity-based policy allows the {action} action",
                      err["Message"])

    def test_create_user_only_with_the_required_tag(self):
        self.grant({"Effect": "Allow", "Action": "iam:CreateUser", "Resource": "*",
                    "Condition": {"StringEquals": {"aws:RequestTag/team": "blue"},
                                  "ForAllValues:StringEquals": {"aws:TagKeys": ["team", "cost"]}}})
        created = self.client.create_user(
            UserName="blue1", Tags=[{"Key": "team", "Value": "blue"}])["User"]
        self.assertEqual(created["UserName"], "blue1")
        self.client.create_user(UserName="blue2", Tags=[{"Key": "team", "Value": "blue"},
                                                        {"Key": "cost", "Value": "42"}])
        self.assert_denied("iam:CreateUser", self.client.create_user, UserName="untagged")
        self.assert_denied("iam:CreateUser", self.client.create_user, UserName="red",
                           Tags=[{"Key": "team", "Value": "red"}])
        # A key outside the allowed set fails ForAllValues even with team=blue.
        self.assert_denied("iam:CreateUser", self.client.create_user, UserName="extra",
                           Tags=[{"Key": "team", "Value": "blue"},
                                 {"Key": "owner", "Value": "me"}])
        names = sorted(u["UserName"] for u in self.iam.list_users()["Users"])
        self.assertEqual(names, ["blue1", "blue2", "tagger"])

    def test_request_tag_value_is_case_sensitive_and_key_is_not(self):
        self.grant({"Effect": "Allow", "Action": "iam:CreateUser", "Resource": "*",
                    "Condition": {"StringEquals": {"aws:RequestTag/Team": "blue"}}})
        self.client.create_user(UserName="u1", Tags=[{"Key": "team", "Value": "blue"}])
        self.assert_denied("iam:CreateUser", self.client.create_user, UserName="u2",
                           Tags=[{"Key": "team", "Value": "Blue"}])

    def test_tag_and_untag_user_by_tag_keys(self):
        self.iam.create_user(UserName="target")
        self.grant({"Effect": "Allow", "Action": ["iam:TagUser", "iam:UntagUser"],
                    "Resource": f"arn:aws:iam::{self.acct}:user/target",
                    "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}},
                   {"Effect": "Deny", "Action": "iam:TagUser", "Resource": "*",
                    "Condition": {"StringEquals": {"aws:RequestTag/team": "root"}}})
        self.client.tag_user(UserName="target", Tags=[{"Key": "team", "Value": "green"}])
        self.assert_denied("iam:TagUser", self.client.tag_user, UserName="target",
                           Tags=[{"Key": "admin", "Value": "yes"}])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.client.tag_user(UserName="target", Tags=[{"Key": "team", "Value": "root"}])
        self.assertIn("with an explicit deny in an identity-based policy",
                      cm.exception.response["Error"]["Message"])
        tags = self.iam.list_user_tags(UserName="target")["Tags"]
        self.assertEqual(tags, [{"Key": "team", "Value": "green"}])
        # UntagUser: aws:TagKeys are the keys being removed.
        self.iam.tag_user(UserName="target", Tags=[{"Key": "admin", "Value": "yes"}])
        self.assert_denied("iam:UntagUser", self.client.untag_user, UserName="target",
                           TagKeys=["admin"])
        self.client.untag_user(UserName="target", TagKeys=["team"])
        tags = self.iam.list_user_tags(UserName="target")["Tags"]
        self.assertEqual(tags, [{"Key": "admin", "Value": "yes"}])

    def test_aws_cli_create_user_with_tags(self):
        self.grant({"Effect": "Allow", "Action": "iam:CreateUser", "Resource": "*",
                    "Condition": {"StringEquals": {"aws:RequestTag/team": "blue"}}})
        key = self.iam.create_access_key(UserName="tagger")["AccessKey"]
        ok = self.s.aws("iam", "create-user", "--user-name", "cli-blue", "--tags",
                        "Key=team,Value=blue", access_key=key["AccessKeyId"],
                        secret_key=key["SecretAccessKey"])
        self.assertEqual(ok.json["User"]["UserName"], "cli-blue")
        bad = self.s.aws("iam", "create-user", "--user-name", "cli-red", "--tags",
                         "Key=team,Value=red", access_key=key["AccessKeyId"],
                         secret_key=key["SecretAccessKey"], check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("AccessDenied", bad.stderr)


if __name__ == "__main__":
    unittest.main()
