"""IAM policy simulator end to end: SimulatePrincipalPolicy and SimulateCustomPolicy answer what
enforcement decides (each simulated decision is checked against a real call with the user's
keys), with matched statements, missing context values, boundaries and paging."""

import json
import unittest

import botocore.exceptions

import harness


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ALLOW_LIST_USERS = {"Sid": "List", "Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}
ALLOW_IAM = {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}
DENY_LIST_USERS = {"Sid": "NoList", "Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*"}


class SimulatorTestBase(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)
        self.iam = self.s.client("iam")
        self.acct = self.s.account_id

    def make_user(self, name):
        arn = self.iam.create_user(UserName=name)["User"]["Arn"]
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        client = self.s.client("iam", access_key=key["AccessKeyId"],
                               secret_key=key["SecretAccessKey"])
        return arn, client

    def simulate(self, arn, action=None, **kwargs):
        if action:
            kwargs["ActionNames"] = [action]
        out = self.iam.simulate_principal_policy(PolicySourceArn=arn, **kwargs)
        self.assertEqual(len(out["EvaluationResults"]), 1)
        return out["EvaluationResults"][0]

    def call_works(self, client):
        try:
            client.list_users()
            return True
        except botocore.exceptions.ClientError as e:
            self.assertEqual(e.response["Error"]["Code"], "AccessDenied", e.response)
            return False

    def assert_agrees(self, arn, client, context=None):
        """Simulates iam:ListUsers for the user with `context`, then calls it; both agree."""
        kwargs = {"ContextEntries": context} if context else {}
        result = self.simulate(arn, "iam:ListUsers", **kwargs)
        works = self.call_works(client)
        self.assertEqual(result["EvalDecision"] == "allowed", works, result)
        return result


class PrincipalSimulationTest(SimulatorTestBase):
    def test_no_policy_is_implicit_deny_and_call_denied(self):
        arn, client = self.make_user("alice")
        r = self.assert_agrees(arn, client)
        self.assertEqual(r["EvalDecision"], "implicitDeny")
        self.assertEqual(r["MatchedStatements"], [])

    def test_inline_allow_matches_statement_and_call_works(self):
        arn, client = self.make_user("alice")
        self.iam.put_user_policy(UserName="alice", PolicyName="lister",
                                 PolicyDocument=doc(ALLOW_LIST_USERS))
        r = self.assert_agrees(arn, client)
        self.assertEqual(r["EvalDecision"], "allowed")
        self.assertEqual(len(r["MatchedStatements"]), 1)
        m = r["MatchedStatements"][0]
        self.assertEqual(m["SourcePolicyId"], "lister")
        self.assertEqual(m["SourcePolicyType"], "user")
        self.assertEqual(m["StartPosition"]["Line"], 1)
        self.assertLess(m["StartPosition"]["Column"], m["EndPosition"]["Column"])

    def test_explicit_deny_in_managed_policy_wins(self):
        arn, client = self.make_user("alice")
        self.iam.put_user_policy(UserName="alice", PolicyName="all",
                                 PolicyDocument=doc(ALLOW_IAM))
        pol = self.iam.create_policy(PolicyName="nolist",
                                     PolicyDocument=doc(DENY_LIST_USERS))["Policy"]
        self.iam.attach_user_policy(UserName="alice", PolicyArn=pol["Arn"])
        r = self.assert_agrees(arn, client)
        self.assertEqual(r["EvalDecision"], "explicitDeny")
        self.assertEqual([(m["SourcePolicyId"], m["SourcePolicyType"])
                          for m in r["MatchedStatements"]], [("nolist", "user-managed")])

    def test_group_policy_applies_to_member(self):
        arn, client = self.make_user("alice")
        self.iam.create_group(GroupName="readers")
        self.iam.add_user_to_group(GroupName="readers", UserName="alice")
        self.iam.put_group_policy(GroupName="readers", PolicyName="grp",
                                  PolicyDocument=doc(ALLOW_LIST_USERS))
        r = self.assert_agrees(arn, client)
        self.assertEqual(r["EvalDecision"], "allowed")
        self.assertEqual(r["MatchedStatements"][0]["SourcePolicyType"], "group")
        group_arn = self.iam.get_group(GroupName="readers")["Group"]["Arn"]
        self.assertEqual(self.simulate(group_arn, "iam:ListUsers")["EvalDecision"], "allowed")

    def test_source_ip_condition(self):
        arn, client = self.make_user("alice")
        self.iam.put_user_policy(UserName="alice", PolicyName="ip", PolicyDocument=doc(
            {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*",
             "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}))
        here = [{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["127.0.0.1"],
                 "ContextKeyType": "ip"}]
        self.assertEqual(self.assert_agrees(arn, client, here)["EvalDecision"], "allowed")
        missing = self.simulate(arn, "iam:ListUsers")
        self.assertEqual(missing["EvalDecision"], "implicitDeny")
        self.assertEqual(missing["MissingContextValues"], ["aws:SourceIp"])

        self.iam.put_user_policy(UserName="alice", PolicyName="ip", PolicyDocument=doc(
            {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*",
             "Condition": {"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}}}))
        r = self.assert_agrees(arn, client, here)
        self.assertEqual(r["EvalDecision"], "implicitDeny")
        self.assertEqual(r["MissingContextValues"], [])

    def test_current_time_condition(self):
        arn, client = self.make_user("alice")
        self.iam.put_user_policy(UserName="alice", PolicyName="all",
                                 PolicyDocument=doc(ALLOW_IAM))
        self.iam.put_user_policy(UserName="alice", PolicyName="expired", PolicyDocument=doc(
            {"Sid": "Expired", "Effect": "Deny", "Action": "*", "Resource": "*",
             "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2001-01-01T00:00:00Z"}}}))
        now = [{"ContextKeyName": "aws:CurrentTime",
                "ContextKeyValues": ["2030-06-01T12:00:00Z"], "ContextKeyType": "date"}]
        r = self.assert_agrees(arn, client, now)
        self.assertEqual(r["EvalDecision"], "explicitDeny")
        self.assertEqual(r["MatchedStatements"][0]["SourcePolicyId"], "expired")

    def test_permissions_boundary(self):
        arn, client = self.make_user("alice")
        self.iam.put_user_policy(UserName="alice", PolicyName="all",
                                 PolicyDocument=doc(ALLOW_IAM))
        boundary = self.iam.create_policy(PolicyName="bound", PolicyDocument=doc(
            {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}))["Policy"]
        self.iam.put_user_permissions_boundary(UserName="alice",
                                               PermissionsBoundary=boundary["Arn"])
        r = self.assert_agrees(arn, client)
        self.assertEqual(r["EvalDecision"], "implicitDeny")
        self.assertEqual(r["PermissionsBoundaryDecisionDetail"],
                         {"AllowedByPermissionsBoundary": False})
        self.iam.create_policy_version(PolicyArn=boundary["Arn"], SetAsDefault=True,
                                       PolicyDocument=doc(ALLOW_LIST_USERS))
        r = self.assert_agrees(arn, client)
        self.assertEqual(r["EvalDecision"], "allowed")
        self.assertEqual(r["PermissionsBoundaryDecisionDetail"],
                         {"AllowedByPermissionsBoundary": True})

    def test_policy_input_list_adds_to_principal_policies(self):
        arn, _ = self.make_user("alice")
        r = self.simulate(arn, "iam:ListUsers", PolicyInputList=[doc(ALLOW_LIST_USERS)])
        self.assertEqual(r["EvalDecision"], "allowed")
        self.assertEqual(r["MatchedStatements"][0]["SourcePolicyId"], "PolicyInputList.1")

    def test_role_policies(self):
        trust = doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                     "Action": "sts:AssumeRole"})
        role = self.iam.create_role(RoleName="app", AssumeRolePolicyDocument=trust)["Role"]
        self.iam.attach_role_policy(RoleName="app",
                                    PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        r = self.simulate(role["Arn"], "s3:GetObject")
        self.assertEqual(r["EvalDecision"], "allowed")
        self.assertEqual(r["MatchedStatements"][0]["SourcePolicyId"], "AdministratorAccess")
        self.assertEqual(r["MatchedStatements"][0]["SourcePolicyType"], "aws-managed")

    def test_caller_arn_with_resource_policy(self):
        arn, _ = self.make_user("david")
        bob = f"arn:aws:iam::{self.acct}:user/bob"
        resource_policy = doc({"Effect": "Allow", "Principal": {"AWS": bob},
                               "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})
        kwargs = dict(ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::b/k"],
                      ResourcePolicy=resource_policy)
        self.assertEqual(self.simulate(arn, **kwargs)["EvalDecision"], "implicitDeny")
        r = self.simulate(arn, CallerArn=bob, **kwargs)
        self.assertEqual(r["EvalDecision"], "allowed")
        self.assertEqual(r["MatchedStatements"][0]["SourcePolicyType"], "resource")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.simulate(arn, CallerArn=f"arn:aws:iam::{self.acct}:role/r", **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidInput")

    def test_unknown_source_is_no_such_entity(self):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.simulate_principal_policy(
                PolicySourceArn=f"arn:aws:iam::{self.acct}:user/ghost", ActionNames=["s3:*"])
        self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchEntity")

    def test_simulation_is_itself_authorized(self):
        arn, client = self.make_user("alice")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            client.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["s3:*"])
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")


class CustomSimulationTest(SimulatorTestBase):
    def test_decisions_per_action_and_resource(self):
        policy = doc({"Effect": "Allow", "Action": "s3:GetObject",
                      "Resource": "arn:aws:s3:::bucket/*"},
                     {"Sid": "NoSecret", "Effect": "Deny", "Action": "s3:*",
                      "Resource": "arn:aws:s3:::bucket/secret/*"})
        out = self.iam.simulate_custom_policy(
            PolicyInputList=[policy], ActionNames=["s3:GetObject", "s3:PutObject"],
            ResourceArns=["arn:aws:s3:::bucket/a", "arn:aws:s3:::bucket/secret/b"])
        got = {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"]
               for r in out["EvaluationResults"]}
        self.assertEqual(got, {
            ("s3:GetObject", "arn:aws:s3:::bucket/a"): "allowed",
            ("s3:GetObject", "arn:aws:s3:::bucket/secret/b"): "explicitDeny",
            ("s3:PutObject", "arn:aws:s3:::bucket/a"): "implicitDeny",
            ("s3:PutObject", "arn:aws:s3:::bucket/secret/b"): "explicitDeny"})
        deny = [r for r in out["EvaluationResults"]
                if r["EvalResourceName"].endswith("secret/b")][0]
        self.assertEqual(deny["MatchedStatements"][0]["SourcePolicyId"], "PolicyInputList.1")
        self.assertEqual(deny["MatchedStatements"][0]["SourcePolicyType"], "IAM Policy")
        self.assertEqual(deny["ResourceSpecificResults"][0]["EvalResourceDecision"],
                         "explicitDeny")

    def test_context_types_and_missing_values(self):
        policy = doc({"Effect": "Allow", "Action": "ec2:StartInstances", "Resource": "*",
                      "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"},
                                    "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"},
                                    "ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}}})
        entries = [
            {"ContextKeyName": "aws:MultiFactorAuthPresent", "ContextKeyValues": ["True"],
             "ContextKeyType": "boolean"},
            {"ContextKeyName": "aws:MultiFactorAuthAge", "ContextKeyValues": ["60"],
             "ContextKeyType": "numeric"},
            {"ContextKeyName": "aws:TagKeys", "ContextKeyValues": ["team", "env"],
             "ContextKeyType": "stringList"}]
        r = self.iam.simulate_custom_policy(PolicyInputList=[policy],
                                            ActionNames=["ec2:StartInstances"],
                                            ContextEntries=entries)["EvaluationResults"][0]
        self.assertEqual(r["EvalDecision"], "allowed")
        self.assertEqual(r["MissingContextValues"], [])
        r = self.iam.simulate_custom_policy(PolicyInputList=[policy],
                                            ActionNames=["ec2:StartInstances"],
                                            ContextEntries=entries[:1])["EvaluationResults"][0]
        self.assertEqual(r["EvalDecision"], "implicitDeny")
        self.assertEqual(sorted(r["MissingContextValues"]),
                         ["aws:MultiFactorAuthAge", "aws:TagKeys"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.simulate_custom_policy(
                PolicyInputList=[policy], ActionNames=["ec2:StartInstances"],
                ContextEntries=[{"ContextKeyName": "aws:MultiFactorAuthAge",
                                 "ContextKeyValues": ["soon"], "ContextKeyType": "numeric"}])
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidInput")

    def test_boundary_input_list(self):
        out = self.iam.simulate_custom_policy(
            PolicyInputList=[doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})],
            PermissionsBoundaryPolicyInputList=[
                doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})],
            ActionNames=["s3:GetObject", "s3:DeleteObject"])
        got = {r["EvalActionName"]: (r["EvalDecision"],
                                     r["PermissionsBoundaryDecisionDetail"][
                                         "AllowedByPermissionsBoundary"])
               for r in out["EvaluationResults"]}
        self.assertEqual(got, {"s3:GetObject": ("allowed", True),
                               "s3:DeleteObject": ("implicitDeny", False)})

    def test_resource_policy_and_caller(self):
        caller = f"arn:aws:iam::{self.acct}:user/bob"
        resource_policy = doc({"Sid": "Bob", "Effect": "Allow", "Principal": {"AWS": caller},
                               "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})
        deny_nothing = doc({"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"})
        kwargs = dict(PolicyInputList=[deny_nothing], ActionNames=["s3:GetObject"],
                      ResourceArns=["arn:aws:s3:::b/k"], ResourcePolicy=resource_policy)
        r = self.iam.simulate_custom_policy(
            CallerArn=caller, ResourceOwner=f"arn:aws:iam::{self.acct}:root",
            **kwargs)["EvaluationResults"][0]
        self.assertEqual(r["EvalDecision"], "allowed")
        self.assertEqual(r["MatchedStatements"][0]["SourcePolicyType"], "resource")
        # Cross-account: the resource policy alone is not enough.
        r = self.iam.simulate_custom_policy(
            CallerArn=caller, ResourceOwner="arn:aws:iam::999999999999:root",
            **kwargs)["EvaluationResults"][0]
        self.assertEqual(r["EvalDecision"], "implicitDeny")

    def test_statement_object_positions(self):
        policy = ('{"Version": "2012-10-17",\n "Statement": {"Effect": "Allow", "Action": "s3:*",'
                  '\n  "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}}')
        r = self.iam.simulate_custom_policy(
            PolicyInputList=[policy], ActionNames=["s3:GetObject"],
            ContextEntries=[{"ContextKeyName": "aws:SecureTransport",
                             "ContextKeyValues": ["true"], "ContextKeyType": "boolean"}],
        )["EvaluationResults"][0]
        self.assertEqual(r["EvalDecision"], "allowed")
        m = r["MatchedStatements"][0]
        self.assertEqual(m["StartPosition"], {"Line": 2, "Column": 15})
        self.assertEqual(m["EndPosition"], {"Line": 3, "Column": 75})

    def test_paging(self):
        actions = [f"s3:Action{i}" for i in range(5)]
        policy = doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
        first = self.iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=actions,
                                                MaxItems=2)
        self.assertTrue(first["IsTruncated"])
        self.assertEqual([r["EvalActionName"] for r in first["EvaluationResults"]], actions[:2])
        names = []
        paginator = self.iam.get_paginator("simulate_custom_policy")
        for page in paginator.paginate(PolicyInputList=[policy], ActionNames=actions,
                                       PaginationConfig={"PageSize": 2}):
            names += [r["EvalActionName"] for r in page["EvaluationResults"]]
        self.assertEqual(names, actions)

    def test_malformed_input_policy(self):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.simulate_custom_policy(PolicyInputList=['{"Statement": 5}'],
                                            ActionNames=["s3:GetObject"])
        self.assertEqual(cm.exception.response["Error"]["Code"], "MalformedPolicyDocument")


if __name__ == "__main__":
    unittest.main()
