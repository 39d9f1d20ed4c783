"""STS AssumeRole end to end: the trust policy decides who may assume a role (with ExternalId,
tags and source identity), the session acts with the role's policies narrowed by session
policies, sees its session tags as principal tags, chains for at most an hour, and appears in
CloudTrail as an AssumedRole issued by the role."""

import json
import unittest

import botocore.exceptions

import harness


def trust(principal, condition=None, actions=("sts:AssumeRole",)):
    statement = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": list(actions)}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def allow(actions, resource="*", condition=None):
    statement = {"Effect": "Allow", "Action": actions, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


class AssumeRoleTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)
        self.iam = self.s.client("iam")
        self.acct = self.s.account_id

    # ---- helpers -------------------------------------------------------------------------

    def user(self, name, policy=None):
        arn = self.iam.create_user(UserName=name)["User"]["Arn"]
        if policy:
            self.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return arn, self.s.client("sts", access_key=key["AccessKeyId"],
                                  secret_key=key["SecretAccessKey"])

    def role(self, name, trust_doc, policy=None, **kwargs):
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_doc,
                                   **kwargs)["Role"]["Arn"]
        if policy:
            self.iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=policy)
        return arn

    def session_client(self, service, creds):
        return self.s.client(service, access_key=creds["AccessKeyId"],
                             secret_key=creds["SecretAccessKey"],
                             session_token=creds["SessionToken"])

    def assert_error(self, code, fn, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code,
                         cm.exception.response)
        return cm.exception.response["Error"]["Message"]

    # ---- trust ---------------------------------------------------------------------------

    def test_trust_naming_the_user_is_enough_and_session_is_the_role(self):
        user_arn, sts = self.user("alice")
        role_arn = self.role("reader", trust(user_arn))
        out = sts.assume_role(RoleArn=role_arn, RoleSessionName="s1")
        creds = out["Credentials"]
        self.assertTrue(creds["AccessKeyId"].startswith("ASIA"), creds)
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         f"arn:aws:sts::{self.acct}:assumed-role/reader/s1")
        role_id = self.iam.get_role(RoleName="reader")["Role"]["RoleId"]
        self.assertEqual(out["AssumedRoleUser"]["AssumedRoleId"], f"{role_id}:s1")
        ident = self.session_client("sts", creds).get_caller_identity()
        self.assertEqual(ident["Arn"], f"arn:aws:sts::{self.acct}:assumed-role/reader/s1")
        self.assertEqual(ident["UserId"], f"{role_id}:s1")
        self.assertEqual(ident["Account"], self.acct)

    def test_trust_not_naming_the_caller_is_denied(self):
        _, sts = self.user("alice", allow("sts:AssumeRole"))
        other_arn, _ = self.user("bob")
        role_arn = self.role("r", trust(other_arn))
        msg = self.assert_error("AccessDenied", sts.assume_role, RoleArn=role_arn,
                                RoleSessionName="s1")
        self.assertEqual(msg, f"User: arn:aws:iam::{self.acct}:user/alice is not authorized to "
                              f"perform: sts:AssumeRole on resource: {role_arn}")
        # An unknown role is not revealed.
        missing = f"arn:aws:iam::{self.acct}:role/nope"
        msg = self.assert_error("AccessDenied", sts.assume_role, RoleArn=missing,
                                RoleSessionName="s1")
        self.assertIn(f"on resource: {missing}", msg)

    def test_trust_naming_the_account_delegates_to_identity_policies(self):
        role_arn = self.role("r", trust(f"arn:aws:iam::{self.acct}:root"))
        _, without = self.user("alice")
        self.assert_error("AccessDenied", without.assume_role, RoleArn=role_arn,
                          RoleSessionName="s1")
        _, with_policy = self.user("bob", allow("sts:AssumeRole", role_arn))
        with_policy.assume_role(RoleArn=role_arn, RoleSessionName="s1")

    def test_cross_account_needs_trust_and_identity_policy(self):
        _, other = harness.run_admin("create-account", data_dir=self.s.data_dir)
        other_acct = other["CITADEL_ACCOUNT_ID"]
        other_iam = self.s.client("iam", access_key=other["AWS_ACCESS_KEY_ID"],
                                  secret_key=other["AWS_SECRET_ACCESS_KEY"])
        other_iam.create_user(UserName="in-other")
        alice_arn, alice = self.user("alice")
        bob_arn, bob = self.user("bob", allow("sts:AssumeRole"))
        role_arn = other_iam.create_role(
            RoleName="cross", AssumeRolePolicyDocument=trust([alice_arn, bob_arn]))["Role"]["Arn"]
        other_iam.put_role_policy(RoleName="cross", PolicyName="p",
                                  PolicyDocument=allow("iam:ListUsers"))
        # The trust policy names alice, but her own account grants her nothing.
        self.assert_error("AccessDenied", alice.assume_role, RoleArn=role_arn,
                          RoleSessionName="xs")
        out = bob.assume_role(RoleArn=role_arn, RoleSessionName="xs")
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         f"arn:aws:sts::{other_acct}:assumed-role/cross/xs")
        names = [u["UserName"]
                 for u in self.session_client("iam", out["Credentials"]).list_users()["Users"]]
        self.assertEqual(names, ["in-other"])
        # An identity policy alone is not enough either.
        role2 = other_iam.create_role(RoleName="untrusting",
                                      AssumeRolePolicyDocument=trust(alice_arn))["Role"]["Arn"]
        self.assert_error("AccessDenied", bob.assume_role, RoleArn=role2, RoleSessionName="xs")

    def test_root_cannot_assume_roles(self):
        role_arn = self.role("r", trust(f"arn:aws:iam::{self.acct}:root"))
        msg = self.assert_error("AccessDenied", self.s.client("sts").assume_role,
                                RoleArn=role_arn, RoleSessionName="s1")
        self.assertEqual(msg, "Roles may not be assumed by root accounts.")

    def test_external_id_required(self):
        user_arn, sts = self.user("alice")
        role_arn = self.role("r", trust(user_arn,
                                        {"StringEquals": {"sts:ExternalId": "secret-42"}}))
        self.assert_error("AccessDenied", sts.assume_role, RoleArn=role_arn,
                          RoleSessionName="s1")
        self.assert_error("AccessDenied", sts.assume_role, RoleArn=role_arn,
                          RoleSessionName="s1", ExternalId="wrong-id")
        sts.assume_role(RoleArn=role_arn, RoleSessionName="s1", ExternalId="secret-42")

    def test_aws_cli_assume_role_with_external_id(self):
        user_arn, _ = self.user("carol")
        key = self.iam.create_access_key(UserName="carol")["AccessKey"]
        role_arn = self.role("r", trust(user_arn, {"StringEquals": {"sts:ExternalId": "xid-1"}}))
        out = self.s.aws("sts", "assume-role", "--role-arn", role_arn, "--role-session-name",
                         "cli", "--external-id", "xid-1", access_key=key["AccessKeyId"],
                         secret_key=key["SecretAccessKey"]).json
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         f"arn:aws:sts::{self.acct}:assumed-role/r/cli")

    # ---- duration and names --------------------------------------------------------------

    def test_duration_bounds(self):
        user_arn, sts = self.user("alice")
        role_arn = self.role("r", trust(user_arn), MaxSessionDuration=7200)
        sts.assume_role(RoleArn=role_arn, RoleSessionName="s1", DurationSeconds=7200)
        msg = self.assert_error("ValidationError", sts.assume_role, RoleArn=role_arn,
                                RoleSessionName="s1", DurationSeconds=7201)
        self.assertEqual(
            msg, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        # Below 900 s: botocore refuses it itself, so send the request raw.
        key = self.iam.create_access_key(UserName="alice")["AccessKey"]
        resp = self.s.sts_query("AssumeRole", {"RoleArn": role_arn, "RoleSessionName": "s1",
                                               "DurationSeconds": "899"},
                                access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
        self.assertEqual(resp.status, 400, resp)
        self.assertEqual(resp.error_code, "ValidationError", resp)

    def test_session_name_is_validated(self):
        user_arn, _ = self.user("alice")
        key = self.iam.create_access_key(UserName="alice")["AccessKey"]
        role_arn = self.role("r", trust(user_arn))
        for bad in ("a", "has space", "x" * 65):
            resp = self.s.sts_query("AssumeRole", {"RoleArn": role_arn, "RoleSessionName": bad},
                                    access_key=key["AccessKeyId"],
                                    secret_key=key["SecretAccessKey"])
            self.assertEqual(resp.error_code, "ValidationError", (bad, resp))

    # ---- what the session may do ---------------------------------------------------------

    def test_session_acts_with_the_role_policies(self):
        user_arn, sts = self.user("alice")
        self.role("with", trust(user_arn), allow("iam:ListUsers"))
        self.role("without", trust(user_arn))
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{self.acct}:role/with",
                                RoleSessionName="s1")["Credentials"]
        names = [u["UserName"] for u in self.session_client("iam", creds).list_users()["Users"]]
        self.assertIn("alice", names)
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{self.acct}:role/without",
                                RoleSessionName="s2")["Credentials"]
        msg = self.assert_error("AccessDenied", self.session_client("iam", creds).list_users)
        self.assertIn(f"arn:aws:sts::{self.acct}:assumed-role/without/s2", msg)

    def test_session_policy_narrows_the_role(self):
        user_arn, sts = self.user("alice")
        role_arn = self.role("r", trust(user_arn), allow(["iam:ListUsers", "iam:ListRoles"]))
        out = sts.assume_role(RoleArn=role_arn, RoleSessionName="s1",
                              Policy=allow("iam:ListRoles"))
        self.assertIn("PackedPolicySize", out)
        iam = self.session_client("iam", out["Credentials"])
        iam.list_roles()
        msg = self.assert_error("AccessDenied", iam.list_users)
        self.assertIn("session policy", msg)
        # A session policy cannot grant what the role lacks.
        out = sts.assume_role(RoleArn=role_arn, RoleSessionName="s2",
                              Policy=allow(["iam:ListRoles", "iam:ListGroups"]))
        self.assert_error("AccessDenied", self.session_client("iam", out["Credentials"]).list_groups)

    def test_managed_session_policy_by_arn(self):
        user_arn, sts = self.user("alice")
        role_arn = self.role("r", trust(user_arn), allow(["iam:ListUsers", "iam:ListRoles"]))
        policy_arn = self.iam.create_policy(PolicyName="only-roles",
                                            PolicyDocument=allow("iam:ListRoles"))["Policy"]["Arn"]
        out = sts.assume_role(RoleArn=role_arn, RoleSessionName="s1",
                              PolicyArns=[{"arn": policy_arn}])
        iam = self.session_client("iam", out["Credentials"])
        iam.list_roles()
        self.assert_error("AccessDenied", iam.list_users)

    def test_malformed_session_policy(self):
        user_arn, sts = self.user("alice")
        role_arn = self.role("r", trust(user_arn))
        self.assert_error("MalformedPolicyDocument", sts.assume_role, RoleArn=role_arn,
                          RoleSessionName="s1", Policy='{"Version":"2012-10-17"}')
        big = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": f"iam:Get{'X' * 40}{i}", "Resource": "*"}
            for i in range(60)]})
        msg = self.assert_error("PackedPolicyTooLarge", sts.assume_role, RoleArn=role_arn,
                                RoleSessionName="s1", Policy=big)
        self.assertIn("% of allotted space", msg)

    def test_session_tags_need_tag_session_and_become_principal_tags(self):
        user_arn, sts = self.user("alice")
        role_policy = allow("iam:ListUsers",
                            condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}})
        only_assume = self.role("plain", trust(user_arn), role_policy)
        self.assert_error("AccessDenied", sts.assume_role, RoleArn=only_assume,
                          RoleSessionName="s1", Tags=[{"Key": "team", "Value": "blue"}])
        role_arn = self.role(
            "tagged", trust(user_arn, {"StringEquals": {"aws:RequestTag/team": ["blue", "red"]}},
                            actions=("sts:AssumeRole", "sts:TagSession")), role_policy)
        out = sts.assume_role(RoleArn=role_arn, RoleSessionName="s1",
                              Tags=[{"Key": "team", "Value": "blue"}])
        self.session_client("iam", out["Credentials"]).list_users()
        out = sts.assume_role(RoleArn=role_arn, RoleSessionName="s2",
                              Tags=[{"Key": "team", "Value": "red"}])
        self.assert_error("AccessDenied", self.session_client("iam", out["Credentials"]).list_users)
        # The trust policy's condition on aws:RequestTag is enforced.
        self.assert_error("AccessDenied", sts.assume_role, RoleArn=role_arn,
                          RoleSessionName="s3", Tags=[{"Key": "team", "Value": "green"}])

    # ---- chaining, source identity -------------------------------------------------------

    def test_chained_sessions_last_at_most_an_hour_and_keep_source_identity(self):
        user_arn, sts = self.user("alice")
        first_arn = self.role(
            "first", trust(user_arn, actions=("sts:AssumeRole", "sts:SetSourceIdentity")),
            allow("sts:AssumeRole"))
        second_arn = self.role("second", trust(f"arn:aws:iam::{self.acct}:role/first",
                                               actions=("sts:AssumeRole", "sts:SetSourceIdentity")),
                               MaxSessionDuration=7200)
        out = sts.assume_role(RoleArn=first_arn, RoleSessionName="one", SourceIdentity="alice")
        self.assertEqual(out["SourceIdentity"], "alice")
        chained = self.session_client("sts", out["Credentials"])
        msg = self.assert_error("ValidationError", chained.assume_role, RoleArn=second_arn,
                                RoleSessionName="two", DurationSeconds=3601)
        self.assertIn("1 hour session limit for roles assumed by role chaining", msg)
        out2 = chained.assume_role(RoleArn=second_arn, RoleSessionName="two",
                                   DurationSeconds=3600)
        self.assertEqual(out2["SourceIdentity"], "alice")
        self.assertEqual(out2["AssumedRoleUser"]["Arn"],
                         f"arn:aws:sts::{self.acct}:assumed-role/second/two")

    def test_source_identity_needs_set_source_identity(self):
        user_arn, sts = self.user("alice")
        role_arn = self.role("r", trust(user_arn))
        self.assert_error("AccessDenied", sts.assume_role, RoleArn=role_arn,
                          RoleSessionName="s1", SourceIdentity="alice")

    # ---- CloudTrail ----------------------------------------------------------------------

    def test_cloudtrail_records_the_session_as_assumed_role(self):
        user_arn, sts = self.user("alice")
        role_arn = self.role("auditor", trust(user_arn))
        role_id = self.iam.get_role(RoleName="auditor")["Role"]["RoleId"]
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="audit")["Credentials"]
        self.session_client("sts", creds).get_caller_identity()
        events = self.s.client("cloudtrail").lookup_events(LookupAttributes=[
            {"AttributeKey": "AccessKeyId", "AttributeValue": creds["AccessKeyId"]}])
        self.assertEqual(len(events["Events"]), 1, events)
        record = json.loads(events["Events"][0]["CloudTrailEvent"])
        uid = record["userIdentity"]
        self.assertEqual(uid["type"], "AssumedRole")
        self.assertEqual(uid["arn"], f"arn:aws:sts::{self.acct}:assumed-role/auditor/audit")
        self.assertEqual(uid["principalId"], f"{role_id}:audit")
        self.assertEqual(uid["sessionContext"]["sessionIssuer"], {
            "type": "Role", "principalId": role_id, "arn": role_arn, "accountId": self.acct,
            "userName": "auditor"})
        # The AssumeRole call itself is recorded without the secret.
        issued = self.s.client("cloudtrail").lookup_events(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "AssumeRole"}])
        self.assertEqual(len(issued["Events"]), 1, issued)
        self.assertNotIn(creds["SecretAccessKey"], issued["Events"][0]["CloudTrailEvent"])


if __name__ == "__main__":
    unittest.main()
